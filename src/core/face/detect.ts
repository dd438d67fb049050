/**
 * Face detection: finds every face in a photo with a box and five landmarks, using RetinaFace,
 * YuNet, or both merged. Platform-neutral: the networks run through the InferenceBackend and all
 * pre- and post-processing is plain TypeScript.
 */
import { PortoonError } from '../errors.js';
import type { DetectorChoice } from '../request.js';
import type { RawImage } from '../image.js';
import type { InferenceBackend, TensorData } from '../inference.js';
import { requireHelper, type HelperModels } from '../models/catalogue.js';
import type { HelperRole } from '../models/manifest.js';
import { fitInside, resizeImage } from '../resize.js';
import { imageToTensor, padBlack, roundUpTo } from '../tensor.js';
import type { Candidate, Point } from './candidate.js';
import { iou, nonMaxSuppression, type Corners } from './nms.js';
import { boxFromRotated, fromRotated, ORIENTATIONS, rotateImage, type Orientation } from './orientation.js';
import { isPlausibleFace } from './plausible.js';
import { decodeRetinaFace } from './retinaface.js';
import { decodeYuNet } from './yunet.js';

export type { Point } from './candidate.js';
export type { Orientation } from './orientation.js';

export interface Face {
  /** x, y, width, height in source-image pixels, clipped to the image. */
  box: [number, number, number, number];
  score: number;
  /**
   * Five points in source-image pixels, in the ArcFace/RetinaFace order: the subject's right eye
   * (image-left on an upright face), left eye, nose tip, right mouth corner, left mouth corner. The
   * order follows the subject, not the image, so on a face turned sideways or upside down the
   * similarity alignment onto the template still turns it upright. Not clipped: a face cut by the
   * frame may have points just outside it.
   */
  landmarks: Point[];
  detector: Detector;
  /**
   * The search orientation whose detection won (the photo turned clockwise by this many degrees
   * showed the face upright). Absent means 0.
   */
  orientation?: Orientation;
}

export type Detector = Exclude<DetectorChoice, 'both'>;
export type { DetectorChoice };

export interface DetectOptions {
  /** Default 'both': a face missed by one network is still found. */
  detector?: DetectorChoice | undefined;
  /** The photo is shrunk so its long side is at most this before detection. Default 640. */
  maxSide?: number | undefined;
  /**
   * Minimum score, applied to every detector in use. By default each detector has its own
   * threshold ({@link DEFAULT_MIN_SCORE}), because their scores are calibrated differently.
   */
  minScore?: number | undefined;
  /**
   * Boxes overlapping more than this (IoU) are one face, as is a box lying mostly inside another.
   * Default 0.4; 1 turns all merging off.
   */
  nmsIou?: number | undefined;
  /**
   * Orientations searched: the photo turned clockwise by each of these angles. Default all four,
   * so faces in a photo turned on its side or upside down, and heads tilted at any angle, are found
   * with their own landmarks. Each orientation runs the networks once more (on a 1280x960 photo
   * with both networks: ~40-70 ms for `[0]`, ~150-200 ms for all four). `[0]` searches the photo as
   * it is; on a turned photo it then misses faces or returns YuNet's "upright" landmarks placed on
   * a sideways face.
   */
  orientations?: readonly Orientation[] | undefined;
}

export const DEFAULT_MAX_SIDE = 640;
export const DEFAULT_NMS_IOU = 0.4;

/**
 * Per-detector score thresholds, measured on the 20 shared test portraits at several sizes (the
 * photos at 100/75/50 % and maxSide 320..1024). RetinaFace: real faces scored >= 0.81, anything
 * else <= 0.47. YuNet: real faces >= 0.75 (a face behind a black mask: 0.77), anything else <= 0.51;
 * its known false positive on a neck (0.67-0.69) only appears when a 512-px photo is enlarged to
 * 640, which detectFaces never does.
 */
export const DEFAULT_MIN_SCORE: Readonly<Record<Detector, number>> = { retinaface: 0.6, yunet: 0.7 };

