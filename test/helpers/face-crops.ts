/**
 * Aligned face crops of real photos, made the way the face pass makes them (detect, align onto a
 * 512 template, parse the skin), for tests and dev scripts of the per-face stylizers.
 */
import { faceMasks } from '../../src/core/face/crop.js';
import { estimateSimilarity, invertAffine, warpAffine, type Point } from '../../src/core/face/align.js';
import { detectFaces } from '../../src/core/face/detect.js';
import type { FloatPlane, RawImage } from '../../src/core/image.js';
import type { InferenceBackend } from '../../src/core/inference.js';
import type { Catalogue } from '../../src/core/models/catalogue.js';

/** Template points (image-left eye, image-right eye, nose, mouth corners) in a 512 crop. */
const TEMPLATE_512: readonly Point[] = [
  [192.98, 239.95],
  [318.9, 240.19],
  [256.63, 314.02],
  [201.26, 371.41],
  [313.09, 371.15],
];

export interface FaceCrop {
  crop: RawImage;
  /** Soft skin mask (skin + nose) in crop space. */
  skin: FloatPlane;
  /** Photo long side / 1000 times the crop's scale relative to the photo. */
  unit: number;
  /** Face box in the photo. */
  box: [number, number, number, number];
}

/** Every detected face of `photo` as an aligned `size`-px crop with its skin mask. */
export async function faceCrops(photo: RawImage, backend: InferenceBackend, catalogue: Catalogue, size = 512): Promise<FaceCrop[]> {
  const faces = await detectFaces(photo, backend, catalogue);
  const template = TEMPLATE_512.map(([x, y]) => [(x * size) / 512, (y * size) / 512] as const);
  const out: FaceCrop[] = [];
  for (const face of faces) {
    const imageToCrop = estimateSimilarity(face.landmarks, template);
    const crop = warpAffine(photo, invertAffine(imageToCrop), size, size);
    const scale = Math.hypot(imageToCrop[0], imageToCrop[3]);
    const geometry = {
      size,
      centerX: template.reduce((s, p) => s + p[0], 0) / template.length,
      centerY: template.reduce((s, p) => s + p[1], 0) / template.length,
      // The template's eyes are a quarter of the crop apart; ArcFace's are 35.24/112 of the face box.
      faceBox: ((template[1]![0] - template[0]![0]) * 112) / 35.24,
    };
    const masks = await faceMasks({ image: crop, imageToCrop, geometry }, backend, catalogue.helper('face-parser'));
    out.push({ crop, skin: masks.skin, unit: (Math.max(photo.width, photo.height) / 1000) * scale, box: face.box });
  }
  return out;
}
