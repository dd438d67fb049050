/**
 * The library entry point. `Portoon.create()` loads the catalogue and starts a pool of worker
 * threads; `cartoonize()` sends one image through the pipeline in a worker and returns the encoded
 * result with its report.
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { PortoonError, reviveError } from '../core/errors.js';
import { detectorModelIds } from '../core/face/detect.js';
import type { Catalogue } from '../core/models/catalogue.js';
import { stylesNeedFaces, type StageProgress } from '../core/pipeline.js';
import { PERSON_SEGMENTATION_MODEL } from '../core/segment.js';
import { DEFAULT_MAX_INPUT_PIXELS } from './codec.js';
import { validateRequest, type CartoonizeReport, type CartoonizeRequest, type EngineConfig } from './engine.js';
import { loadCatalogue } from './load-catalogue.js';
import { defaultModelsDir, installHint, ModelStore } from './model-store.js';
import { describeStyles, type StyleInfo } from './style-info.js';
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
}

export interface CartoonizeOptions extends CartoonizeRequest {
  /** Called as each stage progresses (decode, detect, background, head, encode). */
  onProgress?: (progress: StageProgress) => void;
  /**
   * Stops the work: the worker checks it before every model run, so it stops within one model call;
   * the promise then rejects with the signal's reason (when it is a PortoonError) or E_CLOSED.
   */
  signal?: AbortSignal;
}

export interface CartoonizeResult {
  /** The encoded image (format in `report.format`). */
  image: Buffer;
  report: CartoonizeReport;
}

function positiveInt(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= 1)) {
    throw new PortoonError('E_BAD_OPTION', `Expected a positive integer for ${name} but received ${String(value)}`);
  }
}

export class Portoon {
  readonly catalogue: Catalogue;
  readonly store: ModelStore;
  readonly #pool: Piscina;
  #closed = false;

  private constructor(catalogue: Catalogue, store: ModelStore, pool: Piscina) {
    this.catalogue = catalogue;
    this.store = store;
    this.#pool = pool;
  }

