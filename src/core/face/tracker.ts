/**
 * The face source for the frames of a video: faces keep an id from frame to frame, their landmarks
 * do not jitter, and the full detection runs only now and then.
 *
 * - Keyframes (the first frame, every `detectEvery` frames, the frame after a scene cut or after a
 *   track was lost) run the stills' detection step as it is (`detectStep`: every detector of the
 *   plan, each face confirmed on its crop, the same rules for when detection runs at all). Its faces
 *   are matched to the tracks by where each track is predicted to be now; the faces left over
 *   start new tracks.
 * - Between keyframes each track's face is found again on its aligned crop, cut where the face is
 *   predicted to be (its last landmarks moved on by their smoothed velocity), and once more on the
 *   crop cut where it was found (see {@link refindFace}): two runs of the small network per face
 *   (`confirmOnCrop` at 160 px, upright only, as the crop is).
 * - A face not found is missed, and the next frame is a keyframe (once per loss: while it stays
 *   missed its crop is still searched, cheaply). After `maxMissed` frames missed in a row its track
 *   ends; ids are never reused.
 * - Every observation goes through a One-Euro filter (landmarks, and the box as two corners), so
 *   the aligned crops the face models see stand still when the face does.
 *
 * Predicting from velocity, not only from the last box, is what keeps the ids of two faces that
 * pass each other: at the crossing each track looks where its own face is going.
 */
import { detectStep, cropDetector } from '../pipeline/detect-step.js';
import type { RunPlan } from '../pipeline/plan.js';
import type { FaceFinding, FaceSource, StepRun } from '../pipeline/types.js';
import type { RawImage } from '../image.js';
import type { FaceTrackReport } from '../video/types.js';
import { applyAffine, estimateSimilarity, invertAffine, type Point } from './align.js';
import { CONFIRM_SIZE, confirmOnCrop, meanDistance } from './confirm.js';
import { alignFace } from './crop.js';
import { DETECTOR_ROLES, type Detector, type Face } from './detect.js';
import { FFHQ_512, framingPoints } from './framing.js';
import { iou, type Corners } from './nms.js';
import type { Orientation } from './orientation.js';
import { FACE_LANDMARK_SMOOTHING, OneEuroFilter2D, type OneEuroParams } from './one-euro.js';

export interface FaceTrackerOptions {
  /** Frame rate of the frames `find` is called with (frame i is at i / fps seconds). */
  fps: number;
  /** A full detection every this many frames (new faces appear at most this late). Default {@link DEFAULT_DETECT_EVERY}. */
  detectEvery?: number | undefined;
  /**
   * Frames a track may go unseen (occluded, turned away, out of the picture) and still get its
   * face back under the same id; after more it ends. Default: half a second of frames, at least 1.
   */
  maxMissed?: number | undefined;
  /** Landmark smoothing. Default {@link FACE_LANDMARK_SMOOTHING}. */
  smoothing?: Partial<OneEuroParams> | undefined;
  /** Box smoothing (the box's corners, same scale as the landmarks). Default: the landmarks' parameters. */
  boxSmoothing?: Partial<OneEuroParams> | undefined;
}

/**
 * Full detection every 8 frames. Measured on the test clips (test/video/tracker.test.ts): how often
 * the full detection runs barely changes the smoothed landmarks (every 4 to 16 frames: the same
 * jitter and lag within measurement noise), so it is a choice between cost and how late a new face
 * shows. A full detection (both networks on the whole frame in four orientations, then each face
 * confirmed on its crop) costs 10-20 times a re-find of a tracked face; every 8 frames the tracker
 * costs about a sixth of detecting every frame on a one-face clip, and a face entering the picture
 * is picked up within half a second at 15 fps.
 */
export const DEFAULT_DETECT_EVERY = 8;

