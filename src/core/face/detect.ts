/**
 * Face detection: finds every face in a photo with a box and five landmarks, using RetinaFace,
 * YuNet, or both merged. Platform-neutral: the networks run through the InferenceBackend and all
 * pre- and post-processing is plain TypeScript.
 */
import { PortoonError } from '../errors.js';
import type { RawImage } from '../image.js';
import { float32Tensor, type InferenceBackend, type TensorData } from '../inference.js';
import type { ModelEntry } from '../models/manifest.js';
import { fitInside, resizeImage } from '../resize.js';
import type { Candidate, Point } from './candidate.js';
import { iou, nonMaxSuppression } from './nms.js';
import { decodeRetinaFace, RETINAFACE_ID } from './retinaface.js';
import { decodeYuNet, YUNET_ID } from './yunet.js';

export type { Point } from './candidate.js';

export interface Face {
  /** x, y, width, height in source-image pixels, clipped to the image. */
  box: [number, number, number, number];
  score: number;
  /**
   * Five points in source-image pixels, in the ArcFace/RetinaFace order: the subject's right eye
   * (image-left), left eye (image-right), nose tip, right mouth corner (image-left), left mouth
   * corner (image-right). Not clipped: a face cut by the frame may have points just outside it.
   */
  landmarks: Point[];
  detector: Detector;
}

export type Detector = 'retinaface' | 'yunet';
export type DetectorChoice = Detector | 'both';

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
  /** Boxes overlapping more than this (IoU) are one face. Default 0.4. */
  nmsIou?: number | undefined;
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

const MODEL_IDS: Readonly<Record<Detector, string>> = { retinaface: RETINAFACE_ID, yunet: YUNET_ID };

type Decoder = (outputs: Readonly<Record<string, TensorData>>, width: number, height: number, minScore: number) => Candidate[];
const DECODERS: Readonly<Record<Detector, Decoder>> = { retinaface: decodeRetinaFace, yunet: decodeYuNet };

/** Far more faces than any photo holds; bounds NMS work on a noise image with a tiny threshold. */
const MAX_FACES = 500;

/**
 * Detects faces in an RGB image.
 * @param model resolves a model id to its catalogue entry (input name, normalisation, colour order).
 * @returns faces in source-image pixels, highest score first.
 * @throws PortoonError E_BAD_OPTION for a non-RGB or malformed image or an invalid option;
 *   E_MODEL_MISSING / E_MODEL_CORRUPT / E_INFERENCE_FAILED from the backend.
 */
/** Catalogue ids of the models a detector choice runs. */
export function detectorModelIds(choice: DetectorChoice): string[] {
  return (choice === 'both' ? (['retinaface', 'yunet'] as const) : [choice]).map((name) => MODEL_IDS[name]);
}

export async function detectFaces(
  image: RawImage,
  backend: InferenceBackend,
  model: (id: string) => ModelEntry,
  options: DetectOptions = {},
): Promise<Face[]> {
  const { detector = 'both', maxSide = DEFAULT_MAX_SIDE, minScore, nmsIou = DEFAULT_NMS_IOU } = options;
  checkImage(image);
  checkOptions(detector, maxSide, minScore, nmsIou);

  // Only shrink, never enlarge: at scale 1 a face filling a small crop is at most maxSide pixels,
  // which RetinaFace's largest priors (512 px) and YuNet's stride-32 head still cover, while
  // enlarging a small photo only blurs it and costs time.
  const fit = fitInside(image.width, image.height, maxSide);
  const resized = fit.scale < 1 ? resizeImage(image, fit.width, fit.height) : image;
  const scaleX = image.width / resized.width;
  const scaleY = image.height / resized.height;

  const detectors: Detector[] = detector === 'both' ? ['retinaface', 'yunet'] : [detector];
  const perDetector: Face[][] = [];
  // One after the other, not in parallel: each run already uses every core the backend allows.
  for (const name of detectors) {
    const id = MODEL_IDS[name];
    const entry = model(id);
    const { tensor, width, height } = toTensor(resized, entry);
    const outputs = await backend.run(id, { [entry.input.name]: tensor });
    const threshold = minScore ?? DEFAULT_MIN_SCORE[name];
    const candidates = nonMaxSuppression(DECODERS[name](outputs, width, height, threshold), nmsIou, MAX_FACES);
    perDetector.push(candidates.flatMap((c) => toFace(c, name, scaleX, scaleY, image.width, image.height)));
  }
  return mergeDetections(perDetector, nmsIou);
}

