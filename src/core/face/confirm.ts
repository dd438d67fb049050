/**
 * Confirmation of a detected face on its aligned crop. In the photo a face can be small, tilted or
 * pressed against a neighbour's, and the detector's landmarks then drift (towards the neighbour's
 * features) or belong to no face at all. On the aligned crop the same face is upright, centred and
 * large, so a second, cheap detection there either finds it again, with landmarks that are more
 * accurate than the first ones, or finds nothing where the face should be: a false face.
 */
import { PortoonError } from '../errors.js';
import type { RawImage } from '../image.js';
import type { InferenceBackend } from '../inference.js';
import type { HelperModels } from '../models/catalogue.js';
import type { Point } from './candidate.js';
import { checkDetectionImage, detectFaces, DETECTOR_ROLES, type Detector, type Face } from './detect.js';
import { ORIENTATIONS, type Orientation } from './orientation.js';

/** A point as the alignment module writes it (read-only); detector points are accepted too. */
type PointLike = readonly [number, number];

export interface CropConfirmation {
  /** The face's five landmarks found on the crop, crop pixels, ArcFace order. */
  landmarks: Point[];
  score: number;
  detector: Detector;
}

export interface ConfirmOptions {
  /** Network to run. Default RetinaFace when installed, else YuNet (see {@link defaultDetector}). */
  detector?: Detector | undefined;
  /** The crop is shrunk to at most this many pixels on its long side first. Default {@link CONFIRM_SIZE}. */
  size?: number | undefined;
  /**
   * Largest mean distance between the found and the expected landmarks, as a fraction of the
   * expected eye distance, for the found face to be this face. Default {@link CONFIRM_TOLERANCE}.
   */
  tolerance?: number | undefined;
  /** Score threshold; default the detector's own (`DEFAULT_MIN_SCORE`). */
  minScore?: number | undefined;
  /**
   * Orientations searched on the crop. Default all four: a face aligned sideways or upside down
   * (from landmarks a network placed "upright" on a rotated face) is then found in its own
   * orientation, with landmarks about one eye distance from the expected ones, and refused.
   */
  orientations?: readonly Orientation[] | undefined;
}

/**
 * Detection size for the crop. Measured on 512 crops of the 27 faces of the shared portraits
 * (RetinaFace, four orientations): 128, 160 and 192 px all found the 27 faces, the worst mean
 * landmark distance to the template was 0.37, 0.33 and 0.34 eye distances, the cost about 10, 12
 * and 17 ms per crop. At 160 px a wide crop (eyes 60 px apart in 512) still shows the eyes ~19 px
 * apart, which RetinaFace finds reliably.
 */
export const CONFIRM_SIZE = 160;

/**
 * Default tolerance (mean landmark distance / expected eye distance). Measured with RetinaFace at 160
 * px, four orientations, on 512 crops of the 27 faces of the shared portraits: the face itself at
 * 0.04..0.33 (the 0.33 a near-profile face whose landmarks do not fit the frontal template); on 120
 * wrong crops (each face aligned sideways both ways and upside down, a crop beside the face, no-face
 * regions of the torii and skyline photos) the nearest face found was at least 0.83 away, mostly
 * nothing was found. 0.5 sits in the gap and still accepts a face whose photo landmarks were
 * pulled by a third of an eye distance.
 */
export const CONFIRM_TOLERANCE = 0.5;

/**
 * Re-detects the face on its aligned crop.
 * @param expected where the 5 template points are in the crop (crop pixels, ArcFace order).
 * @returns the detection of THIS face (the one whose landmarks are nearest `expected`, within the
 *   tolerance) with its landmarks in crop pixels, or undefined when no such face is found (a
 *   false face).
 * @throws PortoonError E_BAD_OPTION for a malformed crop, `expected` or option; the detector's
 *   model errors (E_MODEL_MISSING, E_MODEL_CORRUPT, E_INFERENCE_FAILED).
 */
export async function confirmOnCrop(
  crop: RawImage,
  expected: readonly PointLike[],
  backend: InferenceBackend,
  models: HelperModels,
  options: ConfirmOptions = {},
): Promise<CropConfirmation | undefined> {
  const { size = CONFIRM_SIZE, tolerance = CONFIRM_TOLERANCE, minScore, orientations = ORIENTATIONS } = options;
  checkDetectionImage(crop);
  const eyeDistance = checkExpected(expected);
  checkOptions(size, tolerance);
  const detector = options.detector ?? defaultDetector(backend, models);
  const faces = await detectFaces(crop, backend, models, { detector, maxSide: size, minScore, orientations });
  const nearest = nearestFace(faces, expected);
  if (nearest === undefined || nearest.distance > tolerance * eyeDistance) return undefined;
  return { landmarks: nearest.face.landmarks, score: nearest.face.score, detector: nearest.face.detector };
}

/**
 * RetinaFace when its file is installed, else YuNet. YuNet is a little cheaper (at 160 px about 4
 * against 5 ms per crop for one orientation, 8 against 11 ms for four) but not reliable here: it
 * places upright landmarks on a sideways or upside-down face, so with one orientation it
 * "confirmed" 14 of 81 faces aligned sideways or upside down (1 with four orientations), where
 * RetinaFace confirmed all 27 real faces and none of the 120 wrong crops.
 */
function defaultDetector(backend: InferenceBackend, models: HelperModels): Detector {
  const installed = (detector: Detector): boolean => {
    const entry = models.helper(DETECTOR_ROLES[detector]);
    return entry !== undefined && backend.has(entry.id);
  };
  return installed('retinaface') || !installed('yunet') ? 'retinaface' : 'yunet';
}

/** The face whose landmarks lie nearest `expected` (mean point distance, crop pixels). */
function nearestFace(faces: readonly Face[], expected: readonly PointLike[]): { face: Face; distance: number } | undefined {
  let best: { face: Face; distance: number } | undefined;
  for (const face of faces) {
    const distance = meanDistance(face.landmarks, expected);
    if (best === undefined || distance < best.distance) best = { face, distance };
  }
  return best;
}

/** Mean distance between corresponding points of two equally long lists. */
export function meanDistance(a: readonly PointLike[], b: readonly PointLike[]): number {
  let sum = 0;
  for (let i = 0; i < b.length; i++) sum += Math.hypot(a[i]![0] - b[i]![0], a[i]![1] - b[i]![1]);
  return sum / b.length;
}

/** Validates the 5 expected points and returns their eye distance. */
function checkExpected(expected: readonly PointLike[]): number {
  const finite = expected.length === 5 && expected.every((p) => p.length === 2 && Number.isFinite(p[0]) && Number.isFinite(p[1]));
  const eyeDistance = finite ? Math.hypot(expected[1]![0] - expected[0]![0], expected[1]![1] - expected[0]![1]) : 0;
  if (!(eyeDistance > 0)) {
    throw new PortoonError('E_BAD_OPTION', 'expected must be 5 finite points (ArcFace order) with distinct eyes', {
      details: { option: 'expected', points: expected.length },
    });
  }
  return eyeDistance;
}

function checkOptions(size: number, tolerance: number): void {
  if (!Number.isInteger(size) || size < 32) {
    throw new PortoonError('E_BAD_OPTION', `size must be an integer of at least 32, received ${size}`, {
      details: { option: 'size', value: size },
    });
  }
  if (!(tolerance > 0)) {
    throw new PortoonError('E_BAD_OPTION', `tolerance must be above 0, received ${tolerance}`, {
      details: { option: 'tolerance', value: tolerance },
    });
  }
}
