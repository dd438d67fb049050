/**
 * The engine port: what job queues need of an engine. The Node adapter (`Portoon`, a worker-thread
 * pool) implements it; a queue backend, or a test, can take any other implementation. Queued work
 * passes by reference: the queue hands the engine files (a still or a whole video), and the engine
 * writes its result to a file, so no job holds a video, or a waiting image, in memory.
 */
import type { CartoonizeOutput, CartoonizeReport, StageProgress } from './report.js';
import type { CartoonizeRequest } from './request.js';
import type { VideoInfo, VideoParams, VideoProgress, VideoReport } from './video/types.js';
import type { Catalogue } from './models/catalogue.js';

/**
 * The part of the standard `AbortSignal` an engine uses. Declared here because core is compiled
 * without DOM or Node types; every platform's `AbortSignal` fits it.
 */
export interface CancelSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  throwIfAborted(): void;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

export interface RunOptions {
  /** Called as each stage progresses. */
  onProgress?: ((progress: StageProgress) => void) | undefined;
  /** Stops the work at the next step; the run then rejects with the signal's reason. */
  signal?: CancelSignal | undefined;
}

export interface VideoRunOptions {
  /** Called after every frame. */
  onProgress?: ((progress: VideoProgress) => void) | undefined;
  /** Stops the work before the next frame or model run; no output file is left behind. */
  signal?: CancelSignal | undefined;
  /** The input's facts when the caller probed it already (`probeVideo`): it is not probed again. */
  info?: VideoInfo | undefined;
}

/** A file the engine reads or writes (an absolute path on the engine's machine). */
export interface FileRef {
  readonly path: string;
}

export interface CartoonEngine {
  /** Requests the engine runs at the same time. */
  readonly workers: number;
  /**
   * Checks a validated request against what the engine has, without running it: styles known,
   * their models installed, the engine open.
   * @throws PortoonError E_UNKNOWN_STYLE, E_MODEL_MISSING, E_CLOSED.
   */
  check(request: CartoonizeRequest): void;
  /**
   * Reads only the image's header: refuses what is not an accepted image (E_UNSUPPORTED_FORMAT,
   * E_EMPTY_INPUT) or has too many pixels (E_IMAGE_TOO_LARGE), before any work is queued.
   */
  probe(input: Uint8Array): Promise<void>;
  /** Cartoonizes one encoded image held in memory. */
  run(input: Uint8Array, request: CartoonizeRequest, options?: RunOptions): Promise<CartoonizeOutput>;
  /** Cartoonizes the image in `input` and writes the encoded result to `output`. */
  runFile(input: FileRef, output: FileRef, request: CartoonizeRequest, options?: RunOptions): Promise<CartoonizeReport>;
  /**
   * Reads a video's facts without decoding it, refusing what cannot be processed (not a video,
   * damaged, too many pixels per frame, no ffmpeg: E_FFMPEG_MISSING), before any work is queued.
   */
  probeVideo(input: FileRef): Promise<VideoInfo>;
  /** Cartoonizes the video in `input` into `output` (written whole or not at all). */
  runVideo(
    input: FileRef,
    output: FileRef,
    request: CartoonizeRequest,
    params: VideoParams,
    options?: VideoRunOptions,
  ): Promise<VideoReport>;
}

/**
 * The catalogue's model files, for clients that run the models themselves (the browser engine
 * downloads them from the service).
 */
export interface ModelFiles {
  readonly catalogue: Catalogue;
  /** Whether the file is installed (cheap; no hashing). */
  isInstalled(modelId: string): boolean;
  /**
   * Path of the installed file once its size and sha256 are checked.
   * @throws PortoonError E_MODEL_MISSING or E_MODEL_CORRUPT.
   */
  verifiedPath(modelId: string): Promise<string>;
}
