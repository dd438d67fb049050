/**
 * One video, file to file, in the calling thread (a worker thread of the pool): probe, decode with
 * ffmpeg, run the frame loop (tracked faces, temporal blending), encode with ffmpeg and move the
 * finished file into place. A failure or a cancellation leaves no output file behind.
 */
import { performance } from 'node:perf_hooks';
import { PortoonError } from '../../core/errors.js';
import { FaceTracker } from '../../core/face/tracker.js';
import type { InferenceBackend } from '../../core/inference.js';
import type { Catalogue } from '../../core/models/catalogue.js';
import { modelsForRequest } from '../../core/pipeline.js';
import { provenanceTags } from '../../core/provenance.js';
import { OutputMarks, type MarkPolicy } from '../../core/provenance/output-marks.js';
import type { CartoonizeRequest } from '../../core/request.js';
import { cartoonizeFrames } from '../../core/video/frame-loop.js';
import { WarpErrorMeter } from '../../core/video/metrics.js';
import { TemporalBlender } from '../../core/video/temporal-blend.js';
import type { VideoInfo, VideoParams, VideoProgress, VideoReport } from '../../core/video/types.js';
import { outputProvenance } from '../provenance-label.js';
import { evaluationFlow, processingFlow } from './opencv-flow.js';
import { openFrameReader } from './frame-reader.js';
import { openFrameWriter } from './frame-writer.js';
import { probeVideo } from './probe.js';

export interface VideoJobContext {
  backend: InferenceBackend;
  catalogue: Catalogue;
  /** Refuse clips whose frames have more pixels than this. */
  maxInputPixels?: number | undefined;
  onProgress?: ((progress: VideoProgress) => void) | undefined;
  /** Throws to stop the work; called before every frame and every model run. */
  checkpoint?: (() => void) | undefined;
  /** The input's facts when the caller probed it already: ffprobe (a whole pass over the packets of some containers) is not run twice. */
  info?: VideoInfo | undefined;
  /** Watermark key and the default for the visible label (the request's `label` wins). */
  marks?: MarkPolicy | undefined;
}

export async function cartoonizeVideoFile(
  inputPath: string,
  outputPath: string,
  request: CartoonizeRequest,
  params: VideoParams,
  context: VideoJobContext,
): Promise<VideoReport> {
  const info = context.info ?? (await probeVideo(inputPath));
  const pixels = info.width * info.height;
  if (context.maxInputPixels !== undefined && pixels > context.maxInputPixels) {
    throw new PortoonError(
      'E_IMAGE_TOO_LARGE',
      `The video's frames are ${info.width}x${info.height} (${pixels} pixels), more than the limit of ${context.maxInputPixels}; use maxSide`,
      { details: { width: info.width, height: info.height, maxInputPixels: context.maxInputPixels } },
    );
  }
  const format = params.format ?? 'mp4';
  const reader = openFrameReader(inputPath, info, {
    maxSide: request.maxSide,
    fps: params.fps,
    start: params.start,
    duration: params.duration,
  });
  const keepAudio = params.audio !== false && info.audio !== undefined;
  // One id for the whole video: every frame's watermark and the container tags carry it.
  const marks = new OutputMarks({ label: request.label ?? context.marks?.label, watermarkKey: context.marks?.watermarkKey });
  const writer = openFrameWriter(outputPath, {
    width: reader.width,
    height: reader.height,
    fps: reader.fps,
    format,
    crf: params.crf,
    ...(keepAudio ? { audio: { from: inputPath, start: params.start, duration: params.duration, info: info.audio! } } : {}),
    // Container tags are written before the first frame: the models are the ones the request plans to use.
    metadata: provenanceTags({ ...outputProvenance(request.style, modelsForRequest(context.catalogue, request)), id: marks.id }),
  });
  const temporal = params.temporal !== false;
  try {
    const loop = await cartoonizeFrames(reader, writer, request, {
      backend: context.backend,
      catalogue: context.catalogue,
      faces: new FaceTracker({ fps: reader.fps }),
      blender: temporal ? new TemporalBlender(await processingFlow()) : undefined,
      flicker: params.measureFlicker ? new WarpErrorMeter(await evaluationFlow()) : undefined,
      now: () => performance.now(),
      onProgress: context.onProgress,
      checkpoint: context.checkpoint,
      marks,
    });
    if (loop.frames === 0) {
      throw new PortoonError('E_DECODE_FAILED', 'The video has no frames in the chosen range', { details: { start: params.start } });
    }
    const finishStart = performance.now();
    const audio = await writer.finish();
    loop.timings.encode += performance.now() - finishStart;
    return {
      kind: 'video',
      ...loop,
      // Videos are not signed with C2PA (only stills are); their container tags carry the label.
      provenance: { id: marks.id, label: marks.label, contentCredentials: false },
      format,
      duration: loop.frames / loop.fps,
      audio: info.audio === undefined ? 'none' : params.audio === false ? 'dropped' : audio.audio,
      ...(audio.audioCodec ? { audioCodec: audio.audioCodec } : {}),
      ...(params.audio === false && info.audio !== undefined
        ? { audioNote: 'The sound track was left out as asked' }
        : audio.audioNote
          ? { audioNote: audio.audioNote }
          : {}),
    };
  } catch (error) {
    await writer.abort();
    throw error;
  } finally {
    await reader.close();
  }
}
