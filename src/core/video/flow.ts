/**
 * The optical-flow port and the small conversions around it. Flow is estimated on small grey
 * frames (a few hundred pixels on the long side) and applied to full-size frames, so the port works
 * on grey images and the field carries its own size; `resampleFlow` and the warps scale it.
 */
import type { RawImage } from '../image.js';
import { createImage } from '../image.js';
import { fitInside, resizeImage } from '../resize.js';

/**
 * A dense displacement field: for each pixel p of the `from` frame, `data[2i], data[2i+1]` is the
 * (dx, dy) such that p + (dx, dy) is where that point lies in the `to` frame, in this field's pixels.
 */
export interface FlowField {
  width: number;
  height: number;
  data: Float32Array;
}

/** Dense optical flow between two 1-channel grey images of the same size. */
export interface OpticalFlow {
  readonly name: string;
  compute(from: RawImage, to: RawImage): FlowField | Promise<FlowField>;
}

export function createFlowField(width: number, height: number): FlowField {
  return { width, height, data: new Float32Array(width * height * 2) };
}

/**
 * The frame in grey (BT.601 luma), shrunk so its long side is at most `maxSide` (never enlarged).
 * Luma first, then the area resize on one channel: a third of the resampling work of shrinking RGB.
 */
export function greyAtSize(image: RawImage, maxSide: number): RawImage {
  const { width, height } = fitInside(image.width, image.height, maxSide);
  const grey = image.channels === 1 ? image : toGrey(image);
  if (width === image.width && height === image.height) {
    return grey === image ? { width, height, channels: 1, data: image.data.slice() } : grey;
  }
  return resizeImage(grey, width, height);
}

function toGrey(image: RawImage): RawImage {
  const { width, height, channels, data } = image;
  const out = createImage(width, height, 1);
  const grey = out.data;
  // Fixed-point BT.601 weights (77 + 150 + 29 = 256), rounded.
  for (let i = 0, p = 0; i < grey.length; i++, p += channels) {
    grey[i] = (77 * data[p]! + 150 * data[p + 1]! + 29 * data[p + 2]! + 128) >> 8;
  }
  return out;
}

/**
 * One axis of a bilinear lookup from a grid of `outSize` pixels into one of `inSize` pixels, pixel
 * centres aligned (the convention of `resizeImage`), clamped at the edges.
 */
export interface AxisTaps {
  readonly first: Int32Array;
  readonly second: Int32Array;
  /** Weight of `second`; `first` gets 1 - t. */
  readonly t: Float32Array;
}

export function axisTaps(outSize: number, inSize: number): AxisTaps {
  const first = new Int32Array(outSize);
  const second = new Int32Array(outSize);
  const t = new Float32Array(outSize);
  const ratio = inSize / outSize;
  for (let i = 0; i < outSize; i++) {
    const x = Math.min(Math.max((i + 0.5) * ratio - 0.5, 0), inSize - 1);
    const a = Math.floor(x);
    first[i] = a;
    second[i] = Math.min(a + 1, inSize - 1);
    t[i] = x - a;
  }
  return { first, second, t };
}

/**
 * The field at another size: vectors interpolated bilinearly and scaled by the size ratio of each
 * axis, so they are in the new field's pixels.
 */
export function resampleFlow(field: FlowField, width: number, height: number): FlowField {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`Flow size must be positive integers, received ${width}x${height}`);
  }
  const scaleX = width / field.width;
  const scaleY = height / field.height;
  const out = createFlowField(width, height);
  const xs = axisTaps(width, field.width);
  const ys = axisTaps(height, field.height);
  const src = field.data;
  const dst = out.data;
  const inRow = field.width * 2;
  for (let y = 0; y < height; y++) {
    const rowA = ys.first[y]! * inRow;
    const rowB = ys.second[y]! * inRow;
    const ty = ys.t[y]!;
    for (let x = 0; x < width; x++) {
      const a = xs.first[x]! * 2;
      const b = xs.second[x]! * 2;
      const tx = xs.t[x]!;
      const o = (y * width + x) * 2;
      for (let c = 0; c < 2; c++) {
        const top = src[rowA + a + c]! + (src[rowA + b + c]! - src[rowA + a + c]!) * tx;
        const bottom = src[rowB + a + c]! + (src[rowB + b + c]! - src[rowB + a + c]!) * tx;
        dst[o + c] = (top + (bottom - top) * ty) * (c === 0 ? scaleX : scaleY);
      }
    }
  }
  return out;
}
