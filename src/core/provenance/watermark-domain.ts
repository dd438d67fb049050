/**
 * The transform domain the invisible watermark lives in, and the way back to pixels.
 *
 * The picture's luma is resampled to a fixed 512x512 canvas whatever its size and aspect ratio (so a
 * resized or stretched copy lands on the same canvas), one level of the Haar wavelet keeps the
 * approximation band (256x256: the detail the mark must survive is low-pass, which JPEG, WebP and
 * scaling keep), and that band is cut into 8x8 blocks whose low and middle DCT coefficients carry the
 * mark. Hand-written because the core runs in Node, in the browser and on every video frame without
 * native image libraries, and only these few coefficients are needed (a full 2-D DCT would be waste).
 */
import type { RawImage } from '../image.js';

/** Side of the canvas the luma is resampled to. */
export const CANVAS_SIDE = 512;
/** Side of the Haar approximation band. */
export const BAND_SIDE = CANVAS_SIDE / 2;
export const BLOCK = 8;
export const BLOCKS_PER_SIDE = BAND_SIDE / BLOCK;
export const BLOCK_COUNT = BLOCKS_PER_SIDE * BLOCKS_PER_SIDE;

/** The DCT coefficients (row frequency, column frequency) of each block that carry the mark. */
export const MARKED_FREQUENCIES: readonly (readonly [number, number])[] = [
  [0, 1],
  [1, 0],
  [1, 1],
  [0, 2],
  [2, 0],
  [1, 2],
  [2, 1],
  [2, 2],
];
export const COEFFICIENT_COUNT = BLOCK_COUNT * MARKED_FREQUENCIES.length;

/** Orthonormal DCT-II basis: BASIS[u * 8 + x] = α(u) cos((2x + 1)uπ / 16). */
const BASIS = new Float64Array(BLOCK * BLOCK);
for (let u = 0; u < BLOCK; u++) {
  const alpha = u === 0 ? Math.sqrt(1 / BLOCK) : Math.sqrt(2 / BLOCK);
  for (let x = 0; x < BLOCK; x++) BASIS[u * BLOCK + x] = alpha * Math.cos(((2 * x + 1) * u * Math.PI) / (2 * BLOCK));
}

/** Rec. 601 luma of an RGB(A) or grey image, as floats. */
export function lumaOf(image: RawImage): Float32Array {
  const { width, height, channels, data } = image;
  const luma = new Float32Array(width * height);
  if (channels === 1) {
    for (let i = 0; i < luma.length; i++) luma[i] = data[i]!;
    return luma;
  }
  for (let i = 0, p = 0; i < luma.length; i++, p += channels) luma[i] = 0.299 * data[p]! + 0.587 * data[p + 1]! + 0.114 * data[p + 2]!;
  return luma;
}

interface Taps {
  start: Int32Array;
  count: Int32Array;
  weights: Float32Array;
  stride: number;
}

/** Keys' cubic convolution kernel (a = −0.5): sharp enough that enlarging keeps the mark's frequencies. */
function cubic(t: number): number {
  const x = Math.abs(t);
  if (x < 1) return 1.5 * x * x * x - 2.5 * x * x + 1;
  if (x < 2) return -0.5 * x * x * x + 2.5 * x * x - 4 * x + 2;
  return 0;
}

/**
 * Resampling weights from `from` samples to `to`: cubic when enlarging, a triangle widened to the
 * scale when shrinking (no aliasing).
 */
function taps(from: number, to: number): Taps {
  const scale = from / to;
  const enlarging = scale < 1;
  const support = enlarging ? 2 : Math.max(1, scale);
  const kernel = enlarging ? cubic : (t: number): number => Math.max(0, 1 - Math.abs(t) / support);
  const stride = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(to);
  const count = new Int32Array(to);
  const weights = new Float32Array(to * stride);
  for (let i = 0; i < to; i++) {
    const center = (i + 0.5) * scale - 0.5;
    const first = Math.max(0, Math.ceil(center - support));
    const last = Math.min(from - 1, Math.floor(center + support));
    let sum = 0;
    let n = 0;
    for (let j = first; j <= last && n < stride; j++, n++) {
      const w = kernel(j - center);
      weights[i * stride + n] = w;
      sum += w;
    }
    if (Math.abs(sum) < 1e-6) {
      // A point between samples at the very edge: take the nearest.
      weights.fill(0, i * stride, (i + 1) * stride);
      weights[i * stride] = 1;
      start[i] = Math.min(from - 1, Math.max(0, Math.round(center)));
      count[i] = 1;
      continue;
    }
    for (let k = 0; k < n; k++) weights[i * stride + k]! /= sum;
    start[i] = first;
    count[i] = n;
  }
  return { start, count, weights, stride };
}

