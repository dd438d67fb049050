/**
 * A processing node: takes jobs from the cluster's queue (BullMQ) and runs them on an engine (the
 * worker-thread pool), as many at once as the engine has workers. The event loop only moves
 * references and progress; the images are decoded and stylized in worker threads, so BullMQ's job
 * locks are renewed on time however long a job runs, and a lock only lapses when the process is gone.
 *
 * Delivery is at least once: a worker killed mid-job leaves its lock to expire, and another worker's
 * stalled-job check puts the job back in line. A job completes once: its record is made final by one
 * atomic step, and each run writes its result under a key of its own, so a duplicate run's file is
 * removed instead of replacing the result that counts.
 */
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { CartoonEngine } from '../../core/engine-port.js';
import { PortoonError, toPortoonError } from '../../core/errors.js';
import { mimeTypeOf } from '../../core/formats.js';
import { isFinished, type JobStatus } from '../../core/job.js';
import type { BlobStore, LocalBlob } from '../blob/blob-store.js';
import { finishStatus, recordFrames, recordProgress, recordResult, startedStatus, VIDEO_MEDIA_TYPES } from '../job-status.js';
import type { JobResult } from '../job-queue.js';
import { connectRedis, subscribeWhenReady, untilConnected } from './connection.js';
import { DEFAULT_NAMESPACE, resultKey, type QueuedJob, type QueueNamespace } from './job-data.js';
import { JobRecords } from './job-records.js';

export interface QueueWorkerOptions {
  url: string;
  namespace?: QueueNamespace | undefined;
  store: BlobStore;
  engine: CartoonEngine;
  /** Models installed on this node, advertised to the API nodes (which styles the cluster can run). */
  models: () => string[];
  /**
   * How long a job's lock lasts without renewal, in ms: after it a job whose worker stopped renewing
   * (killed, or its machine gone) is run again elsewhere. The lock is renewed every half of it by the
   * event loop, which the engine never blocks, so it need not cover the longest job. Default 30 000.
   */
  lockDurationMs?: number;
  /** Times one job may lose its worker before it fails for good (a job that kills workers). Default 3. */
  maxStalls?: number;
  /** How often this node announces itself, in ms. Default 5000. */
  heartbeatMs?: number;
  /** Where inputs of a remote store are downloaded. Default: the system's temporary folder. */
  scratchDir?: string;
  /** Called when a job this node ran reaches a final state (metrics, logs). */
  onFinished?: (status: JobStatus, runMs: number) => void;
  /** Called when this node's stalled-job check puts back a job whose worker was lost. */
  onStalled?: (jobId: string) => void;
  /** Called when a run fails and the job goes back in line for another attempt. */
  onRetry?: (jobId: string, error: PortoonError) => void;
}

interface ActiveRun {
  controller: AbortController;
  /** Set when this node stops past its grace period: the job goes back in line, not to failed. */
  handedBack: boolean;
}

const INITIAL_RUN_ESTIMATE_MS = 5000;

export class QueueWorker {
  readonly id = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  readonly #options: QueueWorkerOptions;
  readonly #store: BlobStore;
  readonly #engine: CartoonEngine;
  readonly #redis: Redis;
  /** The BullMQ worker's own connection: BullMQ leaves a connection it was handed open on close. */
  readonly #jobsRedis: Redis;
  readonly #subscriber: Redis;
  readonly #records: JobRecords;
  readonly #worker: Worker<QueuedJob>;
  readonly #active = new Map<string, ActiveRun>();
  readonly #heartbeatMs: number;
  #heartbeat: NodeJS.Timeout | undefined;
  #runEstimateMs = INITIAL_RUN_ESTIMATE_MS;
  #closing: Promise<void> | undefined;
  /** Whether this node announced itself (start got through to Redis). */
  #announced = false;

