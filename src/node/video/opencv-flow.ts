/**
 * Optical flow with OpenCV compiled to WebAssembly (@techstark/opencv-js, the official opencv.js
 * 4.12 build): it runs wherever Node does, with no native addon to build.
 *
 * This build has two flow algorithms (its DIS optical flow exports only the preset constants, not
 * the class): Farnebäck's dense polynomial-expansion flow and pyramidal Lucas–Kanade for points.
 * Timings on one core of the 2-core reference machine, single-threaded WebAssembly:
 * - Processing uses Farnebäck: 10.7 ms for a 320x180 pair with the defaults below (13.4 ms with
 *   OpenCV's usual window 15 and 3 iterations, which aligned no better in the tuning; 16.5 ms at
 *   360x203). Dense and smooth, which is what warping a whole picture needs. The blender calls it
 *   twice a frame (forward and backward), whatever the frame's size.
 * - Evaluation (the warping error) uses Lucas–Kanade tracked from a grid of points, a different
 *   algorithm, so the flicker measure does not share the blender's flow errors and cannot reward
 *   them. ~115 ms for a 360x203 pair (window 11, a point every 2 pixels; 190 ms with window 15),
 *   which only the optional measurement pays.
 *
 * The WebAssembly module is loaded on first use, once per thread (each worker thread has its own
 * module registry, and this file keeps one loading promise); it reserves 128 MB of heap per thread.
 * Every cv.Mat is freed in a `finally`: that heap never shrinks, so one leaked matrix per frame
 * would grow it for good (300 frames through the blender and the meter leave it at 128 MB).
 */
import { createRequire } from 'node:module';
import type { RawImage } from '../../core/image.js';
import { PortoonError } from '../../core/errors.js';
import type { FlowField, OpticalFlow } from '../../core/video/flow.js';
import { createFlowField } from '../../core/video/flow.js';

/**
 * The part of the opencv.js API used here. The package's typings describe a global `cv` (and the
 * whole API), not the module that `require` returns once its runtime is initialised.
 */
interface CvMat {
  readonly rows: number;
  readonly cols: number;
  readonly data: Uint8Array;
  readonly data32F: Float32Array;
  delete(): void;
}

interface OpenCv {
  Mat: new (rows?: number, cols?: number, type?: number) => CvMat;
  Size: new (width: number, height: number) => unknown;
  TermCriteria: new (type: number, maxCount: number, epsilon: number) => unknown;
  CV_8UC1: number;
  CV_32FC2: number;
  TermCriteria_COUNT: number;
  TermCriteria_EPS: number;
  calcOpticalFlowFarneback(
    prev: CvMat,
    next: CvMat,
    flow: CvMat,
    pyrScale: number,
    levels: number,
    winSize: number,
    iterations: number,
    polyN: number,
    polySigma: number,
    flags: number,
  ): void;
  calcOpticalFlowPyrLK(
    prev: CvMat,
    next: CvMat,
    prevPoints: CvMat,
    nextPoints: CvMat,
    status: CvMat,
    error: CvMat,
    winSize: unknown,
    maxLevel: number,
    criteria: unknown,
    flags: number,
    minEigThreshold: number,
  ): void;
}

interface OpenCvModule extends Partial<OpenCv> {
  onRuntimeInitialized?: () => void;
}

// Held in an object: the Emscripten module has a `then` that resolves with itself, so awaiting the
// module itself never settles.
let loading: Promise<{ cv: OpenCv }> | undefined;

function loadOpenCv(): Promise<{ cv: OpenCv }> {
  loading ??= initialiseOpenCv().catch((error: unknown) => {
    loading = undefined;
    throw new PortoonError('E_INTERNAL', 'OpenCV (WebAssembly) could not be loaded for optical flow', { cause: error });
  });
  return loading;
}