/** The catalogue role of each detector's model: the model whose outputs its decoder reads. */
export const DETECTOR_ROLES: Readonly<Record<Detector, HelperRole>> = {
  retinaface: 'face-detector-retinaface',
  yunet: 'face-detector-yunet',
};

type Decoder = (
  outputs: Readonly<Record<string, TensorData>>,
  width: number,
  height: number,
  minScore: number,
  modelId: string,
) => Candidate[];
const DECODERS: Readonly<Record<Detector, Decoder>> = { retinaface: decodeRetinaFace, yunet: decodeYuNet };

/** Far more faces than any photo holds; bounds NMS work on a noise image with a tiny threshold. */
const MAX_FACES = 500;

/** The detectors a choice runs, in order of preference when their detections are merged. */
export function detectorsOf(choice: DetectorChoice): Detector[] {
  return choice === 'both' ? ['retinaface', 'yunet'] : [choice];
}

/**
 * Detects faces in an RGB image, in every requested orientation (see `DetectOptions.orientations`).
 * @param models finds each detector's model by its role ({@link DETECTOR_ROLES}): its id, input
 *   name, normalisation and colour order.
 * @returns faces in source-image pixels, highest score first.
 * @throws PortoonError E_BAD_OPTION for a non-RGB or malformed image or an invalid option;
 *   E_MODEL_MISSING when no model has a detector's role; E_MODEL_MISSING / E_MODEL_CORRUPT /
 *   E_INFERENCE_FAILED from the backend.
 */
export async function detectFaces(
  image: RawImage,
  backend: InferenceBackend,
  models: HelperModels,
  options: DetectOptions = {},
): Promise<Face[]> {
  const { detector = 'both', maxSide = DEFAULT_MAX_SIDE, minScore, nmsIou = DEFAULT_NMS_IOU, orientations = ORIENTATIONS } = options;
  checkDetectionImage(image);
  checkOptions(detector, maxSide, minScore, nmsIou, orientations);

  // Only shrink, never enlarge: at scale 1 a face filling a small crop is at most maxSide pixels,
  // which RetinaFace's largest priors (512 px) and YuNet's stride-32 head still cover, while
  // enlarging a small photo only blurs it and costs time.
  const fit = fitInside(image.width, image.height, maxSide);
  const resized = fit.scale < 1 ? resizeImage(image, fit.width, fit.height) : image;
  const frame: SearchFrame = {
    width: resized.width,
    height: resized.height,
    scaleX: image.width / resized.width,
    scaleY: image.height / resized.height,
    imageWidth: image.width,
    imageHeight: image.height,
  };

  const detectors = detectorsOf(detector);
  const perDetector: Face[][] = detectors.map(() => []);
  // Rotating the small detection image is cheap next to a network run. One run after the other,
  // not in parallel: each run already uses every core the backend allows.
  for (const angle of new Set(orientations)) {
    const view = rotateImage(resized, angle);
    for (const [rank, name] of detectors.entries()) {
      const threshold = minScore ?? DEFAULT_MIN_SCORE[name];
      const candidates = await runDetector(view, name, backend, models, threshold, nmsIou);
      perDetector[rank]!.push(...candidates.flatMap((c) => toFace(c, name, angle, frame)));
    }
  }
  return mergeDetections(perDetector, nmsIou);
}

/** Raw detections of one network on one (rotated) detection image, after NMS, in its pixels. */
async function runDetector(
  view: RawImage,
  name: Detector,
  backend: InferenceBackend,
  models: HelperModels,
  threshold: number,
  nmsIou: number,
): Promise<Candidate[]> {
  const entry = requireHelper(models, DETECTOR_ROLES[name]);
  // Padded with black at the bottom and right up to the size multiple: padding, not stretching,
  // keeps faces undistorted and coordinates a plain scale away from the source.
  const { sizeMultiple } = entry.input;
  const padded = padBlack(view, roundUpTo(view.width, sizeMultiple) - view.width, roundUpTo(view.height, sizeMultiple) - view.height);
  const outputs = await backend.run(entry.id, { [entry.input.name]: imageToTensor(padded, entry.input) });
  return nonMaxSuppression(DECODERS[name](outputs, padded.width, padded.height, threshold, entry.id), nmsIou, MAX_FACES);
}

