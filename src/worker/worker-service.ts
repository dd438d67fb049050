/**
 * The composition root of `portoon worker`: an engine (worker threads with the models loaded), a
 * queue worker taking jobs from the cluster's Redis, the sweeper every node runs, and a small HTTP
 * server with the node's /healthz, /readyz and /metrics (on `--metrics-port`). It serves no API.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { PortoonError, toPortoonError } from '../core/errors.js';
import { parseCartoonizeRequest } from '../core/request.js';
import type { Portoon } from '../node/portoon.js';
import type { BlobStore } from '../queue/blob/blob-store.js';
import { openBlobStore } from '../queue/blob/open-blob-store.js';
import { QueueWorker } from '../queue/redis/queue-worker.js';
import { Sweeper } from '../queue/redis/sweeper.js';
import type { WorkerConfig } from '../server/config.js';
import { createEngine } from '../server/create-engine.js';
import { WorkerMetrics } from './worker-metrics.js';

export interface WorkerService {
  app: FastifyInstance;
  portoon: Portoon;
  worker: QueueWorker;
  store: BlobStore;
  metrics: WorkerMetrics;
  /** Listens, loads the models, checks the store, then starts taking jobs. Resolves with the metrics URL. */
  start(): Promise<string>;
  /** Stops taking jobs; running ones finish within the grace period or go back in line. */
  close(): Promise<void>;
}

export async function createWorkerService(config: Readonly<WorkerConfig>): Promise<WorkerService> {
  const portoon = await createEngine(config);
  const store = openBlobStore(config.blobStore);
  const namespace = { prefix: 'portoon', name: config.queueName };
  const app = Fastify({ logger: { level: config.logLevel } });
  // The metrics read the worker, which reports to the metrics: both are only called once both exist.
  const metrics = new WorkerMetrics(
    () => worker.records,
    () => worker.running,
  );
  const installedModels = (): string[] => portoon.catalogue.models.filter(({ id }) => portoon.store.isInstalled(id)).map(({ id }) => id);
  const worker = new QueueWorker({
    url: config.queue,
    namespace,
    store,
    engine: portoon,
    models: installedModels,
    lockDurationMs: config.lockDurationMs,
    maxStalls: config.maxStalls,
    onFinished: (status, runMs) => {
      metrics.observeJob(status, runMs);
      app.log.info(
        { job: status.id, state: status.state, style: status.style, ms: Math.round(runMs), error: status.error?.code },
        'job finished',
      );
    },
    onStalled: (jobId) => {
      metrics.stalled();
      app.log.warn({ job: jobId }, 'job lost its worker: back in line');
    },
    onRetry: (jobId, error) => {
      metrics.retried(error.code);
      app.log.warn({ job: jobId, code: error.code, message: error.message }, 'job failed: back in line for another attempt');
    },
  });
  const sweeper = new Sweeper({ url: config.queue, namespace, store, ttlMs: config.jobTtlMs });
  let ready = false;
  let draining = false;

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    try {
      if (draining) throw new PortoonError('E_CLOSED', 'The worker is shutting down');
      if (!ready) throw new PortoonError('E_NOT_READY', 'Loading models');
      await worker.records.counts();
      await store.check();
      return { status: 'ready', running: worker.running, slots: portoon.workers };
    } catch (error) {
      const e = toPortoonError(error);
      return reply.code(e.status).send({ error: { code: e.code, message: e.message } });
    }
  });
  app.get('/metrics', async (_request, reply) => {
    const { contentType, body } = await metrics.render();
    return reply.type(contentType).header('cache-control', 'no-store').send(body);
  });

  return {
    app,
    portoon,
    worker,
    store,
    metrics,
    async start() {
      const address = await app.listen({ host: config.host, port: config.metricsPort });
      const styles = portoon.styles().filter((style) => config.styles?.includes(style.id) ?? true);
      // Styles asked for by name must work; fail at start-up, not on the first job.
      const missing = styles.find((style) => !style.installed);
      if (config.styles && missing) portoon.check(parseCartoonizeRequest({ style: missing.id }));
      await portoon.preload(styles.filter((style) => style.installed).map((style) => style.id));
      await store.check();
      await worker.start();
      sweeper.start();
      ready = true;
      app.log.info({ metrics: address, slots: portoon.workers, store: store.description, id: worker.id }, 'taking jobs');
      return address;
    },
    async close() {
      draining = true;
      ready = false;
      await worker.close(config.shutdownGraceMs);
      await sweeper.stop();
      await app.close();
      await portoon.close();
      await store.close();
    },
  };
}
