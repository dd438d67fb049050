/**
 * The composition root of `portoon serve --queue redis://…`: an API node of a cluster. It accepts,
 * validates and queues jobs, reports their status and hands out their results; `portoon worker`
 * processes run them. It loads no model and starts no worker thread: requests are checked against
 * its catalogue and the models the live workers announce. Any number of API nodes can run side by
 * side, and stopping one loses no job.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterCatalogue } from '../node/cluster-catalogue.js';
import type { BlobStore } from '../queue/blob/blob-store.js';
import { FsBlobStore } from '../queue/blob/fs-blob-store.js';
import { openBlobStore } from '../queue/blob/open-blob-store.js';
import { connectRedis, redactRedisUrl } from '../queue/redis/connection.js';
import { RedisJobQueue } from '../queue/redis/redis-job-queue.js';
import { Sweeper } from '../queue/redis/sweeper.js';
import { buildApp } from './app.js';
import type { ServerConfig } from './config.js';
import { ServiceMetrics } from './metrics.js';
import type { Readiness } from './routes/health.js';
import { SAMPLE_PHOTO, WEB_ROOT, type RunningService } from './service.js';

/** How often the node reads which workers are alive and what they can run. */
const WORKERS_REFRESH_MS = 2000;

export interface ClusterService extends RunningService {
  queue: RedisJobQueue;
  catalogue: ClusterCatalogue;
  store: BlobStore;
}

export async function createClusterService(config: Readonly<ServerConfig>): Promise<ClusterService> {
  if (config.queue === undefined || config.blobStore === undefined) throw new Error('createClusterService needs --queue');
  const url = config.queue;
  const namespace = { prefix: 'portoon', name: config.queueName };
  const catalogue = ClusterCatalogue.load(config.modelsDir, config.maxPixels);
  const store = openBlobStore(config.blobStore);
  // Video uploads are written where the store can take them over cheaply: inside a shared folder (a
  // rename), or a local folder from which they are uploaded.
  const spoolDir = store instanceof FsBlobStore ? join(store.dir, '.tmp') : mkdtempSync(join(tmpdir(), 'portoon-uploads-'));
  mkdirSync(spoolDir, { recursive: true, mode: 0o700 });
  const queue = new RedisJobQueue({
    url,
    namespace,
    store,
    checker: catalogue,
    maxQueued: config.maxQueue,
    timeoutMs: config.jobTimeoutMs,
    videoTimeoutMs: config.videoTimeoutMs,
    ttlMs: config.jobTtlMs,
  });
  const sweeper = new Sweeper({ url, namespace, store, ttlMs: config.jobTtlMs });
  const rateLimitRedis = config.rateLimitPerMinute > 0 ? connectRedis(url, 'commands', 'portoon-rate-limit') : undefined;
  const metrics = new ServiceMetrics(() => queue);
  const refreshWorkers = async (): Promise<number> => {
    const workers = await queue.records.workers();
    catalogue.update(workers);
    return workers.length;
  };
  const readiness: Readiness = {
    ready: false,
    reason: 'Connecting to the job queue',
    draining: false,
    async dependencies() {
      await queue.ping();
      await store.check();
      return { queue: 'redis', store: store.description, workers: await refreshWorkers() };
    },
  };
  const app = await buildApp({
    config,
    queue,
    metrics,
    readiness,
    engine: catalogue,
    spoolDir,
    styles: () => catalogue.styles(),
    models: catalogue,
    webRoot: WEB_ROOT,
    previewImage: config.previewImage ?? SAMPLE_PHOTO,
    rateLimitRedis,
  });
  let refresher: NodeJS.Timeout | undefined;
  return {
    app,
    queue,
    metrics,
    readiness,
    catalogue,
    store,
    async warmUp() {
      await queue.ping();
      await store.check();
      const workers = await refreshWorkers();
      refresher = setInterval(() => void refreshWorkers().catch(() => undefined), WORKERS_REFRESH_MS);
      refresher.unref();
      sweeper.start();
      readiness.ready = true;
      readiness.reason = '';
      app.log.info({ queue: redactRedisUrl(url), store: store.description, workers }, 'ready');
    },
    async close() {
      readiness.ready = false;
      readiness.reason = 'Shutting down';
      readiness.draining = true;
      clearInterval(refresher);
      // Accepted jobs stay in Redis for the workers: only the uploads under way are waited for.
      await queue.close(config.shutdownGraceMs);
      await app.close();
      await sweeper.stop();
      rateLimitRedis?.disconnect();
      await store.close();
      if (!(store instanceof FsBlobStore)) rmSync(spoolDir, { recursive: true, force: true });
    },
  };
}
