/** The detection step: every face of the photo, confirmed on its own aligned crop. */
import { detectFaces, type Detector } from '../face/detect.js';
import { confirmFaces } from '../face/face-pass.js';
import type { RawImage } from '../image.js';
import type { DetectorChoice } from '../request.js';
import { detectorModels, type RunPlan } from './plan.js';
import type { FaceFinding, StepRun } from './types.js';

/**
 * Finds the faces when a pass needs them, else only when the detectors are installed (procedural
 * styles work before any model is installed; with the detectors they still report the faces).
 * @returns the faces, and whether detection ran.
 */
export async function detectStep(image: RawImage, plan: RunPlan, run: StepRun): Promise<FaceFinding> {
  const { backend, catalogue } = run.context;
  const { detector } = plan;
  run.progress('detect', 0);
  const models = detectorModels(catalogue, detector);
  const detected = plan.needFaces || models.every((entry) => entry !== undefined && backend.has(entry.id));
  // Every detection is checked on its own aligned crop: false faces go, landmarks get refined.
  const checker = cropDetector(detector);
  const faces = detected
    ? await run.timed('detect', async () =>
        confirmFaces(image, await detectFaces(image, backend, catalogue, { detector }), backend, catalogue, checker),
      )
    : [];
  if (detected) for (const entry of models) if (entry) run.ran(entry.id);
  run.progress('detect', 1);
  return { faces, detected };
}

/**
 * The network that finds a face again on its aligned crop: RetinaFace unless the user chose YuNet
 * alone (RetinaFace refuses more non-faces on a crop).
 */
export function cropDetector(choice: DetectorChoice): Detector {
  return choice === 'yunet' ? 'yunet' : 'retinaface';
}
