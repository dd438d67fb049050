/**
 * Landmark plausibility: whether five detector landmarks can belong to an upright face in the box
 * they came with. Detectors also fire on faces turned on their side or upside down, on necks and on
 * patterns, and then their landmarks are often in impossible places (a mouth corner above an eye,
 * the eyes swapped, two eyes a few pixels apart on a large box). Aligning such a face would paint a
 * cartoon face across the real one, so these detections are dropped before they are merged.
 *
 * Everything is measured in the face's own frame: the x axis runs along the eye line from the
 * image-left eye (the subject's right eye) to the other eye, y is perpendicular to it pointing down
 * (towards the chin), the origin is between the eyes and the unit is the eye distance. The checks
 * work in the frame the detector saw (the rotated image for a rotated search), where a real face is
 * roughly upright.
 */
import type { Point } from './candidate.js';

/** Why a landmark set was rejected; `undefined` from {@link implausibility} means it is plausible. */
export type Implausibility =
  'landmark-count' | 'eyes-coincide' | 'tilted' | 'mirrored' | 'eyes-not-above-mouth' | 'nose-misplaced' | 'eye-distance' | 'outside-box';

/**
 * Bounds, measured on every face of the 20 shared portraits with both detectors (faces upright in
 * the photo, detected in the upright frame), then widened. Measured ranges:
 * - eye line angle: -14..21 degrees (a tilted head in a group photo);
 * - eye distance / box width: RetinaFace 0.199..0.500, YuNet 0.187..0.558 (the low ends are the
 *   near-profile faces of the two full-body photos; frontal faces are 0.42..0.56). Garbage landmarks
 *   on rotated or partial faces were 0.04..0.11;
 * - mouth corners below the eye line: 0.83..2.97 eye distances (3 for a near-profile face, whose
 *   eye distance shrinks);
 * - nose depth as a fraction of the mouth depth: 0.37..0.72; nose offset along the eye line: -1.15..0.30;
 * - landmarks outside the box: at most 2 % of the box size.
 */
export const PLAUSIBLE = {
  /**
   * Largest angle of the eye line from the horizontal, degrees. The four-orientation search always
   * sees a face within 45 degrees of upright in one of the orientations; 60 leaves room for tilted
   * heads when fewer orientations are searched, while a face on its side (90) is refused.
   */
  maxRoll: 60,
  /** Eye distance / box width. */
  minEyeRatio: 0.12,
  maxEyeRatio: 0.8,
  /** Least depth of each mouth corner below the eye line, in eye distances. */
  minMouthDepth: 0.3,
  /** Nose depth / mouth depth: the nose lies between the eye line and the mouth. */
  minNoseFraction: 0.2,
  maxNoseFraction: 0.9,
  /** Largest offset of the nose and of the mouth centre along the eye line, in eye distances. */
  maxLateral: 1.6,
  /** How far (fraction of the box width/height) a landmark may lie outside the box. */
  maxOutside: 0.25,
} as const;

/** A box as x1, y1, x2, y2 (corners), the same frame as the landmarks. */
type Corners = readonly [number, number, number, number];

/** Points in the face frame: [offset along the eye line, depth below it], in eye distances. */
interface FaceFrame {
  eyeDistance: number;
  /** Angle of the eye line in degrees, image y down (positive = clockwise). */
  roll: number;
  toFace(p: Point): [number, number];
}

function faceFrame(rightEye: Point, leftEye: Point): FaceFrame {
  const ex = leftEye[0] - rightEye[0];
  const ey = leftEye[1] - rightEye[1];
  const d = Math.hypot(ex, ey);
  const ux = ex / d;
  const uy = ey / d;
  const mx = (rightEye[0] + leftEye[0]) / 2;
  const my = (rightEye[1] + leftEye[1]) / 2;
  return {
    eyeDistance: d,
    roll: (Math.atan2(ey, ex) * 180) / Math.PI,
    // Down is the eye direction turned +90 degrees (clockwise on screen): (1, 0) -> (0, 1).
    toFace: ([x, y]) => [((x - mx) * ux + (y - my) * uy) / d, ((x - mx) * -uy + (y - my) * ux) / d],
  };
}

/**
 * The first reason these landmarks cannot be an upright face in `box`, or undefined when they can.
 * @param landmarks five points in the ArcFace order (subject's right eye, left eye, nose, right and
 *   left mouth corner), same pixel frame as `box`.
 */
export function implausibility(box: Corners, landmarks: readonly Point[]): Implausibility | undefined {
  if (landmarks.length !== 5) return 'landmark-count';
  const [rightEye, leftEye, nose, rightMouth, leftMouth] = landmarks as [Point, Point, Point, Point, Point];
  const frame = faceFrame(rightEye, leftEye);
  if (!(frame.eyeDistance > 1e-6)) return 'eyes-coincide';
  const [rmX, rmY] = frame.toFace(rightMouth);
  const [lmX, lmY] = frame.toFace(leftMouth);
  // A mirror image keeps the eyes level but puts the mouth above them in the face frame (the frame's
  // "down" follows the eye order), or swaps the mouth corners against the eyes.
  if ((rmY < 0 && lmY < 0) || lmX <= rmX) return 'mirrored';
  if (Math.abs(frame.roll) > PLAUSIBLE.maxRoll) return 'tilted';
  const mouthDepth = Math.min(rmY, lmY);
  if (mouthDepth < PLAUSIBLE.minMouthDepth || Math.abs((rmX + lmX) / 2) > PLAUSIBLE.maxLateral) return 'eyes-not-above-mouth';
  const [noseX, noseY] = frame.toFace(nose);
  const noseFraction = noseY / ((rmY + lmY) / 2);
  if (noseFraction < PLAUSIBLE.minNoseFraction || noseFraction > PLAUSIBLE.maxNoseFraction || Math.abs(noseX) > PLAUSIBLE.maxLateral) {
    return 'nose-misplaced';
  }
  const width = box[2] - box[0];
  const height = box[3] - box[1];
  const ratio = frame.eyeDistance / width;
  if (!(ratio >= PLAUSIBLE.minEyeRatio && ratio <= PLAUSIBLE.maxEyeRatio)) return 'eye-distance';
  const mx = PLAUSIBLE.maxOutside * width;
  const my = PLAUSIBLE.maxOutside * height;
  const outside = landmarks.some(([x, y]) => x < box[0] - mx || x > box[2] + mx || y < box[1] - my || y > box[3] + my);
  return outside ? 'outside-box' : undefined;
}

/** Whether the landmarks can be an upright face in the box (see {@link implausibility}). */
export function isPlausibleFace(box: Corners, landmarks: readonly Point[]): boolean {
  return implausibility(box, landmarks) === undefined;
}

/**
 * Angle of the eye line from the horizontal in degrees (image y down, positive = clockwise), in
 * -180..180; 0 for an upright face. Used to prefer the search orientation in which a face is most
 * upright.
 */
export function eyeLineAngle(landmarks: readonly Point[]): number {
  const [rightEye, leftEye] = landmarks;
  if (rightEye === undefined || leftEye === undefined) return 0;
  return (Math.atan2(leftEye[1] - rightEye[1], leftEye[0] - rightEye[0]) * 180) / Math.PI;
}
