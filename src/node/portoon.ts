/**
 * The library entry point. `Portoon.create()` loads the catalogue and starts a pool of worker
 * threads; `cartoonize()` sends one image through the pipeline in a worker and returns the encoded
 * result with its report.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { availableParallelism } from 'node:os';
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { PortoonError, reviveError } from '../core/errors.js';
import type { CartoonEngine, FileRef, RunOptions, VideoRunOptions } from '../core/engine-port.js';
import type { Catalogue } from '../core/models/catalogue.js';
import { modelsForRequest } from '../core/pipeline.js';
import type { CartoonizeOutput, CartoonizeReport, StageProgress } from '../core/report.js';
import { parseVideoParams, VIDEO_FIELDS, type VideoFields } from '../core/video/params.js';
import type { VideoInfo, VideoParams, VideoProgress, VideoReport } from '../core/video/types.js';
import { parseCartoonizeRequest, type CartoonizeParams, type CartoonizeRequest } from '../core/request.js';
import { describeStyles, type StyleInfo } from '../core/style-info.js';
import { DEFAULT_MAX_INPUT_PIXELS, probeImage } from './codec.js';
import { loadC2paSigner, type C2paSignerConfig } from './c2pa.js';
import type { EngineConfig } from './engine.js';
import { loadCatalogue } from './load-catalogue.js';
import { defaultModelsDir, installHint, ModelStore } from './model-store.js';
import { probeVideo } from './video/probe.js';
import type { WorkerResult, WorkerTask } from './worker.js';

export interface PortoonOptions {
  /** Models folder. Default: `PORTOON_MODELS`, else a per-user cache folder. */
  modelsDir?: string;
  /** Worker threads (images processed in parallel). Default 1. */
  workers?: number;
  /** onnxruntime threads per worker. Default: cores divided among the workers (at least 1). */
  threads?: number;
  /** 'cuda' uses the CUDA execution provider (falls back to CPU for unsupported nodes). Default 'cpu'. */
  device?: 'cpu' | 'cuda';
  /** Refuse inputs with more pixels than this. Default 50 000 000. */
  maxInputPixels?: number;
  /** Most images that may wait for a worker; beyond it `cartoonize` fails at once with E_QUEUE_FULL. Default unbounded. */
  maxQueue?: number;
  /** Draw the visible "AI-generated" label on outputs whose request does not say (`label`). Default false. */
  label?: boolean;
  /**
   * The invisible watermark's key. Default: Portoon's public key, which every `portoon verify` reads;
   * a secret key of your own makes marks that only you can read and nobody else can forge.
   */
  watermarkKey?: string;
  /** Sign every output with C2PA content credentials using this certificate chain and private key (PEM files). */
  contentCredentials?: C2paSignerConfig;
}

/** The request's parameters (see `CartoonizeParams`), plus progress and cancellation. */
export type CartoonizeOptions = CartoonizeParams & {
  /** Called as each stage progresses (decode, detect, background, head, encode). */
  onProgress?: ((progress: StageProgress) => void) | undefined;
  /**
   * Stops the work: the worker checks it before every model run, so it stops within one model call;
   * the promise then rejects with the signal's reason (when it is a PortoonError) or E_CLOSED.
   */
  signal?: AbortSignal | undefined;
};

/** A video request: the request's parameters and the video options, plus progress in frames and cancellation. */
export type CartoonizeVideoOptions = CartoonizeParams &
  VideoFields & {
    /** Called after every frame. */
    onProgress?: ((progress: VideoProgress) => void) | undefined;
    /** Stops the work before the next frame; the output file is not left behind. */
    signal?: AbortSignal | undefined;
  };

export interface CartoonizeResult {
  /** The encoded image (format in `report.format`). */
  image: Buffer;
  report: CartoonizeReport;
}

function wholeNumber(name: string, value: number | undefined, min: 0 | 1): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= min)) {
    const expected = min === 1 ? 'a positive integer' : 'a whole number of at least 0';
    throw new PortoonError('E_BAD_OPTION', `Expected ${expected} for ${name} but received ${String(value)}`);
  }
}

