/**
 * One stylized face for a live view (a camera preview, a call): the face is cut out of the frame
 * with the style's framing at a small size, redrawn by the style's face stylizer and returned with a
 * feathered paste mask and the transform that put it there. The caller warps it onto later frames
 * with their tracked landmarks, so the slow model run refreshes the face asynchronously while every
 * frame is shown. Unlike the still pipeline it skips face parsing, tone restoration and tiling: a
 * live view has a frame budget, not a quality bar per picture.
 */
import { PortoonError } from './errors.js';
import { alignFace } from './face/crop.js';
import { facePlanOf } from './face/face-pass.js';
import type { Affine, Point } from './face/align.js';
import { ellipseMask } from './face/mask.js';
import type { RawImage } from './image.js';
import type { InferenceBackend } from './inference.js';
import type { Catalogue } from './models/catalogue.js';
import { runStyleModel } from './stylize.js';

/** Smallest and largest live crop sides; face models need multiples of 8. */
export const LIVE_FACE_SIZES = { min: 96, max: 512 } as const;

export interface LiveFace {
  /** The stylized crop with its paste mask as alpha, RGBA, `size`x`size`. */
  rgba: Uint8ClampedArray;
  size: number;
  /** Frame pixels → crop pixels, for the landmarks the crop was cut with. */
  frameToCrop: Affine;
  /** The model that redrew the face. */
  model: string;
}

/**
 * The model a style redraws faces with in a live view: its head model, else its background model;
 * undefined for a model-free (procedural) style.
 * @throws PortoonError E_UNKNOWN_STYLE.
 */
export function liveFaceModel(catalogue: Catalogue, styleId: string): string | undefined {
  const style = catalogue.style(styleId);
  if (style.head) return style.head.model;
  return 'model' in style.background ? style.background.model : undefined;
}

/**
 * Cuts, stylizes and masks one face.
 * @param landmarks the face's five points in frame pixels (detector order).
 * @param size crop side, rounded down to a multiple of 8 within LIVE_FACE_SIZES.
 * @throws PortoonError E_UNKNOWN_STYLE, E_BAD_OPTION (bad size or landmarks), model errors.
 */
export async function stylizeLiveFace(
  frame: RawImage,
  landmarks: readonly Point[],
  styleId: string,
  size: number,
  catalogue: Catalogue,
  backend: InferenceBackend,
): Promise<LiveFace> {
  const side = Math.floor(size / 8) * 8;
  if (!Number.isFinite(size) || side < LIVE_FACE_SIZES.min || side > LIVE_FACE_SIZES.max) {
    throw new PortoonError(
      'E_BAD_OPTION',
      `Expected a face size from ${LIVE_FACE_SIZES.min} to ${LIVE_FACE_SIZES.max} but received ${String(size)}`,
    );
  }
  if (landmarks.length !== 5 || landmarks.some((p) => !Number.isFinite(p[0]) || !Number.isFinite(p[1]))) {
    throw new PortoonError('E_BAD_OPTION', 'Expected five finite landmark points for the face');
  }
  const model = liveFaceModel(catalogue, styleId);
  if (model === undefined) {
    throw new PortoonError(
      'E_BAD_OPTION',
      `Style "${styleId}" has no face model; a live view draws model-free styles with its own filters`,
    );
  }
  const plan = facePlanOf(catalogue.style(styleId), 'stylize', catalogue);
  const aligned = alignFace(frame, landmarks, plan.framing, side);
  const stylized: RawImage = await runStyleModel(aligned.image, catalogue.model(model), backend);
  const mask = ellipseMask(aligned.geometry);
  const rgba = new Uint8ClampedArray(side * side * 4);
  for (let i = 0, j = 0; i < side * side; i++, j += 3) {
    rgba[i * 4] = stylized.data[j]!;
    rgba[i * 4 + 1] = stylized.data[j + 1]!;
    rgba[i * 4 + 2] = stylized.data[j + 2]!;
    rgba[i * 4 + 3] = Math.round(mask.data[i]! * 255);
  }
  return { rgba, size: side, frameToCrop: aligned.imageToCrop, model };
}
