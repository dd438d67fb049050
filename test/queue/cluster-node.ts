/**
 * One node of a Redis cluster in a test process: an API node's queue and a worker, on the same jobs
 * and the same blob store. It is a `JobQueue`, so the conformance suite drives it like any backend;
 * closing it closes the API side (no new jobs) and then the worker (running jobs finish within the
 * grace period, or go back in line).
 */
import type { CartoonEngine } from '../../src/core/engine-port.js';
import type { CartoonizeRequest } from '../../src/core/request.js';
import type { BlobStore } from '../../src/queue/blob/blob-store.js';
import type { JobInput, JobMeta, JobQueue, JobResult, JobStatus, QueueCounts } from '../../src/queue/job-queue.js';
import type { QueueNamespace } from '../../src/queue/redis/job-data.js';
import { QueueWorker, type QueueWorkerOptions } from '../../src/queue/redis/queue-worker.js';
import { RedisJobQueue } from '../../src/queue/redis/redis-job-queue.js';

export interface ClusterNodeOptions {
  url: string;
  namespace: QueueNamespace;
  store: BlobStore;
  engine: CartoonEngine;
  maxQueued?: number;
  timeoutMs?: number;
  ttlMs?: number;
  /** Short locks, so a lost worker's jobs are taken over within seconds. Default 2000. */
  lockDurationMs?: number;
  worker?: Partial<QueueWorkerOptions>;
}

export class ClusterNode implements JobQueue {
  readonly api: RedisJobQueue;
  readonly worker: QueueWorker;
  readonly #store: BlobStore;

  private constructor(api: RedisJobQueue, worker: QueueWorker, store: BlobStore) {
    this.api = api;
    this.worker = worker;
    this.#store = store;
  }

  static async start(options: ClusterNodeOptions): Promise<ClusterNode> {
    const { url, namespace, store, engine } = options;
    const api = new RedisJobQueue({
      url,
      namespace,
      store,
      checker: engine,
      maxQueued: options.maxQueued,
      timeoutMs: options.timeoutMs,
      ttlMs: options.ttlMs,
    });
    const worker = new QueueWorker({
      url,
      namespace,
      store,
      engine,
      models: () => [],
      lockDurationMs: options.lockDurationMs ?? 2000,
      ...options.worker,
    });
    await worker.start();
    await api.ping();
    return new ClusterNode(api, worker, store);
  }

  enqueue(input: JobInput, request: CartoonizeRequest, meta?: JobMeta): Promise<JobStatus> {
    return this.api.enqueue(input, request, meta);
  }
  status(id: string): Promise<JobStatus | undefined> {
    return this.api.status(id);
  }
  result(id: string): Promise<JobResult | undefined> {
    return this.api.result(id);
  }
  wait(id: string, signal?: AbortSignal): Promise<JobStatus> {
    return this.api.wait(id, signal);
  }
  cancel(id: string): Promise<JobStatus | undefined> {
    return this.api.cancel(id);
  }
  remove(id: string): Promise<void> {
    return this.api.remove(id);
  }
  counts(): Promise<QueueCounts> {
    return this.api.counts();
  }
  retryAfterSeconds(): number {
    return this.api.retryAfterSeconds();
  }
  async close(graceMs?: number): Promise<void> {
    await this.api.close();
    await this.worker.close(graceMs);
    await this.#store.close();
  }
}
