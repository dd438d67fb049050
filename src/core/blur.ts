/**
 * Blurs for masks (feathering) and images ("blur background" mode). Everything is separable and, for
 * the box filter, O(1) per pixel whatever the radius, so a 4000x3000 photo blurs as fast with a
 * 200 px radius as with a 2 px one. Edges are clamp-to-edge (the border pixel is repeated), which
 * keeps a constant image constant and does not darken borders the way zero padding would.
 */
import { createImage, type FloatPlane, type RawImage } from './image.js';

/**
 * Mean over a (2r+1)x(2r+1) window. `radius` is rounded to an integer; 0 returns a copy.
 */
export function boxBlurPlane(plane: FloatPlane, radius: number): FloatPlane {
  assertRadius(radius, 'box blur radius');
  const { width, height } = plane;
  const out = new Float32Array(plane.data);
  const r = Math.round(radius);
  if (r > 0 && width > 0 && height > 0) {
    boxBlurInPlace(out, new Float32Array(width * height), width, height, r, r);
  }
  return { width, height, data: out };
}

/**
 * Gaussian blur with standard deviation `sigma` px. Large sigmas use three box passes whose widths are
 * chosen to match the gaussian's variance exactly (the classic "boxes for gauss" construction), so the
 * cost does not grow with sigma. Small sigmas (< 2 px) use a sampled gaussian kernel instead: there a
 * box of integer width is too coarse an approximation and a kernel of at most 13 taps is cheap anyway.
 */
export function gaussianBlurPlane(plane: FloatPlane, sigma: number): FloatPlane {
  assertRadius(sigma, 'gaussian blur sigma');
  const { width, height } = plane;
  const out = new Float32Array(plane.data);
  if (width > 0 && height > 0) gaussianBlurInPlace(out, new Float32Array(width * height), width, height, sigma);
  return { width, height, data: out };
}

/**
 * Gaussian blur of a 1, 3 or 4 channel image. RGBA is blurred with premultiplied alpha, so colours of
 * fully transparent pixels do not bleed into their visible neighbours (matters when feathering cut-outs).
 */
export function gaussianBlurImage(image: RawImage, sigma: number): RawImage {
  assertRadius(sigma, 'gaussian blur sigma');
  const { width, height, channels } = image;
  const src = image.data;
  const out = createImage(width, height, channels);
  const n = width * height;
  if (n === 0) return out;
  const dst = out.data;
  const plane = new Float32Array(n);
  const tmp = new Float32Array(n);
  const colourChannels = channels === 4 ? 3 : channels;
  let alpha: Float32Array | undefined;
  if (channels === 4) {
    alpha = new Float32Array(n);
    for (let i = 0, j = 3; i < n; i++, j += 4) alpha[i] = src[j]!;
    gaussianBlurInPlace(alpha, tmp, width, height, sigma);
    for (let i = 0, j = 3; i < n; i++, j += 4) dst[j] = alpha[i]! + 0.5;
  }
  for (let c = 0; c < colourChannels; c++) {
    if (channels === 4) {
      for (let i = 0, j = c; i < n; i++, j += 4) plane[i] = (src[j]! * src[j - c + 3]!) / 255;
    } else {
      for (let i = 0, j = c; i < n; i++, j += channels) plane[i] = src[j]!;
    }
    gaussianBlurInPlace(plane, tmp, width, height, sigma);
    if (alpha !== undefined) {
      for (let i = 0, j = c; i < n; i++, j += 4) {
        const a = alpha[i]!;
        // Un-premultiply; a fully transparent result keeps colour 0 (it is invisible either way).
        dst[j] = a > 1e-3 ? Math.min(255, (plane[i]! * 255) / a) + 0.5 : 0;
      }
    } else {
      for (let i = 0, j = c; i < n; i++, j += channels) dst[j] = plane[i]! + 0.5;
    }
  }
  return out;
}

/**
 * In-place gaussian blur of a width x height float buffer, using `tmp` (same length) as scratch.
 * Exported for the procedural filters, which blur many planes and want to reuse their buffers.
 */
export function gaussianBlurInPlace(data: Float32Array, tmp: Float32Array, width: number, height: number, sigma: number): void {
  if (!(sigma > 0) || width === 0 || height === 0) return;
  if (sigma < 2) {
    kernelBlurInPlace(data, tmp, width, height, sampledGaussian(sigma));
    return;
  }
  for (const r of boxRadiiForGaussian(sigma, 3)) boxBlurInPlace(data, tmp, width, height, r, r);
}

