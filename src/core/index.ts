/**
 * The platform-neutral engine (`portoon/core`): no Node.js, no DOM. Platform adapters supply an
 * InferenceBackend and decode/encode images to and from RawImage; everything in between is here.
 */
export { cartoonizeImage, detectorFaceSource, modelsForRequest, stylesNeedFaces } from './pipeline.js';
export type { FaceFinding, FaceSource, PipelineContext, PipelineResult } from './pipeline.js';
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
export type { CancelSignal, CartoonEngine, FileRef, RunOptions, VideoRunOptions } from './engine-port.js';
export type { DecodedStill, FrameSink, FrameSource, StillCodec } from './media-port.js';
export { FaceTracker, type FaceTrackerOptions } from './face/tracker.js';
export { cartoonizeFrames, type FrameLoopContext, type FrameLoopReport } from './video/frame-loop.js';
export { TemporalBlender, type TemporalBlendOptions } from './video/temporal-blend.js';
export type { FlowField, OpticalFlow } from './video/flow.js';
export { psnr, PsnrMeter, WarpErrorMeter } from './video/metrics.js';
export { landmarkJitter } from './video/jitter.js';
export { parseVideoParams, videoFieldsSchema, type VideoFields } from './video/params.js';
export { sniffVideo, type VideoContainer } from './video/sniff.js';
export {
  VIDEO_FORMATS,
  type VideoFormat,
  type VideoInfo,
  type VideoParams,
  type VideoProgress,
  type VideoReport,
  type FaceTrackReport,
  type AudioHandling,
} from './video/types.js';
export type { RawImage, FloatPlane } from './image.js';
export type { InferenceBackend, TensorData, TensorType } from './inference.js';
export { Catalogue, type ManifestSource } from './models/catalogue.js';
export { parseManifest, parseManifestText, type ManifestFile, type ModelEntry, type StyleEntry } from './models/manifest.js';
export { detectFaces, type DetectOptions, type Face } from './face/detect.js';
export { runProcedural } from './procedural/index.js';
export { buildXmp, provenanceTags, readProvenance, TRAINED_ALGORITHMIC_MEDIA, type ProvenanceInfo } from './provenance.js';
export { OutputMarks, type MarkPolicy } from './provenance/output-marks.js';
export { drawAiLabel, placeAiLabel, type LabelPlacement } from './provenance/visible-label.js';
export {
  DEFAULT_WATERMARK_KEY,
  embedWatermark,
  newOutputId,
  readWatermark,
  WATERMARK_MIN_SIDE,
  type WatermarkReading,
} from './provenance/watermark.js';
export { ERROR_TABLE, PortoonError, reviveError, toPortoonError, type ErrorCode, type SerializedError } from './errors.js';
export { embedXmp, extractXmp, type XmpContainer } from './xmp-embed.js';
