/**
 * Ink lines from a lightness plane: difference of gaussians (Winnemöller et al. 2006, "Real-time video
 * abstraction") with a soft threshold, then speck removal and thickening.
 *
 * DoG rather than Sobel: it marks the dark side of an edge with a line whose width follows sigma (so
 * line width scales with the photo), answers thin dark features (eyelids, lips, nostrils) with a single
 * line instead of two, and leaves flat and slowly shaded areas at exactly zero.
 */
import { gaussianBlurInPlace } from '../blur.js';

export interface InkOptions {
  /** Inner gaussian sigma in px; the outer one is 1.6x (the classic DoG ratio). */
  readonly sigma: number;
  /** DoG response (lightness units, 0..1 scale) below which there is no ink at all. */
  readonly threshold: number;
  /** Extra response over `threshold` at which the ink is fully opaque (soft, anti-aliased ramp). */
  readonly softness: number;
  /** Ink blobs whose bounding box is smaller than this many px on both sides are dropped as specks. */
  readonly minExtent: number;
  /** Dilation radius in px (may be fractional) applied after speck removal; under 0.5 = none. */
  readonly thicken: number;
  /** Optional per-pixel multiplier of `threshold` (e.g. higher on smooth skin, so shading gets no lines). */
  readonly thresholdScale?: Float32Array;
}

/**
 * @param lum lightness plane (0..1); it is overwritten (used as scratch).
 * @returns ink coverage 0..1 per pixel.
 */
export function inkLines(lum: Float32Array, width: number, height: number, options: InkOptions): Float32Array {
  const n = width * height;
  const ink = new Float32Array(lum);
  const tmp = new Float32Array(n);
  gaussianBlurInPlace(ink, tmp, width, height, options.sigma);
  gaussianBlurInPlace(lum, tmp, width, height, options.sigma * 1.6);
  const { threshold, softness, thresholdScale } = options;
  const inv = 1 / Math.max(softness, 1e-6);
  for (let i = 0; i < n; i++) {
    // Negative DoG = darker than the surround = the dark side of an edge.
    const t = (lum[i]! - ink[i]! - (thresholdScale === undefined ? threshold : threshold * thresholdScale[i]!)) * inv;
    ink[i] = t <= 0 ? 0 : t >= 1 ? 1 : t * t * (3 - 2 * t);
  }
  if (options.minExtent > 1) removeSpecks(ink, width, height, options.minExtent, lum);
  if (options.thicken > 0) dilate(ink, tmp, width, height, options.thicken);
  return ink;
}

/**
 * Clears every 8-connected group of inked pixels whose bounding box is under `minExtent` px on both
 * axes: isolated dots from skin pores, hair and JPEG noise, which read as dirt rather than drawing.
 * Uses `scratch` (a float plane of the same size) as the flood-fill queue, so it allocates nothing big.
 */
function removeSpecks(ink: Float32Array, width: number, height: number, minExtent: number, scratch: Float32Array): void {
  const n = width * height;
  const queue = new Int32Array(scratch.buffer, scratch.byteOffset, n);
  const seen = new Uint8Array(n);
  for (let start = 0; start < n; start++) {
    if (seen[start] === 1 || ink[start]! <= 0) continue;
    seen[start] = 1;
    queue[0] = start;
    let head = 0;
    let tail = 1;
    let minX = start % width;
    let maxX = minX;
    let minY = (start - minX) / width;
    let maxY = minY;
    while (head < tail) {
      const p = queue[head++]!;
      const x = p % width;
      const y = (p - x) / width;
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= width) continue;
          const q = yy * width + xx;
          if (seen[q] === 0 && ink[q]! > 0) {
            seen[q] = 1;
            queue[tail++] = q;
          }
        }
      }
    }
    if (maxX - minX + 1 < minExtent && maxY - minY + 1 < minExtent) {
      for (let k = 0; k < tail; k++) ink[queue[k]!] = 0;
    }
  }
}

/**
 * Grey-level dilation (max filter) over a square of half-size `radius` px. A fractional radius is
 * honoured with a non-flat structuring element: weight 1 up to floor(radius), `frac` on the next
 * ring, so line width changes smoothly with image size. With a product of 1-D weights the max still
 * separates into a row and a column pass (max of products with non-negative factors), so this needs
 * no buffer beyond `tmp`.
 */
function dilate(ink: Float32Array, tmp: Float32Array, width: number, height: number, radius: number): void {
  // Under half a pixel the DoG width already says it all; skip the (comparatively costly) passes.
  if (radius < 0.5) return;
  let r = Math.floor(radius);
  let frac = radius - r;
  if (frac < 0.05) frac = 0;
  else r++;
  const weights = new Float32Array(r + 1).fill(1);
  if (frac > 0) weights[r] = frac;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      let m = ink[row + x]!;
      for (let k = 1; k <= r; k++) {
        const w = weights[k]!;
        if (x - k >= 0) {
          const v = w * ink[row + x - k]!;
          if (v > m) m = v;
        }
        if (x + k < width) {
          const v = w * ink[row + x + k]!;
          if (v > m) m = v;
        }
      }
      tmp[row + x] = m;
    }
  }
  ink.set(tmp);
  for (let k = 1; k <= r; k++) {
    const w = weights[k]!;
    for (let y = 0; y < height; y++) {
      const row = y * width;
      const up = y - k >= 0 ? (y - k) * width : -1;
      const down = y + k < height ? (y + k) * width : -1;
      for (let x = 0; x < width; x++) {
        let m = ink[row + x]!;
        if (up >= 0) {
          const v = w * tmp[up + x]!;
          if (v > m) m = v;
        }
        if (down >= 0) {
          const v = w * tmp[down + x]!;
          if (v > m) m = v;
        }
        ink[row + x] = m;
      }
    }
  }
  // Round off the square corners the max filter leaves at line ends and keep the edges anti-aliased.
  gaussianBlurInPlace(ink, tmp, width, height, 0.5 + 0.25 * radius);
}
