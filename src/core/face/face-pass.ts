/**
 * The per-face pass: cut each face out on the framing its stylizer expects, stylize it (a head
 * model, a face-aware procedural filter, or nothing but a tone restore), bring back the person's
 * skin tone, and blend it into the stylized picture without a seam.
 */
import { gaussianBlurPlane } from '../blur.js';
import { cloneImage, createPlane, type FloatPlane, type RawImage } from '../image.js';
import type { Catalogue, HelperModels } from '../models/catalogue.js';
import { IMPLICIT_FACE_PASSES, type StyleEntry } from '../models/manifest.js';
import { runProceduralFace, type ProceduralName } from '../procedural/index.js';
import type { InferenceBackend } from '../inference.js';
import { applyAffine, invertAffine, warpAffine } from './align.js';
import { confirmOnCrop, CONFIRM_SIZE } from './confirm.js';
import type { Detector, Face } from './detect.js';
import { blendDelta, blendLevels } from './blend.js';
import { alignFace, type AlignedFace, type FaceMasks, type MaskPurpose } from './crop.js';
import { FFHQ_512, framingPoints, marginFraming, type CropSizeLimits, type FaceFraming } from './framing.js';
import { restoreTone } from './harmonize.js';
import { applyBorderFade } from './mask.js';
import { pasteDelta } from './paste.js';

/** What redraws a face. */
export type FaceStylizer =
  | { kind: 'model'; id: string }
  | { kind: 'procedural'; name: ProceduralName; params: Readonly<Record<string, number>> }
  /** The stylized picture is kept as it is; only the skin tone is restored. */
  | { kind: 'tone' };

export interface FacePlan {
  stylizer: FaceStylizer;
  framing: FaceFraming;
  limits: CropSizeLimits;
  /** 0..1 of the original skin tone restored. */
  toneMatch: number;
  purpose: MaskPurpose;
  /** False for passes that only polish (tone, face-aware procedural): they are skipped, not failed, without the face models. */
  required: boolean;
}

/**
 * How a style treats faces in a background mode.
 * - A head model: the framing of the style, else the model's own, else one from the style's margin.
 * - No head, background kept: the style's background stylizer is applied to each face, so people
 *   are still cartoonized (`IMPLICIT_FACE_PASSES.keptPhoto`).
 * - No head, picture stylized: procedural styles redraw faces with their face-aware variant (smooth
 *   skin, few bands); model styles keep their rendering and get the skin tone back
 *   (`IMPLICIT_FACE_PASSES.polish`).
 */
export function facePlanOf(style: StyleEntry, mode: 'stylize' | 'keep' | 'blur', catalogue: Catalogue): FacePlan {
  const purpose: MaskPurpose = mode === 'keep' ? 'keep' : 'blend';
  if (style.head) {
    const { model, faceSize, minCropSize, framing, margin, toneMatch } = style.head;
    const entry = catalogue.model(model);
    return {
      stylizer: { kind: 'model', id: entry.id },
      framing: framing ?? entry.framing ?? marginFraming(faceSize, margin),
      limits: { max: faceSize, min: minCropSize ?? faceSize, multiple: entry.input.sizeMultiple },
      toneMatch,
      purpose,
      required: true,
    };
  }
  const bg = style.background;
  if (mode === 'keep') {
    const { faceSize, minCropSize, margin, sizeMultiple } = IMPLICIT_FACE_PASSES.keptPhoto;
    const stylizer: FaceStylizer =
      'model' in bg ? { kind: 'model', id: bg.model } : { kind: 'procedural', name: bg.procedural, params: bg.params };
    const multiple = 'model' in bg ? catalogue.model(bg.model).input.sizeMultiple : sizeMultiple;
    const limits = { max: faceSize, min: minCropSize, multiple };
    return { stylizer, framing: marginFraming(faceSize, margin), limits, toneMatch: 1, purpose, required: true };
  }
  const { faceSize, minCropSize, sizeMultiple } = IMPLICIT_FACE_PASSES.polish;
  const stylizer: FaceStylizer = 'model' in bg ? { kind: 'tone' } : { kind: 'procedural', name: bg.procedural, params: bg.params };
  const limits = { max: faceSize, min: minCropSize, multiple: sizeMultiple };
  return { stylizer, framing: FFHQ_512, limits, toneMatch: 1, purpose, required: false };
}

/**
 * Keeps the faces that are found again on their own aligned crop, with the landmarks found there
 * (mapped back to the photo). On the crop the face is upright, centred and large, so its landmarks
 * are no longer pulled toward a neighbour's features; a detection that is not found again there
 * (a pattern, a hand, a face seen in a wrong orientation) is not a face.
 * @param detector the network that checks (one the user chose to detect with).
 */
