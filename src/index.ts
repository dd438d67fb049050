/** Portoon for Node.js: the library API. See README.md for examples. */
export { Portoon, type PortoonOptions, type CartoonizeOptions, type CartoonizeResult } from './node/portoon.js';
export type { CartoonizeReport, CartoonizeRequest } from './node/engine.js';
export {
  ModelStore,
  defaultModelsDir,
  defaultModelSource,
  type PullProgress,
  type PullResult,
  type VerifyResult,
} from './node/model-store.js';
export { loadCatalogue } from './node/load-catalogue.js';
export { OUTPUT_FORMATS, type OutputFormat } from './node/codec.js';
export { PortoonError, ERROR_TABLE, type ErrorCode } from './core/errors.js';
export {
  BACKGROUND_MODES,
  STAGES,
  overallProgress,
  type BackgroundMode,
  type Stage,
  type StageProgress,
  type StyleMix,
  type FaceReport,
} from './core/pipeline.js';
export { readProvenance, TRAINED_ALGORITHMIC_MEDIA } from './core/provenance.js';
export type { StyleInfo } from './node/style-info.js';
