/**
 * The video pipeline, platform-neutral: frames stream from a source through the per-frame engine
 * (faces from a tracker that remembers them between frames) and the temporal blending into a sink.
 * Only the tracker's and the blender's state lives between frames, so memory does not grow with
 * the clip's length. The adapters supply the source and sink (ffmpeg in Node) and the optical flow.
 */
import type { InferenceBackend } from '../inference.js';
import type { RawImage } from '../image.js';
import type { OutputMarks } from '../provenance/output-marks.js';
import type { FrameSink, FrameSource } from '../media-port.js';
import type { Catalogue } from '../models/catalogue.js';
import { cartoonizeImage } from '../pipeline.js';
import type { FaceSource } from '../pipeline/types.js';
import type { CartoonizeRequest } from '../request.js';
import type { FaceTrackReport, VideoProgress, VideoReport } from './types.js';

/** A face source that follows faces across frames (see `FaceTracker`). */
export interface FrameFaceSource extends FaceSource {
  /** Forgets motion and finds every face afresh on the next frame (after a scene cut). */
  sceneCut(): void;
  tracks(): FaceTrackReport[];
  readonly maxFacesPerFrame: number;
}

/** Blends each stylized frame with the previous output (see `TemporalBlender`). */
export interface FrameBlender {
  /** Whether `input` starts a new scene; the next `blend` then starts afresh. */
  detectCut(input: RawImage): Promise<boolean>;
  blend(input: RawImage, stylized: RawImage): Promise<RawImage>;
  readonly sceneCuts: number;
}

/** Measures flicker over the output (see `WarpErrorMeter`). */
export interface FlickerMeter {
  add(input: RawImage, output: RawImage): Promise<void>;
  /** Forgets the previous frame: the next one is compared with nothing (a scene cut). */
  restart(): void;
  value(): number;
}

export interface FrameLoopContext {
  backend: InferenceBackend;
  catalogue: Catalogue;
  faces: FrameFaceSource;
  /** Absent: each frame is stylized on its own. */
  blender?: FrameBlender | undefined;
  flicker?: FlickerMeter | undefined;
  now: () => number;
  onProgress?: ((progress: VideoProgress) => void) | undefined;
  /** Called before each frame; it throws to stop the work (cancellation). */
  checkpoint?: (() => void) | undefined;
  /** The provenance marks every output frame gets before it reaches the sink (one id per video). */
  marks: OutputMarks;
}

/** The parts of the report the frame loop knows (the adapter adds format, audio and its own timings). */
export type FrameLoopReport = Omit<VideoReport, 'kind' | 'format' | 'audio' | 'audioCodec' | 'audioNote' | 'duration'>;

export async function cartoonizeFrames(
  source: FrameSource,
  sink: FrameSink,
  request: CartoonizeRequest,
  context: FrameLoopContext,
): Promise<FrameLoopReport> {
  const { now, blender, faces, flicker } = context;
  const timings = { decode: 0, faces: 0, stylize: 0, temporal: 0, provenance: 0, encode: 0, total: 0 };
  const inference: Record<string, number> = {};
  const models = new Set<string>();
  const started = now();
  let frames = 0;
  let style = request.style;
  const iterator = source.frames()[Symbol.asyncIterator]();
  try {
    for (;;) {
      context.checkpoint?.();
      let mark = now();
      const next = await iterator.next();
      timings.decode += now() - mark;
      if (next.done) break;
      const { image } = next.value;

      mark = now();
      // A cut is found before the faces, so the tracker looks for the new scene's faces on its first frame.
      if (blender && (await blender.detectCut(image))) {
        faces.sceneCut();
        // Two scenes are not one motion: the flicker measure does not compare across the cut.
        flicker?.restart();
      }
      timings.temporal += now() - mark;

      const result = await cartoonizeImage(image, request, { backend: context.backend, catalogue: context.catalogue, faces, now });
      style = result.style;
      for (const [stage, ms] of Object.entries(result.timings)) {
        if (stage === 'detect') timings.faces += ms;
        else timings.stylize += ms;
      }
      for (const [id, ms] of Object.entries(result.inference)) inference[id] = (inference[id] ?? 0) + ms;
      for (const id of result.models) models.add(id);

      mark = now();
      const output = blender ? await blender.blend(image, result.image) : result.image;
      timings.temporal += now() - mark;

      mark = now();
      const marked = context.marks.mark(
        output,
        result.faces.map((face) => face.box),
      );
      timings.provenance += now() - mark;

      mark = now();
      await sink.write(marked);
      timings.encode += now() - mark;

      // The flicker measure looks at the stylized frames, not at the marks on them.
      if (flicker) await flicker.add(image, output);
      frames += 1;
      const elapsed = (now() - started) / 1000;
      context.onProgress?.({
        framesDone: frames,
        framesTotal: Math.max(frames, source.expectedFrames),
        fps: elapsed > 0 ? frames / elapsed : 0,
      });
    }
  } finally {
    // Stopped early (cancelled, a model failed): the source stops decoding now.
    await iterator.return?.();
  }
  timings.total = now() - started;
  return {
    width: source.width,
    height: source.height,
    style,
    frames,
    fps: source.fps,
    temporal: blender !== undefined,
    sceneCuts: blender?.sceneCuts ?? 0,
    tracks: faces.tracks(),
    maxFacesPerFrame: faces.maxFacesPerFrame,
    timings,
    inference,
    models: [...models],
    ...(flicker ? { warpError: flicker.value() } : {}),
  };
}
