/**
 * The composition root of `portoon serve`: engine (worker-thread pool), job queue, metrics and the
 * HTTP app, with start-up (listen, then load models; /readyz turns 200 when done) and graceful
 * shutdown (refuse new work, let accepted work finish, then stop the workers).
 */
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { PortoonError } from '../core/errors.js';
import { parseCartoonizeRequest } from '../core/request.js';
import { Portoon } from '../node/portoon.js';
import { FileStore } from '../queue/file-store.js';
import { InProcessQueue } from '../queue/in-process-queue.js';
import type { JobQueue } from '../queue/job-queue.js';
import { buildApp } from './app.js';
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

export interface Service {
  app: FastifyInstance;
  portoon: Portoon;
  queue: JobQueue;
  metrics: ServiceMetrics;
  readiness: Readiness;
  /** Styles whose models are loaded (all served styles that are installed). */
  loadedStyles: string[];
  /** Loads the models of the served styles into every worker, then marks the service ready. */
  warmUp(): Promise<void>;
  /** Stops accepting work, lets accepted work finish (up to the grace period), stops the workers. */
  close(): Promise<void>;
}

export async function createService(config: Readonly<ServerConfig>): Promise<Service> {
  const portoon = await Portoon.create({
    ...(config.modelsDir !== undefined ? { modelsDir: config.modelsDir } : {}),
    workers: config.workers,
    threads: config.threads,
    device: config.device,
    maxInputPixels: config.maxPixels,
  });
  const known = new Set(portoon.catalogue.styles.map((style) => style.id));
  for (const id of config.styles ?? []) {
    if (!known.has(id)) {
      await portoon.close();
      throw new PortoonError('E_UNKNOWN_STYLE', `--styles: unknown style "${id}"; known styles: ${[...known].join(', ')}`);
    }
  }
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
    webRoot: WEB_ROOT,
    previewImage: config.previewImage ?? SAMPLE_PHOTO,
  });
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