/**
 * A box lying at least this much (fraction of its own area) inside another box is the same face,
 * whatever the IoU: a face seen on its side gets a box of the other aspect ratio, and a detector
 * sometimes boxes only part of a rotated face. Two real faces never nest like this.
 */
const NESTED_COVER = 0.75;

/**
 * How much stronger (summed scores, see {@link orientationEvidence}) another orientation must be
 * than the photo's dominant one before a face takes it. Measured on the 27 faces of the shared
 * portraits (and again with the photos tilted by up to 10 degrees or shrunk to 60 %): the upright
 * orientation always had the most evidence (1.69..1.95 with both networks) but led the best other
 * orientation by as little as 0.07..0.2 on small faces and on faces the networks also see upside
 * down (a 70-px face in the cafe photo: 1.92 upright, 1.83 quarter-turned). The margin, about twice
 * that noise, makes such faces follow the rest of the photo; a face that leads by more (a person
 * lying down among upright ones) keeps its own orientation.
 */
const DOMINANT_MARGIN = 0.25;

/**
 * Merges the faces of several detectors and orientations into one detection per face. Each inner
 * list holds one detector's faces (all orientations), in order of preference.
 *
 * 1. Grouping: detections whose boxes overlap more than `nmsIou` (IoU), or nest, are one face.
 *    Groups are seeded from the first detector's detections, best score first, so with both
 *    networks RetinaFace's box anchors each face, as before.
 * 2. Orientation: the detectors also fire on faces turned by a quarter or half turn, and then they
 *    often place "upright" landmarks on the sideways or upside-down face (YuNet nearly always,
 *    RetinaFace on some faces), which pass every geometric check with an eye line within 15
 *    degrees of level. So the eye line cannot tell which orientation was the right one; the
 *    detection scores can: a face is strongest in its upright orientation. Each face takes the
 *    orientation where the sum of the detectors' best scores is highest, unless the photo's
 *    dominant orientation (highest sum over all faces) is within {@link DOMINANT_MARGIN} of it. A
 *    face away from the dominant orientation must be seen there by both networks
 *    ({@link MIN_NETWORKS_OFF_DOMINANT}), or it is dropped.
 * 3. Landmarks: the preferred detector's best detection in that orientation wins as a whole (box,
 *    landmarks, score); landmarks of different detections are never averaged.
 *
 * Returns the faces sorted by score, highest first.
 */
export function mergeDetections(perDetector: readonly (readonly Face[])[], nmsIou: number): Face[] {
  const groups = groupDetections(perDetector, nmsIou);
  const evidence = groups.map(orientationEvidence);
  const dominant = strongest(sumEvidence(evidence));
  return groups.flatMap((group, i) => pickWinner(group, evidence[i]!, dominant)).sort((a, b) => b.score - a.score);
}

interface Ranked {
  face: Face;
  /** Index of the detector in the merge's preference order (0 = preferred). */
  rank: number;
}

/** Greedy grouping around seeds in order of detector preference, then score. */
function groupDetections(perDetector: readonly (readonly Face[])[], nmsIou: number): Ranked[][] {
  const all = perDetector.flatMap((faces, rank) => faces.map((face): Ranked => ({ face, rank })));
  all.sort((a, b) => a.rank - b.rank || b.face.score - a.face.score);
  const groups: Ranked[][] = [];
  for (const item of all) {
    const corners = toCorners(item.face.box);
    const group = groups.find((g) => sameFace(toCorners(g[0]!.face.box), corners, nmsIou));
    if (group) group.push(item);
    else groups.push([item]);
  }
  return groups;
}

