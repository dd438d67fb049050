/**
 * Soft masks in aligned-crop space that decide how much of the stylized face replaces the
 * background pass at each pixel. A face-parsing mask follows the real outline of skin and hair;
 * the ellipse is the fallback when the parsing model is not installed.
 */
import { gaussianBlurPlane } from '../blur.js';
import { createPlane, type FloatPlane } from '../image.js';
import { resizePlane } from './plane-resize.js';

/** Face-parsing labels (CelebAMask-HQ, 19 classes) that belong to the head: everything but background, neck-wear, cloth. */
export const HEAD_LABELS: ReadonlySet<number> = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 17, 18]);
/** Skin labels used to measure skin tone (face skin and nose; not lips, eyes or hair). */
export const SKIN_LABELS: ReadonlySet<number> = new Set([1, 10]);

export interface CropGeometry {
  /** Crop side in pixels. */
  size: number;
  /** Centre of the face template in the crop (mean of the 5 template points). */
  centerX: number;
  centerY: number;
  /** Side of the 112-box face in crop pixels. */
  faceBox: number;
}

/**
 * Fades any mask to zero at the crop border, so the square edge of the crop never shows.
 * @param width fade width in pixels.
 */
export function applyBorderFade(mask: FloatPlane, width: number): void {
  const { width: w, height: h, data } = mask;
  for (let y = 0; y < h; y++) {
    const fy = Math.min(1, Math.min(y + 0.5, h - y - 0.5) / width);
    for (let x = 0; x < w; x++) {
      const fx = Math.min(1, Math.min(x + 0.5, w - x - 0.5) / width);
      data[y * w + x]! *= smooth(Math.min(fx, fy));
    }
  }
}

/** Feathered ellipse around face, forehead and hairline. */
export function ellipseMask(geometry: CropGeometry): FloatPlane {
  const { size, centerX, faceBox } = geometry;
  // Centre a little above the template centre so the forehead and hairline are covered.
  const cy = geometry.centerY - 0.12 * faceBox;
  const rx = 0.62 * faceBox;
  const ry = 0.78 * faceBox;
  const feather = 0.3;
  const mask = createPlane(size, size);
  for (let y = 0; y < size; y++) {
    const dy = (y + 0.5 - cy) / ry;
    for (let x = 0; x < size; x++) {
      const dx = (x + 0.5 - centerX) / rx;
      const r = Math.sqrt(dx * dx + dy * dy);
      mask.data[y * size + x] = r <= 1 - feather ? 1 : r >= 1 ? 0 : smooth((1 - r) / feather);
    }
  }
  applyBorderFade(mask, size * 0.06);
  return mask;
}

/**
 * Soft head mask from face-parsing labels (any square label map), scaled to the crop size.
 * @param labels one label per pixel, row-major, `labelSize`² long.
 */
export function parsingMask(
  labels: ArrayLike<number | bigint>,
  labelSize: number,
  geometry: CropGeometry,
  include = HEAD_LABELS,
): FloatPlane {
  const binary = labelPlane(labels, labelSize, include);
  const scaled = resizePlane(binary, geometry.size, geometry.size);
  // Feather relative to the face so small and large crops blend alike.
  const soft = gaussianBlurPlane(scaled, Math.max(1, geometry.faceBox * 0.04));
  // Move the feather inside the head outline: at the true edge (0.5 after blurring) the weight is
  // already 0, so the head model's own background (often a pale halo) never leaks past the hair.
  const d = soft.data;
  for (let i = 0; i < d.length; i++) d[i] = smooth((d[i]! - 0.5) / 0.45);
  applyBorderFade(soft, geometry.size * 0.06);
  return soft;
}

/** 1 where the label is in `include`, else 0. */
export function labelPlane(labels: ArrayLike<number | bigint>, labelSize: number, include: ReadonlySet<number>): FloatPlane {
  const plane = createPlane(labelSize, labelSize);
  for (let i = 0; i < plane.data.length; i++) plane.data[i] = include.has(Number(labels[i]!)) ? 1 : 0;
  return plane;
}

function smooth(t: number): number {
  const c = t <= 0 ? 0 : t >= 1 ? 1 : t;
  return c * c * (3 - 2 * c);
}
