/** What the pipeline takes from its caller and gives back. */
import type { Affine } from '../face/align.js';
import type { FloatPlane, RawImage } from '../image.js';
import type { InferenceBackend } from '../inference.js';
import type { Catalogue } from '../models/catalogue.js';
import type { FaceReport, Stage, StageProgress } from '../report.js';
import type { Face } from '../face/detect.js';
import type { RunPlan } from './plan.js';

export interface PipelineContext {
  backend: InferenceBackend;
  catalogue: Catalogue;
  onProgress?: ((progress: StageProgress) => void) | undefined;
  /** Clock in ms; the adapters pass a high-resolution one. */
  now?: () => number;
  /** Where the faces come from: the detectors by default, a tracker for the frames of a video. */
  faces?: FaceSource | undefined;
  /** Called after each face is blended into a style pass's picture (quality measures, debugging). */
  onFacePasted?: ((info: FacePasteInfo) => void) | undefined;
}

export interface FacePasteInfo {
  /** Index into the result's faces. */
  index: number;
  imageToCrop: Affine;
  cropSize: number;
  /** The paste weight, 0..1 in crop space (`cropSize`²). */
  mask: FloatPlane;
}

export interface PipelineResult {
  image: RawImage;
  style: string;
  faces: FaceReport[];
  timings: Partial<Record<Stage, number>>;
  /** Ids of the models that ran. */
  models: string[];
  /**
   * False when face detection was skipped: the style does not need faces and no detector model is
   * installed (procedural styles work before any model is installed).
   */
  detected: boolean;
  /** Milliseconds spent inside the inference runtime, per model (the rest is pipeline overhead). */
  inference: Record<string, number>;
}

export interface FaceFinding {
  faces: Face[];
  /** Whether faces were looked for (false: the style needs none and no detector is installed). */
  detected: boolean;
  /** A stable id per face (parallel to `faces`) when the source tracks faces across frames. */
  ids?: number[] | undefined;
}

/**
 * Where the pipeline gets a picture's faces from. A still asks the detectors; a video frame asks a
 * tracker, which keeps state between frames (face ids, smoothed landmarks) and detects only now and
 * then. Everything a sequence of frames needs to remember lives in the source, not the pipeline.
 */
export interface FaceSource {
  /** The faces of `image`; called once per picture, in order for a sequence of frames. */
  find(image: RawImage, plan: RunPlan, run: StepRun): Promise<FaceFinding>;
}

/** What a pipeline step uses of its run (`PipelineRun`): models, timing, progress, provenance. */
export interface StepRun {
  readonly context: PipelineContext;
  /** Runs `work`, adding its wall time to `stage`. */
  timed<T>(stage: Stage, work: () => Promise<T> | T): Promise<T>;
  progress(stage: Stage, value: number): void;
  /** Notes a model as used (report, provenance). */
  ran(id: string): void;
}