/**
 * Turns photos of people into cartoon portraits. One instance owns a pool of worker threads (each
 * with its own onnxruntime sessions) and runs any number of requests on it; create one per process
 * and share it.
 */
export class Portoon implements CartoonEngine {
  /** The styles and models this instance knows: the built-in catalogue plus the manifests in the models folder. */
  readonly catalogue: Catalogue;
  /** The models folder: what is installed, and installing more (`pull`). */
  readonly store: ModelStore;
  readonly #pool: Piscina;
  readonly #maxInputPixels: number;
  readonly #maxQueue: number;
  /** Images handed to the pool and not yet back: running in a worker or waiting for one. */
  #inFlight = 0;
  #closed = false;

  private constructor(catalogue: Catalogue, store: ModelStore, pool: Piscina, maxInputPixels: number, maxQueue: number) {
    this.catalogue = catalogue;
    this.store = store;
    this.#pool = pool;
    this.#maxInputPixels = maxInputPixels;
    this.#maxQueue = maxQueue;
  }

  /**
   * Creates an instance: reads the catalogue (the built-in styles plus every `*.portoon.json`
   * manifest in the models folder) and starts the worker threads.
   *
   * Nothing is downloaded and no model is loaded here. A worker loads a model the first time a
   * request needs it (`preload` does that ahead of time); a style whose models are not installed is
   * refused when it is used, with E_MODEL_MISSING and the command that installs them.
   *
   * @example
   * import { Portoon } from 'portoon';
   *
   * const portoon = await Portoon.create({ workers: 2 });
   * try {
   *   const { image, report } = await portoon.cartoonize('photo.jpg', { style: 'anime' });
   * } finally {
   *   await portoon.close();
   * }
   *
   * @param options.modelsDir models folder. Default: `PORTOON_MODELS`, else a per-user cache folder.
   * @param options.workers worker threads, i.e. images processed at the same time. Default 1.
   * @param options.threads onnxruntime threads per worker. Default: the cores divided among the workers.
   * @param options.device `'cpu'` (default) or `'cuda'`.
   * @param options.maxInputPixels larger images are refused with E_IMAGE_TOO_LARGE. Default 50 000 000.
   * @param options.maxQueue most images that may wait for a busy worker; beyond it `cartoonize`
   *   fails at once with E_QUEUE_FULL. Default: no limit.
   * @param options.label draw the visible "AI-generated" label unless a request says otherwise. Default false.
   * @param options.watermarkKey the invisible watermark's key. Default: Portoon's public key.
   * @param options.contentCredentials certificate chain and private key (PEM) to sign outputs with C2PA.
   * @returns the instance; `close()` it when done, to stop its worker threads.
   * @throws {PortoonError} E_BAD_OPTION for an invalid option; E_BAD_MANIFEST for an invalid manifest
   *   in the models folder; E_SIGNING_CONFIG when the content-credentials certificate or key cannot sign.
   */
  static async create(options: PortoonOptions = {}): Promise<Portoon> {
    wholeNumber('workers', options.workers, 1);
    wholeNumber('threads', options.threads, 1);
    wholeNumber('maxInputPixels', options.maxInputPixels, 1);
    wholeNumber('maxQueue', options.maxQueue, 0);
    if (options.device !== undefined && options.device !== 'cpu' && options.device !== 'cuda') {
      throw new PortoonError('E_BAD_OPTION', `Expected device "cpu" or "cuda" but received ${String(options.device)}`);
    }
    const modelsDir = options.modelsDir ?? defaultModelsDir();
    const catalogue = loadCatalogue(modelsDir);
    const store = new ModelStore(catalogue, modelsDir);
    const workers = options.workers ?? 1;
    const config: EngineConfig = {
      modelsDir,
      intraOpThreads: options.threads ?? Math.max(1, Math.floor(availableParallelism() / workers)),
      executionProviders: options.device === 'cuda' ? ['cuda', 'cpu'] : ['cpu'],
      maxInputPixels: options.maxInputPixels ?? DEFAULT_MAX_INPUT_PIXELS,
      provenance: {
        label: options.label === true,
        ...(options.watermarkKey ? { watermarkKey: options.watermarkKey } : {}),
        ...(options.contentCredentials ? { contentCredentials: options.contentCredentials } : {}),
      },
    };
    // A certificate or key that cannot sign is a setup error: say so now, not at the first image.
    if (options.contentCredentials) await loadC2paSigner(options.contentCredentials);
    // Running from TypeScript sources (tests, development): let the worker load .ts through tsx.
    const fromSource = import.meta.url.endsWith('.ts');
    const pool = new Piscina({
      filename: new URL(fromSource ? './worker.ts' : './worker.js', import.meta.url).href,
      minThreads: workers,
      maxThreads: workers,
      idleTimeout: Number.POSITIVE_INFINITY,
      workerData: config,
      ...(fromSource ? { execArgv: ['--import', 'tsx'] } : {}),
    });
    return new Portoon(
      catalogue,
      store,
      pool,
      config.maxInputPixels ?? DEFAULT_MAX_INPUT_PIXELS,
      options.maxQueue ?? Number.POSITIVE_INFINITY,
    );
  }

