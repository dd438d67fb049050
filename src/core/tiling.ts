/**
 * Full-resolution stylization of arbitrarily large images in overlapping tiles. Each tile is
 * composited over the tiles before it with a weight that ramps from 0 to 1 across the overlap, so
 * the result is continuous everywhere (no seam) while memory stays bounded by one tile plus the
 * 8-bit output. Hand-written because tiling is the product's own: the same code runs in the browser.
 */
import { createImage, cropImage, type RawImage } from './image.js';

export interface TileOptions {
  /** Largest tile side in pixels. */
  maxTile: number;
  /** Minimum overlap between neighbouring tiles, in pixels. */
  overlap: number;
  /** Tile sides are multiples of this where the image allows (the model's size multiple). */
  multiple: number;
}

export interface AxisTiles {
  /** Tile size along the axis (the same for every tile). */
  size: number;
  starts: number[];
}

/**
 * Splits one axis into equal tiles no larger than maxTile that overlap by at least `overlap`.
 * Tiles are made equal and evenly spaced (rather than fixed-size plus a sliver) so no compute is
 * wasted on a thin last tile.
 */
export function planAxis(length: number, { maxTile, overlap, multiple }: TileOptions): AxisTiles {
  if (length <= maxTile) return { size: length, starts: [0] };
  const step = maxTile - overlap;
  if (step <= 0) throw new RangeError(`Expected overlap (${overlap}) smaller than maxTile (${maxTile})`);
  let count = Math.ceil((length - overlap) / step);
  let size = 0;
  for (;;) {
    size = Math.ceil((length + (count - 1) * overlap) / count);
    size = Math.min(Math.ceil(size / multiple) * multiple, length);
    if (size <= maxTile || size === length) break;
    count++;
  }
  const starts: number[] = [];
  for (let i = 0; i < count; i++) starts.push(Math.round((i * (length - size)) / (count - 1)));
  return { size, starts };
}

export interface TileProgress {
  done: number;
  total: number;
}

/**
 * Applies `transform` to the image tile by tile and feather-blends the results.
 * `transform` must return an image of the same size as the tile it is given.
 */
export async function transformTiled(
  image: RawImage,
  transform: (tile: RawImage) => Promise<RawImage>,
  options: TileOptions,
  onProgress?: (progress: TileProgress) => void,
): Promise<RawImage> {
  const xs = planAxis(image.width, options);
  const ys = planAxis(image.height, options);
  const total = xs.starts.length * ys.starts.length;
  if (total === 1) {
    const out = await transform(image);
    onProgress?.({ done: 1, total: 1 });
    return out;
  }
  const out = createImage(image.width, image.height, image.channels);
  const ch = image.channels;
  let done = 0;
  for (let ty = 0; ty < ys.starts.length; ty++) {
    for (let tx = 0; tx < xs.starts.length; tx++) {
      const x0 = xs.starts[tx]!,
        y0 = ys.starts[ty]!;
      const result = await transform(cropImage(image, x0, y0, xs.size, ys.size));
      // Ramps run across the overlap with the previous tile on each axis (left, top); the first
      // tile in a row or column has none.
      const rampX = tx === 0 ? 0 : xs.starts[tx - 1]! + xs.size - x0;
      const rampY = ty === 0 ? 0 : ys.starts[ty - 1]! + ys.size - y0;
      const wx = rampWeights(xs.size, rampX);
      const wy = rampWeights(ys.size, rampY);
      const src = result.data,
        dst = out.data;
      for (let y = 0; y < ys.size; y++) {
        const wRow = wy[y]!;
        let o = ((y0 + y) * image.width + x0) * ch;
        let s = y * xs.size * ch;
        for (let x = 0; x < xs.size; x++) {
          const w = wRow * wx[x]!;
          if (w >= 1) {
            for (let k = 0; k < ch; k++) dst[o + k] = src[s + k]!;
          } else if (w > 0) {
            for (let k = 0; k < ch; k++) dst[o + k] = dst[o + k]! + (src[s + k]! - dst[o + k]!) * w + 0.5;
          }
          o += ch;
          s += ch;
        }
      }
      onProgress?.({ done: ++done, total });
    }
  }
  return out;
}

/** Weight per position: a smooth 0→1 ramp over the first `ramp` pixels, then 1. */
function rampWeights(size: number, ramp: number): Float32Array {
  const w = new Float32Array(size).fill(1);
  for (let i = 0; i < ramp && i < size; i++) {
    const t = (i + 0.5) / ramp;
    w[i] = t * t * (3 - 2 * t); // smoothstep: no kink in the blend at either end of the overlap
  }
  return w;
}

/** Convenience for tests and tools: the tile rectangles for an image. */
export function planTiles(width: number, height: number, options: TileOptions): Array<[number, number, number, number]> {
  const xs = planAxis(width, options);
  const ys = planAxis(height, options);
  return ys.starts.flatMap((y) => xs.starts.map((x) => [x, y, xs.size, ys.size] as [number, number, number, number]));
}
