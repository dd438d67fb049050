/**
 * Face framings: where the five landmarks go in the square crop a face model is fed, and how big
 * that crop is for a given face. Hand-written because this geometry is the product's own: a face
 * model only draws complete faces on the framing its authors trained it with.
 */
import type { FaceFraming } from '../models/manifest.js';
import { estimateSimilarity, type Affine, type Point } from './align.js';

export type { FaceFraming } from '../models/manifest.js';

/**
 * ArcFace's canonical 5-point template in a 112x112 face box: image-left eye, image-right eye, nose
 * tip, image-left mouth corner, image-right mouth corner (the order the detectors return). A
 * published constant: the margin framing and the quality measures are expressed in it.
 */
export const ARCFACE_112: readonly Point[] = [
  [38.2946, 51.6963],
  [73.5318, 51.5014],
  [56.0252, 71.7366],
  [41.5493, 92.3655],
  [70.7299, 92.2041],
];
const ARCFACE_EYE_DISTANCE = Math.hypot(ARCFACE_112[1]![0] - ARCFACE_112[0]![0], ARCFACE_112[1]![1] - ARCFACE_112[0]![1]);

/**
 * The framing of the FFHQ-aligned face models (GFPGAN, facexlib, AnimeGANv3 portrait inference):
 * a 512 crop with the eyes about 126 px apart and grey outside the photo.
 */
export const FFHQ_512: FaceFraming = {
  size: 512,
  points: [
    [192.98, 239.95],
    [318.9, 240.19],
    [256.63, 314.02],
    [201.26, 371.41],
    [313.09, 371.15],
  ],
  border: [135, 133, 132],
};

/**
 * A framing from the older margin rule: the ArcFace face box with `margin` of it on each side and
 * moved down by a tenth of the box (more room for hair), with the photo's edge repeated outside it.
 */
export function marginFraming(size: number, margin: number): FaceFraming {
  const box = size / (1 + 2 * margin);
  const scale = box / 112;
  const offset = (size - box) / 2;
  const points = ARCFACE_112.map(([x, y]) => [offset + x * scale, offset + (y + 11.2) * scale] as [number, number]);
  return { size, points: points as FaceFraming['points'], border: 'edge' };
}

/** The framing's points for a crop of `size` pixels (framings scale uniformly). */
export function framingPoints(framing: FaceFraming, size: number): Point[] {
  const k = size / framing.size;
  return framing.points.map(([x, y]) => [x * k, y * k] as const);
}

/** Distance between the eyes in a crop of `size` pixels. */
export function framingEyeDistance(framing: FaceFraming, size: number): number {
  const [[lx, ly], [rx, ry]] = framingPoints(framing, size) as [Point, Point];
  return Math.hypot(rx - lx, ry - ly);
}

/**
 * The side of the ArcFace 112-box face in a crop of `size` pixels: the unit the mask geometry is
 * expressed in (the box is about 3.2 eye distances wide, forehead to chin).
 */
export function framingFaceBox(framing: FaceFraming, size: number): number {
  return (framingEyeDistance(framing, size) * 112) / ARCFACE_EYE_DISTANCE;
}

export interface CropSizeLimits {
  /** Largest crop side (large faces are shrunk to it). */
  max: number;
  /** Smallest crop side (small faces are enlarged to it). */
  min: number;
  /** The crop side is a multiple of this (the head model's size multiple). */
  multiple: number;
}

/**
 * The crop side for a face: about the face's own resolution in the photo (a crop larger than that
 * only interpolates pixels the photo does not have, and costs the head model the square of it),
 * clamped to what the head model handles well.
 */
export function chooseCropSize(landmarks: readonly Point[], framing: FaceFraming, limits: CropSizeLimits): number {
  const toCrop: Affine = estimateSimilarity(landmarks, framing.points);
  // Scale photo → reference crop; the crop at the photo's own resolution is size / scale.
  const scale = Math.hypot(toCrop[0], toCrop[3]);
  const native = framing.size / scale;
  const { min, max, multiple } = limits;
  const clamped = Math.min(max, Math.max(min, native));
  const rounded = Math.ceil(clamped / multiple) * multiple;
  return Math.min(Math.floor(max / multiple) * multiple || max, rounded);
}
