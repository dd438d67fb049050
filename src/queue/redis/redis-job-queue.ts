/**
 * The job queue of an API node in a cluster: jobs are accepted here, run by `portoon worker`
 * processes anywhere, and followed from any API node. BullMQ on Redis carries the work (at least
 * once: a job whose worker dies is run again by another); the job records (`job-records.ts`) carry
 * what clients see; payloads and results live in a blob store and pass by key.
 *
 * Closing an API node loses nothing: accepted jobs stay in Redis and in the store, and any node
 * answers for them.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { CartoonEngine } from '../../core/engine-port.js';
import { PortoonError } from '../../core/errors.js';
import { isFinished, type JobStatus } from '../../core/job.js';
import type { CartoonizeRequest } from '../../core/request.js';
import type { BlobStore, LocalBlob } from '../blob/blob-store.js';
import type { JobInput, JobMeta, JobQueue, JobResult, QueueCounts } from '../job-queue.js';
import { acceptedStatus, finishStatus } from '../job-status.js';
import { connectRedis, queueUnavailable, subscribeWhenReady } from './connection.js';
import { DEFAULT_ATTEMPTS, DEFAULT_NAMESPACE, EVENT_STREAM_LENGTH, inputKey, type QueuedJob, type QueueNamespace } from './job-data.js';
import { JobRecords, type JobRecord } from './job-records.js';

export interface RedisJobQueueOptions {
  /** `redis://host:port/db` */
  url: string;
  namespace?: QueueNamespace | undefined;
  /** Where inputs and results are kept; every node of the cluster must reach the same store. */
  store: BlobStore;
  /** Checks requests before they are accepted: the styles known, their models available to the workers. */
  checker: Pick<CartoonEngine, 'check'>;
  /** Jobs that may wait beyond the live workers' slots, for the whole cluster. Default 8. */
  maxQueued?: number | undefined;
  /** Longest an image job may run once started, in ms. Default 120 000. */
  timeoutMs?: number | undefined;
  /** Longest a video job may run once started, in ms. Default 3 600 000. */
  videoTimeoutMs?: number | undefined;
  /** How long a finished job and its result are kept, in ms. Default 900 000. */
  ttlMs?: number | undefined;
  /** Runs of a job whose failure another run may not repeat (worker lost, model failure). Default 3. */
  attempts?: number | undefined;
  /** Where results of a remote store are downloaded to be served. Default: a private temporary folder. */
  cacheDir?: string | undefined;
}

/** How often waiters re-read their job, in case a finish announcement was missed during a reconnect. */
const WAIT_RECHECK_MS = 2000;
const INITIAL_RUN_ESTIMATE_MS = 5000;

interface Waiter {
  id: string;
  settle: () => void;
}

export class RedisJobQueue implements JobQueue {
  readonly #url: string;
  readonly #store: BlobStore;
  readonly #checker: Pick<CartoonEngine, 'check'>;
  readonly #options: Readonly<Record<'maxQueued' | 'timeoutMs' | 'videoTimeoutMs' | 'ttlMs' | 'attempts', number>>;
  readonly #redis: Redis;
  readonly #subscriber: Redis;
  readonly #records: JobRecords;
  readonly #queue: Queue<QueuedJob>;
  readonly #cacheDir: string;
  readonly #ownsCache: boolean;
  /** Results of a remote store downloaded to be served, by job id. */
  readonly #downloads = new Map<string, Promise<LocalBlob | undefined>>();
  readonly #waiters = new Map<string, Set<Waiter>>();
  readonly #recheck: NodeJS.Timeout;
  /** Enqueues under way (close waits for them). */
  readonly #admitting = new Set<Promise<unknown>>();
  #closing = false;
  /** Whether BullMQ's connection got ready: only then may the queue be closed (see close). */
  #queueReady = false;
  /** The last view of the cluster, for Retry-After (which is synchronous). */
  #lastLoad = { inFlight: 0, slots: 1, runMs: INITIAL_RUN_ESTIMATE_MS };

