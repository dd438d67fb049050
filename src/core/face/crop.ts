/**
 * Everything the head pass needs for one face: the aligned crop of the original photo, the
 * transform that produced it, the soft paste mask and the skin weights used for tone matching.
 */
import { resizeImage } from '../resize.js';
import type { FloatPlane, RawImage } from '../image.js';
import type { InferenceBackend } from '../inference.js';
import type { ModelEntry } from '../models/manifest.js';
import { imageToTensor } from '../tensor.js';
import { gaussianBlurPlane } from '../blur.js';
import { estimateSimilarity, faceTemplate, invertAffine, warpAffine, type Affine, type Point } from './align.js';
import { ellipseMask, keepMask, labelPlane, parsingMask, SKIN_LABELS, type CropGeometry } from './mask.js';
import { resizePlane } from './plane-resize.js';

export const PARSING_MODEL = 'bisenetv2-faceparsing-448';

export interface AlignedFace {
  image: RawImage;
  /** Image → crop transform. */
  imageToCrop: Affine;
  geometry: CropGeometry;
}

export interface FaceMasks {
  /** Soft paste mask in crop space (0..1). */
  mask: FloatPlane;
  /** Where skin is (soft), in crop space; used to keep the person's skin tone. */
  skin: FloatPlane;
  source: 'parsing' | 'ellipse';
}

export interface CropOptions {
  size: number;
  margin: number;
}

/** Cuts the face out of the photo, rotated and scaled onto the canonical template. */
export function alignFace(image: RawImage, landmarks: readonly Point[], options: CropOptions): AlignedFace {
  const template = faceTemplate({ size: options.size, margin: options.margin });
  const imageToCrop = estimateSimilarity(landmarks, template);
  const crop = warpAffine(image, invertAffine(imageToCrop), options.size, options.size);
  const geometry: CropGeometry = {
    size: options.size,
    centerX: template.reduce((s, p) => s + p[0], 0) / template.length,
    centerY: template.reduce((s, p) => s + p[1], 0) / template.length,
    faceBox: options.size / (1 + 2 * options.margin),
  };
  return { image: crop, imageToCrop, geometry };
}

/**
 * What the paste mask is for. 'blend': the face goes over a stylized picture, so the mask is the
 * whole head as parsed (any mislabelled blob lands on stylized pixels anyway). 'keep': the face goes
 * over the original photo, so the mask is only the face and the hair connected to it, and the
 * ellipse fallback stays inside the face outline.
 */
export type MaskPurpose = 'blend' | 'keep';

/** Paste and skin masks: from the face-parsing model when installed, else geometric ellipses. */
export async function faceMasks(
  face: AlignedFace,
  backend: InferenceBackend,
  model: (id: string) => ModelEntry,
  purpose: MaskPurpose = 'blend',
): Promise<FaceMasks> {
  const { geometry } = face;
  if (backend.has(PARSING_MODEL)) {
    const entry = model(PARSING_MODEL);
    const [pw, ph] = entry.input.fixedSize ?? [448, 448];
    const input = resizeImage(face.image, pw, ph);
    const outputs = await backend.run(PARSING_MODEL, { [entry.input.name]: imageToTensor(input, entry.input) });
    const labels = outputs[entry.output?.name ?? 'final_output'] ?? Object.values(outputs)[0];
    if (labels) {
      // With the background kept, a parse that finds no face at all falls back to the tight ellipse.
      const mask =
        purpose === 'keep' ? (keepMask(labels.data, pw, geometry) ?? ellipseMask(geometry, true)) : parsingMask(labels.data, pw, geometry);
      const skin = resizePlane(labelPlane(labels.data, pw, SKIN_LABELS), geometry.size, geometry.size);
      return { mask, skin, source: 'parsing' };
    }
  }
  const mask = ellipseMask(geometry, purpose === 'keep');
  // Without parsing, the inner part of the face ellipse stands in for skin.
  const skin = ellipseMask({ ...geometry, faceBox: geometry.faceBox * 0.55, centerY: geometry.centerY + geometry.faceBox * 0.1 });
  return { mask, skin: gaussianBlurPlane(skin, 1), source: 'ellipse' };
}
