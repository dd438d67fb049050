/**
 * The platform-neutral engine (`portoon/core`): no Node.js, no DOM. Platform adapters supply an
 * InferenceBackend and decode/encode images to and from RawImage; everything in between is here.
 */
export { cartoonizeImage, modelsForRequest, stylesNeedFaces } from './pipeline.js';
export type { PipelineContext, PipelineResult } from './pipeline.js';
export {
  BACKGROUND_MODES,
  DETECTOR_CHOICES,
  cartoonizeFieldsSchema,
  parseCartoonizeRequest,
  type BackgroundMode,
  type CartoonizeParams,
  type CartoonizeRequest,
  type DetectorChoice,
  type StyleMix,
} from './request.js';
export { STAGES, overallProgress, type CartoonizeReport, type FaceReport, type Stage, type StageProgress } from './report.js';
export { OUTPUT_FORMATS, INPUT_IMAGE_TYPES, type OutputFormat } from './formats.js';
export type { CancelSignal, CartoonEngine, RunOptions } from './engine-port.js';
export type { RawImage, FloatPlane } from './image.js';
export type { InferenceBackend, TensorData, TensorType } from './inference.js';
export { Catalogue, type ManifestSource } from './models/catalogue.js';
export { parseManifest, parseManifestText, type ManifestFile, type ModelEntry, type StyleEntry } from './models/manifest.js';
export { detectFaces, type DetectOptions, type Face } from './face/detect.js';
export { runProcedural } from './procedural/index.js';
export { buildXmp, readProvenance, TRAINED_ALGORITHMIC_MEDIA, type ProvenanceInfo } from './provenance.js';
export { ERROR_TABLE, PortoonError, reviveError, toPortoonError, type ErrorCode, type SerializedError } from './errors.js';