  constructor(options: QueueWorkerOptions) {
    this.#options = options;
    this.#store = options.store;
    this.#engine = options.engine;
    this.#heartbeatMs = options.heartbeatMs ?? 5000;
    const namespace = options.namespace ?? DEFAULT_NAMESPACE;
    this.#redis = connectRedis(options.url, 'worker', 'portoon-worker');
    this.#subscriber = connectRedis(options.url, 'subscriber', 'portoon-worker-events');
    this.#records = new JobRecords(this.#redis, namespace);
    const lockDuration = options.lockDurationMs ?? 30_000;
    this.#jobsRedis = connectRedis(options.url, 'worker', 'portoon-worker-jobs');
    this.#worker = new Worker<QueuedJob>(namespace.name, (job, token) => this.#process(job, token), {
      connection: this.#jobsRedis,
      prefix: namespace.prefix,
      concurrency: this.#engine.workers,
      lockDuration,
      stalledInterval: Math.max(500, Math.round(lockDuration / 2)),
      maxStalledCount: options.maxStalls ?? 3,
      autorun: false,
    });
    this.#worker.on('error', () => undefined);
    this.#worker.on('stalled', (jobId) => options.onStalled?.(jobId));
    this.#subscriber.on('message', (_channel: string, id: string) => this.#onFinishAnnounced(id));
  }

  get records(): JobRecords {
    return this.#records;
  }

  /** Jobs running on this node now. */
  get running(): number {
    return this.#active.size;
  }

  /** Connects, announces this node, and starts taking jobs. */
  async start(): Promise<void> {
    await untilConnected(this.#redis, this.#options.url);
    await subscribeWhenReady(this.#subscriber, this.#records.channel, this.#options.url);
    await this.#announce();
    this.#announced = true;
    this.#heartbeat = setInterval(() => void this.#announce().catch(() => undefined), this.#heartbeatMs);
    this.#heartbeat.unref();
    void this.#worker.run().catch(() => undefined);
    await this.#worker.waitUntilReady();
  }

  /**
   * Stops taking jobs and lets running ones finish; those still running after `graceMs` are stopped
   * and put back in line for another worker (nothing is lost, nothing fails because of it).
   */
  close(graceMs = 30_000): Promise<void> {
    this.#closing ??= this.#close(graceMs);
    return this.#closing;
  }

  async #close(graceMs: number): Promise<void> {
    clearInterval(this.#heartbeat);
    // New jobs first: this node's slots no longer count for admission. (A node that never reached
    // Redis has nothing to take back, and its commands would wait for a connection for ever.)
    if (this.#announced) await this.#records.unregisterWorker(this.id).catch(() => undefined);
    const grace = setTimeout(() => {
      const reason = new PortoonError('E_CLOSED', 'The worker shut down; the job goes back in line');
      for (const run of this.#active.values()) {
        run.handedBack = true;
        run.controller.abort(reason);
      }
    }, graceMs);
    await this.#worker.close();
    clearTimeout(grace);
    this.#subscriber.disconnect();
    this.#redis.disconnect();
    this.#jobsRedis.disconnect();
  }

  async #announce(): Promise<void> {
    const now = Date.now();
    await this.#records.registerWorker({
      id: this.id,
      host: hostname(),
      pid: process.pid,
      slots: this.#engine.workers,
      models: this.#options.models(),
      expiresAt: now + 3 * this.#heartbeatMs,
    });
  }

  /** Another node finished a job this node runs (a client cancelled it): stop the run. */
  #onFinishAnnounced(id: string): void {
    const run = this.#active.get(id);
    if (run && !run.controller.signal.aborted) run.controller.abort(new PortoonError('E_CLOSED', 'The job was cancelled'));
  }

  async #process(job: Job<QueuedJob>, token: string | undefined): Promise<void> {
    const data = job.data;
    const record = await this.#records.get(data.id);
    // Removed, expired, or cancelled while it waited: nothing to do.
    if (!record || isFinished(record.state)) return;
    const run = randomUUID().slice(0, 8);
    const owner = `${this.id}:${run}`;
    const status = startedStatus(record.status);
    // Listening for a cancellation before the job is marked running: one announced in between stops the run.
    const active: ActiveRun = { controller: new AbortController(), handedBack: false };
    this.#active.set(data.id, active);
    if ((await this.#records.start(status, record.state, owner).catch(forget(this.#active, data.id))) !== 'ok') {
      this.#active.delete(data.id);
      return;
    }
    const started = performance.now();
    const limitMs = data.timeoutMs;
    const timeout = setTimeout(() => {
      const hint = data.kind === 'video' ? 'send a shorter clip (duration) or a smaller one (maxSide)' : 'try a smaller image (maxSide)';
      active.controller.abort(new PortoonError('E_TIMEOUT', `Processing took longer than ${limitMs / 1000} s; ${hint}`));
    }, limitMs);
    const progress = new ProgressWriter(this.#records, status, owner);
    let input: LocalBlob | undefined;
    const output = this.#store.scratchPath(data.kind === 'video' ? `.${data.video?.format ?? 'mp4'}` : '');
    try {
      input = await this.#store.localCopy(data.input, this.#options.scratchDir ?? tmpdir());
      if (!input) throw new PortoonError('E_INTERNAL', 'The job’s input is no longer in the store');
      const result = await this.#run(data, input.path, output, active.controller.signal, progress);
      const key = resultKey(data.id, run);
      const size = await this.#store.putFile(key, output, { move: true });
      await progress.flush();
      recordResult(status, result);
      finishStatus(status, 'completed', data.ttlMs);
      const runMs = performance.now() - started;
      if (await this.#records.finish(status, data.ttlMs, { key, mediaType: result.mediaType, size })) {
        await this.#store.delete(data.input).catch(() => undefined);
        this.#runEstimateMs = 0.7 * this.#runEstimateMs + 0.3 * runMs;
        await this.#records.setRunEstimateMs(this.#runEstimateMs).catch(() => undefined);
        this.#options.onFinished?.(status, runMs);
      } else {
        // Cancelled meanwhile, or completed by another run of the same job: this file is nobody's.
        await this.#store.delete(key);
      }
    } catch (caught) {
      await progress.flush();
      const error = toPortoonError(active.controller.signal.aborted ? (active.controller.signal.reason ?? caught) : caught);
      await this.#failed(job, token, status, error, active, performance.now() - started);
    } finally {
      clearTimeout(timeout);
      this.#active.delete(data.id);
      await input?.release();
      // Left only when the run failed before its result was stored.
      await rm(output, { force: true });
    }
  }

  async #run(
    data: QueuedJob,
    input: string,
    output: string,
    signal: AbortSignal,
    progress: ProgressWriter,
  ): Promise<Omit<JobResult, 'size' | 'file'>> {
    if (data.kind === 'video') {
      const report = await this.#engine.runVideo({ path: input }, { path: output }, data.request, data.video ?? {}, {
        signal,
        info: data.info,
        onProgress: (frames) => progress.update((status) => recordFrames(status, frames)),
      });
      return { mediaType: VIDEO_MEDIA_TYPES[report.format], video: report };
    }
    const report = await this.#engine.runFile({ path: input }, { path: output }, data.request, {
      signal,
      onProgress: (stage) => progress.update((status) => recordProgress(status, stage)),
    });
    return { mediaType: mimeTypeOf(report.format), report };
  }

  /**
   * A run that did not complete. Cancelled by a client: nothing to record. Stopped because this node
   * shuts down: back in line. Failed for a reason another run may not have (ERROR_TABLE's `retry`)
   * with attempts left: back in line for BullMQ to retry. Otherwise the job fails for good.
   */
  async #failed(
    job: Job<QueuedJob>,
    token: string | undefined,
    status: JobStatus,
    error: PortoonError,
    active: ActiveRun,
    runMs: number,
  ): Promise<never> {
    const current = await this.#records.get(job.data.id);
    if (!current || isFinished(current.state)) throw new UnrecoverableError('The job was cancelled');
    const queued = { ...startedStatus(status), state: 'queued' as const };
    if (active.handedBack) {
      await this.#records.requeue(queued);
      await job.moveToWait(token);
      throw new WaitingError();
    }
    const attemptsLeft = (job.opts.attempts ?? 1) - job.attemptsMade - 1;
    if (error.retryable && attemptsLeft > 0) {
      await this.#records.requeue(queued);
      this.#options.onRetry?.(job.data.id, error);
      throw error;
    }
    const failed = structuredClone(status);
    failed.error = { code: error.code, message: error.message };
    finishStatus(failed, 'failed', job.data.ttlMs);
    if (await this.#records.finish(failed, job.data.ttlMs)) {
      await this.#store.delete(job.data.input).catch(() => undefined);
      this.#options.onFinished?.(failed, runMs);
    }
    throw new UnrecoverableError(`${error.code}: ${error.message}`);
  }
}

/**
 * Writes a running job's progress to its record, latest first: while one write is under way, newer
 * progress replaces the pending one, so a video's per-frame messages never queue up behind Redis.
 */
class ProgressWriter {
  readonly #records: JobRecords;
  readonly #status: JobStatus;
  readonly #owner: string;
  #writing: Promise<void> | undefined;
  #dirty = false;

  constructor(records: JobRecords, status: JobStatus, owner: string) {
    this.#records = records;
    this.#status = status;
    this.#owner = owner;
  }

  update(change: (status: JobStatus) => void): void {
    change(this.#status);
    this.#dirty = true;
    this.#writing ??= this.#drain();
  }

  /** Resolves once the last progress is written. */
  async flush(): Promise<void> {
    await this.#writing;
  }

  async #drain(): Promise<void> {
    while (this.#dirty) {
      this.#dirty = false;
      await this.#records.progress(this.#status, this.#owner).catch(() => undefined);
    }
    this.#writing = undefined;
  }
}

/** Removes a run's entry when marking it started failed, then rethrows. */
function forget(active: Map<string, ActiveRun>, id: string): (error: unknown) => never {
  return (error) => {
    active.delete(id);
    throw error;
  };
}
