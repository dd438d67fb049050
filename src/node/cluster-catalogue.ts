/**
 * What an API node of a cluster checks requests against. It runs no model, so it has no engine: the
 * styles come from its catalogue (the built-in one plus the manifests in its models folder), and
 * whether their models are installed comes from the workers, which announce theirs. A request is
 * refused at once when no live worker could run it; with no worker alive at all it is accepted, and
 * waits for one.
 */
import type { CartoonEngine, FileRef, ModelFiles } from '../core/engine-port.js';
import { PortoonError } from '../core/errors.js';
import type { Catalogue } from '../core/models/catalogue.js';
import { modelsForRequest } from '../core/pipeline.js';
import type { CartoonizeRequest } from '../core/request.js';
import { describeStyles, type StyleInfo } from '../core/style-info.js';
import type { VideoInfo } from '../core/video/types.js';
import { probeImage } from './codec.js';
import { loadCatalogue } from './load-catalogue.js';
import { defaultModelsDir, ModelStore } from './model-store.js';
import { probeVideo } from './video/probe.js';

export class ClusterCatalogue implements Pick<CartoonEngine, 'check' | 'probe' | 'probeVideo'>, ModelFiles {
  readonly catalogue: Catalogue;
  /** This node's models folder: the files it serves to browsers (workers have their own). */
  readonly #store: ModelStore;
  readonly #maxInputPixels: number;
  /** The installed models of each live worker (empty: none is alive, or none announced itself yet). */
  #workers: ReadonlyArray<ReadonlySet<string>> = [];

  constructor(catalogue: Catalogue, modelsDir: string, maxInputPixels: number) {
    this.catalogue = catalogue;
    this.#store = new ModelStore(catalogue, modelsDir);
    this.#maxInputPixels = maxInputPixels;
  }

  /** Reads the catalogue of a models folder (default: `PORTOON_MODELS`, else the per-user cache): the built-in styles and its manifests. */
  static load(modelsDir: string | undefined, maxInputPixels: number): ClusterCatalogue {
    const dir = modelsDir ?? defaultModelsDir();
    return new ClusterCatalogue(loadCatalogue(dir), dir, maxInputPixels);
  }

  isInstalled(modelId: string): boolean {
    return this.#store.isInstalled(modelId);
  }

  verifiedPath(modelId: string): Promise<string> {
    return this.#store.verifiedPath(modelId);
  }

  /** The live workers' installed models, as they last announced them. */
  update(workers: ReadonlyArray<{ models: readonly string[] }>): void {
    this.#workers = workers.map((worker) => new Set(worker.models));
  }

  /** Live workers known. */
  get workers(): number {
    return this.#workers.length;
  }

  /**
   * @throws PortoonError E_UNKNOWN_STYLE for a style not in the catalogue; E_MODEL_MISSING when live
   *   workers exist and none has every model the request needs.
   */
  check(request: CartoonizeRequest): void {
    const models = modelsForRequest(this.catalogue, request);
    if (this.#workers.length === 0 || this.#workers.some((installed) => models.every((id) => installed.has(id)))) return;
    throw new PortoonError(
      'E_MODEL_MISSING',
      `No worker of this service has the models of style "${request.style}" installed (${models.join(', ')}); install them on the workers with: portoon models pull ${request.style}`,
      { details: { models } },
    );
  }

  async probe(input: Uint8Array): Promise<void> {
    await probeImage(input, { maxInputPixels: this.#maxInputPixels });
  }

  async probeVideo(input: FileRef): Promise<VideoInfo> {
    return probeVideo(input.path, { maxInputPixels: this.#maxInputPixels });
  }

  /** The catalogue's styles; installed when some live worker has all their models. */
  styles(): StyleInfo[] {
    const all = describeStyles(this.catalogue, () => true);
    return all.map((style) => ({
      ...style,
      installed: this.#workers.some((installed) => style.models.every((id) => installed.has(id))),
    }));
  }
}