  constructor(options: RedisJobQueueOptions) {
    this.#url = options.url;
    this.#store = options.store;
    this.#checker = options.checker;
    this.#options = {
      maxQueued: options.maxQueued ?? 8,
      timeoutMs: options.timeoutMs ?? 120_000,
      videoTimeoutMs: options.videoTimeoutMs ?? 3_600_000,
      ttlMs: options.ttlMs ?? 900_000,
      attempts: options.attempts ?? DEFAULT_ATTEMPTS,
    };
    const namespace = options.namespace ?? DEFAULT_NAMESPACE;
    this.#redis = connectRedis(this.#url, 'commands', 'portoon-api');
    this.#subscriber = connectRedis(this.#url, 'subscriber', 'portoon-api-events');
    this.#records = new JobRecords(this.#redis, namespace);
    this.#queue = new Queue<QueuedJob>(namespace.name, {
      connection: this.#redis,
      prefix: namespace.prefix,
      streams: { events: { maxLen: EVENT_STREAM_LENGTH } },
    });
    this.#queue.on('error', () => undefined);
    void this.#queue.waitUntilReady().then(
      () => (this.#queueReady = true),
      () => undefined,
    );
    this.#subscriber.on('message', (_channel: string, id: string) => this.#settleWaiters(id));
    void subscribeWhenReady(this.#subscriber, this.#records.channel, this.#url).catch(() => undefined);
    // Also keeps the view of the cluster fresh, which Retry-After is computed from.
    this.#recheck = setInterval(() => {
      void this.#recheckWaiters();
      void this.counts().catch(() => undefined);
    }, WAIT_RECHECK_MS);
    this.#recheck.unref();
    this.#ownsCache = options.cacheDir === undefined;
    this.#cacheDir = options.cacheDir ?? mkdtempSync(join(tmpdir(), 'portoon-results-'));
  }

  /** The job records, for the sweeper and for health checks. */
  get records(): JobRecords {
    return this.#records;
  }

  /** Proves Redis answers now. @throws PortoonError E_QUEUE_UNAVAILABLE */
  async ping(): Promise<void> {
    await this.#call(() => this.#redis.ping());
  }

  async enqueue(input: JobInput, request: CartoonizeRequest, meta: JobMeta = {}): Promise<JobStatus> {
    const video = input instanceof Uint8Array ? undefined : input;
    const work = this.#enqueue(input, request, meta).catch(async (error: unknown) => {
      // A video's file was handed over: whatever happened, it is not left behind.
      if (video) rmSync(video.file, { force: true });
      throw error;
    });
    this.#admitting.add(work);
    try {
      return await work;
    } finally {
      this.#admitting.delete(work);
    }
  }

  async #enqueue(input: JobInput, request: CartoonizeRequest, meta: JobMeta): Promise<JobStatus> {
    if (this.#closing)
      throw new PortoonError('E_CLOSED', 'The service is shutting down and accepts no new work; retry on another instance');
    this.#checker.check(request);
    const video = input instanceof Uint8Array ? undefined : input;
    const status = acceptedStatus(randomUUID(), video ? 'video' : 'image', request, meta);
    // The place in line is taken (atomically, for every API node) before the payload is stored, so two
    // uploads cannot both pass the check; the record exists before a worker can see the job.
    const admission = await this.#call(() => this.#records.admit(status, this.#options.maxQueued));
    this.#lastLoad = { ...this.#lastLoad, inFlight: admission.inFlight + 1, slots: Math.max(1, admission.slots) };
    if (!admission.accepted) {
      // The hint is worth a fresh look at the workers and their run times.
      await this.counts().catch(() => undefined);
      const retryAfter = this.retryAfterSeconds();
      throw new PortoonError('E_QUEUE_FULL', `The service is busy (${admission.inFlight} jobs in progress); retry in ${retryAfter} s`, {
        details: { retryAfter },
      });
    }
    const key = inputKey(status.id);
    try {
      if (video) await this.#store.putFile(key, video.file, { move: true });
      else await this.#store.putBytes(key, input as Uint8Array);
      const data: QueuedJob = {
        id: status.id,
        kind: status.kind,
        request,
        input: key,
        ...(video ? { video: video.params, info: video.info } : {}),
        timeoutMs: video ? this.#options.videoTimeoutMs : this.#options.timeoutMs,
        ttlMs: this.#options.ttlMs,
      };
      await this.#call(() =>
        this.#queue.add(status.kind, data, {
          jobId: status.id,
          attempts: this.#options.attempts,
          backoff: { type: 'exponential', delay: 1000 },
          // The job records keep what clients see; BullMQ's copies would only fill Redis.
          removeOnComplete: true,
          removeOnFail: true,
        }),
      );
    } catch (error) {
      // Not accepted after all: the place in line and the stored payload are given back.
      await this.#records.remove(status.id).catch(() => undefined);
      await this.#store.delete(key).catch(() => undefined);
      throw error;
    }
    return status;
  }

  async status(id: string): Promise<JobStatus | undefined> {
    return (await this.#record(id))?.status;
  }

  async result(id: string): Promise<JobResult | undefined> {
    const record = await this.#record(id);
    if (record?.state !== 'completed' || !record.result) return undefined;
    const stored = record.result;
    let download = this.#downloads.get(id);
    if (!download) {
      download = this.#store.localCopy(stored.key, this.#cacheDir);
      this.#downloads.set(id, download);
      download.catch(() => this.#downloads.delete(id));
    }
    const local = await download;
    if (!local) return undefined;
    return {
      file: local.path,
      mediaType: stored.mediaType,
      size: stored.size,
      ...(record.status.report ? { report: record.status.report } : {}),
      ...(record.status.video ? { video: record.status.video } : {}),
    };
  }

  async wait(id: string, signal?: AbortSignal): Promise<JobStatus> {
    signal?.throwIfAborted();
    // Listen first, then look: a job finishing in between is not missed.
    let waiter!: Waiter;
    const finished = new Promise<void>((resolve) => {
      waiter = { id, settle: resolve };
    });
    this.#addWaiter(waiter);
    try {
      const first = await this.#record(id);
      if (!first) throw new PortoonError('E_JOB_NOT_FOUND', `No job ${id} (it never existed or has expired)`);
      if (isFinished(first.state)) return first.status;
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => reject(signal?.reason);
        // The signal may have aborted while the record was read.
        if (signal?.aborted) return onAbort();
        signal?.addEventListener('abort', onAbort, { once: true });
        void finished.then(() => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        });
      });
      const last = await this.#record(id);
      if (!last) throw new PortoonError('E_JOB_NOT_FOUND', `No job ${id} (it was removed or has expired)`);
      return last.status;
    } finally {
      this.#removeWaiter(waiter);
    }
  }

  async cancel(id: string): Promise<JobStatus | undefined> {
    const record = await this.#record(id);
    if (!record) return undefined;
    if (isFinished(record.state)) return record.status;
    const status = structuredClone(record.status);
    finishStatus(status, 'cancelled', this.#options.ttlMs);
    // Whoever runs it hears of it through the finish announcement and stops at its next model run.
    if (await this.#call(() => this.#records.finish(status, this.#options.ttlMs))) {
      await this.#queue.remove(id).catch(() => undefined);
      await this.#store.delete(inputKey(id)).catch(() => undefined);
      return status;
    }
    return (await this.#record(id))?.status;
  }

  async remove(id: string): Promise<void> {
    const record = await this.#record(id, { evenExpired: true });
    if (!record) return;
    if (!isFinished(record.state)) await this.cancel(id);
    await this.#call(() => this.#records.remove(id));
    await this.#forgetDownload(id);
    await Promise.all([this.#store.delete(inputKey(id)), record.result ? this.#store.delete(record.result.key) : undefined]);
  }

  async counts(): Promise<QueueCounts> {
    const [counts, workers, runMs] = await this.#call(() =>
      Promise.all([this.#records.counts(), this.#records.workers(), this.#records.runEstimateMs()]),
    );
    const slots = workers.reduce((sum, worker) => sum + worker.slots, 0);
    this.#lastLoad = { inFlight: counts.queued + counts.running, slots: Math.max(1, slots), runMs: runMs ?? this.#lastLoad.runMs };
    return counts;
  }

  retryAfterSeconds(): number {
    const { inFlight, slots, runMs } = this.#lastLoad;
    const seconds = Math.ceil((runMs * Math.max(1, inFlight)) / slots / 1000);
    return Math.min(120, Math.max(1, seconds));
  }

  /** Stops accepting jobs; accepted ones stay queued in Redis for the workers, and any node answers for them. */
  async close(_graceMs?: number): Promise<void> {
    this.#closing = true;
    await Promise.allSettled([...this.#admitting]);
    clearInterval(this.#recheck);
    for (const waiters of this.#waiters.values()) for (const waiter of waiters) waiter.settle();
    await Promise.all([...this.#downloads.keys()].map((id) => this.#forgetDownload(id)));
    // BullMQ's close drops its connection's listeners; a connection still being set up (Redis never
    // reached) then fails with no listener, which crashes the process. Disconnecting is enough for it.
    if (this.#queueReady) await this.#queue.close().catch(() => undefined);
    this.#subscriber.disconnect();
    this.#redis.disconnect();
    if (this.#ownsCache) rmSync(this.#cacheDir, { recursive: true, force: true });
  }

  /** The job's record; a finished one past its expiry counts as gone (the sweeper may not have removed it yet). */
  async #record(id: string, { evenExpired = false } = {}): Promise<JobRecord | undefined> {
    const record = await this.#call(() => this.#records.get(id));
    if (!record || evenExpired) return record;
    const expiresAt = record.status.expiresAt;
    if (isFinished(record.state) && expiresAt !== undefined && Date.parse(expiresAt) <= Date.now()) {
      await this.#forgetDownload(id);
      return undefined;
    }
    return record;
  }

  async #forgetDownload(id: string): Promise<void> {
    const download = this.#downloads.get(id);
    this.#downloads.delete(id);
    await (await download?.catch(() => undefined))?.release();
  }

  #addWaiter(waiter: Waiter): void {
    let set = this.#waiters.get(waiter.id);
    if (!set) this.#waiters.set(waiter.id, (set = new Set()));
    set.add(waiter);
  }

  #removeWaiter(waiter: Waiter): void {
    const set = this.#waiters.get(waiter.id);
    set?.delete(waiter);
    if (set?.size === 0) this.#waiters.delete(waiter.id);
  }

  #settleWaiters(id: string): void {
    for (const waiter of this.#waiters.get(id) ?? []) waiter.settle();
  }

  async #recheckWaiters(): Promise<void> {
    for (const id of [...this.#waiters.keys()]) {
      const record = await this.#records.get(id).catch(() => 'unreachable' as const);
      if (record === 'unreachable') return;
      if (!record || isFinished(record.state)) this.#settleWaiters(id);
    }
  }

  /** Runs a Redis operation, turning a connection failure into E_QUEUE_UNAVAILABLE. */
  async #call<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw queueUnavailable(error, this.#url);
    }
  }
}