async function initialiseOpenCv(): Promise<{ cv: OpenCv }> {
  // `require`, not `import()`: module loaders that wrap a CommonJS export in a namespace copy its
  // `then` onto the namespace, and awaiting that namespace then never settles either.
  const module = createRequire(import.meta.url)('@techstark/opencv-js') as OpenCvModule;
  if (typeof module.Mat !== 'function') {
    await new Promise<void>((resolve) => {
      module.onRuntimeInitialized = resolve;
    });
  }
  return { cv: module as OpenCv };
}

function assertGreyPair(from: RawImage, to: RawImage): void {
  if (from.channels !== 1 || to.channels !== 1) {
    throw new RangeError(`Optical flow needs grey images, received ${from.channels} and ${to.channels} channels`);
  }
  if (from.width !== to.width || from.height !== to.height) {
    throw new RangeError(`Optical flow needs images of the same size, received ${from.width}x${from.height} and ${to.width}x${to.height}`);
  }
}

function greyMat(cv: OpenCv, image: RawImage): CvMat {
  const mat = new cv.Mat(image.height, image.width, cv.CV_8UC1);
  mat.data.set(image.data);
  return mat;
}

export interface FarnebackOptions {
  /** Each pyramid level is this fraction of the one below. Default 0.5. */
  pyramidScale?: number;
  /** Pyramid levels (levels + 1 images); 3 follows motions of ~20 px at 360 px. Default 3. */
  levels?: number;
  /** Averaging window: larger is smoother and more robust to noise, but blurs motion edges. Default 9. */
  windowSize?: number;
  /** Iterations per level. Default 2. */
  iterations?: number;
  /** Neighbourhood of the polynomial expansion (5 or 7). Default 5. */
  polyN?: number;
  /** Gaussian sigma of the expansion: 1.1 for polyN 5, 1.5 for 7. Default 1.1. */
  polySigma?: number;
}

/** Farnebäck dense flow: the blender's flow. */
export class FarnebackFlow implements OpticalFlow {
  readonly name = 'opencv-farneback';
  private readonly params: Required<FarnebackOptions>;

  constructor(options: FarnebackOptions = {}) {
    this.params = {
      pyramidScale: options.pyramidScale ?? 0.5,
      levels: options.levels ?? 3,
      windowSize: options.windowSize ?? 9,
      iterations: options.iterations ?? 2,
      polyN: options.polyN ?? 5,
      polySigma: options.polySigma ?? 1.1,
    };
  }

  async compute(from: RawImage, to: RawImage): Promise<FlowField> {
    assertGreyPair(from, to);
    const { cv } = await loadOpenCv();
    const p = this.params;
    const mats: CvMat[] = [];
    try {
      const prev = greyMat(cv, from);
      mats.push(prev);
      const next = greyMat(cv, to);
      mats.push(next);
      const flow = new cv.Mat();
      mats.push(flow);
      cv.calcOpticalFlowFarneback(prev, next, flow, p.pyramidScale, p.levels, p.windowSize, p.iterations, p.polyN, p.polySigma, 0);
      // Copied out: the view into the WebAssembly heap dies with the matrix.
      return { width: from.width, height: from.height, data: flow.data32F.slice() };
    } finally {
      for (const mat of mats) mat.delete();
    }
  }
}

export interface LucasKanadeGridOptions {
  /** Grid spacing in pixels: the field has one vector per `step` x `step` cell. Default 2. */
  step?: number;
  /** Tracking window (odd). Default 11. */
  windowSize?: number;
  /** Pyramid levels above the base. Default 3. */
  levels?: number;
}

/**
 * Pyramidal Lucas–Kanade tracked from the centre of every cell of a regular grid, which makes a
 * dense field at 1/step of the image size. Points the tracker loses (no texture, left the frame)
 * take the mean of their found neighbours, so the field has no holes; the consistency check is what
 * then decides whether to trust them.
 */
export class LucasKanadeGridFlow implements OpticalFlow {
  readonly name = 'opencv-pyrlk-grid';
  private readonly step: number;
  private readonly windowSize: number;
  private readonly levels: number;