/**
 * A keyframe's face is a track's face when it lies within this many of the track's eye distances
 * (mean landmark distance) of where the track is predicted, or when their boxes overlap by
 * {@link MATCH_IOU}. Faces in a frame are at least an eye distance or two apart, and a tracked
 * face moves far less than that between its prediction and the detection.
 */
const MATCH_DISTANCE = 1;
const MATCH_IOU = 0.5;

/**
 * Two tracks whose faces were found again within this many eye distances of each other found the
 * same face (one face hid the other): the track that predicted it better keeps it.
 */
const SAME_FACE_DISTANCE = 0.5;

/** Why a frame ran the full detection. */
export type KeyframeReason = 'first' | 'interval' | 'scene-cut' | 'lost';

export interface FaceTrackerStats {
  frames: number;
  /** Frames that ran the full detection, by why they did. */
  keyframes: number;
  keyframeReasons: Record<KeyframeReason, number>;
  /** Faces looked for again on their crops between keyframes (two small network runs each). */
  refinds: number;
  /** Of those, faces not found again. */
  refindsMissed: number;
  sceneCuts: number;
}

export interface FaceTrackerFrame {
  /** 0-based frame index. */
  index: number;
  /** Why this frame ran the full detection; undefined for a tracked frame. */
  keyframe: KeyframeReason | undefined;
  /** Faces returned. */
  faces: number;
}