/**
 * Merges the faces of several detectors, listed in order of preference: a face found by an earlier
 * detector hides any later detection of the same face (IoU above `nmsIou`), so when both networks
 * see a face the RetinaFace box and landmarks win and the face appears once. A face only the later
 * detector found is kept. Sorted by score, highest first.
 */
export function mergeDetections(perDetector: readonly (readonly Face[])[], nmsIou: number): Face[] {
  const merged: Face[] = [];
  for (const faces of perDetector) {
    const earlier = merged.length;
    for (const face of faces) {
      const corners = toCorners(face.box);
      let duplicate = false;
      for (let i = 0; i < earlier && !duplicate; i++) duplicate = iou(toCorners(merged[i]!.box), corners) > nmsIou;
      if (!duplicate) merged.push(face);
    }
  }
  return merged.sort((a, b) => b.score - a.score);
}

function toCorners(box: readonly [number, number, number, number]): [number, number, number, number] {
  return [box[0], box[1], box[0] + box[2], box[1] + box[3]];
}

/** Maps a candidate from network-input pixels back to the source image; drops boxes outside it. */
function toFace(c: Candidate, detector: Detector, scaleX: number, scaleY: number, width: number, height: number): Face[] {
  const x1 = clamp(c.box[0] * scaleX, 0, width);
  const y1 = clamp(c.box[1] * scaleY, 0, height);
  const x2 = clamp(c.box[2] * scaleX, 0, width);
  const y2 = clamp(c.box[3] * scaleY, 0, height);
  if (x2 - x1 < 1 || y2 - y1 < 1) return [];
  return [
    {
      box: [x1, y1, x2 - x1, y2 - y1],
      score: c.score,
      landmarks: c.landmarks.map(([x, y]): Point => [x * scaleX, y * scaleY]),
      detector,
    },
  ];
}

/**
 * Builds the network input: the image in the model's colour order and layout, normalised with the
 * entry's mean/std, padded with black at the bottom and right up to the size multiple (padding, not
 * stretching, keeps faces undistorted and coordinates a plain scale away from the source).
 */
function toTensor(image: RawImage, entry: ModelEntry): { tensor: TensorData; width: number; height: number } {
  const { sizeMultiple, mean, std, colorOrder, layout } = entry.input;
  const width = Math.ceil(image.width / sizeMultiple) * sizeMultiple;
  const height = Math.ceil(image.height / sizeMultiple) * sizeMultiple;
  const plane = width * height;
  const data = new Float32Array(plane * 3);
  // Channel c of the tensor takes source channel order[c] (RGB source).
  const order = colorOrder === 'BGR' ? [2, 1, 0] : [0, 1, 2];
  const src = image.data;
  for (let c = 0; c < 3; c++) {
    const m = mean[c]!;
    const inv = 1 / std[c]!;
    const from = order[c]!;
    const pad = (0 - m) * inv;
    if (layout === 'NCHW') {
      const base = c * plane;
      if (pad !== 0) data.fill(pad, base, base + plane);
      for (let y = 0; y < image.height; y++) {
        const row = base + y * width;
        const srcRow = y * image.width * 3 + from;
        for (let x = 0; x < image.width; x++) data[row + x] = (src[srcRow + x * 3]! - m) * inv;
      }
    } else {
      for (let i = 0; i < plane; i++) {
        const x = i % width;
        const y = (i - x) / width;
        data[i * 3 + c] = x < image.width && y < image.height ? (src[(y * image.width + x) * 3 + from]! - m) * inv : pad;
      }
    }
  }
  const dims = layout === 'NCHW' ? [1, 3, height, width] : [1, height, width, 3];
  return { tensor: float32Tensor(data, dims), width, height };
}

function checkImage(image: RawImage): void {
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

function checkOptions(detector: string, maxSide: number, minScore: number | undefined, nmsIou: number): void {
  if (detector !== 'both' && !Object.hasOwn(MODEL_IDS, detector)) {
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
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}
