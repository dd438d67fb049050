/**
 * onnxruntime-node implementation of the engine's InferenceBackend: one session per model, created on
 * first use (after the model file's sha256 is checked) and reused for every later run.
 */
import * as ort from 'onnxruntime-node';
import { PortoonError } from '../core/errors.js';
import type { InferenceBackend, TensorData } from '../core/inference.js';
import { runOrtSession } from '../core/ort-run.js';
import type { ModelEntry } from '../core/models/manifest.js';

export interface OnnxBackendOptions {
  /** Threads one inference may use (onnxruntime intra-op threads). Default: all cores. */
  intraOpThreads?: number;
  /** Execution providers in order of preference, e.g. ['cuda', 'cpu']. Default ['cpu']. */
  executionProviders?: readonly string[];
}

/** Resolves a model id to its catalogue entry and a verified file path. */
export interface ModelResolver {
  entry(modelId: string): ModelEntry;
  /** Whether the file is installed (no hashing). */
  isInstalled(modelId: string): boolean;
  /**
   * Path of the installed, sha256-verified file.
   * @throws PortoonError E_MODEL_MISSING or E_MODEL_CORRUPT.
   */
  verifiedPath(modelId: string): Promise<string>;
}

export class OnnxBackend implements InferenceBackend {
  readonly #resolver: ModelResolver;
  readonly #options: OnnxBackendOptions;
  // Promises, not sessions, so concurrent first uses of one model share one creation.
  readonly #sessions = new Map<string, Promise<ort.InferenceSession>>();

  constructor(resolver: ModelResolver, options: OnnxBackendOptions = {}) {
    this.#resolver = resolver;
    this.#options = options;
  }

  has(modelId: string): boolean {
    return this.#resolver.isInstalled(modelId);
  }

  /** Creates the session now (used to preload the models of enabled styles). */
  async load(modelId: string): Promise<void> {
    await this.#session(modelId);
  }

  async run(modelId: string, feeds: Readonly<Record<string, TensorData>>): Promise<Record<string, TensorData>> {
    const session = await this.#session(modelId);
    return runOrtSession<ort.Tensor>(session, (t) => new ort.Tensor(t.type, t.data, t.dims), modelId, feeds);
  }

  async release(): Promise<void> {
    const sessions = [...this.#sessions.values()];
    this.#sessions.clear();
    await Promise.all(sessions.map(async (s) => (await s.catch(() => undefined))?.release()));
  }

  #session(modelId: string): Promise<ort.InferenceSession> {
    let session = this.#sessions.get(modelId);
    if (session === undefined) {
      session = this.#create(modelId);
      // A failed creation (missing file) must not be cached: the user may install the model and retry.
      session.catch(() => this.#sessions.delete(modelId));
      this.#sessions.set(modelId, session);
    }
    return session;
  }

  async #create(modelId: string): Promise<ort.InferenceSession> {
    const path = await this.#resolver.verifiedPath(modelId);
    const options: ort.InferenceSession.SessionOptions = {
      graphOptimizationLevel: 'all',
      executionProviders: [...(this.#options.executionProviders ?? ['cpu'])],
    };
    if (this.#options.intraOpThreads !== undefined) options.intraOpNumThreads = this.#options.intraOpThreads;
    // One inference at a time per session in this process; inter-op parallelism only adds contention.
    options.interOpNumThreads = 1;
    // Spinning threads keep a core busy after each run and slow down the next (different) model and
    // the other workers on a small machine; measured 60 → 31 ms for the two detectors back to back.
    options.extra = { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } };
    try {
      return await ort.InferenceSession.create(path, options);
    } catch (error) {
      throw new PortoonError('E_MODEL_CORRUPT', `Model ${modelId} at ${path} could not be loaded: ${(error as Error).message}`, {
        cause: error,
        details: { model: modelId, path },
      });
    }
  }
}
