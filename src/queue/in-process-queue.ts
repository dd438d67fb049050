/**
 * The default job queue: jobs wait in this process and run on an engine (any implementation of the
 * engine port; the service's runs on worker threads, so the event loop only does bookkeeping).
 * Inputs and results live as files in a store and pass to the engine by reference. Capacity is
 * bounded (running + waiting); beyond it a job is refused at once with E_QUEUE_FULL rather than
 * piling up latency.
 */
import { randomUUID } from 'node:crypto';
import { PortoonError, toPortoonError } from '../core/errors.js';
import type { CartoonEngine } from '../core/engine-port.js';
import { isFinished, type JobStatus } from '../core/job.js';
import type { CartoonizeRequest } from '../core/request.js';
import type { VideoInfo, VideoParams } from '../core/video/types.js';
import { mimeTypeOf } from '../core/formats.js';
import { FileStore } from './file-store.js';
import type { JobInput, JobMeta, JobQueue, JobResult, QueueCounts } from './job-queue.js';
import {
  acceptedStatus,
  finishStatus,
  recordFrames,
  recordProgress,
  recordResult,
  startedStatus,
  VIDEO_MEDIA_TYPES,
} from './job-status.js';

export interface InProcessQueueOptions {
  /** Jobs that may wait for a free worker, beyond those running. Default 8. */
  maxQueued?: number;
  /** Longest an image job may run once started, in ms; then it fails with E_TIMEOUT. Default 120 000. */
  timeoutMs?: number;
  /** Longest a video job may run once started, in ms. Default 3 600 000 (one hour). */
  videoTimeoutMs?: number;
  /** Where inputs and results are kept. Default: a private temporary folder, removed on close. */
  store?: FileStore;
  /** How long a finished job's status and result are kept, in ms. Default 900 000 (15 min). */
  ttlMs?: number;
  /** Most finished jobs kept at once; the oldest are forgotten first. Default 256. */
  maxFinished?: number;
  /** Most bytes of finished results kept at once (on disk); the oldest are forgotten first. Default 512 MiB. */
  maxResultBytes?: number;
  /** Called once when a job reaches a final state (metrics, logs). */
  onFinished?: (status: JobStatus, runMs: number) => void;
}

interface Job {
  status: JobStatus;
  /** The input file in the store, until the job ends. */
  input: string | undefined;
  /** Video options, for a video job. */
  video: VideoParams | undefined;
  /** The clip's facts, when the caller probed it already. */
  videoInfo: VideoInfo | undefined;
  request: CartoonizeRequest;
  result: JobResult | undefined;
  controller: AbortController;
  /** Resolves when the job reaches a final state (waiters are released then). */
  done: Promise<void>;
  markDone: () => void;
  /** Resolves when no worker is busy with the job any more (may be later than `done` after a timeout or cancel). */
  settled: Promise<void> | undefined;
  expiry: NodeJS.Timeout | undefined;
}

/** A first guess for the Retry-After estimate, refined by measured run times. */
const INITIAL_RUN_ESTIMATE_MS = 5000;

export class InProcessQueue implements JobQueue {
  readonly #engine: CartoonEngine;
  readonly #options: Readonly<Required<Omit<InProcessQueueOptions, 'onFinished' | 'store'>>>;
  readonly #store: FileStore;
  readonly #ownsStore: boolean;
  /** Jobs past the capacity check whose input is still being stored (they count as waiting). */
  #admitting = 0;
  readonly #onFinished: InProcessQueueOptions['onFinished'];
  readonly #jobs = new Map<string, Job>();
  readonly #waiting: Job[] = [];
  #running = 0;
  #closing = false;
  /** Exponentially weighted mean run time, for Retry-After. */
  #runEstimateMs = INITIAL_RUN_ESTIMATE_MS;

