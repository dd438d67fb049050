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
import { ellipseMask, labelPlane, parsingMask, SKIN_LABELS, type CropGeometry } from './mask.js';
import { resizePlane } from './plane-resize.js';

export const PARSING_MODEL = 'bisenetv2-faceparsing-448';

export interface FaceCrop {
  image: RawImage;
  /** Image → crop transform. */
  imageToCrop: Affine;
  geometry: CropGeometry;
  /** Soft paste mask in crop space (0..1). */
  mask: FloatPlane;
  /** Where skin is (soft), in crop space; used to keep the person's skin tone. */
  skin: FloatPlane;
  maskSource: 'parsing' | 'ellipse';
}

export interface CropOptions {
  size: number;
  margin: number;
}

export async function prepareFaceCrop(
  image: RawImage,
  landmarks: readonly Point[],
  options: CropOptions,
  backend: InferenceBackend,
  model: (id: string) => ModelEntry,
): Promise<FaceCrop> {
  const template = faceTemplate({ size: options.size, margin: options.margin });
  const imageToCrop = estimateSimilarity(landmarks, template);
  const crop = warpAffine(image, invertAffine(imageToCrop), options.size, options.size);
  const geometry: CropGeometry = {
    size: options.size,
    centerX: template.reduce((s, p) => s + p[0], 0) / template.length,
    centerY: template.reduce((s, p) => s + p[1], 0) / template.length,
    faceBox: options.size / (1 + 2 * options.margin),
  };
  if (backend.has(PARSING_MODEL)) {
    const entry = model(PARSING_MODEL);
    const [pw, ph] = entry.input.fixedSize ?? [448, 448];
    const input = resizeImage(crop, pw, ph);
    const outputs = await backend.run(PARSING_MODEL, { [entry.input.name]: imageToTensor(input, entry.input) });
    const labels = outputs[entry.output?.name ?? 'final_output'] ?? Object.values(outputs)[0];
    if (labels) {
      const mask = parsingMask(labels.data, pw, geometry);
      const skinLabels = labelPlane(labels.data, pw, SKIN_LABELS);
      const skin = resizePlane(skinLabels, options.size, options.size);
      return { image: crop, imageToCrop, geometry, mask, skin, maskSource: 'parsing' };
    }
  }
  const mask = ellipseMask(geometry);
  // Without parsing, the inner part of the face ellipse stands in for skin.
  const skin = ellipseMask({ ...geometry, faceBox: geometry.faceBox * 0.55, centerY: geometry.centerY + geometry.faceBox * 0.1 });
  return { image: crop, imageToCrop, geometry, mask, skin: gaussianBlurPlane(skin, 1), maskSource: 'ellipse' };
}
