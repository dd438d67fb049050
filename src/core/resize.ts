/**
 * Image resampling for the engine. Hand-written rather than delegated to sharp or a canvas: the core
 * must give bit-identical results in Node and in the browser, and detectors and alignment are tuned
 * against exactly these pixels.
 *
 * Each axis is resampled on its own (two separable passes) with weights computed once per axis:
 * - shrinking averages the source area each output pixel covers (a box filter with fractional
 *   edges), so fine detail such as hair or a checkerboard turns into its mean instead of aliasing;
 * - enlarging interpolates bilinearly between pixel centres (edges clamp).
 * The two axes are independent, so one can shrink while the other grows.
 */
import type { RawImage } from './image.js';
import { cloneImage, createImage } from './image.js';

/** Source taps of every output position along one axis, in a flat layout for tight loops. */
interface AxisWeights {
  /** First source index of output i. */
  readonly start: Int32Array;
  /** Taps output i actually uses; all of them lie inside the source. */
  readonly count: Int32Array;
  /** Stride of `weights`: the most taps any output position can need. */
  readonly taps: number;
  /** `weights[i * taps + k]` applies to source index `start[i] + k`, for k < count[i]. */
  readonly weights: Float32Array;
}

function axisWeights(inSize: number, outSize: number): AxisWeights {
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  if (outSize < inSize) {
    // Area average: output i covers [i * ratio, (i + 1) * ratio) in source pixels.
    const ratio = inSize / outSize;
    const taps = Math.ceil(ratio) + 1;
    const weights = new Float32Array(outSize * taps);
    for (let i = 0; i < outSize; i++) {
      const from = i * ratio;
      const to = Math.min(inSize, from + ratio);
      const first = Math.floor(from);
      const last = Math.min(inSize, Math.ceil(to)) - 1;
      start[i] = first;
      count[i] = last - first + 1;
      let sum = 0;
      for (let j = first; j <= last; j++) {
        const overlap = Math.max(0, Math.min(to, j + 1) - Math.max(from, j));
        weights[i * taps + j - first] = overlap;
        sum += overlap;
      }
      // Normalise so the weights sum to 1 (a constant image stays constant).
      for (let k = 0; k < count[i]!; k++) weights[i * taps + k]! /= sum;
    }
    return { start, count, taps, weights };
  }
  // Bilinear with pixel centres aligned (the half-pixel convention), clamped at the edges.
  const taps = 2;
  const weights = new Float32Array(outSize * taps);
  const ratio = inSize / outSize;
  for (let i = 0; i < outSize; i++) {
    const x = Math.min(Math.max((i + 0.5) * ratio - 0.5, 0), inSize - 1);
    const first = Math.min(Math.floor(x), inSize - 1);
    const t = x - first;
    start[i] = first;
    if (t === 0) {
      count[i] = 1;
      weights[i * taps] = 1;
    } else {
      count[i] = 2;
      weights[i * taps] = 1 - t;
      weights[i * taps + 1] = t;
    }
  }
  return { start, count, taps, weights };
}

