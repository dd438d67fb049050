/**
 * Runs an image-to-image style model on one image or tile: pad (reflect) to the model's size
 * multiple, convert, run, convert back, crop to the original size. Never stretches.
 */
import { PortoonError } from './errors.js';
import { cropImage, type RawImage } from './image.js';
import type { InferenceBackend } from './inference.js';
import type { ModelEntry } from './models/manifest.js';
import { imageToTensor, padReflect, roundUpTo, tensorToImage } from './tensor.js';

export async function runStyleModel(image: RawImage, entry: ModelEntry, backend: InferenceBackend): Promise<RawImage> {
  const multiple = entry.input.sizeMultiple;
  const paddedW = roundUpTo(image.width, multiple);
  const paddedH = roundUpTo(image.height, multiple);
  const padded = padReflect(image, paddedW - image.width, paddedH - image.height);
  const outputs = await backend.run(entry.id, { [entry.input.name]: imageToTensor(padded, entry.input) });
  const outputName = entry.output?.name ?? Object.keys(outputs)[0];
  const tensor = outputName === undefined ? undefined : outputs[outputName];
  if (!tensor) throw new PortoonError('E_INFERENCE_FAILED', `Model ${entry.id} produced no output "${outputName ?? ''}"`);
  const result = tensorToImage(tensor, entry);
  if (result.width !== paddedW || result.height !== paddedH) {
    throw new PortoonError(
      'E_INFERENCE_FAILED',
      `Model ${entry.id} returned ${result.width}x${result.height} for a ${paddedW}x${paddedH} input`,
    );
  }
  return result.width === image.width && result.height === image.height ? result : cropImage(result, 0, 0, image.width, image.height);
}
