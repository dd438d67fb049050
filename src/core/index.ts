/**
 * The platform-neutral engine (`portoon/core`): no Node.js, no DOM. Platform adapters supply an
 * InferenceBackend and decode/encode images to and from RawImage; everything in between is here.
 */
export { cartoonizeImage, stylesNeedFaces, validatePipelineOptions, BACKGROUND_MODES, overallProgress, STAGES } from './pipeline.js';
export type {
  BackgroundMode,
  FaceReport,
  PipelineContext,
  PipelineOptions,
  PipelineResult,
  Stage,
  StageProgress,
  StyleMix,
} from './pipeline.js';
export type { RawImage, FloatPlane } from './image.js';
export type { InferenceBackend, TensorData, TensorType } from './inference.js';
export { Catalogue, type ManifestSource } from './models/catalogue.js';
export { parseManifest, parseManifestText, type ManifestFile, type ModelEntry, type StyleEntry } from './models/manifest.js';
export { detectFaces, type DetectOptions, type DetectorChoice, type Face } from './face/detect.js';
export { runProcedural } from './procedural/index.js';
export { buildXmp, readProvenance, TRAINED_ALGORITHMIC_MEDIA, type ProvenanceInfo } from './provenance.js';
export { ERROR_TABLE, PortoonError, reviveError, toPortoonError, type ErrorCode, type SerializedError } from './errors.js';