/** Separable resampling of a float plane to another size. */
export function resamplePlane(source: Float32Array, width: number, height: number, toWidth: number, toHeight: number): Float32Array {
  const horizontal = taps(width, toWidth);
  const rows = new Float32Array(toWidth * height);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < toWidth; x++) {
      let sum = 0;
      const first = horizontal.start[x]!;
      const base = x * horizontal.stride;
      for (let k = 0; k < horizontal.count[x]!; k++) sum += horizontal.weights[base + k]! * source[row + first + k]!;
      rows[y * toWidth + x] = sum;
    }
  }
  const vertical = taps(height, toHeight);
  const out = new Float32Array(toWidth * toHeight);
  for (let y = 0; y < toHeight; y++) {
    const first = vertical.start[y]!;
    const base = y * vertical.stride;
    const n = vertical.count[y]!;
    const target = y * toWidth;
    for (let k = 0; k < n; k++) {
      const w = vertical.weights[base + k]!;
      const row = (first + k) * toWidth;
      for (let x = 0; x < toWidth; x++) out[target + x]! += w * rows[row + x]!;
    }
  }
  return out;
}

/** The luma resampled to the 512x512 canvas. */
export function canvasOf(luma: Float32Array, width: number, height: number): Float32Array {
  return resamplePlane(luma, width, height, CANVAS_SIDE, CANVAS_SIDE);
}

/**
 * Where a point of the original picture is in a changed copy, both in normalized coordinates (0…1
 * across the picture): x' = a·u + b·v + c, y' = d·u + e·v + f. How the reader undoes a crop, a
 * rotation or a sub-pixel shift.
 */
export interface CanvasMapping {
  a: number;
  b: number;
  c: number;
  d: number;
  e: number;
  f: number;
}

/**
 * The canvas of the original as seen through a changed copy's canvas: each original canvas point is
 * looked up (bilinearly) where `mapping` says it went. Points that left the copy take the copy's mean,
 * and their blocks are reported lost, so the reader treats what they carried as erased rather than
 * as evidence.
 */
export function warpCanvas(canvas: Float32Array, mapping: CanvasMapping): { canvas: Float32Array; lostBlocks: Uint8Array } {
  const lostBlocks = new Uint8Array(BLOCK_COUNT);
  let mean = 0;
  for (const value of canvas) mean += value;
  mean /= canvas.length;
  const out = new Float32Array(CANVAS_SIDE * CANVAS_SIDE);
  const max = CANVAS_SIDE - 1;
  const S = CANVAS_SIDE;
  const { a, b, c, d, e, f } = mapping;
  for (let y = 0; y < S; y++) {
    // Source position (in canvas pixels) of (x, y): fx = a·(x + ½) + b·(y + ½) + c·S − ½, stepping by a.
    let fx = a * 0.5 + b * (y + 0.5) + c * S - 0.5;
    let fy = d * 0.5 + e * (y + 0.5) + f * S - 0.5;
    const blockRow = Math.floor(y / (2 * BLOCK)) * BLOCKS_PER_SIDE;
    for (let x = 0; x < S; x++, fx += a, fy += d) {
      if (!(fx >= -0.5 && fy >= -0.5 && fx <= max + 0.5 && fy <= max + 0.5)) {
        out[y * S + x] = mean;
        // Canvas pixel (x, y) is band pixel (x/2, y/2), in block (x/16, y/16).
        lostBlocks[blockRow + Math.floor(x / (2 * BLOCK))] = 1;
        continue;
      }
      const cx = fx < 0 ? 0 : fx > max ? max : fx;
      const cy = fy < 0 ? 0 : fy > max ? max : fy;
      const x0 = Math.min(cx | 0, max - 1);
      const y0 = Math.min(cy | 0, max - 1);
      const wx = cx - x0;
      const wy = cy - y0;
      const i = y0 * S + x0;
      const top = canvas[i]! + (canvas[i + 1]! - canvas[i]!) * wx;
      const bottom = canvas[i + S]! + (canvas[i + S + 1]! - canvas[i + S]!) * wx;
      out[y * S + x] = top + (bottom - top) * wy;
    }
  }
  return { canvas: out, lostBlocks };
}

/**
 * Blocks that are mostly clipped to black or white (a brightened copy's paper, a blown-out sky): the
 * mark cannot survive there, so the reader counts what they carry as erased rather than as evidence.
 * Marks the blocks in `lost` (creating it when needed) and returns it.
 */
