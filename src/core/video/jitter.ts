/**
 * How much a face's landmarks shake from frame to frame, as a number that compares trackers and
 * smoothing settings on the same clip.
 */
import type { Point } from '../face/align.js';

/**
 * Mean landmark acceleration of one face over consecutive frames, in eye distances per frame².
 *
 * For frames t = 1 … T-2 and each point i of the face (the five landmarks, ArcFace order: eyes
 * first):
 *
 *   a_i(t)  = p_i(t+1) − 2·p_i(t) + p_i(t−1)                 (second temporal difference)
 *   e(t)    = |p_0(t) − p_1(t)|                              (eye distance at frame t)
 *   jitter  = mean over t and i of |a_i(t)| / e(t)
 *
 * The second difference, not the first: a head moving or turning smoothly has a near-constant
 * velocity, so its acceleration is small, while detector noise (independent from frame to frame)
 * shows in full: independent noise of standard deviation σ per coordinate gives each coordinate of
 * a_i a standard deviation of √6·σ, so |a_i| averages √6·σ·√(π/2) ≈ 3.07σ. Dividing by the eye
 * distance makes faces of any size and distance from the camera comparable.
 *
 * @param frames the face's landmarks in consecutive frames (equally spaced in time), each the same
 *   number of points (at least 2: the first two are the eyes).
 * @throws RangeError for fewer than 3 frames, a frame with another number of points or fewer than
 *   2, or a frame whose eyes coincide.
 */
export function landmarkJitter(frames: readonly (readonly Point[])[]): number {
  if (frames.length < 3) throw new RangeError(`Landmark jitter needs at least 3 frames, received ${frames.length}`);
  const count = frames[0]!.length;
  if (count < 2 || frames.some((points) => points.length !== count)) {
    throw new RangeError(`Every frame must have the same number of landmarks (at least 2), the first has ${count}`);
  }
  let sum = 0;
  let terms = 0;
  for (let t = 1; t < frames.length - 1; t++) {
    const [before, now, after] = [frames[t - 1]!, frames[t]!, frames[t + 1]!];
    const eyes = Math.hypot(now[1]![0] - now[0]![0], now[1]![1] - now[0]![1]);
    if (!(eyes > 0)) throw new RangeError(`The eyes coincide in frame ${t}`);
    for (let i = 0; i < count; i++) {
      const ax = after[i]![0] - 2 * now[i]![0] + before[i]![0];
      const ay = after[i]![1] - 2 * now[i]![1] + before[i]![1];
      sum += Math.hypot(ax, ay) / eyes;
      terms++;
    }
  }
  return sum / terms;
}

/**
 * Mean distance between two landmark sequences of one face, frame by frame, in eye distances of the
 * second (reference) sequence: how far smoothed landmarks stay from the measured ones (their lag).
 * @throws RangeError when the sequences differ in length or shape, or are empty.
 */
export function meanLandmarkOffset(frames: readonly (readonly Point[])[], reference: readonly (readonly Point[])[]): number {
  if (frames.length === 0 || frames.length !== reference.length) {
    throw new RangeError(`Expected two equally long, non-empty sequences, received ${frames.length} and ${reference.length}`);
  }
  let sum = 0;
  let terms = 0;
  for (const [t, points] of frames.entries()) {
    const ref = reference[t]!;
    if (points.length !== ref.length || ref.length < 2) throw new RangeError(`Frame ${t} has ${points.length} and ${ref.length} points`);
    const eyes = Math.hypot(ref[1]![0] - ref[0]![0], ref[1]![1] - ref[0]![1]);
    if (!(eyes > 0)) throw new RangeError(`The eyes coincide in frame ${t}`);
    for (let i = 0; i < ref.length; i++) sum += Math.hypot(points[i]![0] - ref[i]![0], points[i]![1] - ref[i]![1]) / eyes;
    terms += ref.length;
  }
  return sum / terms;
}