export class FaceTracker implements FaceSource {
  readonly fps: number;
  readonly detectEvery: number;
  readonly maxMissed: number;
  readonly #smoothing: OneEuroParams;
  readonly #boxSmoothing: OneEuroParams;
  readonly #tracks: Track[] = [];
  readonly #ended: Track[] = [];
  #nextId = 1;
  #frame = -1;
  #lastKeyframe = -Infinity;
  #pending: KeyframeReason | undefined = 'first';
  /** Whether the last keyframe looked for faces at all (see `FaceFinding.detected`). */
  #detected = false;
  #maxFaces = 0;
  #last: FaceTrackerFrame | undefined;
  readonly #stats: FaceTrackerStats = {
    frames: 0,
    keyframes: 0,
    keyframeReasons: { first: 0, interval: 0, 'scene-cut': 0, lost: 0 },
    refinds: 0,
    refindsMissed: 0,
    sceneCuts: 0,
  };

  constructor(options: FaceTrackerOptions) {
    const { fps, detectEvery = DEFAULT_DETECT_EVERY } = options;
    if (!(fps > 0) || !Number.isFinite(fps)) throw new RangeError(`fps must be a positive number, received ${fps}`);
    if (!Number.isInteger(detectEvery) || detectEvery < 1)
      throw new RangeError(`detectEvery must be an integer >= 1, received ${detectEvery}`);
    const maxMissed = options.maxMissed ?? Math.max(1, Math.round(fps / 2));
    if (!Number.isInteger(maxMissed) || maxMissed < 0) throw new RangeError(`maxMissed must be an integer >= 0, received ${maxMissed}`);
    this.fps = fps;
    this.detectEvery = detectEvery;
    this.maxMissed = maxMissed;
    this.#smoothing = { ...FACE_LANDMARK_SMOOTHING, ...options.smoothing };
    this.#boxSmoothing = { ...this.#smoothing, ...options.boxSmoothing };
    // Fail on bad parameters now, not at the first face.
    new OneEuroFilter2D(this.#smoothing);
    new OneEuroFilter2D(this.#boxSmoothing);
  }

  /** The faces of the next frame, with their track ids (parallel to `faces`, ascending). */
  async find(image: RawImage, plan: RunPlan, run: StepRun): Promise<FaceFinding> {
    const frame = ++this.#frame;
    const time = frame / this.fps;
    const reason = this.#keyframeReason(frame);
    if (reason) {
      this.#pending = undefined;
      this.#lastKeyframe = frame;
      this.#stats.keyframes++;
      this.#stats.keyframeReasons[reason]++;
      const { faces, detected } = await detectStep(image, plan, run);
      this.#detected = detected;
      if (detected) this.#followDetections(faces, frame, time);
    } else if (this.#tracks.length > 0) {
      run.progress('detect', 0);
      const checker = cropDetector(plan.detector);
      const found = await run.timed('detect', () => this.#refind(image, checker, run, time));
      const model = run.context.catalogue.helper(DETECTOR_ROLES[checker]);
      if (model) run.ran(model.id);
      this.#followRefinds(found, frame, time);
      run.progress('detect', 1);
    }
    const seen = this.#tracks.filter((track) => track.lastFrame === frame).sort((a, b) => a.id - b.id);
    this.#stats.frames++;
    this.#maxFaces = Math.max(this.#maxFaces, seen.length);
    this.#last = { index: frame, keyframe: reason, faces: seen.length };
    return { faces: seen.map((track) => track.face(image)), detected: this.#detected, ids: seen.map((track) => track.id) };
  }

  /**
   * The next frame starts a new shot: it runs the full detection, and the tracks forget their
   * motion and smoothing (positions from before the cut would only drag the new ones). Tracks are
   * not ended: a face at the same place after the cut (a flash, a cut within the same shot) keeps
   * its id.
   */
  sceneCut(): void {
    this.#pending = 'scene-cut';
    this.#stats.sceneCuts++;
    for (const track of this.#tracks) track.forgetMotion();
  }

  /** Every track so far, live or ended, by id. */
  tracks(): FaceTrackReport[] {
    return [...this.#ended, ...this.#tracks]
      .map(({ id, firstFrame, lastFrame, frames }) => ({ id, firstFrame, lastFrame, frames }))
      .sort((a, b) => a.id - b.id);
  }

  /** Most faces returned for one frame so far. */
  get maxFacesPerFrame(): number {
    return this.#maxFaces;
  }

  /** Counts over all frames so far (a copy). */
  get stats(): FaceTrackerStats {
    return { ...this.#stats, keyframeReasons: { ...this.#stats.keyframeReasons } };
  }

  /** What happened in the last frame, undefined before the first. */
  get lastFrame(): FaceTrackerFrame | undefined {
    return this.#last;
  }

  #keyframeReason(frame: number): KeyframeReason | undefined {
    if (this.#pending) return this.#pending;
    return frame - this.#lastKeyframe >= this.detectEvery ? 'interval' : undefined;
  }

  /** Each live track's face looked for again where it is predicted; undefined where not found. */
  async #refind(image: RawImage, checker: Detector, run: StepRun, time: number): Promise<Array<Refound | undefined>> {
    const found: Array<Refound | undefined> = [];
    for (const track of this.#tracks) {
      const predicted = track.predict(time);
      const landmarks = await refindFace(image, predicted.landmarks, checker, run);
      this.#stats.refinds++;
      if (!landmarks) {
        this.#stats.refindsMissed++;
        found.push(undefined);
        continue;
      }
      found.push({
        ...landmarks,
        box: track.boxFor(landmarks.landmarks, image),
        error: meanDistance(landmarks.landmarks, predicted.landmarks),
      });
    }
    return dropDuplicates(found, this.#tracks);
  }

  #followRefinds(found: ReadonlyArray<Refound | undefined>, frame: number, time: number): void {
    for (const [i, track] of this.#tracks.entries()) {
      const observation = found[i];
      if (observation) track.observe(observation, frame, time);
      else if (track.miss() === 1) this.#pending ??= 'lost';
    }
    this.#endStale();
  }

  #followDetections(faces: readonly Face[], frame: number, time: number): void {
    const pairs = matchFaces(
      this.#tracks.map((track) => track.predict(time)),
      faces,
    );
    const matched = new Set<number>();
    for (const [trackIndex, faceIndex] of pairs) {
      const face = faces[faceIndex]!;
      this.#tracks[trackIndex]!.observe(face, frame, time, face);
      matched.add(trackIndex);
    }
    for (const [i, track] of this.#tracks.entries()) if (!matched.has(i) && track.miss() === 1) this.#pending = 'lost';
    this.#endStale();
    const taken = new Set(pairs.map(([, faceIndex]) => faceIndex));
    for (const [i, face] of faces.entries()) {
      if (taken.has(i)) continue;
      const track = new Track(this.#nextId++, frame, this.#smoothing, this.#boxSmoothing);
      track.observe(face, frame, time, face);
      this.#tracks.push(track);
    }
  }

  #endStale(): void {
    for (let i = this.#tracks.length - 1; i >= 0; i--) {
      if (this.#tracks[i]!.missed > this.maxMissed) this.#ended.push(...this.#tracks.splice(i, 1));
    }
  }
}

/** One sighting of a track's face. */
interface Observation {
  landmarks: readonly Point[];
  box: readonly [number, number, number, number];
  score: number;
}

/** A face found again on its crop. */
interface Refound extends Observation {
  /** Mean distance (pixels) from where the track predicted the face. */
  error: number;
}

interface Prediction {
  landmarks: Point[];
  box: Corners;
}

/** One face followed through the frames. */
class Track {
  readonly id: number;
  readonly firstFrame: number;
  lastFrame: number;
  frames = 0;
  /** Consecutive frames the face was not seen. */
  missed = 0;
  readonly #landmarks: OneEuroFilter2D;
  readonly #box: OneEuroFilter2D;
  #score = 0;
  #detector: Detector = 'retinaface';
  #orientation: Orientation | undefined;
  /** The keyframe box's corners in the template's frame: the box follows the landmarks between keyframes. */
  #templateBox: Point[] = [];
  /** The landmarks as last seen, before smoothing. */
  #sighting: readonly Point[] = [];
  /** Set by a scene cut until the next sighting. */
  #restart = false;

  constructor(id: number, frame: number, smoothing: OneEuroParams, boxSmoothing: OneEuroParams) {
    this.id = id;
    this.firstFrame = frame;
    this.lastFrame = frame;
    this.#landmarks = new OneEuroFilter2D(smoothing);
    this.#box = new OneEuroFilter2D(boxSmoothing);
  }

  /**
   * Takes a sighting. `detection` is the keyframe's face, whose box and detector become the ones the
   * box follows; between keyframes the box is carried by the landmarks.
   */
  observe(observation: Observation, frame: number, time: number, detection?: Face): void {
    const scale = eyeDistance(observation.landmarks);
    if (this.#restart) {
      this.#landmarks.reset();
      this.#box.reset();
      this.#restart = false;
    }
    if (detection) {
      const toTemplate = estimateSimilarity(detection.landmarks, FFHQ_512.points);
      const [x, y, w, h] = detection.box;
      this.#templateBox = boxCorners([x, y, x + w, y + h]).map((p) => applyAffine(toTemplate, p));
      this.#detector = detection.detector;
      this.#orientation = detection.orientation;
    }
    this.#sighting = observation.landmarks;
    this.#landmarks.filter(observation.landmarks, time, scale);
    const [x, y, w, h] = observation.box;
    this.#box.filter(
      [
        [x, y],
        [x + w, y + h],
      ],
      time,
      scale,
    );
    this.#score = observation.score;
    this.lastFrame = frame;
    this.frames++;
    this.missed = 0;
  }

  /** Counts a frame without the face; returns the frames missed in a row. */
  miss(): number {
    return ++this.missed;
  }

  /**
   * Where the face should be at `time`: the landmarks of its last sighting moved on by their
   * smoothed velocity, and the smoothed box moved along. From the sighting, not the smoothed
   * points: those trail a fast face (by up to half an eye distance for a face crossing the picture
   * in two seconds), enough for its crop to miss it; the sighting's own noise (1-2 % of an eye
   * distance) does not matter for where a crop is cut.
   */
  predict(time: number): Prediction {
    const dt = this.#restart ? 0 : time - this.#landmarks.time;
    const landmarks = this.#sighting.map(([x, y], i): Point => {
      const [vx, vy] = this.#landmarks.velocities[i] ?? [0, 0];
      return [x + vx * dt, y + vy * dt];
    });
    const [dx, dy] = meanShift(this.#landmarks.points!, landmarks);
    const [[x1, y1], [x2, y2]] = this.#box.points as [Point, Point];
    return { landmarks, box: [x1 + dx, y1 + dy, x2 + dx, y2 + dy] };
  }

  /** The keyframe's box carried to `landmarks` (clipped to the image), as x, y, width, height. */
  boxFor(landmarks: readonly Point[], image: RawImage): [number, number, number, number] {
    const fromTemplate = estimateSimilarity(FFHQ_512.points, landmarks);
    const corners = this.#templateBox.map((p) => applyAffine(fromTemplate, p));
    const xs = corners.map(([x]) => x);
    const ys = corners.map(([, y]) => y);
    return clippedBox([Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)], image);
  }

  /** The face as the pipeline gets it: smoothed landmarks and box. */
  face(image: RawImage): Face {
    const [[x1, y1], [x2, y2]] = this.#box.points as [Point, Point];
    const face: Face = {
      box: clippedBox([x1, y1, x2, y2], image),
      score: this.#score,
      landmarks: this.#landmarks.points!.map(([x, y]): [number, number] => [x, y]),
      detector: this.#detector,
    };
    if (this.#orientation !== undefined) face.orientation = this.#orientation;
    return face;
  }

  /**
   * After a scene cut: the next sighting is taken as it is (filters start afresh), and until then
   * the face is predicted where it was last, with no motion.
   */
  forgetMotion(): void {
    this.#restart = true;
  }
}

/**
 * The face near `predicted` found again: on the crop aligned on the prediction, then once more on
 * the crop aligned on what the first look found, and the two averaged. The detector's landmarks
 * move by 1-2 % of an eye distance with where a crop is cut, at random; the second crop is cut by
 * the face itself, as a detection's confirmation crop is, and the average halves that part of the
 * noise. Measured on the test clips, one look alone left the re-found landmarks 15-30 % noisier
 * (frame-to-frame) than detecting every frame; the two looks match it, for two runs of the small
 * network (about 3 ms each at 160 px) instead of one.
 * @returns landmarks in image pixels and the first look's score, or undefined when the face is not
 *   found on the predicted crop.
 */
async function refindFace(
  image: RawImage,
  predicted: readonly Point[],
  checker: Detector,
  run: StepRun,
): Promise<{ landmarks: Point[]; score: number } | undefined> {
  const first = await lookOnCrop(image, predicted, checker, run);
  if (!first) return undefined;
  const second = await lookOnCrop(image, first.landmarks, checker, run);
  if (!second) return first;
  const landmarks = first.landmarks.map(([x, y], i): Point => [(x + second.landmarks[i]![0]) / 2, (y + second.landmarks[i]![1]) / 2]);
  return { landmarks, score: first.score };
}

/** The face expected at `landmarks`, found on its aligned crop (upright only: the crop is aligned on it). */
async function lookOnCrop(
  image: RawImage,
  landmarks: readonly Point[],
  checker: Detector,
  run: StepRun,
): Promise<{ landmarks: Point[]; score: number } | undefined> {
  const { backend, catalogue } = run.context;
  const aligned = alignFace(image, landmarks, FFHQ_512, CONFIRM_SIZE);
  const expected = framingPoints(FFHQ_512, CONFIRM_SIZE);
  const hit = await confirmOnCrop(aligned.image, expected, backend, catalogue, { detector: checker, orientations: [0] });
  if (!hit) return undefined;
  const cropToImage = invertAffine(aligned.imageToCrop);
  return { landmarks: hit.landmarks.map((p) => applyAffine(cropToImage, p)), score: hit.score };
}

/**
 * Greedy matching of a keyframe's faces to the tracks' predictions, best pair first. The cost of a
 * pair adds the mean landmark distance (in the prediction's eye distances) and the boxes'
 * non-overlap (1 − IoU); only pairs within {@link MATCH_DISTANCE} or above {@link MATCH_IOU} can
 * match. Greedy is enough here: faces lie apart by more than the gate, so at most one face is near
 * a prediction except where two faces cross, and there the prediction that is nearer wins.
 * @returns [track index, face index] pairs.
 */
function matchFaces(predictions: readonly Prediction[], faces: readonly Face[]): Array<[number, number]> {
  const candidates: Array<{ track: number; face: number; cost: number }> = [];
  for (const [t, prediction] of predictions.entries()) {
    const eyes = eyeDistance(prediction.landmarks);
    for (const [f, face] of faces.entries()) {
      const distance = meanDistance(face.landmarks, prediction.landmarks) / eyes;
      const [x, y, w, h] = face.box;
      const overlap = iou(prediction.box, [x, y, x + w, y + h]);
      if (distance <= MATCH_DISTANCE || overlap >= MATCH_IOU) candidates.push({ track: t, face: f, cost: distance + (1 - overlap) });
    }
  }
  candidates.sort((a, b) => a.cost - b.cost);
  const usedTracks = new Set<number>();
  const usedFaces = new Set<number>();
  const pairs: Array<[number, number]> = [];
  for (const { track, face } of candidates) {
    if (usedTracks.has(track) || usedFaces.has(face)) continue;
    usedTracks.add(track);
    usedFaces.add(face);
    pairs.push([track, face]);
  }
  return pairs;
}

/**
 * Where two tracks found the same face again (one face passed in front of the other), only the
 * track that predicted it more closely keeps it; the other is missed.
 */
function dropDuplicates(found: ReadonlyArray<Refound | undefined>, tracks: readonly Track[]): Array<Refound | undefined> {
  const kept = [...found];
  for (let i = 0; i < kept.length; i++) {
    for (let j = i + 1; j < kept.length; j++) {
      const a = kept[i];
      const b = kept[j];
      if (!a || !b) continue;
      if (meanDistance(a.landmarks, b.landmarks) > SAME_FACE_DISTANCE * eyeDistance(a.landmarks)) continue;
      // The worse prediction loses; on a tie the older track (lower id) keeps the face.
      const loser = a.error < b.error || (a.error === b.error && tracks[i]!.id < tracks[j]!.id) ? j : i;
      kept[loser] = undefined;
    }
  }
  return kept;
}

function eyeDistance(points: readonly Point[]): number {
  return Math.hypot(points[1]![0] - points[0]![0], points[1]![1] - points[0]![1]) || 1;
}

function meanShift(from: readonly Point[], to: readonly Point[]): Point {
  let dx = 0;
  let dy = 0;
  for (let i = 0; i < from.length; i++) {
    dx += to[i]![0] - from[i]![0];
    dy += to[i]![1] - from[i]![1];
  }
  return [dx / from.length, dy / from.length];
}

function boxCorners([x1, y1, x2, y2]: Corners): Point[] {
  return [
    [x1, y1],
    [x2, y1],
    [x2, y2],
    [x1, y2],
  ];
}

/** Corners clipped to the image, as x, y, width, height (at least a pixel each way). */
function clippedBox([x1, y1, x2, y2]: Corners, image: RawImage): [number, number, number, number] {
  const left = Math.min(Math.max(x1, 0), image.width - 1);
  const top = Math.min(Math.max(y1, 0), image.height - 1);
  const right = Math.max(Math.min(x2, image.width), left + 1);
  const bottom = Math.max(Math.min(y2, image.height), top + 1);
  return [left, top, right - left, bottom - top];
}
