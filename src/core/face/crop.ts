/**
 * Everything the head pass needs for one face: the aligned crop of the original photo, the
 * transform that produced it, the soft paste mask and the skin weights used for tone matching.
 */
import { resizeImage } from '../resize.js';
import { createPlane, type FloatPlane, type RawImage } from '../image.js';
import type { InferenceBackend } from '../inference.js';
import type { ModelEntry } from '../models/manifest.js';
import { fixedInputSize, imageToTensor } from '../tensor.js';
import { gaussianBlurPlane } from '../blur.js';
import { estimateSimilarity, invertAffine, warpAffine, type Affine, type Point } from './align.js';
import { framingFaceBox, framingPoints, type FaceFraming } from './framing.js';
import {
  applyBorderFade,
  blendMask,
  ellipseMask,
  HAIR_LABELS,
  keepMask,
  labelPlane,
  SKIN_LABELS,
  TONE_LABELS,
  WHITES_LABELS,
  type CropGeometry,
} from './mask.js';
import { resizePlane } from './plane-resize.js';

export interface AlignedFace {
  image: RawImage;
  /** Image → crop transform. */
  imageToCrop: Affine;
  geometry: CropGeometry;
}

export interface FaceMasks {
  /** Soft paste mask in crop space (0..1). */
  mask: FloatPlane;
  /** Where skin is (soft), in crop space: where the person's skin tone is measured. */
  skin: FloatPlane;
  /**
   * Where a skin-tone correction is applied (soft): the whole face and the neck, so the correction
   * has no edge around the mouth, the nose or the eyes.
   */
  tone: FloatPlane;
  /** Eyes and mouth (soft): where whites (eye whites, teeth) keep their brightness under a tone correction. */
  whites: FloatPlane;
  /** Where hair is (parsed; empty for the ellipse): where the hair colour is measured and brought back. */
  hair: FloatPlane;
  source: 'parsing' | 'ellipse';
}

/**
 * Cuts the face out of the photo, rotated and scaled so its landmarks land on the framing's points
 * in a `size`-px crop, with the framing's border outside the photo.
 */
export function alignFace(image: RawImage, landmarks: readonly Point[], framing: FaceFraming, size: number): AlignedFace {
  const points = framingPoints(framing, size);
  const imageToCrop = estimateSimilarity(landmarks, points);
  const crop = warpAffine(image, invertAffine(imageToCrop), size, size, framing.border);
  const geometry: CropGeometry = {
    size,
    centerX: points.reduce((s, p) => s + p[0], 0) / points.length,
    centerY: points.reduce((s, p) => s + p[1], 0) / points.length,
    faceBox: framingFaceBox(framing, size),
    points,
  };
  return { image: crop, imageToCrop, geometry };
}

/**
 * What the paste mask is for. 'blend': the face goes over a stylized picture; 'keep': over the
 * original photo. Both take only the face and the hair connected to it (the parser also calls
 * backdrop texture "hair"; the head model's rendering of such a blob would show as a patch); 'blend'
 * adds the lower face (a beard or goatee the parser leaves out stays attached to the chin) and
 * leaves hats to the background pass (face models redraw faces and hair, not hats).
 */
export type MaskPurpose = 'blend' | 'keep';

/**
 * Paste, skin and tone masks: from the face-parsing model (a `face-parser`) when there is one and
 * it is installed, else geometric ellipses.
 */
export async function faceMasks(
  face: AlignedFace,
  backend: InferenceBackend,
  parser: ModelEntry | undefined,
  purpose: MaskPurpose = 'blend',
): Promise<FaceMasks> {
  const { geometry } = face;
  const labels = parser && backend.has(parser.id) ? await parseFace(face.image, backend, parser) : undefined;
  if (labels) {
    const { data, size } = labels;
    const mask = (purpose === 'keep' ? keepMask(data, size, geometry) : blendMask(data, size, geometry)) ?? ellipseMask(geometry, true);
    const skin = resizePlane(labelPlane(data, size, SKIN_LABELS), geometry.size, geometry.size);
    const tone = toneWeight(resizePlane(labelPlane(data, size, TONE_LABELS), geometry.size, geometry.size), geometry);
    const whites = toneWeight(resizePlane(labelPlane(data, size, WHITES_LABELS), geometry.size, geometry.size), geometry);
    const hair = resizePlane(labelPlane(data, size, HAIR_LABELS), geometry.size, geometry.size);
    return { mask, skin, tone, whites, hair, source: 'parsing' };
  }
  const mask = ellipseMask(geometry, purpose === 'keep');
  // Without parsing, the inner part of the face ellipse stands in for skin.
  const skin = ellipseMask({ ...geometry, faceBox: geometry.faceBox * 0.55, centerY: geometry.centerY + geometry.faceBox * 0.1 });
  const tone = toneWeight(ellipseMask(geometry, true), geometry);
  const hair = createPlane(geometry.size, geometry.size);
  return { mask, skin: gaussianBlurPlane(skin, 1), tone, whites: tone, hair, source: 'ellipse' };
}

/** Face-parsing labels of a crop, `size`² (the parsing model's fixed input size, square for a parser). */
async function parseFace(
  crop: RawImage,
  backend: InferenceBackend,
  entry: ModelEntry,
): Promise<{ data: ArrayLike<number | bigint>; size: number } | undefined> {
  const [size] = fixedInputSize(entry);
  const input = resizeImage(crop, size, size);
  const outputs = await backend.run(entry.id, { [entry.input.name]: imageToTensor(input, entry.input) });
  const labels = outputs[entry.output?.name ?? 'final_output'] ?? Object.values(outputs)[0];
  return labels && { data: labels.data, size };
}

/**
 * The tone region feathered wide enough that a correction fades without a visible edge (about a
 * fifth of the eye distance), then made fully opaque inside.
 */
function toneWeight(region: FloatPlane, geometry: CropGeometry): FloatPlane {
  const soft = gaussianBlurPlane(region, Math.max(1, geometry.faceBox * 0.02));
  for (let i = 0; i < soft.data.length; i++) soft.data[i] = Math.min(1, soft.data[i]! * 1.25);
  applyBorderFade(soft, geometry.size * 0.1);
  return soft;
}
