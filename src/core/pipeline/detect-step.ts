/** The detection step: every face of the photo, confirmed on its own aligned crop. */
import { detectFaces, type Face } from '../face/detect.js';
import { confirmFaces } from '../face/face-pass.js';
import type { RawImage } from '../image.js';
import { detectorModels, type RunPlan } from './plan.js';
import type { PipelineRun } from './run.js';

/**
 * Finds the faces when a pass needs them, else only when the detectors are installed (procedural
 * styles work before any model is installed; with the detectors they still report the faces).
 * @returns the faces, and whether detection ran.
 */
export async function detectStep(image: RawImage, plan: RunPlan, run: PipelineRun): Promise<{ faces: Face[]; detected: boolean }> {
  const { backend, catalogue } = run.context;
  const { detector } = plan;
  run.progress('detect', 0);
  const models = detectorModels(catalogue, detector);
  const detected = plan.needFaces || models.every((entry) => entry !== undefined && backend.has(entry.id));
  // Every detection is checked on its own aligned crop: false faces go, landmarks get refined.
  // RetinaFace checks unless the user chose YuNet alone (it refuses more non-faces on a crop).
  const checker = detector === 'yunet' ? 'yunet' : 'retinaface';
  const faces = detected
    ? await run.timed('detect', async () =>
        confirmFaces(image, await detectFaces(image, backend, catalogue, { detector }), backend, catalogue, checker),
      )
    : [];
  if (detected) for (const entry of models) if (entry) run.ran(entry.id);
  run.progress('detect', 1);
  return { faces, detected };
}
