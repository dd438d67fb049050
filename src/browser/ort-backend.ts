/**
 * onnxruntime-web implementation of the engine's InferenceBackend: WebAssembly with SIMD and
 * threads, or WebGPU when the browser has a real GPU (a software adapter is slower than WebAssembly
 * and is never used). One session per model, created from verified bytes on first use.
 */
import type * as Ort from 'onnxruntime-web';
import { PortoonError } from '../core/errors.js';
import type { InferenceBackend, TensorData } from '../core/inference.js';
import { runOrtSession } from '../core/ort-run.js';
import type { Catalogue } from '../core/models/catalogue.js';
import type { ModelCache } from './model-cache.js';
import type { BackendInfo } from './protocol.js';

type OrtModule = typeof Ort;

export interface OrtWebOptions {
  threads: number;
  wasmPaths: string | undefined;
  device: 'auto' | 'wasm';
}

interface GpuAdapterLike {
  readonly isFallbackAdapter?: boolean;
  readonly info?: { readonly isFallbackAdapter?: boolean };
}

/** A WebGPU adapter backed by real hardware, or undefined (no WebGPU, no adapter, or a software one). */
async function hardwareGpu(): Promise<GpuAdapterLike | undefined> {
  const gpu = (globalThis.navigator as { gpu?: { requestAdapter(): Promise<GpuAdapterLike | null> } } | undefined)?.gpu;
  if (!gpu) return undefined;
  try {
    const adapter = await gpu.requestAdapter();
    if (!adapter || adapter.info?.isFallbackAdapter === true || adapter.isFallbackAdapter === true) return undefined;
    return adapter;
  } catch {
    return undefined;
  }
}

/**
 * Loads onnxruntime-web: the WebGPU build when a hardware adapter exists and `device` allows it,
 * else the WebAssembly-only build (half the download). Threads need cross-origin isolation
 * (SharedArrayBuffer); without it onnxruntime-web would fall back to one thread silently, so the
 * count is set explicitly and reported.
 */
export async function loadOrt(options: OrtWebOptions): Promise<{ ort: OrtModule; info: BackendInfo }> {
  const useGpu = options.device === 'auto' && (await hardwareGpu()) !== undefined;
  const ort: OrtModule = useGpu ? await import('onnxruntime-web/webgpu') : await import('onnxruntime-web/wasm');
  const isolated = globalThis.crossOriginIsolated === true;
  const threads = isolated ? Math.max(1, Math.floor(options.threads)) : 1;
  ort.env.wasm.numThreads = threads;
  if (options.wasmPaths !== undefined) ort.env.wasm.wasmPaths = options.wasmPaths;
  // The engine already runs in a worker; onnxruntime's own proxy worker would only add a copy.
  ort.env.wasm.proxy = false;
  ort.env.logLevel = 'error';
  return { ort, info: { device: useGpu ? 'webgpu' : 'wasm', threads, isolated } };
}

export class OrtWebBackend implements InferenceBackend {
  readonly #ort: OrtModule;
  readonly #device: BackendInfo['device'];
  readonly #catalogue: Catalogue;
  readonly #cache: ModelCache;
  readonly #urls: Readonly<Record<string, string>>;
  // Promises, so concurrent first uses of one model share one download and one session.
  readonly #sessions = new Map<string, Promise<Ort.InferenceSession>>();

  constructor(
    ort: OrtModule,
    device: BackendInfo['device'],
    catalogue: Catalogue,
    cache: ModelCache,
    urls: Readonly<Record<string, string>>,
  ) {
    this.#ort = ort;
    this.#device = device;
    this.#catalogue = catalogue;
    this.#cache = cache;
    this.#urls = urls;
  }

  /** Whether the server offers the model's file. */
  has(modelId: string): boolean {
    return Object.hasOwn(this.#urls, modelId);
  }

  async load(modelId: string): Promise<void> {
    await this.#session(modelId);
  }

  async run(modelId: string, feeds: Readonly<Record<string, TensorData>>): Promise<Record<string, TensorData>> {
    const session = await this.#session(modelId);
    return runOrtSession<Ort.Tensor>(session, (t) => new this.#ort.Tensor(t.type, t.data, t.dims), modelId, feeds);
  }

  async release(): Promise<void> {
    const sessions = [...this.#sessions.values()];
    this.#sessions.clear();
    await Promise.all(sessions.map(async (s) => (await s.catch(() => undefined))?.release()));
  }

  #session(modelId: string): Promise<Ort.InferenceSession> {
    let session = this.#sessions.get(modelId);
    if (!session) {
      session = this.#create(modelId);
      session.catch(() => this.#sessions.delete(modelId));
      this.#sessions.set(modelId, session);
    }
    return session;
  }

  async #create(modelId: string): Promise<Ort.InferenceSession> {
    const entry = this.#catalogue.model(modelId);
    const url = this.#urls[modelId];
    if (url === undefined) {
      throw new PortoonError('E_MODEL_MISSING', `Model "${modelId}" is not installed on the server this page loads models from`, {
        details: { model: modelId },
      });
    }
    const bytes = await this.#cache.load(entry, url);
    try {
      return await this.#ort.InferenceSession.create(bytes, {
        executionProviders: this.#device === 'webgpu' ? ['webgpu', 'wasm'] : ['wasm'],
        graphOptimizationLevel: 'all',
      });
    } catch (error) {
      throw new PortoonError('E_MODEL_CORRUPT', `Model ${modelId} could not be loaded: ${(error as Error).message}`, {
        cause: error,
        details: { model: modelId },
      });
    }
  }
}
