/**
 * The composition root of `portoon serve`: engine (worker-thread pool), job queue, metrics and the
 * HTTP app, with start-up (listen, then load models; /readyz turns 200 when done) and graceful
 * shutdown (refuse new work, let accepted work finish, then stop the workers).
 */
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { parseCartoonizeRequest } from '../core/request.js';
import { Portoon } from '../node/portoon.js';
import { FileStore } from '../queue/file-store.js';
import { InProcessQueue } from '../queue/in-process-queue.js';
import type { JobQueue } from '../queue/job-queue.js';
import { buildApp } from './app.js';
import { createEngine } from './create-engine.js';
import type { ServerConfig } from './config.js';
import { ServiceMetrics } from './metrics.js';
import type { Readiness } from './routes/health.js';

const PACKAGE_ROOT = new URL('../../', import.meta.url);
export const WEB_ROOT = fileURLToPath(new URL('dist/web/', PACKAGE_ROOT));
/**
 * The photo style previews are rendered from: an uncovered face, so the face models show what they
 * do (on a masked face most styles looked alike); shipped in the package (`files`).
 */
export const SAMPLE_PHOTO = fileURLToPath(new URL('docs/images/20-original.jpg', PACKAGE_ROOT));

/** What `portoon serve` runs, in either mode. */
export interface RunningService {
  app: FastifyInstance;
  queue: JobQueue;
  metrics: ServiceMetrics;
  readiness: Readiness;
  /** Gets ready to take work (loads models, or connects to the cluster), then marks the service ready. */
  warmUp(): Promise<void>;
  /** Stops accepting work, lets accepted work finish (up to the grace period), releases what it holds. */
  close(): Promise<void>;
}

/** The single-process service: jobs run on this process's worker threads. */
export interface Service extends RunningService {
  portoon: Portoon;
  /** Styles whose models are loaded (all served styles that are installed). */
  loadedStyles: string[];
}

export async function createService(config: Readonly<ServerConfig>): Promise<Service> {
  const portoon = await createEngine(config);
  const known = new Set(portoon.catalogue.styles.map((style) => style.id));
  // The queue depth gauge reads the queue, and the queue reports finished jobs to the metrics.
  const metrics = new ServiceMetrics(() => queue);
  // Uploads, waiting inputs and results live here as files; a video upload is written straight into it.
  const store = new FileStore(config.jobsDir);
  const queue: JobQueue = new InProcessQueue(portoon, {
    store,
    maxQueued: config.maxQueue,
    timeoutMs: config.jobTimeoutMs,
    videoTimeoutMs: config.videoTimeoutMs,
    ttlMs: config.jobTtlMs,
    maxResultBytes: config.resultMemoryBytes,
    onFinished: (status, runMs) => metrics.observeJob(status, runMs),
  });
  const readiness: Readiness = { ready: false, reason: 'Loading models', draining: false };
  const app = await buildApp({
    config,
    queue,
    metrics,
    readiness,
    engine: portoon,
    spoolDir: store.dir,
    styles: () => portoon.styles(),
    models: {
      catalogue: portoon.catalogue,
      isInstalled: (id) => portoon.store.isInstalled(id),
      verifiedPath: (id) => portoon.store.verifiedPath(id),
    },
    webRoot: WEB_ROOT,
    previewImage: config.previewImage ?? SAMPLE_PHOTO,
  });
  removeLeftovers(store, config, (removed) => app.log.info({ removed, dir: store.dir }, 'removed files left by an earlier run'));
  const served = config.styles ?? [...known];
  const service: Service = {
    app,
    portoon,
    queue,
    metrics,
    readiness,
    loadedStyles: [],
    async warmUp() {
      const styles = portoon.styles().filter((style) => served.includes(style.id));
      const missing = styles.filter((style) => !style.installed);
      if (missing.length > 0 && config.styles) {
        // Styles asked for by name must work; fail at start-up, not on the first request.
        portoon.check(parseCartoonizeRequest({ style: missing[0]!.id }));
      }
      for (const style of missing) app.log.warn({ style: style.id, models: style.models }, 'style unavailable: models not installed');
      const installed = styles.filter((style) => style.installed).map((style) => style.id);
      const started = performance.now();
      await portoon.preload(installed);
      service.loadedStyles = installed;
      readiness.ready = true;
      readiness.reason = '';
      app.log.info({ styles: installed, ms: Math.round(performance.now() - started) }, 'ready');
    },
    async close() {
      // Drain first, close the listener last: load balancers see /readyz turn 503 and clients of
      // accepted work get their answers on open connections.
      readiness.ready = false;
      readiness.reason = 'Shutting down';
      readiness.draining = true;
      await queue.close(config.shutdownGraceMs);
      await app.close();
      await portoon.close();
      await store.close();
    },
  };
  return service;
}

/**
 * A jobs folder given by the operator outlives the process: files a crashed run left there (inputs it
 * never processed, results nobody fetched) are removed at start-up, once they are older than any job
 * of another process sharing the folder could still need. (While it runs, the queue removes its own
 * files itself.)
 */
function removeLeftovers(store: FileStore, config: Readonly<ServerConfig>, onRemoved: (removed: number) => void): void {
  const oldestUseful = config.jobTtlMs + config.videoTimeoutMs + config.shutdownGraceMs;
  void store
    .sweep(oldestUseful)
    .then((removed) => removed > 0 && onRemoved(removed))
    .catch(() => undefined);
}