/**
 * Whether two boxes are one face: IoU above `nmsIou`, or one box nested in the other. `nmsIou` = 1
 * asks for no suppression at all, which also turns off the nesting rule.
 */
function sameFace(a: Corners, b: Corners, nmsIou: number): boolean {
  if (iou(a, b) > nmsIou) return true;
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (w <= 0 || h <= 0) return false;
  const smaller = Math.min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]));
  return (w * h) / smaller > Math.max(NESTED_COVER, nmsIou);
}

/** Per orientation, the sum over detectors of each detector's best score for this face. */
function orientationEvidence(group: readonly Ranked[]): Map<Orientation, number> {
  const best = new Map<Orientation, Map<number, number>>();
  for (const { face, rank } of group) {
    const angle = face.orientation ?? 0;
    const byRank = best.get(angle) ?? new Map<number, number>();
    byRank.set(rank, Math.max(byRank.get(rank) ?? 0, face.score));
    best.set(angle, byRank);
  }
  const evidence = new Map<Orientation, number>();
  for (const [angle, byRank] of best)
    evidence.set(
      angle,
      [...byRank.values()].reduce((sum, v) => sum + v, 0),
    );
  return evidence;
}

function sumEvidence(perGroup: readonly Map<Orientation, number>[]): Map<Orientation, number> {
  const total = new Map<Orientation, number>();
  for (const evidence of perGroup) for (const [angle, v] of evidence) total.set(angle, (total.get(angle) ?? 0) + v);
  return total;
}

/** The orientation with the highest evidence; ties go to the earlier of 0, 90, 180, 270. */
function strongest(evidence: ReadonlyMap<Orientation, number>): Orientation {
  let best: Orientation = 0;
  let value = -Infinity;
  for (const angle of ORIENTATIONS) {
    const v = evidence.get(angle);
    if (v !== undefined && v > value) {
      best = angle;
      value = v;
    }
  }
  return best;
}

/**
 * The detection whose landmarks represent the face (see {@link mergeDetections}, steps 2 and 3), or
 * none for an unsupported face away from the dominant orientation.
 */
function pickWinner(group: readonly Ranked[], evidence: ReadonlyMap<Orientation, number>, dominant: Orientation): Face[] {
  const own = strongest(evidence);
  const atDominant = evidence.get(dominant);
  const angle = atDominant !== undefined && atDominant >= evidence.get(own)! - DOMINANT_MARGIN ? dominant : own;
  if (angle !== dominant && networksAt(group, angle) < MIN_NETWORKS_OFF_DOMINANT) return [];
  let winner: Ranked | undefined;
  for (const item of group) {
    if ((item.face.orientation ?? 0) !== angle) continue;
    if (winner === undefined || item.rank < winner.rank || (item.rank === winner.rank && item.face.score > winner.face.score)) {
      winner = item;
    }
  }
  return [winner!.face];
}

/**
 * Networks that must see a face in its orientation when that is not the photo's dominant one.
 * Searching four orientations gives the networks four times the chances to fire on a pattern; on
 * the shared portraits turned by 15..75 degrees such false faces (an upside-down torso at 0.87, a
 * grey corner at 0.64, an oversized box around a tilted face) were each seen by one network only,
 * while a real face away from the dominant orientation (a head tilted further than its neighbours)
 * was seen by both. Faces in the dominant orientation keep the one-network rule of an upright-only
 * search; with a single detector, faces are only reported in the dominant orientation.
 */
const MIN_NETWORKS_OFF_DOMINANT = 2;

/** Distinct detectors that saw the face in this orientation. */
function networksAt(group: readonly Ranked[], angle: Orientation): number {
  return new Set(group.filter(({ face }) => (face.orientation ?? 0) === angle).map(({ rank }) => rank)).size;
}

function toCorners(box: readonly [number, number, number, number]): Corners {
  return [box[0], box[1], box[0] + box[2], box[1] + box[3]];
}