export function markClippedBlocks(canvas: Float32Array, lost: Uint8Array = new Uint8Array(BLOCK_COUNT)): Uint8Array {
  const side = 2 * BLOCK; // a band block is 16x16 canvas pixels
  for (let by = 0; by < BLOCKS_PER_SIDE; by++) {
    for (let bx = 0; bx < BLOCKS_PER_SIDE; bx++) {
      let clipped = 0;
      for (let y = by * side; y < (by + 1) * side; y++) {
        for (let x = bx * side; x < (bx + 1) * side; x++) {
          const value = canvas[y * CANVAS_SIDE + x]!;
          // Exactly at the limit: a marked but unclipped white still varies by a level or so.
          if (value >= 254.5 || value <= 0.5) clipped++;
        }
      }
      if (clipped > (side * side * 3) / 4) lost[by * BLOCKS_PER_SIDE + bx] = 1;
    }
  }
  return lost;
}

/** The Haar approximation band (orthonormal: each value is the 2x2 sum / 2) of a canvas. */
export function bandOfCanvas(canvas: Float32Array): Float32Array {
  const band = new Float32Array(BAND_SIDE * BAND_SIDE);
  for (let y = 0; y < BAND_SIDE; y++) {
    const top = 2 * y * CANVAS_SIDE;
    const bottom = top + CANVAS_SIDE;
    for (let x = 0; x < BAND_SIDE; x++) {
      band[y * BAND_SIDE + x] =
        (canvas[top + 2 * x]! + canvas[top + 2 * x + 1]! + canvas[bottom + 2 * x]! + canvas[bottom + 2 * x + 1]!) / 2;
    }
  }
  return band;
}

/** The Haar approximation band of a picture's canvas. */
export function approximationBand(luma: Float32Array, width: number, height: number): Float32Array {
  return bandOfCanvas(canvasOf(luma, width, height));
}

/** The marked DCT coefficients of every block, block by block (`MARKED_FREQUENCIES` order). */
export function markedCoefficients(band: Float32Array): Float64Array {
  const out = new Float64Array(COEFFICIENT_COUNT);
  const perBlock = MARKED_FREQUENCIES.length;
  const rowSums = new Float64Array(BLOCK * 3);
  for (let by = 0; by < BLOCKS_PER_SIDE; by++) {
    for (let bx = 0; bx < BLOCKS_PER_SIDE; bx++) {
      const origin = by * BLOCK * BAND_SIDE + bx * BLOCK;
      // Column transforms for column frequencies 0…2, one sum per row.
      for (let y = 0; y < BLOCK; y++) {
        for (let v = 0; v < 3; v++) {
          let sum = 0;
          for (let x = 0; x < BLOCK; x++) sum += BASIS[v * BLOCK + x]! * band[origin + y * BAND_SIDE + x]!;
          rowSums[v * BLOCK + y] = sum;
        }
      }
      const block = by * BLOCKS_PER_SIDE + bx;
      for (let k = 0; k < perBlock; k++) {
        const [u, v] = MARKED_FREQUENCIES[k]!;
        let sum = 0;
        for (let y = 0; y < BLOCK; y++) sum += BASIS[u * BLOCK + y]! * rowSums[v * BLOCK + y]!;
        out[block * perBlock + k] = sum;
      }
    }
  }
  return out;
}

/** The band-domain picture of coefficient changes (inverse DCT of only the marked coefficients). */
export function bandFromCoefficientChanges(changes: Float64Array): Float32Array {
  const band = new Float32Array(BAND_SIDE * BAND_SIDE);
  const perBlock = MARKED_FREQUENCIES.length;
  for (let block = 0; block < BLOCK_COUNT; block++) {
    const origin = Math.floor(block / BLOCKS_PER_SIDE) * BLOCK * BAND_SIDE + (block % BLOCKS_PER_SIDE) * BLOCK;
    for (let k = 0; k < perBlock; k++) {
      const change = changes[block * perBlock + k]!;
      if (change === 0) continue;
      const [u, v] = MARKED_FREQUENCIES[k]!;
      for (let y = 0; y < BLOCK; y++) {
        const cy = change * BASIS[u * BLOCK + y]!;
        for (let x = 0; x < BLOCK; x++) band[origin + y * BAND_SIDE + x]! += cy * BASIS[v * BLOCK + x]!;
      }
    }
  }
  return band;
}

/**
 * A band-domain change as a luma change at the picture's own size: the inverse Haar step with empty
 * detail bands (each band value spread over its 2x2 canvas pixels at half its value), then resampled
 * from the canvas to the picture, so that the decoder's forward path sees the band change again.
 */
export function lumaChangeFromBand(band: Float32Array, width: number, height: number): Float32Array {
  const halved = new Float32Array(band.length);
  for (let i = 0; i < band.length; i++) halved[i] = band[i]! / 2;
  // Resampling the band straight to the picture size is the inverse Haar step followed by the
  // canvas→picture resampling, with a smoother result than the 2x2 replication.
  return resamplePlane(halved, BAND_SIDE, BAND_SIDE, width, height);
}
