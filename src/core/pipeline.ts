/**
 * The cartoonization pipeline, platform-neutral: detect faces → per style pass, the background
 * (tiled) then each face aligned, stylized, harmonized and pasted back → mix the passes → apply
 * strength. Decoding and encoding happen in the platform adapters around it; the steps live in
 * ./pipeline/.
 */
import { PortoonError } from './errors.js';
import { cloneImage, mixImages, type RawImage } from './image.js';
import type { CartoonizeRequest } from './request.js';
import { backgroundStep } from './pipeline/background-step.js';
import { detectorFaceSource } from './pipeline/face-source.js';
import { CropCache, faceStep, reportFaces } from './pipeline/face-step.js';
import { planRun } from './pipeline/plan.js';
import { PipelineRun } from './pipeline/run.js';
import type { PipelineContext, PipelineResult } from './pipeline/types.js';

export { modelsForRequest, stylesNeedFaces } from './pipeline/plan.js';
export type { FacePasteInfo, PipelineContext, PipelineResult } from './pipeline/types.js';
export { detectorFaceSource } from './pipeline/face-source.js';
export type { FaceFinding, FaceSource, StepRun } from './pipeline/types.js';

/** Runs the whole pipeline on a decoded RGB image, for a request validated by `parseCartoonizeRequest`. */
export async function cartoonizeImage(image: RawImage, request: CartoonizeRequest, context: PipelineContext): Promise<PipelineResult> {
  if (image.channels !== 3) throw new PortoonError('E_BAD_OPTION', `Expected an RGB image but received ${image.channels} channels`);
  const run = new PipelineRun(context);
  const plan = planRun(context.catalogue, request);
  const strength = request.strength ?? plan.style.defaults.strength;
  const { faces, detected } = await (context.faces ?? detectorFaceSource).find(image, plan, run);
  // Nothing of the style would survive the blend: skip all stylization work.
  if (strength <= 0) return run.result(cloneImage(image), plan.style.id, reportFaces(faces, []), detected);

  const crops = new CropCache(image, run);
  const pictures: WeightedPicture[] = [];
  const cropSizes: Array<Map<number, number>> = [];
  for (const pass of plan.passes) {
    const picture = await backgroundStep(image, pass, plan, request.maxTile, run);
    cropSizes.push(await faceStep(picture, faces, pass, request, crops, run));
    pictures.push({ picture, weight: pass.weight });
  }
  return run.result(blendPasses(image, pictures, strength), plan.style.id, reportFaces(faces, cropSizes), detected);
}

interface WeightedPicture {
  picture: RawImage;
  weight: number;
}

/** The passes' pictures mixed by weight (a mix has two), then blended with the photo by `strength`. */
function blendPasses(photo: RawImage, pictures: readonly WeightedPicture[], strength: number): RawImage {
  const [first, second] = pictures;
  let output = second ? mixImages(first!.picture, second.picture, second.weight) : first!.picture;
  if (strength < 1) output = mixImages(photo, output, strength);
  return output;
}
