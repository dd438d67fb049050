/**
 * Conversions between RawImage and model tensors, driven by a model entry's input conventions
 * (layout, colour order, mean/std) so a new model needs a manifest entry, not code.
 */
import { PortoonError } from './errors.js';
import { createImage, type RawImage } from './image.js';
import type { TensorData } from './inference.js';
import type { ModelEntry } from './models/manifest.js';

/** RGB(A) image → float32 tensor [1,H,W,3] or [1,3,H,W] normalised as the model expects. */
export function imageToTensor(image: RawImage, input: ModelEntry['input']): TensorData {
  const { width, height, channels } = image;
  if (channels < 3) throw new PortoonError('E_BAD_OPTION', `Expected an RGB image but received ${channels} channel(s)`);
  const plane = width * height;
  const out = new Float32Array(plane * 3);
  const bgr = input.colorOrder === 'BGR';
  // Channel k of the tensor reads source channel order[k].
  const order = bgr ? [2, 1, 0] : [0, 1, 2];
  const scale = input.std.map((s) => 1 / s);
  const src = image.data;
  if (input.layout === 'NHWC') {
    for (let i = 0, p = 0; i < plane; i++, p += channels) {
      const o = i * 3;
      for (let k = 0; k < 3; k++) out[o + k] = (src[p + order[k]!]! - input.mean[k]!) * scale[k]!;
    }
    return { type: 'float32', dims: [1, height, width, 3], data: out };
  }
  for (let i = 0, p = 0; i < plane; i++, p += channels) {
    for (let k = 0; k < 3; k++) out[k * plane + i] = (src[p + order[k]!]! - input.mean[k]!) * scale[k]!;
  }
  return { type: 'float32', dims: [1, 3, height, width], data: out };
}

/** Image-valued model output (NHWC, 3 channels) → RGB image, undoing scale/offset and colour order. */
export function tensorToImage(tensor: TensorData, entry: ModelEntry): RawImage {
  const dims = tensor.dims;
  const [height, width, ch] = dims.length === 4 ? [dims[1]!, dims[2]!, dims[3]!] : [dims[0]!, dims[1]!, dims[2]!];
  if (ch !== 3 || !(tensor.data instanceof Float32Array)) {
    throw new PortoonError(
      'E_INFERENCE_FAILED',
      `Model ${entry.id} returned a ${tensor.type} tensor of shape [${dims.join(',')}], expected an NHWC RGB image`,
    );
  }
  const out = createImage(width, height, 3);
  const scale = entry.output?.scale ?? 127.5;
  const offset = entry.output?.offset ?? 127.5;
  const bgr = entry.input.colorOrder === 'BGR';
  const src = tensor.data;
  const dst = out.data;
  for (let i = 0; i < src.length; i += 3) {
    const r = src[bgr ? i + 2 : i]! * scale + offset;
    const g = src[i + 1]! * scale + offset;
    const b = src[bgr ? i : i + 2]! * scale + offset;
    // Uint8Array assignment truncates and wraps; clamp and round explicitly.
    dst[i] = r <= 0 ? 0 : r >= 255 ? 255 : r + 0.5;
    dst[i + 1] = g <= 0 ? 0 : g >= 255 ? 255 : g + 0.5;
    dst[i + 2] = b <= 0 ? 0 : b >= 255 ? 255 : b + 0.5;
  }
  return out;
}

/** Extends an image to the right and bottom with black, for size multiples. */
export function padBlack(image: RawImage, right: number, bottom: number): RawImage {
  if (right === 0 && bottom === 0) return image;
  const { width, height, channels } = image;
  const out = createImage(width + right, height + bottom, channels);
  const row = width * channels;
  for (let y = 0; y < height; y++) out.data.set(image.data.subarray(y * row, (y + 1) * row), y * out.width * channels);
  return out;
}

/**
 * The one [width, height] a fixed-size model takes (the manifest guarantees it for the roles that
 * need it).
 * @throws PortoonError E_BAD_MANIFEST for an entry without `input.fixedSize`.
 */
export function fixedInputSize(entry: ModelEntry): readonly [number, number] {
  const size = entry.input.fixedSize;
  if (!size)
    throw new PortoonError('E_BAD_MANIFEST', `Model ${entry.id} needs input.fixedSize in its manifest entry`, {
      details: { model: entry.id },
    });
  return size;
}

/** Extends an image to the right and bottom by mirroring (no edge pixel repeated), for size multiples. */
export function padReflect(image: RawImage, right: number, bottom: number): RawImage {
  if (right === 0 && bottom === 0) return image;
  const { width, height, channels } = image;
  const out = createImage(width + right, height + bottom, channels);
  const reflect = (i: number, n: number): number => {
    if (n === 1) return 0;
    const period = 2 * (n - 1);
    const m = i % period;
    return m < n ? m : period - m;
  };
  const ow = out.width;
  for (let y = 0; y < out.height; y++) {
    const sy = reflect(y, height);
    const rowOut = y * ow * channels;
    const rowIn = sy * width * channels;
    out.data.set(image.data.subarray(rowIn, rowIn + width * channels), rowOut);
    for (let x = width; x < ow; x++) {
      const sx = reflect(x, width);
      for (let k = 0; k < channels; k++) out.data[rowOut + x * channels + k] = image.data[rowIn + sx * channels + k]!;
    }
  }
  return out;
}

export function roundUpTo(value: number, multiple: number): number {
  return Math.ceil(value / multiple) * multiple;
}
