/**
 * Blurs for masks (feathering) and images ("blur background" mode). Everything is separable and, for
 * the box filter, O(1) per pixel whatever the radius, so a 4000x3000 photo blurs as fast with a
 * 200 px radius as with a 2 px one. Edges are clamp-to-edge (the border pixel is repeated), which
 * keeps a constant image constant and does not darken borders the way zero padding would.
 */
import { cloneImage, createImage, type FloatPlane, type RawImage } from './image.js';

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
 * Gaussian blur with standard deviation `sigma` px. From 2 px up it is three box passes, so the cost
 * does not grow with sigma. The boxes are "extended" boxes (Gwosdek et al. 2011): an integer box plus
 * a fractional weight on the two next taps, sized so the three passes have exactly the variance
 * sigma^2 - plain integer boxes are off by up to ~9 % at small sigmas. Under 2 px a sampled gaussian
 * kernel (at most 13 taps) is used instead: there three boxes are too coarse a shape.
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
  if (sigma === 0) return cloneImage(image);
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
  const { radius, alpha } = extendedBoxForVariance((sigma * sigma) / 3);
  for (let pass = 0; pass < 3; pass++) {
    boxPassRows(data, tmp, width, height, radius, alpha);
    boxPassColumns(tmp, data, width, height, radius, alpha);
  }
}

/**
 * In-place box blur with independent horizontal and vertical integer radii (>= 0), `tmp` as scratch.
 */
export function boxBlurInPlace(data: Float32Array, tmp: Float32Array, width: number, height: number, rx: number, ry: number): void {
  boxPassRows(data, tmp, width, height, rx, 0);
  boxPassColumns(tmp, data, width, height, ry, 0);
}

/**
 * The extended box whose variance is `variance`: weights 1 on offsets -r..r and `alpha` (0..1) on
 * +-(r+1), normalised. Variance of that kernel: (r(r+1)(2r+1)/3 + 2 alpha (r+1)^2) / (2r+1+2 alpha).
 */
export function extendedBoxForVariance(variance: number): { radius: number; alpha: number } {
  // Largest integer box whose variance r(r+1)/3 does not exceed the target.
  const radius = Math.max(0, Math.floor((Math.sqrt(1 + 12 * variance) - 1) / 2));
  const r1 = radius + 1;
  const alpha = ((2 * radius + 1) * (variance - (radius * r1) / 3)) / (2 * (r1 * r1 - variance));
  return { radius, alpha: Math.min(1, Math.max(0, alpha)) };
}

/**
 * Box pass along rows, src -> dst, clamp-to-edge, O(1) per pixel with a running sum (a double, so
 * long rows do not drift). `alpha` weights the two taps just outside the box.
 */
function boxPassRows(src: Float32Array, dst: Float32Array, width: number, height: number, r: number, alpha: number): void {
  if (r === 0 && alpha === 0) {
    dst.set(src.subarray(0, width * height));
    return;
  }
  const inv = 1 / (2 * r + 1 + 2 * alpha);
  const last = width - 1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    let sum = src[row]! * (r + 1);
    for (let k = 1; k <= r; k++) sum += src[row + (k < last ? k : last)]!;
    for (let x = 0; x < width; x++) {
      const add = x + r + 1;
      const sub = x - r;
      const addValue = src[row + (add < last ? add : last)]!;
      const outer = sub - 1;
      dst[row + x] = alpha === 0 ? sum * inv : (sum + alpha * (addValue + src[row + (outer > 0 ? outer : 0)]!)) * inv;
      sum += addValue - src[row + (sub > 0 ? sub : 0)]!;
    }
  }
}

/**
 * Box pass along columns, src -> dst. Walks rows in order and keeps one running sum per column, so
 * memory is read sequentially (cache friendly on big images) instead of striding down columns.
 */
function boxPassColumns(src: Float32Array, dst: Float32Array, width: number, height: number, r: number, alpha: number): void {
  if (r === 0 && alpha === 0) {
    dst.set(src.subarray(0, width * height));
    return;
  }
  const inv = 1 / (2 * r + 1 + 2 * alpha);
  const last = height - 1;
  const sums = new Float64Array(width);
  for (let x = 0; x < width; x++) sums[x] = src[x]! * (r + 1);
  for (let k = 1; k <= r; k++) {
    const row = (k < last ? k : last) * width;
    for (let x = 0; x < width; x++) sums[x]! += src[row + x]!;
  }
  for (let y = 0; y < height; y++) {
    const row = y * width;
    const add = y + r + 1;
    const sub = y - r;
    const outer = sub - 1;
    const addRow = (add < last ? add : last) * width;
    const subRow = (sub > 0 ? sub : 0) * width;
    const outerRow = (outer > 0 ? outer : 0) * width;
    if (alpha === 0) {
      for (let x = 0; x < width; x++) {
        const s = sums[x]!;
        dst[row + x] = s * inv;
        sums[x] = s + src[addRow + x]! - src[subRow + x]!;
      }
    } else {
      for (let x = 0; x < width; x++) {
        const s = sums[x]!;
        const addValue = src[addRow + x]!;
        dst[row + x] = (s + alpha * (addValue + src[outerRow + x]!)) * inv;
        sums[x] = s + addValue - src[subRow + x]!;
      }
    }
  }
}

/** Normalised gaussian taps for offsets 0..r (symmetric) with r = ceil(3 sigma). */
function sampledGaussian(sigma: number): Float64Array {
  const r = Math.max(1, Math.ceil(3 * sigma));
  const k = new Float64Array(r + 1);
  let total = 0;
  for (let i = 0; i <= r; i++) {
    const v = Math.exp((-i * i) / (2 * sigma * sigma));
    k[i] = v;
    total += i === 0 ? v : 2 * v;
  }
  for (let i = 0; i <= r; i++) k[i]! /= total;
  return k;
}

/**
 * Separable convolution with a symmetric kernel given as its half (taps 0..r), clamp-to-edge.
 * The symmetry halves the multiplications; the vertical pass works on whole rows (sequential reads).
 */
function kernelBlurInPlace(data: Float32Array, tmp: Float32Array, width: number, height: number, half: Float64Array): void {
  const r = half.length - 1;
  const k0 = half[0]!;
  const lastX = width - 1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      const p = row + x;
      let s = k0 * data[p]!;
      if (x >= r && x + r <= lastX) {
        for (let k = 1; k <= r; k++) s += half[k]! * (data[p - k]! + data[p + k]!);
      } else {
        for (let k = 1; k <= r; k++) {
          const xl = x - k;
          const xr = x + k;
          s += half[k]! * (data[row + (xl < 0 ? 0 : xl)]! + data[row + (xr > lastX ? lastX : xr)]!);
        }
      }
      tmp[p] = s;
    }
  }
  const lastY = height - 1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) data[row + x] = k0 * tmp[row + x]!;
    for (let k = 1; k <= r; k++) {
      const up = (y - k < 0 ? 0 : y - k) * width;
      const down = (y + k > lastY ? lastY : y + k) * width;
      const w = half[k]!;
      for (let x = 0; x < width; x++) data[row + x]! += w * (tmp[up + x]! + tmp[down + x]!);
    }
  }
}

function assertRadius(value: number, what: string): void {
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`Expected a finite number >= 0 for the ${what} but received ${value}`);
  }
}
