/**
 * One complete engine for one thread: catalogue, model store, onnxruntime sessions, and the
 * decode → pipeline → encode sequence. The worker pool runs one of these per worker thread.
 */
import { performance } from 'node:perf_hooks';
import { PortoonError } from '../core/errors.js';
import type { Catalogue } from '../core/models/catalogue.js';
import {
  cartoonizeImage,
  validatePipelineOptions,
  type FaceReport,
  type PipelineOptions,
  type Stage,
  type StageProgress,
} from '../core/pipeline.js';
import { withCheckpoint } from '../core/inference.js';
import { buildXmp } from '../core/provenance.js';
import { decodeImage, defaultOutputFormat, encodeImage, isOutputFormat, OUTPUT_FORMATS, type OutputFormat } from './codec.js';
import { loadCatalogue } from './load-catalogue.js';
import { ModelStore } from './model-store.js';
import { OnnxBackend } from './onnx-backend.js';
import { SOFTWARE_NAME, VERSION } from './version.js';

export interface EngineConfig {
  modelsDir: string;
  /** onnxruntime intra-op threads per inference. */
  intraOpThreads?: number | undefined;
  executionProviders?: readonly string[] | undefined;
  /** Refuse inputs with more pixels than this. */
  maxInputPixels?: number | undefined;
}

/** Everything a caller can ask of one cartoonization (all serializable, so it can cross threads). */
export interface CartoonizeRequest extends PipelineOptions {
  /** Shrink the input so its long side is at most this (never enlarges). Default: full size. */
  maxSide?: number | undefined;
  /** Output format. Default: the input's format when it is JPEG/PNG/WebP, else PNG. */
  format?: OutputFormat | undefined;
  /** JPEG/WebP quality 1..100. Default 90. */
  quality?: number | undefined;
}

export interface CartoonizeReport {
  width: number;
  height: number;
  style: string;
  format: OutputFormat;
  faces: FaceReport[];
  /** False when detection was skipped (style needs no faces and no detector is installed). */
  detected: boolean;
  /** Milliseconds per stage. */
  timings: Partial<Record<Stage, number>>;
  models: string[];
  /** Milliseconds inside onnxruntime per model (included in the stage timings). */
  inference: Record<string, number>;
}

export interface EngineResult {
  image: Uint8Array;
  report: CartoonizeReport;
}

export function validateRequest(request: CartoonizeRequest, catalogue: Catalogue): void {
  validatePipelineOptions(request);
  catalogue.style(request.style);
  if (request.mix) catalogue.style(request.mix.style);
  if (request.format !== undefined && !isOutputFormat(request.format)) {
    throw new PortoonError(
      'E_BAD_OPTION',
      `Expected format to be one of ${OUTPUT_FORMATS.join(', ')} but received ${String(request.format)}`,
    );
  }
  if (request.maxSide !== undefined && !(Number.isInteger(request.maxSide) && request.maxSide >= 16)) {
    throw new PortoonError('E_BAD_OPTION', `Expected an integer of at least 16 for maxSide but received ${String(request.maxSide)}`);
  }
  if (request.quality !== undefined && !(Number.isInteger(request.quality) && request.quality >= 1 && request.quality <= 100)) {
    throw new PortoonError('E_BAD_OPTION', `Expected an integer between 1 and 100 for quality but received ${String(request.quality)}`);
  }
}

export class NodeEngine {
  readonly catalogue: Catalogue;
  readonly store: ModelStore;
  readonly backend: OnnxBackend;
  readonly #config: EngineConfig;

  constructor(config: EngineConfig) {
    this.#config = config;
    this.catalogue = loadCatalogue(config.modelsDir);
    this.store = new ModelStore(this.catalogue, config.modelsDir);
    this.backend = new OnnxBackend(this.store, {
      ...(config.intraOpThreads !== undefined ? { intraOpThreads: config.intraOpThreads } : {}),
      ...(config.executionProviders !== undefined ? { executionProviders: config.executionProviders } : {}),
    });
  }

  /** Creates the sessions of the given models now, so the first request does not pay for it. */
  async preload(modelIds: readonly string[]): Promise<void> {
    for (const id of modelIds) await this.backend.load(id);
  }

  /**
   * @param checkpoint called between steps (after decode, before every model run, before encode);
   *   it throws to stop the work, e.g. when the caller has cancelled it.
   */
  async process(
    input: Uint8Array,
    request: CartoonizeRequest,
    onProgress?: (progress: StageProgress) => void,
    checkpoint?: () => void,
  ): Promise<EngineResult> {
    validateRequest(request, this.catalogue);
    const clock = (): number => performance.now();
    onProgress?.({ stage: 'decode', progress: 0 });
    const decodeStart = clock();
    const decoded = await decodeImage(input, { maxInputPixels: this.#config.maxInputPixels, maxSide: request.maxSide });
    const decodeMs = clock() - decodeStart;
    onProgress?.({ stage: 'decode', progress: 1 });
    checkpoint?.();
    const result = await cartoonizeImage(decoded.image, request, {
      backend: checkpoint ? withCheckpoint(this.backend, checkpoint) : this.backend,
      catalogue: this.catalogue,
      onProgress,
      now: clock,
    });
    checkpoint?.();
    onProgress?.({ stage: 'encode', progress: 0 });
    const encodeStart = clock();
    const format = request.format ?? defaultOutputFormat(decoded.format);
    const xmp = buildXmp({
      software: SOFTWARE_NAME,
      version: VERSION,
      style: result.style,
      models: result.models,
      created: new Date().toISOString(),
    });
    const image = await encodeImage(result.image, { format, quality: request.quality, xmp, alpha: decoded.alpha });
    const encodeMs = clock() - encodeStart;
    onProgress?.({ stage: 'encode', progress: 1 });
    return {
      image,
      report: {
        width: result.image.width,
        height: result.image.height,
        style: result.style,
        format,
        faces: result.faces,
        detected: result.detected,
        timings: { decode: decodeMs, ...result.timings, encode: encodeMs },
        models: result.models,
        inference: result.inference,
      },
    };
  }

  async close(): Promise<void> {
    await this.backend.release();
  }
}
