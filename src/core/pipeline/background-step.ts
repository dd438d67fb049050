/**
 * The background step of a pass: the whole picture stylized (in overlapping tiles), kept, or
 * stylized with everything but the people thrown out of focus.
 */
import { gaussianBlurImage } from '../blur.js';
import { cloneImage, type RawImage } from '../image.js';
import { runProcedural } from '../procedural/index.js';
import { composite, personMask } from '../segment.js';
import { runStyleModel } from '../stylize.js';
import { transformTiled } from '../tiling.js';
import type { Pass, RunPlan } from './plan.js';
import type { PipelineRun } from './run.js';

/** Pixels each tile shares with its neighbours, blended across so tiles leave no seam. */
const TILE_OVERLAP = 64;

/** @param maxTile the request's largest tile side; default the style's. */
export async function backgroundStep(
  image: RawImage,
  pass: Pass,
  plan: RunPlan,
  maxTile: number | undefined,
  run: PipelineRun,
): Promise<RawImage> {
  return run.timed('background', async () => {
    const progress = (fraction: number): void => run.progress('background', pass.overall(fraction));
    progress(0);
    const out = plan.mode === 'keep' ? cloneImage(image) : await stylizeBackground(image, pass, maxTile, run, progress);
    progress(1);
    return out;
  });
}

async function stylizeBackground(
  image: RawImage,
  pass: Pass,
  maxTile: number | undefined,
  run: PipelineRun,
  progress: (fraction: number) => void,
): Promise<RawImage> {
  const { backend, catalogue } = run.context;
  const bg = pass.style.background;
  let out: RawImage;
  if ('procedural' in bg) out = runProcedural(bg.procedural, image, bg.params);
  else {
    const entry = catalogue.model(bg.model);
    run.ran(entry.id);
    out = await transformTiled(
      image,
      (tile) => runStyleModel(tile, entry, backend),
      { maxTile: maxTile ?? bg.maxTile, overlap: TILE_OVERLAP, multiple: entry.input.sizeMultiple },
      ({ done, total }) => progress(done / total),
    );
  }
  if (pass.segmenter) {
    // A blurred background, the portrait-mode look: the stylized picture with everything but the
    // people out of focus.
    run.ran(pass.segmenter.id);
    const mask = await personMask(image, backend, pass.segmenter);
    out = composite(out, gaussianBlurImage(out, Math.max(2, Math.max(image.width, image.height) * 0.012)), mask);
  }
  return out;
}