  /**
   * Every style of the catalogue: id, label, description, the models it needs, whether they are
   * installed, their licences (and whether those allow commercial use) and the default strength.
   *
   * @example
   * const ready = portoon.styles().filter((style) => style.installed).map((style) => style.id);
   */
  styles(): StyleInfo[] {
    return describeStyles(this.catalogue, (id) => this.store.isInstalled(id));
  }

  /**
   * Models a request needs: the styles' models, the face detectors when the styles stylize faces
   * separately (a procedural style with a stylized background needs no model at all), and person
   * segmentation for the blurred background.
   *
   * @example
   * portoon.modelsFor(parseCartoonizeRequest({ style: 'anime', background: 'blur' }));
   *
   * @returns model ids, each once.
   * @throws {PortoonError} E_UNKNOWN_STYLE when the style or the mix style is not in the catalogue;
   *   E_MODEL_MISSING when the catalogue has no model for a part the request needs (a face detector).
   */
  modelsFor(request: Pick<CartoonizeRequest, 'style' | 'mix' | 'detector' | 'background'>): string[] {
    return modelsForRequest(this.catalogue, request);
  }

  /**
   * Loads the models of the given styles (with the face detectors they use) into every worker, so
   * that the first request for them does not wait for a model to load. Services call it before
   * they report ready; styles not preloaded are loaded by the first request that needs them.
   *
   * @example
   * await portoon.preload(['anime', 'sketch']);
   *
   * @param styles style ids.
   * @throws {PortoonError} E_CLOSED after `close()`; E_UNKNOWN_STYLE for a style not in the catalogue;
   *   E_MODEL_MISSING when a model is not installed (nothing is loaded then); E_MODEL_CORRUPT when an
   *   installed file does not match its checksum or cannot be loaded.
   */
  async preload(styles: readonly string[]): Promise<void> {
    this.#assertOpen();
    const models = [...new Set(styles.flatMap((style) => this.modelsFor({ style })))];
    this.#assertInstalled(models);
    const workers = this.#pool.options.maxThreads;
    const results = await Promise.all(
      Array.from({ length: workers }, () => this.#pool.run({ kind: 'preload', models } satisfies WorkerTask) as Promise<WorkerResult>),
    ).catch((error: unknown) => {
      throw reviveError(error);
    });
    for (const result of results) if (!result.ok) throw reviveError(result.error);
  }

  /**
   * Checks a request without running it: its styles are known and their models installed, and the
   * instance is open. Synchronous and cheap (no worker; one file-existence check per model), so a
   * service calls it before it accepts an upload, and refuses at once what could never run.
   *
   * @example
   * const request = parseCartoonizeRequest({ style: 'anime', mix: 'sketch', mixWeight: 0.3 });
   * portoon.check(request); // throws E_MODEL_MISSING when the sketch model is not installed
   *
   * @param request a request from `parseCartoonizeRequest` (which refuses invalid values with E_BAD_OPTION).
   * @throws {PortoonError} E_CLOSED after `close()`; E_UNKNOWN_STYLE for a style or mix style not in
   *   the catalogue; E_MODEL_MISSING naming the models to install and the command that installs them.
   */
  check(request: CartoonizeRequest): void {
    this.#assertOpen();
    this.#assertInstalled(this.modelsFor(request));
  }

  /**
   * Reads only the image's header, on libuv's thread pool rather than in a worker, and refuses what
   * `cartoonize` would refuse about the image itself; no pixel is decoded. A service calls it before
   * queueing an upload, so a bad file is answered at once instead of after its turn in the queue.
   * A file that passes can still fail to decode (a body cut short after a sound header).
   *
   * @param input the encoded image.
   * @throws {PortoonError} E_EMPTY_INPUT for zero bytes; E_UNSUPPORTED_FORMAT for anything but JPEG,
   *   PNG, WebP, GIF, TIFF, HEIC or AVIF; E_DECODE_FAILED for a damaged header; E_IMAGE_TOO_LARGE for
   *   more pixels than `maxInputPixels`.
   */
  async probe(input: Uint8Array): Promise<void> {
    await probeImage(input, { maxInputPixels: this.#maxInputPixels });
  }

  /** Worker threads, i.e. images processed at the same time (`create`'s `workers`). */
  get workers(): number {
    return this.#pool.options.maxThreads;
  }

  /**
   * Cartoonizes one photo: finds the faces, stylizes the background and each face, and encodes the
   * result. The work runs in a worker thread; when all workers are busy the image waits for one
   * (up to `maxQueue` images may wait).
   *
   * The output has the input's size (after EXIF orientation; `maxSide` shrinks it), carries no
   * metadata of the input (no EXIF, no GPS) and is labelled as AI-generated in its XMP. Its format
   * is `format`, else the input's when that is JPEG, PNG or WebP, else PNG.
   *
   * @example
   * const { image, report } = await portoon.cartoonize('photo.jpg', { style: 'anime' });
   * await writeFile('cartoon.jpg', image);
   * console.log(report.faces.length, report.timings);
   *
   * @example
   * // Blend two styles, write a JPEG, stop after 30 s, show progress.
   * const { image } = await portoon.cartoonize(bytes, {
   *   style: 'anime',
   *   mix: 'sketch',
   *   mixWeight: 0.3,
   *   format: 'jpg',
   *   quality: 85,
   *   signal: AbortSignal.timeout(30_000),
   *   onProgress: ({ stage, progress }) => console.log(stage, progress),
   * });
   *
   * @example
   * // A gallery thumbnail: at most 256 px, JPEG.
   * const { image } = await portoon.cartoonize('photo.jpg', { style: 'cel', preview: true });
   *
   * @param input a file path, or the file's bytes.
   * @param options the request (see `CartoonizeParams`: `style` is required; `strength` defaults to
   *   the style's, `mixWeight` to 0.5, `background` to 'stylize', `detector` to 'both', `quality` to
   *   90, `minFaceSize` to 40), plus `onProgress` and `signal`.
   * @returns the encoded image and its report: size, format, style, the faces found and what was
   *   done with each, time per stage and the models used.
   * @throws {PortoonError} E_BAD_OPTION for an invalid parameter; E_INPUT_NOT_FOUND for a path that
   *   cannot be read; E_UNKNOWN_STYLE, E_MODEL_MISSING, E_MODEL_CORRUPT for the style and its models;
   *   E_EMPTY_INPUT, E_UNSUPPORTED_FORMAT, E_DECODE_FAILED, E_IMAGE_TOO_LARGE for the image;
   *   E_INFERENCE_FAILED when a model fails to run; E_OUTPUT_FAILED when the result cannot be encoded;
   *   E_QUEUE_FULL when `maxQueue` images are already waiting; E_CLOSED after `close()` or when
   *   `signal` aborts (or the signal's reason, when that is a PortoonError).
   */
  async cartoonize(input: string | Uint8Array | ArrayBuffer, options: CartoonizeOptions): Promise<CartoonizeResult> {
    const { onProgress, signal, ...params } = options;
    const request = parseCartoonizeRequest(params);
    const bytes = await readInput(input);
    const { image, report } = await this.run(bytes, request, { onProgress, signal });
    return { image: Buffer.from(image.buffer, image.byteOffset, image.byteLength), report };
  }

  /**
   * `cartoonize` for callers that hold a parsed request and the bytes already, such as job queues
   * (this is the engine port's `run`): the request is not validated again.
   *
   * @example
   * const request = parseCartoonizeRequest({ style: 'cartoon', maxSide: 1024 });
   * portoon.check(request);
   * const { image, report } = await portoon.run(bytes, request, { signal: AbortSignal.timeout(60_000) });
   *
   * @param bytes the encoded image.
   * @param request a request from `parseCartoonizeRequest`.
   * @param options.onProgress called as each stage progresses.
   * @param options.signal stops the work at the worker's next model run.
   * @returns the encoded image (as a Uint8Array) and its report.
   * @throws {PortoonError} as `cartoonize`, except E_BAD_OPTION and E_INPUT_NOT_FOUND.
   */
  async run(bytes: Uint8Array, request: CartoonizeRequest, options: RunOptions = {}): Promise<CartoonizeOutput> {
    const result = await this.#dispatch({ kind: 'cartoonize', input: bytes, request }, options);
    if (!('image' in result)) throw new PortoonError('E_INTERNAL', 'Worker returned no image');
    return { image: result.image, report: result.report };
  }

  /**
   * `run` by reference (the engine port's `runFile`): the worker reads the image from `input` and
   * writes the encoded result to `output` (whole or not at all), so neither crosses a thread in
   * memory. Job queues use it: waiting images sit in files, not in the heap.
   *
   * @param input the file holding the encoded image.
   * @param output where to write the result (replaced if it exists).
   * @returns the report.
   * @throws {PortoonError} as `run`; E_INPUT_NOT_FOUND when `input` cannot be read; E_OUTPUT_FAILED
   *   when `output` cannot be written.
   */
  async runFile(input: FileRef, output: FileRef, request: CartoonizeRequest, options: RunOptions = {}): Promise<CartoonizeReport> {
    const result = await this.#dispatch(
      { kind: 'cartoonize', input: { path: input.path }, output: { path: output.path }, request },
      options,
    );
    if (!('written' in result)) throw new PortoonError('E_INTERNAL', 'Worker wrote no file');
    return result.report;
  }

  /**
   * Reads a video's facts with ffprobe (no frame is decoded) and refuses what `cartoonizeVideo`
   * would refuse about the file itself.
   *
   * @param input the video file.
   * @returns size (after rotation), frame rate, frame count, duration and the sound track's facts.
   * @throws {PortoonError} E_FFMPEG_MISSING when ffmpeg/ffprobe are not installed; E_INPUT_NOT_FOUND;
   *   E_EMPTY_INPUT; E_UNSUPPORTED_FORMAT for a file that is not a video; E_DECODE_FAILED for a
   *   damaged one; E_IMAGE_TOO_LARGE when a frame has more pixels than `maxInputPixels`.
   */
  async probeVideo(input: FileRef): Promise<VideoInfo> {
    return probeVideo(input.path, { maxInputPixels: this.#maxInputPixels });
  }

  /**
   * `cartoonizeVideo` for callers that hold a parsed request and video options already, such as job
   * queues (the engine port's `runVideo`): nothing is validated again.
   */
  async runVideo(
    input: FileRef,
    output: FileRef,
    request: CartoonizeRequest,
    params: VideoParams,
    options: VideoRunOptions = {},
  ): Promise<VideoReport> {
    const result = await this.#dispatch(
      { kind: 'video', input: { path: input.path }, output: { path: output.path }, request, params, info: options.info },
      { signal: options.signal, onVideoProgress: options.onProgress },
    );
    if (!('video' in result)) throw new PortoonError('E_INTERNAL', 'Worker returned no video report');
    return result.video;
  }

  /**
   * Cartoonizes a video: every frame stylized, every face tracked with a stable id and smoothed
   * landmarks, each frame blended with the previous output along the motion so the picture does not
   * flicker, the sound track copied as it is. Frames stream through (memory does not grow with the
   * clip's length); the output is written whole or not at all. Needs ffmpeg and ffprobe on the PATH
   * (or `PORTOON_FFMPEG` / `PORTOON_FFPROBE`).
   *
   * @example
   * const report = await portoon.cartoonizeVideo('clip.mp4', 'clip-anime.mp4', {
   *   style: 'anime',
   *   maxSide: 720,
   *   onProgress: ({ framesDone, framesTotal, fps }) => console.log(`${framesDone}/${framesTotal} at ${fps.toFixed(1)} fps`),
   * });
   * console.log(report.frames, report.tracks.length, report.audio);
   *
   * @param input the video file (MP4, MOV, MKV, WebM, animated GIF…; recognised by its content).
   * @param output the file to write (replaced if it exists); its container is `videoFormat`
   *   (default mp4: H.264, yuv420p, fast start).
   * @param options the request (see `CartoonizeParams`; `format`, `quality` and `preview` are for
   *   stills and are refused), the video options (see `VideoFields`: `fps`, `start`, `duration`,
   *   `crf`, `audio`, `videoFormat`, `temporal`, `measureFlicker`), `onProgress` (frames) and `signal`.
   * @returns the report: frames, size, duration, sound handling, face tracks, scene cuts, time per part.
   * @throws {PortoonError} E_BAD_OPTION; E_FFMPEG_MISSING; E_INPUT_NOT_FOUND; E_UNSUPPORTED_FORMAT,
   *   E_DECODE_FAILED (damaged or truncated: no output is left), E_IMAGE_TOO_LARGE; E_UNKNOWN_STYLE,
   *   E_MODEL_MISSING, E_MODEL_CORRUPT; E_INFERENCE_FAILED; E_OUTPUT_FAILED; E_QUEUE_FULL; E_CLOSED
   *   when `signal` aborts (or the signal's reason, when that is a PortoonError).
   */
  async cartoonizeVideo(input: string, output: string, options: CartoonizeVideoOptions): Promise<VideoReport> {
    const { onProgress, signal, ...fields } = options;
    const videoFields: Record<string, unknown> = {};
    const stillFields: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(fields)) (VIDEO_FIELDS.includes(key) ? videoFields : stillFields)[key] = value;
    for (const key of ['format', 'quality', 'preview'] as const) {
      if (stillFields[key] !== undefined) {
        throw new PortoonError('E_BAD_OPTION', `Parameter "${key}" is for images; a video's container is set with videoFormat`, {
          details: { parameter: key },
        });
      }
    }
    const request = parseCartoonizeRequest(stillFields);
    const params = parseVideoParams(videoFields);
    if (typeof input !== 'string' || typeof output !== 'string') {
      throw new PortoonError('E_BAD_OPTION', 'Expected file paths for the video input and output');
    }
    this.check(request);
    const info = await this.probeVideo({ path: input });
    return this.runVideo({ path: resolve(input) }, { path: resolve(output) }, request, params, { onProgress, signal, info });
  }

  /**
   * Hands one task to the pool: counts it against the queue limit, wires progress and cancellation,
   * and turns the worker's answer back into a result or a PortoonError.
   */
  async #dispatch(
    task: Extract<WorkerTask, { kind: 'cartoonize' | 'video' }>,
    options: RunOptions & { onVideoProgress?: ((progress: VideoProgress) => void) | undefined },
  ): Promise<Exclude<WorkerResult, { ok: false }>> {
    const { signal } = options;
    const onMessage = (task.kind === 'video' ? options.onVideoProgress : options.onProgress) as ((message: unknown) => void) | undefined;
    this.check(task.request);
    // Aborted before it started: the answer a run stopped in the worker gets.
    if (signal?.aborted) {
      throw signal.reason instanceof PortoonError ? signal.reason : new PortoonError('E_CLOSED', 'The work was cancelled');
    }
    // Counted here, not left to piscina's own maxQueue: piscina refuses with a plain Error that only
    // its message text tells apart from any other failure.
    if (this.#inFlight >= this.workers + this.#maxQueue) {
      throw new PortoonError('E_QUEUE_FULL', `Too many images are waiting (limit ${this.#maxQueue}); try again shortly`, {
        details: { maxQueue: this.#maxQueue },
      });
    }
    const channel = onMessage ? new MessageChannel() : undefined;
    if (channel && onMessage) channel.port1.on('message', onMessage);
    // Cancellation is cooperative (a flag the worker checks between model runs): terminating a
    // thread in the middle of an onnxruntime run would crash the whole process.
    const cancel = signal ? new Int32Array(new SharedArrayBuffer(4)) : undefined;
    const onAbort = (): void => {
      if (cancel) Atomics.store(cancel, 0, 1);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    this.#inFlight += 1;
    try {
      const withControls: WorkerTask = { ...task, ...(channel ? { progress: channel.port2 } : {}), ...(cancel ? { cancel } : {}) };
      const result = (await this.#pool.run(withControls, { transferList: channel ? [channel.port2] : [] })) as WorkerResult;
      if (!result.ok) {
        // A caller that aborts with a PortoonError (e.g. E_TIMEOUT) gets exactly that error back.
        if (signal?.aborted && signal.reason instanceof PortoonError) throw signal.reason;
        throw reviveError(result.error);
      }
      return result;
    } catch (error) {
      // PortoonErrors pass as they are; anything else is the pool itself failing (a worker died).
      throw reviveError(error);
    } finally {
      this.#inFlight -= 1;
      signal?.removeEventListener('abort', onAbort);
      channel?.port1.close();
    }
  }

  /** Images waiting for a free worker now (not counting those running). */
  get queueSize(): number {
    return this.#pool.queueSize;
  }

  /**
   * Refuses new work (E_CLOSED), lets the images already handed to the workers finish (a thread cannot
   * be stopped in the middle of a model run without taking the process down), then stops the workers
   * and frees every onnxruntime session. Calling it again does nothing.
   *
   * @returns once every worker has stopped.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new PortoonError('E_CLOSED', 'This Portoon instance has been closed');
  }

  #assertInstalled(models: readonly string[]): void {
    const missing = models.filter((id) => !this.store.isInstalled(id));
    if (missing.length > 0) {
      throw new PortoonError(
        'E_MODEL_MISSING',
        `Model${missing.length > 1 ? 's' : ''} not installed in ${this.store.dir}: ${missing.join(', ')}. Install with: ${installHint(missing, this.store.dir)}`,
        { details: { models: missing, modelsDir: this.store.dir } },
      );
    }
  }
}

/**
 * The bytes of an input given as a file path or as bytes (bytes are returned as they are, not copied).
 *
 * @param input a file path, a Uint8Array (a Buffer is one) or an ArrayBuffer.
 * @throws {PortoonError} E_INPUT_NOT_FOUND for a path that does not exist or cannot be read (the
 *   message says which); E_BAD_OPTION for anything else than a path or bytes.
 */
export async function readInput(input: string | Uint8Array | ArrayBuffer): Promise<Uint8Array> {
  if (typeof input === 'string') {
    try {
      return await readFile(input);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const reason =
        code === 'ENOENT'
          ? 'does not exist'
          : code === 'EISDIR'
            ? 'is a folder, not a file'
            : code === 'EACCES'
              ? 'cannot be read (permission denied)'
              : `cannot be read (${code ?? 'error'})`;
      throw new PortoonError('E_INPUT_NOT_FOUND', `Input ${input} ${reason}`, { cause: error, details: { path: input } });
    }
  }
  if (input instanceof ArrayBuffer) return new Uint8Array(input);
  if (input instanceof Uint8Array) return input;
  throw new PortoonError('E_BAD_OPTION', `Expected a file path, Uint8Array or ArrayBuffer as input but received ${typeof input}`);
}
