/**
 * `portoon/web`: Portoon in the browser. The engine runs in a Web Worker with onnxruntime-web; see
 * PortoonWeb.
 */
export {
  PortoonWeb,
  type LiveFaceResult,
  type PortoonWebOptions,
  type WebCartoonizeOptions,
  type WebCartoonizeResult,
} from './portoon-web.js';
export type { BackendInfo, CatalogueDocument, DetectedFace, ModelDownload } from './protocol.js';
export { ModelCache, sha256Hex } from './model-cache.js';
export { PortoonError } from '../core/errors.js';
export type { CartoonizeParams } from '../core/request.js';
export type { CartoonizeReport, StageProgress } from '../core/report.js';
