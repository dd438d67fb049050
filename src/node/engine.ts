/**
 * One complete engine for one thread: catalogue, model store, onnxruntime sessions, and the
 * decode → pipeline → encode sequence. The worker pool runs one of these per worker thread.
 */
import { performance } from 'node:perf_hooks';
import type { Catalogue } from '../core/models/catalogue.js';
import { processStill } from '../core/process-still.js';
import { withCheckpoint } from '../core/inference.js';
import type { StillCodec } from '../core/media-port.js';
import type { CartoonizeOutput, StageProgress } from '../core/report.js';
import type { CartoonizeRequest } from '../core/request.js';
import type { MarkPolicy } from '../core/provenance/output-marks.js';
import { loadC2paSigner, type C2paSigner, type C2paSignerConfig } from './c2pa.js';
import { sharpStillCodec } from './codec.js';
import { loadCatalogue } from './load-catalogue.js';
import { ModelStore } from './model-store.js';
import { OnnxBackend } from './onnx-backend.js';
import type { VideoInfo, VideoParams, VideoProgress, VideoReport } from '../core/video/types.js';
import { outputProvenance } from './provenance-label.js';
import { cartoonizeVideoFile } from './video/video-job.js';

export interface EngineConfig {
  modelsDir: string;
  /** onnxruntime intra-op threads per inference. */
  intraOpThreads?: number | undefined;
  executionProviders?: readonly string[] | undefined;
  /** Refuse inputs with more pixels than this. */
  maxInputPixels?: number | undefined;
  /** The marks every output gets besides its XMP label: visible label default, watermark key, C2PA signing. */
  provenance?: EngineProvenance | undefined;
}

export interface EngineProvenance {
  label?: boolean | undefined;
  watermarkKey?: string | undefined;
  contentCredentials?: C2paSignerConfig | undefined;
}

export class NodeEngine {
  readonly catalogue: Catalogue;
  readonly store: ModelStore;
  readonly backend: OnnxBackend;
  readonly #config: EngineConfig;
  readonly #codec: StillCodec = sharpStillCodec;
  #signer: Promise<C2paSigner> | undefined;

  constructor(config: EngineConfig) {
    this.#config = config;
    this.catalogue = loadCatalogue(config.modelsDir);
    this.store = new ModelStore(this.catalogue, config.modelsDir);
    this.backend = new OnnxBackend(this.store, {
      ...(config.intraOpThreads !== undefined ? { intraOpThreads: config.intraOpThreads } : {}),
      ...(config.executionProviders !== undefined ? { executionProviders: config.executionProviders } : {}),
    });
  }

  /** The C2PA signer, loaded once per engine when content credentials are configured. */
  async #contentSigner(): Promise<C2paSigner | undefined> {
    const config = this.#config.provenance?.contentCredentials;
    if (!config) return undefined;
    this.#signer ??= loadC2paSigner(config);
    return this.#signer;
  }

  #marks(): MarkPolicy {
    const { label, watermarkKey } = this.#config.provenance ?? {};
    return { label, watermarkKey };
  }

  /** Creates the sessions of the given models now, so the first request does not pay for it. */
  async preload(modelIds: readonly string[]): Promise<void> {
    for (const id of modelIds) await this.backend.load(id);
  }

  /**
   * Decodes, cartoonizes and encodes one image. The request was validated at the caller's edge.
   * @param checkpoint called between steps (after decode, before every model run, before encode);
   *   it throws to stop the work, e.g. when the caller has cancelled it.
   */
  async process(
    input: Uint8Array,
    request: CartoonizeRequest,
    onProgress?: (progress: StageProgress) => void,
    checkpoint?: () => void,
  ): Promise<CartoonizeOutput> {
    return processStill(input, request, {
      codec: this.#codec,
      backend: this.backend,
      catalogue: this.catalogue,
      maxInputPixels: this.#config.maxInputPixels,
      provenance: outputProvenance,
      marks: this.#marks(),
      signer: await this.#contentSigner(),
      now: () => performance.now(),
      onProgress,
      checkpoint,
    });
  }

  /**
   * Cartoonizes a video file into another, frame by frame in this thread (see video/video-job.ts).
   * @param hooks.checkpoint called before every frame and every model run; it throws to stop the work.
   * @param hooks.info the input's facts when the caller probed it already (it is not probed again).
   */
  async processVideo(
    inputPath: string,
    outputPath: string,
    request: CartoonizeRequest,
    params: VideoParams,
    hooks: {
      onProgress?: ((progress: VideoProgress) => void) | undefined;
      checkpoint?: (() => void) | undefined;
      info?: VideoInfo | undefined;
    } = {},
  ): Promise<VideoReport> {
    const { checkpoint } = hooks;
    return cartoonizeVideoFile(inputPath, outputPath, request, params, {
      backend: checkpoint ? withCheckpoint(this.backend, checkpoint) : this.backend,
      catalogue: this.catalogue,
      maxInputPixels: this.#config.maxInputPixels,
      onProgress: hooks.onProgress,
      checkpoint,
      info: hooks.info,
      marks: this.#marks(),
    });
  }

  async close(): Promise<void> {
    await this.backend.release();
  }
}
