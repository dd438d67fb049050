/**
 * The browser entry of the library (`portoon/web`): the same cartoonization as the server, run on
 * the user's device. The pipeline runs in a Web Worker with onnxruntime-web; models come from a
 * Portoon server (or any server with the same two routes), are verified against the catalogue's
 * sha256 and kept in Cache Storage. The photo never leaves the browser.
 */
import { PortoonError, reviveError } from '../core/errors.js';
import { DEFAULT_MAX_INPUT_PIXELS } from '../core/formats.js';
import type { Point } from '../core/face/align.js';
import type { CartoonizeReport, StageProgress } from '../core/report.js';
import type { CartoonizeParams } from '../core/request.js';
import type {
  BackendInfo,
  CatalogueDocument,
  DetectedFace,
  EngineMessage,
  EngineRequest,
  EngineResult,
  EngineSettings,
  ModelDownload,
} from './protocol.js';

export type { BackendInfo, CatalogueDocument, DetectedFace, ModelDownload } from './protocol.js';

export interface PortoonWebOptions {
  /** The Portoon server models are loaded from. Default: the page's own origin. */
  server?: string | undefined;
  /** API key, when the server needs one. */
  apiKey?: string | undefined;
  /**
   * WebAssembly threads per inference. Default: the device's cores (at most 4). onnxruntime-web's
   * own default is 1 on a 2-core machine; threads need a cross-origin isolated page (COOP/COEP).
   */
  threads?: number | undefined;
  /** 'auto' (default): WebGPU on a real GPU, WebAssembly otherwise; 'wasm': always WebAssembly. */
  device?: 'auto' | 'wasm' | undefined;
  /**
   * Where onnxruntime-web's .wasm files are. Default: next to onnxruntime-web's module, where
   * bundlers (Vite, webpack) put them.
   */
  wasmPaths?: string | undefined;
  /** Cache Storage bucket for model files; `false` disables caching. Default 'portoon-models-v1'. */
  cache?: string | false | undefined;
  /** Refuse photos with more pixels than this. Default 50 000 000. */
  maxInputPixels?: number | undefined;
  /** Download progress of each model (also reported for models read from the cache, with `cached`). */
  onDownload?: ((download: ModelDownload) => void) | undefined;
  /** Starts the engine worker; default: the worker module next to this file. */
  createWorker?: (() => Worker) | undefined;
}

export interface WebCartoonizeOptions extends CartoonizeParams {
  onProgress?: ((progress: StageProgress) => void) | undefined;
  signal?: AbortSignal | undefined;
}

export interface WebCartoonizeResult {
  /** The encoded image, labelled as AI-generated (XMP). */
  image: Blob;
  report: CartoonizeReport;
}

export interface LiveFaceResult {
  /** Stylized crop with its paste mask as alpha (RGBA, size x size). */
  rgba: Uint8ClampedArray;
  size: number;
  /** Frame pixels → crop pixels. */
  frameToCrop: readonly [number, number, number, number, number, number];
  model: string;
  ms: number;
}

const DEFAULT_CACHE = 'portoon-models-v1';

interface Pending {
  resolve: (result: EngineResult) => void;
  reject: (error: Error) => void;
  onProgress?: ((progress: StageProgress) => void) | undefined;
}

function defaultWorker(): Worker {
  return new Worker(new URL('./engine-worker.js', import.meta.url), { type: 'module', name: 'portoon-engine' });
}

async function fetchCatalogue(server: string, apiKey: string | undefined): Promise<CatalogueDocument> {
  const headers: Record<string, string> = {};
  if (apiKey) headers['x-api-key'] = apiKey;
  let response: Response;
  try {
    response = await fetch(new URL('/api/v1/catalogue', server).href, { headers });
  } catch (error) {
    throw new PortoonError('E_MODEL_MISSING', `The model catalogue could not be loaded from ${server}: the network failed`, {
      cause: error,
    });
  }
  if (!response.ok) {
    const body = (await response.json().catch(() => undefined)) as { error?: unknown } | undefined;
    if (body?.error) throw reviveError(body.error);
    throw new PortoonError('E_MODEL_MISSING', `The model catalogue could not be loaded from ${server} (HTTP ${response.status})`);
  }
  return (await response.json()) as CatalogueDocument;
}

export class PortoonWeb {
  /** The catalogue the server offers. */
  readonly catalogue: CatalogueDocument;
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #backend: BackendInfo | undefined;
  #nextId = 1;
  #closed = false;

