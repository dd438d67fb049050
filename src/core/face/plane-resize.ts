/** Bilinear resampling of a float plane (masks are smooth, so bilinear is enough in both directions). */
import { createPlane, type FloatPlane } from '../image.js';

export function resizePlane(plane: FloatPlane, width: number, height: number): FloatPlane {
  if (plane.width === width && plane.height === height) return plane;
  const out = createPlane(width, height);
  const sx = plane.width / width,
    sy = plane.height / height;
  const maxX = plane.width - 1,
    maxY = plane.height - 1;
  const src = plane.data;
  for (let y = 0; y < height; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), maxY);
    const y0 = fy | 0,
      y1 = Math.min(y0 + 1, maxY),
      wy = fy - y0;
    for (let x = 0; x < width; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), maxX);
      const x0 = fx | 0,
        x1 = Math.min(x0 + 1, maxX),
        wx = fx - x0;
      const top = src[y0 * plane.width + x0]! + (src[y0 * plane.width + x1]! - src[y0 * plane.width + x0]!) * wx;
      const bottom = src[y1 * plane.width + x0]! + (src[y1 * plane.width + x1]! - src[y1 * plane.width + x0]!) * wx;
      out.data[y * width + x] = top + (bottom - top) * wy;
    }
  }
  return out;
}
