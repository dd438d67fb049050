/**
 * Quarter-turn rotations of the detection image. The face detectors only find faces that are roughly
 * upright, so a photo turned on its side (a phone held sideways, a missing EXIF tag) is searched in
 * all four orientations, and what is found is mapped back to the photo's own pixels.
 *
 * Coordinates are continuous pixel coordinates (pixel (i, j) covers [i, i+1) x [j, j+1)), the
 * convention of the detector decoders, so the mappings below are exact and invert each other.
 */
import { createImage, type RawImage } from '../image.js';
import type { Point } from './candidate.js';

/** Clockwise rotation, in degrees, applied to the photo before it is searched. */
export type Orientation = 0 | 90 | 180 | 270;

export const ORIENTATIONS: readonly Orientation[] = [0, 90, 180, 270];

/** Size of an image of `width` x `height` after rotating it by `angle`. */
export function rotatedSize(width: number, height: number, angle: Orientation): { width: number; height: number } {
  return angle === 90 || angle === 270 ? { width: height, height: width } : { width, height };
}

/**
 * The image turned clockwise by `angle` (a copy; 0 returns the image itself, it is never modified).
 * Pixel-exact: a quarter turn only moves pixels, so detection on the result sees the same pixels.
 */
export function rotateImage(image: RawImage, angle: Orientation): RawImage {
  if (angle === 0) return image;
  const { width, height, channels } = image;
  const size = rotatedSize(width, height, angle);
  const out = createImage(size.width, size.height, channels);
  // Output pixel (X, Y) copies source pixel `start + X * stepX + Y * stepY` (in pixels): the pixel
  // whose centre fromRotated maps it to. Strides instead of a mapping call per pixel keep a
  // 640-px image at a few milliseconds.
  const { start, stepX, stepY } = sourceWalk(width, height, angle);
  const src = image.data;
  const dst = out.data;
  let to = 0;
  for (let y = 0; y < size.height; y++) {
    let from = start + y * stepY;
    for (let x = 0; x < size.width; x++, from += stepX) {
      for (let k = 0; k < channels; k++) dst[to++] = src[from * channels + k]!;
    }
  }
  return out;
}

/** Source pixel index of output pixel (0, 0) and its change per output column and row. */
function sourceWalk(width: number, height: number, angle: 90 | 180 | 270): { start: number; stepX: number; stepY: number } {
  switch (angle) {
    case 90: // output (X, Y) <- source (Y, height - 1 - X)
      return { start: (height - 1) * width, stepX: -width, stepY: 1 };
    case 180: // output (X, Y) <- source (width - 1 - X, height - 1 - Y)
      return { start: height * width - 1, stepX: -1, stepY: -width };
    case 270: // output (X, Y) <- source (width - 1 - Y, X)
      return { start: width - 1, stepX: width, stepY: -1 };
  }
}

/** Where a point of the `width` x `height` photo lands after rotating the photo by `angle`. */
export function toRotated([x, y]: readonly [number, number], width: number, height: number, angle: Orientation): Point {
  switch (angle) {
    case 0:
      return [x, y];
    case 90:
      return [height - y, x];
    case 180:
      return [width - x, height - y];
    case 270:
      return [y, width - x];
  }
}

/**
 * Where a point of the rotated image lies in the unrotated `width` x `height` photo (the inverse of
 * {@link toRotated}; `width` and `height` are the photo's, not the rotated image's).
 */
export function fromRotated([x, y]: readonly [number, number], width: number, height: number, angle: Orientation): Point {
  switch (angle) {
    case 0:
      return [x, y];
    case 90:
      return [y, height - x];
    case 180:
      return [width - x, height - y];
    case 270:
      return [width - y, x];
  }
}

/**
 * A box (corners x1, y1, x2, y2) of the rotated image as corners in the photo: the axis-aligned box
 * of its rotated corners, which for a quarter turn is exactly the rotated box.
 */
export function boxFromRotated(
  box: readonly [number, number, number, number],
  width: number,
  height: number,
  angle: Orientation,
): [number, number, number, number] {
  const [ax, ay] = fromRotated([box[0], box[1]], width, height, angle);
  const [bx, by] = fromRotated([box[2], box[3]], width, height, angle);
  return [Math.min(ax, bx), Math.min(ay, by), Math.max(ax, bx), Math.max(ay, by)];
}