  private constructor(worker: Worker, catalogue: CatalogueDocument, onDownload: PortoonWebOptions['onDownload']) {
    this.#worker = worker;
    this.catalogue = catalogue;
    worker.addEventListener('message', (event: MessageEvent<EngineMessage>) => this.#receive(event.data, onDownload));
    worker.addEventListener('error', (event) => {
      this.#failAll(new PortoonError('E_INTERNAL', `The engine worker failed: ${event.message || 'it could not be started'}`));
    });
  }

  /** The runtime the engine uses (WebAssembly or WebGPU, threads, isolation). */
  get backend(): BackendInfo {
    if (!this.#backend) throw new PortoonError('E_CLOSED', 'The engine was not started');
    return this.#backend;
  }

  /**
   * Loads the server's catalogue and starts the engine worker. No model is downloaded until a
   * request needs it (or `preload`).
   * @example
   * import { PortoonWeb } from 'portoon/web';
   *
   * const portoon = await PortoonWeb.create({ server: 'https://cartoon.example.com' });
   * const { image } = await portoon.cartoonize(file, { style: 'anime' });
   * @throws PortoonError E_MODEL_MISSING when the catalogue cannot be loaded, E_UNAUTHORIZED for a missing key.
   */
  static async create(options: PortoonWebOptions = {}): Promise<PortoonWeb> {
    const server = options.server ?? globalThis.location.origin;
    const catalogue = await fetchCatalogue(server, options.apiKey);
    const cores = globalThis.navigator?.hardwareConcurrency ?? 2;
    const settings: EngineSettings = {
      catalogue,
      baseUrl: server,
      apiKey: options.apiKey,
      threads: options.threads ?? Math.min(4, Math.max(1, cores)),
      wasmPaths: options.wasmPaths,
      device: options.device ?? 'auto',
      maxInputPixels: options.maxInputPixels ?? DEFAULT_MAX_INPUT_PIXELS,
      cacheName: options.cache === false ? undefined : (options.cache ?? DEFAULT_CACHE),
    };
    const portoon = new PortoonWeb((options.createWorker ?? defaultWorker)(), catalogue, options.onDownload);
    try {
      const result = await portoon.#call({ kind: 'init', settings }, []);
      if (result.kind !== 'init') throw new PortoonError('E_INTERNAL', 'The engine worker answered out of turn');
      portoon.#backend = result.backend;
    } catch (error) {
      portoon.close();
      throw error;
    }
    return portoon;
  }

  /**
   * Cartoonizes a photo on this device; same parameters, same result as the server's
   * `POST /api/v1/cartoon`.
   * @throws PortoonError with the same codes as the server (E_UNSUPPORTED_FORMAT, E_BAD_OPTION, …);
   *   E_CLOSED when `signal` aborts.
   */
  async cartoonize(photo: Blob | ArrayBuffer | Uint8Array, options: WebCartoonizeOptions): Promise<WebCartoonizeResult> {
    const { onProgress, signal, ...params } = options;
    const bytes = photo instanceof Blob ? await photo.arrayBuffer() : photo instanceof Uint8Array ? photo.slice().buffer : photo.slice(0);
    const result = await this.#call({ kind: 'cartoonize', bytes, params }, [bytes], onProgress, signal);
    if (result.kind !== 'cartoonize') throw new PortoonError('E_INTERNAL', 'The engine worker answered out of turn');
    const type = `image/${result.report.format}`;
    return { image: new Blob([result.bytes], { type }), report: result.report };
  }

  /** Downloads (or reads from the cache) and loads the given models now. */
  async preload(models: readonly string[]): Promise<void> {
    await this.#call({ kind: 'preload', models: [...models] }, []);
  }

  /**
   * Finds faces in a video frame with YuNet (upright search only, for live tracking). The frame is
   * transferred (closed on this side).
   */
  async detectFaces(frame: ImageBitmap, maxSide = 320): Promise<{ faces: DetectedFace[]; ms: number }> {
    const result = await this.#call({ kind: 'detect', frame, maxSide }, [frame]);
    if (result.kind !== 'detect') throw new PortoonError('E_INTERNAL', 'The engine worker answered out of turn');
    return { faces: result.faces, ms: result.ms };
  }

  /**
   * Stylizes one face of a video frame for a live view (see core/live-face.ts). The frame is
   * transferred (closed on this side).
   */
  async stylizeFace(frame: ImageBitmap, landmarks: readonly Point[], style: string, size: number): Promise<LiveFaceResult> {
    const result = await this.#call({ kind: 'live-face', frame, landmarks: landmarks.map((p) => [p[0], p[1]]), style, size }, [frame]);
    if (result.kind !== 'live-face') throw new PortoonError('E_INTERNAL', 'The engine worker answered out of turn');
    return {
      rgba: new Uint8ClampedArray(result.rgba),
      size: result.size,
      frameToCrop: result.frameToCrop,
      model: result.model,
      ms: result.ms,
    };
  }

  /** Stops the worker; pending requests fail with E_CLOSED. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#worker.terminate();
    this.#failAll(new PortoonError('E_CLOSED', 'The engine was closed'));
  }

  #failAll(error: PortoonError): void {
    for (const entry of this.#pending.values()) entry.reject(error);
    this.#pending.clear();
  }

  #receive(message: EngineMessage, onDownload: PortoonWebOptions['onDownload']): void {
    if ('download' in message) {
      onDownload?.(message.download);
      return;
    }
    const entry = this.#pending.get(message.id);
    if (!entry) return;
    if ('progress' in message) {
      entry.onProgress?.(message.progress);
      return;
    }
    this.#pending.delete(message.id);
    if (message.ok) entry.resolve(message.result);
    else entry.reject(reviveError(message.error));
  }

  #call(
    request: DistributiveOmit<Exclude<EngineRequest, { kind: 'cancel' }>, 'id'>,
    transfer: Transferable[],
    onProgress?: (progress: StageProgress) => void,
    signal?: AbortSignal,
  ): Promise<EngineResult> {
    if (this.#closed) return Promise.reject(new PortoonError('E_CLOSED', 'The engine was closed'));
    if (signal?.aborted) return Promise.reject(new PortoonError('E_CLOSED', 'The work was cancelled'));
    const id = this.#nextId++;
    return new Promise<EngineResult>((resolve, reject) => {
      const onAbort = (): void => this.#worker.postMessage({ id: this.#nextId++, kind: 'cancel', target: id } satisfies EngineRequest);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#pending.set(id, {
        resolve: (result) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(result);
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
        onProgress,
      });
      this.#worker.postMessage({ ...request, id } as EngineRequest, transfer);
    });
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