/**
 * In-place box blur with independent horizontal and vertical radii (integers >= 0), `tmp` as scratch.
 * Two passes: rows into `tmp`, then columns back into `data`. The column pass walks rows in order and
 * keeps one running sum per column, so both passes read memory sequentially (cache friendly on big
 * images) instead of striding down columns.
 */
export function boxBlurInPlace(
  data: Float32Array,
  tmp: Float32Array,
  width: number,
  height: number,
  rx: number,
  ry: number,
): void {
  if (rx > 0) {
    const inv = 1 / (2 * rx + 1);
    const last = width - 1;
    for (let y = 0; y < height; y++) {
      const row = y * width;
      // Running sum over the clamped window [x - rx, x + rx]; doubles so long rows do not drift.
      let sum = data[row]! * (rx + 1);
      for (let k = 1; k <= rx; k++) sum += data[row + Math.min(k, last)]!;
      for (let x = 0; x < width; x++) {
        tmp[row + x] = sum * inv;
        const add = x + rx + 1;
        const sub = x - rx;
        sum += data[row + (add < last ? add : last)]! - data[row + (sub > 0 ? sub : 0)]!;
      }
    }
  } else {
    tmp.set(data.subarray(0, width * height));
  }
  if (ry > 0) {
    const inv = 1 / (2 * ry + 1);
    const last = height - 1;
    const sums = new Float64Array(width);
    for (let x = 0; x < width; x++) sums[x] = tmp[x]! * (ry + 1);
    for (let k = 1; k <= ry; k++) {
      const row = Math.min(k, last) * width;
      for (let x = 0; x < width; x++) sums[x]! += tmp[row + x]!;
    }
    for (let y = 0; y < height; y++) {
      const row = y * width;
      const add = y + ry + 1;
      const sub = y - ry;
      const addRow = (add < last ? add : last) * width;
      const subRow = (sub > 0 ? sub : 0) * width;
      for (let x = 0; x < width; x++) {
        const s = sums[x]!;
        data[row + x] = s * inv;
        sums[x] = s + tmp[addRow + x]! - tmp[subRow + x]!;
      }
    }
  } else {
    data.set(tmp.subarray(0, width * height));
  }
}

/**
 * Integer radii of `passes` successive box filters whose combined variance equals sigma^2
 * (W. Jarosz / I. Kutskir): widths are the odd integers just below and above the ideal width.
 */
export function boxRadiiForGaussian(sigma: number, passes: number): number[] {
  const ideal = Math.sqrt((12 * sigma * sigma) / passes + 1);
  let lower = Math.floor(ideal);
  if (lower % 2 === 0) lower--;
  const upper = lower + 2;
  const m = Math.round(
    (12 * sigma * sigma - passes * lower * lower - 4 * passes * lower - 3 * passes) / (-4 * lower - 4),
  );
  const radii: number[] = [];
  for (let i = 0; i < passes; i++) radii.push(((i < m ? lower : upper) - 1) / 2);
  return radii;
}

/** Normalised gaussian taps for offsets -r..r with r = ceil(3 sigma). */
function sampledGaussian(sigma: number): Float32Array {
  const r = Math.max(1, Math.ceil(3 * sigma));
  const k = new Float32Array(2 * r + 1);
  let total = 0;
  for (let i = -r; i <= r; i++) {
    const v = Math.exp((-i * i) / (2 * sigma * sigma));
    k[i + r] = v;
    total += v;
  }
  for (let i = 0; i < k.length; i++) k[i]! /= total;
  return k;
}

/** Separable convolution with a symmetric odd-length kernel, clamp-to-edge. */
function kernelBlurInPlace(data: Float32Array, tmp: Float32Array, width: number, height: number, kernel: Float32Array): void {
  const r = (kernel.length - 1) >> 1;
  const lastX = width - 1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      let s = 0;
      if (x >= r && x + r <= lastX) {
        for (let k = -r, base = row + x; k <= r; k++) s += kernel[k + r]! * data[base + k]!;
      } else {
        for (let k = -r; k <= r; k++) {
          const xx = x + k;
          s += kernel[k + r]! * data[row + (xx < 0 ? 0 : xx > lastX ? lastX : xx)]!;
        }
      }
      tmp[row + x] = s;
    }
  }
  const lastY = height - 1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    data.fill(0, row, row + width);
    for (let k = -r; k <= r; k++) {
      const yy = y + k;
      const src = (yy < 0 ? 0 : yy > lastY ? lastY : yy) * width;
      const w = kernel[k + r]!;
      for (let x = 0; x < width; x++) data[row + x]! += w * tmp[src + x]!;
    }
  }
}

function assertRadius(value: number, what: string): void {
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`Expected a finite number >= 0 for the ${what} but received ${value}`);
  }
}
