/** Portoon for Node.js: the library API. See README.md for examples. */
export {
  Portoon,
  type PortoonOptions,
  type CartoonizeOptions,
  type CartoonizeResult,
  type CartoonizeVideoOptions,
} from './node/portoon.js';
export {
  BACKGROUND_MODES,
  DETECTOR_CHOICES,
  PREVIEW_MAX_SIDE,
  parseCartoonizeRequest,
  type BackgroundMode,
  type CartoonizeParams,
  type CartoonizeRequest,
  type DetectorChoice,
  type StyleMix,
} from './core/request.js';
export { STAGES, overallProgress, type CartoonizeReport, type FaceReport, type Stage, type StageProgress } from './core/report.js';
export { OUTPUT_FORMATS, ACCEPTED_MIME_TYPES, type OutputFormat } from './core/formats.js';
export type { CancelSignal, CartoonEngine, FileRef, RunOptions, VideoRunOptions } from './core/engine-port.js';
export type { VideoFormat, VideoInfo, VideoParams, VideoProgress, VideoReport, FaceTrackReport } from './core/video/types.js';
export type { VideoFields } from './core/video/params.js';
export type { FrameProgress, JobKind, JobState, JobStatus } from './core/job.js';
export type { StyleInfo } from './core/style-info.js';
export {
  ModelStore,
  defaultModelsDir,
  defaultModelSource,
  type ModelState,
  type ModelStatus,
  type PullOptions,
  type PullProgress,
  type PullResult,
  type VerifyResult,
} from './node/model-store.js';
export { loadCatalogue } from './node/load-catalogue.js';
export { PortoonError, ERROR_TABLE, type ErrorCode } from './core/errors.js';
export { readProvenance, TRAINED_ALGORITHMIC_MEDIA } from './core/provenance.js';
export { verifyImage, type VerifyOptions, type VerifyReport, type XmpFindings } from './node/verify.js';
export type { C2paReport, C2paSignerConfig } from './node/c2pa.js';
export type { WatermarkReading } from './core/provenance/watermark.js';
