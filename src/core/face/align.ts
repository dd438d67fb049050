/**
 * Face alignment: a least-squares similarity transform (rotation, uniform scale, translation) from
 * the detector's 5 landmarks onto a canonical template, and bilinear affine warping. Hand-written
 * because it is the heart of the product and must run the same in Node and in the browser.
 */
import { createImage, type RawImage } from '../image.js';

export type Point = readonly [number, number];

/** Row-major 2x3 affine matrix [a, b, c, d, e, f]: x' = a·x + b·y + c, y' = d·x + e·y + f. */
export type Affine = readonly [number, number, number, number, number, number];

/**
 * Least-squares similarity transform mapping `from` onto `to` (Umeyama without reflection, which in
 * 2-D has this closed form).
 */
export function estimateSimilarity(from: readonly Point[], to: readonly Point[]): Affine {
  const n = Math.min(from.length, to.length);
  if (n < 2) throw new RangeError(`Expected at least 2 point pairs but received ${n}`);
  let fx = 0,
    fy = 0,
    tx = 0,
    ty = 0;
  for (let i = 0; i < n; i++) {
    fx += from[i]![0];
    fy += from[i]![1];
    tx += to[i]![0];
    ty += to[i]![1];
  }
  fx /= n;
  fy /= n;
  tx /= n;
  ty /= n;
  let dot = 0,
    cross = 0,
    norm = 0;
  for (let i = 0; i < n; i++) {
    const sx = from[i]![0] - fx,
      sy = from[i]![1] - fy;
    const dx = to[i]![0] - tx,
      dy = to[i]![1] - ty;
    dot += sx * dx + sy * dy;
    cross += sx * dy - sy * dx;
    norm += sx * sx + sy * sy;
  }
  if (norm === 0) throw new RangeError('Expected distinct landmark points but all coincide');
  const a = dot / norm;
  const b = cross / norm;
  return [a, -b, tx - a * fx + b * fy, b, a, ty - b * fx - a * fy];
}

export function invertAffine(m: Affine): Affine {
  const [a, b, c, d, e, f] = m;
  const det = a * e - b * d;
  if (det === 0) throw new RangeError('Affine matrix is not invertible');
  const ia = e / det,
    ib = -b / det,
    id = -d / det,
    ie = a / det;
  return [ia, ib, -(ia * c + ib * f), id, ie, -(id * c + ie * f)];
}

export function applyAffine(m: Affine, [x, y]: Point): [number, number] {
  return [m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]];
}

/**
 * Renders `width`x`height` pixels where output (x, y) samples `source` at `toSource`(x, y), bilinear.
 * Outside the source: `border` 'edge' (default) clamps to the edge pixels (a replicated border looks
 * natural to most head models, black borders would be stylized as hair); an RGB triple fills with
 * that colour (what face models trained on padded crops expect).
 */
export function warpAffine(
  source: RawImage,
  toSource: Affine,
  width: number,
  height: number,
  border: 'edge' | readonly [number, number, number] = 'edge',
): RawImage {
  const out = createImage(width, height, source.channels);
  const [a, b, c, d, e, f] = toSource;
  const ch = source.channels;
  const sw = source.width,
    sh = source.height;
  const src = source.data,
    dst = out.data;
  const maxX = sw - 1,
    maxY = sh - 1;
  const fill = border === 'edge' ? undefined : border;
  let o = 0;
  for (let y = 0; y < height; y++) {
    let sx = b * y + c;
    let sy = e * y + f;
    for (let x = 0; x < width; x++, sx += a, sy += d) {
      if (fill && (sx < -0.5 || sy < -0.5 || sx > maxX + 0.5 || sy > maxY + 0.5)) {
        for (let k = 0; k < ch; k++) dst[o++] = k < 3 ? fill[k]! : 255;
        continue;
      }
      const cx = sx < 0 ? 0 : sx > maxX ? maxX : sx;
      const cy = sy < 0 ? 0 : sy > maxY ? maxY : sy;
      const x0 = cx | 0,
        y0 = cy | 0;
      const x1 = x0 < maxX ? x0 + 1 : x0,
        y1 = y0 < maxY ? y0 + 1 : y0;
      const wx = cx - x0,
        wy = cy - y0;
      const p00 = (y0 * sw + x0) * ch,
        p01 = (y0 * sw + x1) * ch;
      const p10 = (y1 * sw + x0) * ch,
        p11 = (y1 * sw + x1) * ch;
      for (let k = 0; k < ch; k++) {
        const top = src[p00 + k]! + (src[p01 + k]! - src[p00 + k]!) * wx;
        const bottom = src[p10 + k]! + (src[p11 + k]! - src[p10 + k]!) * wx;
        dst[o++] = top + (bottom - top) * wy + 0.5;
      }
    }
  }
  return out;
}