function assertSize(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, received ${value}`);
  }
}

/**
 * Resizes an image of any channel count to exactly `width` x `height` (the aspect ratio is the
 * caller's business; see {@link fitInside}).
 */
export function resizeImage(image: RawImage, width: number, height: number): RawImage {
  assertSize('width', width);
  assertSize('height', height);
  const { width: inW, height: inH, channels } = image;
  if (image.data.length !== inW * inH * channels) {
    throw new RangeError(`Image data has ${image.data.length} bytes, expected ${inW}x${inH}x${channels}`);
  }
  if (width === inW && height === inH) return cloneImage(image);

  const src = image.data;
  const inRow = inW * channels;
  // Pass 1: vertical, into float rows (`height` rows of the source width). Done first because it is
  // a plain row-times-weight accumulation, the cheapest loop per tap, and it runs over the most data
  // when shrinking. Rounding only once, at the end, keeps the two passes from compounding error.
  let mid: Float32Array;
  if (height === inH) {
    mid = Float32Array.from(src);
  } else {
    mid = new Float32Array(height * inRow);
    const { start, count, taps, weights } = axisWeights(inH, height);
    for (let y = 0; y < height; y++) {
      const acc = mid.subarray(y * inRow, (y + 1) * inRow);
      const n = count[y]!;
      const w0 = y * taps;
      let k = 0;
      // Two source rows per sweep halves the reads and writes of the accumulator row (~1.5x faster).
      for (; k + 1 < n; k += 2) {
        const wa = weights[w0 + k]!;
        const wb = weights[w0 + k + 1]!;
        const from = (start[y]! + k) * inRow;
        const a = src.subarray(from, from + inRow);
        const b = src.subarray(from + inRow, from + 2 * inRow);
        for (let i = 0; i < inRow; i++) acc[i]! += wa * a[i]! + wb * b[i]!;
      }
      if (k < n) {
        const w = weights[w0 + k]!;
        const from = (start[y]! + k) * inRow;
        const a = src.subarray(from, from + inRow);
        for (let i = 0; i < inRow; i++) acc[i]! += w * a[i]!;
      }
    }
  }

  // Pass 2: horizontal, from the float rows into bytes.
  const out = createImage(width, height, channels);
  const dst = out.data;
  if (width === inW) {
    for (let i = 0; i < mid.length; i++) dst[i] = clampByte(mid[i]!);
    return out;
  }
  const { start, count, taps, weights } = axisWeights(inW, width);
  const outRow = width * channels;
  if (channels === 3) {
    // The pipeline's common case: all three channels in one sweep over the taps.
    for (let y = 0; y < height; y++) {
      const rowIn = y * inRow;
      const rowOut = y * outRow;
      for (let x = 0; x < width; x++) {
        const w0 = x * taps;
        const n = count[x]!;
        let r = 0;
        let g = 0;
        let b = 0;
        for (let k = 0, p = rowIn + start[x]! * 3; k < n; k++, p += 3) {
          const w = weights[w0 + k]!;
          r += w * mid[p]!;
          g += w * mid[p + 1]!;
          b += w * mid[p + 2]!;
        }
        const o = rowOut + x * 3;
        dst[o] = clampByte(r);
        dst[o + 1] = clampByte(g);
        dst[o + 2] = clampByte(b);
      }
    }
    return out;
  }
  for (let y = 0; y < height; y++) {
    const rowIn = y * inRow;
    const rowOut = y * outRow;
    for (let x = 0; x < width; x++) {
      const base = rowIn + start[x]! * channels;
      const w0 = x * taps;
      const n = count[x]!;
      const o = rowOut + x * channels;
      for (let c = 0; c < channels; c++) {
        let acc = 0;
        for (let k = 0, p = base + c; k < n; k++, p += channels) acc += weights[w0 + k]! * mid[p]!;
        dst[o + c] = clampByte(acc);
      }
    }
  }
  return out;
}

function clampByte(value: number): number {
  // Uint8Array assignment truncates; add 0.5 to round, and clamp float overshoot at the ends.
  return value <= 0 ? 0 : value >= 255 ? 255 : value + 0.5;
}

export interface FitResult {
  width: number;
  height: number;
  /** New size / old size (the same for both axes up to rounding to whole pixels). */
  scale: number;
}

/**
 * The size that fits `width` x `height` inside a `maxSide` square, keeping the aspect ratio. Never
 * enlarges: an image already small enough keeps its size and gets scale 1.
 */
export function fitInside(width: number, height: number, maxSide: number): FitResult {
  assertSize('width', width);
  assertSize('height', height);
  assertSize('maxSide', maxSide);
  const scale = Math.min(1, maxSide / Math.max(width, height));
  return {
    width: Math.max(1, Math.min(maxSide, Math.round(width * scale))),
    height: Math.max(1, Math.min(maxSide, Math.round(height * scale))),
    scale,
  };
}
