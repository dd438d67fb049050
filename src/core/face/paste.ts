/**
 * Paste-back of a face crop's change into the full image by inverse warping: every output pixel
 * under the crop's footprint looks up its crop coordinate and adds the change there.
 */
import type { FloatPlane, RawImage } from '../image.js';
import { applyAffine, invertAffine, type Affine } from './align.js';

/** Image pixels (inclusive bounds, clipped to the target) covered by a `size`-px crop. */
function footprint(target: RawImage, size: number, imageToCrop: Affine): [number, number, number, number] {
  const cropToImage = invertAffine(imageToCrop);
  const corners = [
    [0, 0],
    [size, 0],
    [0, size],
    [size, size],
  ].map(([x, y]) => applyAffine(cropToImage, [x!, y!]));
  return [
    Math.max(0, Math.floor(Math.min(...corners.map((c) => c[0])))),
    Math.max(0, Math.floor(Math.min(...corners.map((c) => c[1])))),
    Math.min(target.width - 1, Math.ceil(Math.max(...corners.map((c) => c[0])))),
    Math.min(target.height - 1, Math.ceil(Math.max(...corners.map((c) => c[1])))),
  ];
}

/**
 * Adds a change computed in crop space to `target` (mutated): target += delta × weight, both
 * sampled bilinearly at each image pixel's crop position. Pasting the change rather than the new
 * pixels leaves the target's own detail untouched wherever the change is smooth (a colour
 * correction, the far reach of a blend), instead of replacing it with a resampled, softer copy.
 * @param delta interleaved RGB floats, `size`² × 3 (new crop minus the target as warped into the crop).
 * @param weight 0..1 in crop space (`size`²): where the change applies, fading to 0 at the crop edge.
 */
export function pasteDelta(target: RawImage, delta: Float32Array, weight: FloatPlane, imageToCrop: Affine): void {
  const size = weight.width;
  const [minX, minY, maxX, maxY] = footprint(target, size, imageToCrop);
  const [a, b, c, d, e, f] = imageToCrop;
  const tc = target.channels,
    td = target.data,
    wd = weight.data;
  const last = size - 1;
  for (let y = minY; y <= maxY; y++) {
    for (let x = minX; x <= maxX; x++) {
      const u = a * x + b * y + c;
      const v = d * x + e * y + f;
      if (u < 0 || v < 0 || u > last || v > last) continue;
      const x0 = u | 0,
        y0 = v | 0;
      const x1 = x0 < last ? x0 + 1 : x0,
        y1 = y0 < last ? y0 + 1 : y0;
      const wx = u - x0,
        wy = v - y0;
      const i00 = y0 * size + x0,
        i01 = y0 * size + x1,
        i10 = y1 * size + x0,
        i11 = y1 * size + x1;
      const wTop = wd[i00]! + (wd[i01]! - wd[i00]!) * wx;
      const wBottom = wd[i10]! + (wd[i11]! - wd[i10]!) * wx;
      const w = wTop + (wBottom - wTop) * wy;
      if (w <= 0.002) continue;
      const o = (y * target.width + x) * tc;
      for (let k = 0; k < 3; k++) {
        const top = delta[i00 * 3 + k]! + (delta[i01 * 3 + k]! - delta[i00 * 3 + k]!) * wx;
        const bottom = delta[i10 * 3 + k]! + (delta[i11 * 3 + k]! - delta[i10 * 3 + k]!) * wx;
        const value = td[o + k]! + (top + (bottom - top) * wy) * w + 0.5;
        td[o + k] = value <= 0 ? 0 : value >= 255 ? 255 : value;
      }
    }
  }
}