export async function confirmFaces(
  image: RawImage,
  faces: readonly Face[],
  backend: InferenceBackend,
  models: HelperModels,
  detector: Detector,
): Promise<Face[]> {
  const confirmed: Face[] = [];
  for (const face of faces) {
    const aligned = alignFace(image, face.landmarks, FFHQ_512, CONFIRM_SIZE);
    const expected = framingPoints(FFHQ_512, CONFIRM_SIZE).map(([x, y]): [number, number] => [x, y]);
    const found = await confirmOnCrop(aligned.image, expected, backend, models, { detector });
    if (!found) continue;
    const cropToImage = invertAffine(aligned.imageToCrop);
    confirmed.push({ ...face, landmarks: found.landmarks.map((p) => applyAffine(cropToImage, p)) });
  }
  return confirmed;
}

/** A stable key for a framing and crop size (crops and their masks are shared when these match). */
export function cropKey(plan: FacePlan, size: number): string {
  return `${JSON.stringify(plan.framing)}:${size}:${plan.purpose}`;
}

/**
 * Corrects the tone of a stylized crop and blends it into `picture` (mutated) through the crop's
 * transform. `styled` is undefined for a tone-only pass.
 * @returns the mask the face was pasted with (crop space), for reports and quality measures.
 */
export function blendFace(
  picture: RawImage,
  aligned: AlignedFace,
  masks: FaceMasks,
  styled: RawImage | undefined,
  plan: FacePlan,
): FloatPlane {
  const size = aligned.geometry.size;
  // What the picture has under the crop, in crop space: the blend's backdrop.
  const underneath = warpAffine(picture, invertAffine(aligned.imageToCrop), size, size);
  const face = styled ?? cloneImage(underneath);
  // The skin-tone field follows the light over a fifth of the eye distance (a cheek's light and shadow).
  const eyes = eyeDistance(aligned);
  restoreTone(face, aligned.image, masks.skin, masks.tone, masks.whites, plan.toneMatch, eyes * 0.2);
  // A face model also redraws the hair it sees, often paler or greyer than the person's (and than the
  // background pass's rendering of the rest of the hair): its colour comes back the same way.
  if (styled) restoreTone(face, aligned.image, masks.hair, softHair(masks.hair, eyes), noWhites(size), plan.toneMatch, eyes * 0.5);
  // A tone-only pass changes the picture only where the tone region is. A redrawn face is blended in
  // bands; with the photo kept around it only the two finest, so no colour ramp tints the photo.
  const mask = styled ? masks.mask : masks.tone;
  const levels = !styled ? 0 : plan.purpose === 'blend' ? blendLevels(size) : 2;
  const delta = blendDelta(face, underneath, mask, levels);
  pasteDelta(picture, delta, cropSupport(size), aligned.imageToCrop);
  return mask;
}

function eyeDistance(aligned: AlignedFace): number {
  const [left, right] = aligned.geometry.points ?? [];
  return left && right ? Math.hypot(right[0] - left[0], right[1] - left[1]) : aligned.geometry.faceBox * 0.31;
}

/** The hair region feathered so a hair-colour correction has no edge. */
function softHair(hair: FloatPlane, eyes: number): FloatPlane {
  const soft = gaussianBlurPlane(hair, Math.max(1, eyes * 0.08));
  for (let i = 0; i < soft.data.length; i++) soft.data[i] = Math.min(1, soft.data[i]! * 1.5);
  return soft;
}

// Per crop size (a multiple of 8 up to the largest crop, so a few dozen at most).
const empty = new Map<number, FloatPlane>();
/** No whites to protect (hair). */
function noWhites(size: number): FloatPlane {
  let plane = empty.get(size);
  if (!plane) empty.set(size, (plane = createPlane(size, size)));
  return plane;
}

const supports = new Map<number, FloatPlane>();
/** 1 inside the crop, fading to 0 over its outer 5 %: the blend's far reach never ends in a step. */
function cropSupport(size: number): FloatPlane {
  let plane = supports.get(size);
  if (!plane) {
    plane = createPlane(size, size, 1);
    applyBorderFade(plane, size * 0.05);
    supports.set(size, plane);
  }
  return plane;
}

/** Runs a procedural face stylizer on an aligned crop. */
export function stylizeProceduralFace(
  stylizer: Extract<FaceStylizer, { kind: 'procedural' }>,
  aligned: AlignedFace,
  masks: FaceMasks,
  photoLongSide: number,
): RawImage {
  // The filters size their radii per 1000 px of the photo's long side; in the crop one photo pixel
  // is `scale` crop pixels, so the face gets the same line widths as the rest of the picture.
  const scale = Math.hypot(aligned.imageToCrop[0], aligned.imageToCrop[3]);
  return runProceduralFace(stylizer.name, aligned.image, masks.skin, stylizer.params, (photoLongSide / 1000) * scale);
}