  /**
   * @throws PortoonError E_BAD_OPTION for invalid options, E_BAD_MANIFEST for an invalid user manifest.
   * @example
   * const p = await Portoon.create();
   * const { image, report } = await p.cartoonize('photo.jpg', { style: 'anime' });
   * await p.close();
   */
  static async create(options: PortoonOptions = {}): Promise<Portoon> {
    positiveInt('workers', options.workers);
    positiveInt('threads', options.threads);
    positiveInt('maxInputPixels', options.maxInputPixels);
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
    };
    // Running from TypeScript sources (tests, development): let the worker load .ts through tsx.
    const fromSource = import.meta.url.endsWith('.ts');
    const pool = new Piscina({
      filename: new URL(fromSource ? './worker.ts' : './worker.js', import.meta.url).href,
      minThreads: workers,
      maxThreads: workers,
      idleTimeout: Number.POSITIVE_INFINITY,
      workerData: config,
      ...(options.maxQueue !== undefined ? { maxQueue: options.maxQueue } : {}),
      ...(fromSource ? { execArgv: ['--import', 'tsx'] } : {}),
    });
    return new Portoon(catalogue, store, pool);
  }

  /** Styles with their installation state and licences. */
  styles(): StyleInfo[] {
    return describeStyles(this.catalogue, this.store);
  }

  /**
   * Models a request needs: the styles' models, the face detectors when the styles stylize faces
   * separately (a procedural style with a stylized background needs no model at all), and person
   * segmentation for the blurred background.
   */
  modelsFor(request: Pick<CartoonizeRequest, 'style' | 'mix' | 'detector' | 'background'>): string[] {
    const styles = [request.style, ...(request.mix ? [request.mix.style] : [])].map((id) => this.catalogue.style(id));
    const needFaces = stylesNeedFaces(styles, request.background ?? 'stylize');
    const detectors = needFaces ? detectorModelIds(request.detector ?? 'both') : [];
    const segmentation = request.background === 'blur' ? [PERSON_SEGMENTATION_MODEL] : [];
    return [...new Set([...styles.flatMap((s) => this.catalogue.modelsOf(s)), ...detectors, ...segmentation])];
  }

  /**
   * Creates the sessions for the given styles in every worker, so the first request is fast.
   * @throws PortoonError E_MODEL_MISSING / E_MODEL_CORRUPT.
   */
  async preload(styles: readonly string[]): Promise<void> {
    const models = [...new Set(styles.flatMap((style) => this.modelsFor({ style })))];
    this.#assertInstalled(models);
    const workers = this.#pool.options.maxThreads;
    const results = await Promise.all(
      Array.from({ length: workers }, () => this.#pool.run({ kind: 'preload', models } satisfies WorkerTask) as Promise<WorkerResult>),
    );
    for (const result of results) if (!result.ok) throw reviveError(result.error);
  }

  /**
   * Checks a request without running it: options valid, styles known, their models installed.
   * Services call this before accepting work, so a bad request is refused at once.
   * @throws PortoonError E_CLOSED, E_BAD_OPTION, E_UNKNOWN_STYLE, E_MODEL_MISSING.
   */
  check(request: CartoonizeRequest): void {
    if (this.#closed) throw new PortoonError('E_CLOSED', 'This Portoon instance has been closed');
    validateRequest(request, this.catalogue);
    this.#assertInstalled(this.modelsFor(request));
  }

  /** Worker threads, i.e. images processed at the same time. */
  get workers(): number {
    return this.#pool.options.maxThreads;
  }

  /**
   * Cartoonizes one image.
   * @param input a file path or the file's bytes.
   * @throws PortoonError with a stable code: E_UNKNOWN_STYLE, E_BAD_OPTION, E_EMPTY_INPUT,
   *   E_UNSUPPORTED_FORMAT, E_DECODE_FAILED, E_IMAGE_TOO_LARGE, E_MODEL_MISSING, …
   */
  async cartoonize(input: string | Uint8Array | ArrayBuffer, options: CartoonizeOptions): Promise<CartoonizeResult> {
    const { onProgress, signal, ...request } = options;
    this.check(request);
    const bytes = await readInput(input);
    signal?.throwIfAborted();
    const channel = onProgress ? new MessageChannel() : undefined;
    if (channel && onProgress) channel.port1.on('message', (p: StageProgress) => onProgress(p));
    // Cancellation is cooperative (a flag the worker checks between model runs): terminating a
    // thread in the middle of an onnxruntime run would crash the whole process.
    const cancel = signal ? new Int32Array(new SharedArrayBuffer(4)) : undefined;
    const onAbort = (): void => {
      if (cancel) Atomics.store(cancel, 0, 1);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const task: WorkerTask = {
        kind: 'cartoonize',
        input: bytes,
        request,
        ...(channel ? { progress: channel.port2 } : {}),
        ...(cancel ? { cancel } : {}),
      };
      const result = (await this.#pool.run(task, { transferList: channel ? [channel.port2] : [] })) as WorkerResult;
      if (!result.ok) {
        // A caller that aborts with a PortoonError (e.g. E_TIMEOUT) gets exactly that error back.
        if (signal?.aborted && signal.reason instanceof PortoonError) throw signal.reason;
        throw reviveError(result.error);
      }
      if (!('image' in result)) throw new PortoonError('E_INTERNAL', 'Worker returned no image');
      return { image: Buffer.from(result.image.buffer, result.image.byteOffset, result.image.byteLength), report: result.report };
    } catch (error) {
      if (error instanceof PortoonError) throw error;
      if (/queue is at limit/i.test((error as Error).message)) {
        throw new PortoonError('E_QUEUE_FULL', `Too many images are waiting (limit ${this.#pool.options.maxQueue}); try again shortly`, {
          cause: error,
        });
      }
      throw reviveError(error);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      channel?.port1.close();
    }
  }

  /** Tasks waiting for a worker. */
  get queueSize(): number {
    return this.#pool.queueSize;
  }

  /**
   * Refuses new work, lets the images already handed to the workers finish (a thread cannot be stopped
   * in the middle of a model run without taking the process down), then stops the workers and frees
   * every onnxruntime session.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.close();
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

async function readInput(input: string | Uint8Array | ArrayBuffer): Promise<Uint8Array> {
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