/** The detection image's size and how it maps to the source image. */
interface SearchFrame {
  /** Size of the (unrotated) detection image. */
  width: number;
  height: number;
  /** Source pixels per detection-image pixel. */
  scaleX: number;
  scaleY: number;
  imageWidth: number;
  imageHeight: number;
}

/**
 * Maps a candidate found on the detection image turned by `angle` back to the source image, or
 * drops it: when its landmarks are implausible for an upright face in the frame the network saw
 * (see plausible.ts), or when its box lies outside the image. The landmarks keep their order, which
 * is the subject's own (right eye first) whatever the angle.
 */
function toFace(c: Candidate, detector: Detector, angle: Orientation, frame: SearchFrame): Face[] {
  if (!isPlausibleFace(c.box, c.landmarks)) return [];
  const { width, height, scaleX, scaleY, imageWidth, imageHeight } = frame;
  const [bx1, by1, bx2, by2] = boxFromRotated(c.box, width, height, angle);
  const x1 = clamp(bx1 * scaleX, 0, imageWidth);
  const y1 = clamp(by1 * scaleY, 0, imageHeight);
  const x2 = clamp(bx2 * scaleX, 0, imageWidth);
  const y2 = clamp(by2 * scaleY, 0, imageHeight);
  if (x2 - x1 < 1 || y2 - y1 < 1) return [];
  const landmarks = c.landmarks.map((p): Point => {
    const [x, y] = fromRotated(p, width, height, angle);
    return [x * scaleX, y * scaleY];
  });
  return [{ box: [x1, y1, x2 - x1, y2 - y1], score: c.score, landmarks, detector, orientation: angle }];
}

/** @throws PortoonError E_BAD_OPTION for a non-RGB or malformed image. */
export function checkDetectionImage(image: RawImage): void {
  const { width, height, channels, data } = image;
  if (channels !== 3) {
    throw new PortoonError('E_BAD_OPTION', `Face detection needs an RGB image (3 channels), received ${channels}`, {
      details: { channels },
    });
  }
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || data.length !== width * height * 3) {
    throw new PortoonError(
      'E_BAD_OPTION',
      `Malformed image: ${width}x${height}x3 needs ${width * height * 3} bytes, received ${data.length}`,
      { details: { width, height, bytes: data.length } },
    );
  }
}

function checkOptions(
  detector: string,
  maxSide: number,
  minScore: number | undefined,
  nmsIou: number,
  orientations: readonly Orientation[],
): void {
  if (detector !== 'both' && !Object.hasOwn(DETECTOR_ROLES, detector)) {
    throw new PortoonError('E_BAD_OPTION', `Unknown face detector "${detector}": use retinaface, yunet or both`, {
      details: { option: 'detector', value: detector },
    });
  }
  if (!Number.isInteger(maxSide) || maxSide < 32) {
    throw new PortoonError('E_BAD_OPTION', `maxSide must be an integer of at least 32, received ${maxSide}`, {
      details: { option: 'maxSide', value: maxSide },
    });
  }
  if (minScore !== undefined && !(minScore >= 0 && minScore <= 1)) {
    throw new PortoonError('E_BAD_OPTION', `minScore must be between 0 and 1, received ${minScore}`, {
      details: { option: 'minScore', value: minScore },
    });
  }
  if (!(nmsIou > 0 && nmsIou <= 1)) {
    throw new PortoonError('E_BAD_OPTION', `nmsIou must be above 0 and at most 1, received ${nmsIou}`, {
      details: { option: 'nmsIou', value: nmsIou },
    });
  }
  if (!Array.isArray(orientations) || orientations.length === 0 || !orientations.every((a) => ORIENTATIONS.includes(a))) {
    throw new PortoonError(
      'E_BAD_OPTION',
      `orientations must be a non-empty list of 0, 90, 180 and 270, received ${String(orientations)}`,
      {
        details: { option: 'orientations', value: String(orientations) },
      },
    );
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}
