/** What the pipeline takes from its caller and gives back. */
import type { Affine } from '../face/align.js';
import type { FloatPlane, RawImage } from '../image.js';
import type { InferenceBackend } from '../inference.js';
import type { Catalogue } from '../models/catalogue.js';
import type { FaceReport, Stage, StageProgress } from '../report.js';

export interface PipelineContext {
  backend: InferenceBackend;
  catalogue: Catalogue;
  onProgress?: ((progress: StageProgress) => void) | undefined;
  /** Clock in ms; the adapters pass a high-resolution one. */
  now?: () => number;
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