  constructor(engine: CartoonEngine, options: InProcessQueueOptions = {}) {
    this.#engine = engine;
    this.#options = Object.freeze({
      maxQueued: options.maxQueued ?? 8,
      timeoutMs: options.timeoutMs ?? 120_000,
      videoTimeoutMs: options.videoTimeoutMs ?? 3_600_000,
      ttlMs: options.ttlMs ?? 900_000,
      maxFinished: options.maxFinished ?? 256,
      maxResultBytes: options.maxResultBytes ?? 512 * 1024 * 1024,
    });
    this.#onFinished = options.onFinished;
    this.#store = options.store ?? new FileStore();
    this.#ownsStore = options.store === undefined;
  }

  async enqueue(input: JobInput, request: CartoonizeRequest, meta: JobMeta = {}): Promise<JobStatus> {
    const video = input instanceof Uint8Array ? undefined : input;
    try {
      this.#admit(request);
    } catch (error) {
      // A refused video's file was handed over all the same: it goes now.
      await this.#store.remove(video?.file);
      throw error;
    }
    // The slot is taken before the input is stored, so two uploads cannot both pass the check above.
    this.#admitting += 1;
    let file: string;
    try {
      file = video ? await this.#store.adopt(video.file) : await this.#store.put(input as Uint8Array);
    } finally {
      this.#admitting -= 1;
    }
    let markDone!: () => void;
    const done = new Promise<void>((resolve) => (markDone = resolve));
    const job: Job = {
      status: acceptedStatus(randomUUID(), video ? 'video' : 'image', request, meta),
      input: file,
      video: video?.params,
      videoInfo: video?.info,
      request,
      result: undefined,
      controller: new AbortController(),
      done,
      markDone,
      settled: undefined,
      expiry: undefined,
    };
    this.#jobs.set(job.status.id, job);
    this.#waiting.push(job);
    this.#dispatch();
    return snapshot(job);
  }

  /** Refuses a job the queue cannot take now: shutting down, a request the engine cannot run, no room. */
  #admit(request: CartoonizeRequest): void {
    if (this.#closing)
      throw new PortoonError('E_CLOSED', 'The service is shutting down and accepts no new work; retry on another instance');
    this.#engine.check(request);
    if (this.#running >= this.#engine.workers && this.#waiting.length + this.#admitting >= this.#options.maxQueued) {
      const retryAfter = this.retryAfterSeconds();
      throw new PortoonError(
        'E_QUEUE_FULL',
        `The server is busy (${this.#running + this.#waiting.length} jobs in progress); retry in ${retryAfter} s`,
        { details: { retryAfter } },
      );
    }
  }

  async status(id: string): Promise<JobStatus | undefined> {
    const job = this.#jobs.get(id);
    return job ? snapshot(job) : undefined;
  }

  async result(id: string): Promise<JobResult | undefined> {
    return this.#jobs.get(id)?.result;
  }

  async wait(id: string, signal?: AbortSignal): Promise<JobStatus> {
    const job = this.#jobs.get(id);
    if (!job) throw new PortoonError('E_JOB_NOT_FOUND', `No job ${id} (it never existed or has expired)`);
    if (!isFinished(job.status.state)) {
      signal?.throwIfAborted();
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => reject(signal?.reason);
        signal?.addEventListener('abort', onAbort, { once: true });
        void job.done.then(() => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        });
      });
    }
    return snapshot(job);
  }

  async cancel(id: string): Promise<JobStatus | undefined> {
    const job = this.#jobs.get(id);
    if (!job) return undefined;
    this.#stop(job, 'cancelled', new PortoonError('E_CLOSED', 'The job was cancelled'));
    return snapshot(job);
  }

  async remove(id: string): Promise<void> {
    const job = this.#jobs.get(id);
    if (!job) return;
    if (!isFinished(job.status.state)) await this.cancel(id);
    await this.#forget(job);
  }

  async counts(): Promise<QueueCounts> {
    return { queued: this.#waiting.length, running: this.#running, finished: this.#jobs.size - this.#waiting.length - this.#running };
  }

  retryAfterSeconds(): number {
    const backlog = this.#waiting.length + this.#running;
    const seconds = Math.ceil((this.#runEstimateMs * Math.max(1, backlog)) / this.#engine.workers / 1000);
    return Math.min(120, Math.max(1, seconds));
  }

  async close(graceMs = 30_000): Promise<void> {
    this.#closing = true;
    const unfinished = [...this.#jobs.values()].filter((job) => !isFinished(job.status.state));
    // Past the grace period the rest is stopped. That is not the client's cancellation: the job fails
    // with E_CLOSED (503), so waiting requests and pollers learn to send it again elsewhere.
    const grace = setTimeout(() => {
      const error = new PortoonError('E_CLOSED', 'The service shut down before this image was finished; send it again');
      for (const job of unfinished) this.#stop(job, 'failed', error);
    }, graceMs);
    await Promise.all(unfinished.map((job) => job.done));
    clearTimeout(grace);
    // Cancelled jobs are final at once, but their workers stop only at the next model run.
    await Promise.all(unfinished.map((job) => job.settled));
    for (const job of this.#jobs.values()) clearTimeout(job.expiry);
    if (this.#ownsStore) await this.#store.close();
  }

  /**
   * Ends an unfinished job now: cancelled by its client, or failed with `error` (timeout, shutdown).
   * A waiting job leaves the line; a running one stops at its worker's next model run, and its worker
   * slot is released when the worker has actually stopped. The job is final for everyone at once.
   */
  #stop(job: Job, state: 'cancelled' | 'failed', error: PortoonError, runMs = 0): void {
    if (isFinished(job.status.state)) return;
    const waitingAt = this.#waiting.indexOf(job);
    if (waitingAt >= 0) this.#waiting.splice(waitingAt, 1);
    job.controller.abort(error);
    if (state === 'failed') job.status.error = { code: error.code, message: error.message };
    this.#finish(job, state, runMs);
  }

  #dispatch(): void {
    while (this.#running < this.#engine.workers && this.#waiting.length > 0) {
      const job = this.#waiting.shift()!;
      this.#running += 1;
      this.#run(job);
    }
  }

  #run(job: Job): void {
    const started = performance.now();
    const elapsed = (): number => performance.now() - started;
    job.status = startedStatus(job.status);
    const video = job.video;
    const limitMs = video ? this.#options.videoTimeoutMs : this.#options.timeoutMs;
    const timeout = setTimeout(() => {
      const hint = video ? 'send a shorter clip (duration) or a smaller one (maxSide)' : 'try a smaller image (maxSide)';
      this.#stop(job, 'failed', new PortoonError('E_TIMEOUT', `Processing took longer than ${limitMs / 1000} s; ${hint}`), elapsed());
    }, limitMs);
    const input = { path: job.input! };
    const output = { path: this.#store.newPath(video ? `.${video.format ?? 'mp4'}` : '') };
    const signal = job.controller.signal;
    const work: Promise<Omit<JobResult, 'size'>> = video
      ? this.#engine
          .runVideo(input, output, job.request, video, {
            signal,
            info: job.videoInfo,
            onProgress: (progress) => recordFrames(job.status, progress),
          })
          .then((report) => ({ file: output.path, mediaType: VIDEO_MEDIA_TYPES[report.format], video: report }))
      : this.#engine
          .runFile(input, output, job.request, { signal, onProgress: (progress) => recordProgress(job.status, progress) })
          .then((report) => ({ file: output.path, mediaType: mimeTypeOf(report.format), report }));
    job.settled = work
      .then(async (result) => ({ ...result, size: await this.#store.size(result.file) }))
      .then(
        (result) => {
          // Timed out or cancelled meanwhile: nobody will ask for the file.
          if (isFinished(job.status.state)) return this.#store.remove(result.file);
          job.result = result;
          recordResult(job.status, result);
          this.#finish(job, 'completed', elapsed());
          return undefined;
        },
        (error: unknown) => {
          // Timed out or cancelled jobs were finished when that happened.
          if (isFinished(job.status.state)) return;
          const { code, message } = toPortoonError(error);
          job.status.error = { code, message };
          this.#finish(job, 'failed', elapsed());
        },
      )
      .finally(() => {
        clearTimeout(timeout);
        this.#running -= 1;
        this.#dispatch();
      });
  }

  #finish(job: Job, state: 'completed' | 'failed' | 'cancelled', runMs: number): void {
    if (isFinished(job.status.state)) return;
    finishStatus(job.status, state, this.#options.ttlMs);
    void this.#store.remove(job.input);
    job.input = undefined;
    if (state === 'completed') this.#runEstimateMs = 0.7 * this.#runEstimateMs + 0.3 * runMs;
    job.expiry = setTimeout(() => void this.#forget(job), this.#options.ttlMs);
    job.expiry.unref();
    this.#evictOldFinished();
    this.#onFinished?.(snapshot(job), runMs);
    job.markDone();
  }

  /** Keeps finished jobs within the count and memory budgets, forgetting the oldest first (never the newest). */
  #evictOldFinished(): void {
    const finished = [...this.#jobs.values()].filter((job) => isFinished(job.status.state));
    let bytes = finished.reduce((sum, job) => sum + (job.result?.size ?? 0), 0);
    let count = finished.length;
    for (const oldest of finished.slice(0, -1)) {
      if (count <= this.#options.maxFinished && bytes <= this.#options.maxResultBytes) break;
      bytes -= oldest.result?.size ?? 0;
      count -= 1;
      void this.#forget(oldest);
    }
  }

  /** Forgets a job now; its result file goes too (the promise says when it is gone). */
  #forget(job: Job): Promise<void> {
    clearTimeout(job.expiry);
    const file = job.result?.file;
    job.result = undefined;
    this.#jobs.delete(job.status.id);
    return this.#store.remove(file);
  }
}

/** A copy callers may keep or serialize without seeing later changes. */
function snapshot(job: Job): JobStatus {
  return structuredClone(job.status);
}
