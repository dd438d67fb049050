/**
 * Person segmentation for the "blur" background mode: a soft mask that is 1 on people and 0 on
 * the backdrop, so the backdrop can be thrown out of focus while people stay sharp.
 */
import { gaussianBlurPlane } from './blur.js';
import { PortoonError } from './errors.js';
import { resizePlane } from './face/plane-resize.js';
import { createPlane, type FloatPlane, type RawImage } from './image.js';
import type { InferenceBackend } from './inference.js';
import type { ModelEntry } from './models/manifest.js';
import { resizeImage } from './resize.js';
import { fixedInputSize, imageToTensor } from './tensor.js';

/** PASCAL VOC class index of "person" in the output of a `person-segmenter`. */
const PERSON_CLASS = 15;

/** Where the people are in `image`, by the segmentation model `entry` (a `person-segmenter`). */
export async function personMask(image: RawImage, backend: InferenceBackend, entry: ModelEntry): Promise<FloatPlane> {
  const [w, h] = fixedInputSize(entry);
  // The network only takes its fixed size; squeezing the photo into it is harmless here because
  // only the coarse mask comes back, and it is stretched back to the photo's own proportions.
  const outputs = await backend.run(entry.id, { [entry.input.name]: imageToTensor(resizeImage(image, w, h), entry.input) });
  const logits = outputs[entry.output?.name ?? ''] ?? Object.values(outputs)[0];
  const classes = logits?.dims.at(-1) ?? 0;
  if (!logits || !(logits.data instanceof Float32Array) || logits.data.length !== w * h * classes || classes <= PERSON_CLASS) {
    throw new PortoonError('E_INFERENCE_FAILED', `Model ${entry.id} returned an unexpected segmentation output`);
  }
  const small = createPlane(w, h);
  const data = logits.data;
  for (let i = 0; i < w * h; i++) {
    const base = i * classes;
    const person = data[base + PERSON_CLASS]!;
    let isPerson = 1;
    for (let k = 0; k < classes; k++) {
      if (data[base + k]! > person) {
        isPerson = 0;
        break;
      }
    }
    small.data[i] = isPerson;
  }
  const mask = resizePlane(small, image.width, image.height);
  // Feather the coarse outline (the network's few hundred pixels stretched over the photo) so the
  // focus falls off instead of cutting.
  return gaussianBlurPlane(mask, Math.max(2, Math.max(image.width, image.height) * 0.006));
}

/** `sharp * mask + blurred * (1 - mask)`, written into a new image. */
export function composite(sharp: RawImage, blurred: RawImage, mask: FloatPlane): RawImage {
  const out = new Uint8Array(sharp.data.length);
  const ch = sharp.channels;
  for (let i = 0, p = 0; i < mask.data.length; i++, p += ch) {
    const m = mask.data[i]!;
    for (let k = 0; k < ch; k++) {
      const b = blurred.data[p + k]!;
      out[p + k] = b + (sharp.data[p + k]! - b) * m + 0.5;
    }
  }
  return { width: sharp.width, height: sharp.height, channels: sharp.channels, data: out };
}