  constructor(options: LucasKanadeGridOptions = {}) {
    this.step = options.step ?? 2;
    this.windowSize = options.windowSize ?? 11;
    this.levels = options.levels ?? 3;
  }

  async compute(from: RawImage, to: RawImage): Promise<FlowField> {
    assertGreyPair(from, to);
    const { cv } = await loadOpenCv();
    const field = createFlowField(Math.ceil(from.width / this.step), Math.ceil(from.height / this.step));
    const cellX = from.width / field.width;
    const cellY = from.height / field.height;
    const count = field.width * field.height;
    const mats: CvMat[] = [];
    try {
      const prev = greyMat(cv, from);
      mats.push(prev);
      const next = greyMat(cv, to);
      mats.push(next);
      const start = new cv.Mat(count, 1, cv.CV_32FC2);
      mats.push(start);
      const starts = start.data32F;
      // Cell centres, with the pixel-centre convention of `resampleFlow` and the warps.
      for (let y = 0, i = 0; y < field.height; y++) {
        for (let x = 0; x < field.width; x++, i += 2) {
          starts[i] = (x + 0.5) * cellX - 0.5;
          starts[i + 1] = (y + 0.5) * cellY - 0.5;
        }
      }
      const end = new cv.Mat();
      mats.push(end);
      const status = new cv.Mat();
      mats.push(status);
      const error = new cv.Mat();
      mats.push(error);
      const criteria = new cv.TermCriteria(cv.TermCriteria_COUNT | cv.TermCriteria_EPS, 20, 0.03);
      const window = new cv.Size(this.windowSize, this.windowSize);
      cv.calcOpticalFlowPyrLK(prev, next, start, end, status, error, window, this.levels, criteria, 0, 1e-4);
      const found = new Uint8Array(count);
      const ends = end.data32F;
      const flags = status.data;
      // Read again rather than through `starts`: the calls above may have grown the heap, which
      // moves it and leaves earlier views of it empty.
      const origins = start.data32F;
      for (let i = 0; i < count; i++) {
        if (flags[i] === 0) continue;
        found[i] = 1;
        field.data[i * 2] = (ends[i * 2]! - origins[i * 2]!) / cellX;
        field.data[i * 2 + 1] = (ends[i * 2 + 1]! - origins[i * 2 + 1]!) / cellY;
      }
      fillLost(field, found);
      return field;
    } finally {
      for (const mat of mats) mat.delete();
    }
  }
}

/** Grows the found vectors into the lost ones, one ring of neighbours per pass. */
function fillLost(field: FlowField, found: Uint8Array): void {
  const { width, height, data } = field;
  let lost = found.length - found.reduce((sum, f) => sum + f, 0);
  if (lost === found.length) return; // nothing found: zero motion is the only guess
  while (lost > 0) {
    const grown: number[] = [];
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = y * width + x;
        if (found[i]) continue;
        let sumX = 0;
        let sumY = 0;
        let n = 0;
        for (let ny = Math.max(0, y - 1); ny <= Math.min(height - 1, y + 1); ny++) {
          for (let nx = Math.max(0, x - 1); nx <= Math.min(width - 1, x + 1); nx++) {
            const j = ny * width + nx;
            if (!found[j]) continue;
            sumX += data[j * 2]!;
            sumY += data[j * 2 + 1]!;
            n++;
          }
        }
        if (n === 0) continue;
        data[i * 2] = sumX / n;
        data[i * 2 + 1] = sumY / n;
        grown.push(i);
      }
    }
    for (const i of grown) found[i] = 1;
    lost -= grown.length;
  }
}

/** The flow the temporal blending uses, with OpenCV loaded (a load failure surfaces here). */
export async function processingFlow(): Promise<OpticalFlow> {
  await loadOpenCv();
  return new FarnebackFlow();
}

/** The flow the warping-error measurement uses: a different algorithm from the blending's. */
export async function evaluationFlow(): Promise<OpticalFlow> {
  await loadOpenCv();
  return new LucasKanadeGridFlow();
}
