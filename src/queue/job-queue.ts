/**
 * The job queue seen by the HTTP service. Backends (in-process worker threads now, Redis later)
 * implement this interface and pass one conformance test suite (`test/queue/conformance.ts`).
 */
import type { JobStatus } from '../core/job.js';
import type { CartoonizeOutput } from '../core/report.js';
import type { CartoonizeRequest } from '../core/request.js';

export { isFinished, JOB_STATES, type JobState, type JobStatus } from '../core/job.js';

export interface JobMeta {
  filename?: string | undefined;
  /** Opaque id of the submitting API key (never the key itself). */
  owner?: string | undefined;
}

/** The image of a completed job with its report. */
export type JobResult = CartoonizeOutput;

export interface QueueCounts {
  queued: number;
  running: number;
  /** Finished jobs whose status and result are still kept. */
  finished: number;
}

export interface JobQueue {
  /**
   * Accepts a job, or refuses it at once.
   * @param request validated at the caller's edge (`parseCartoonizeRequest`).
   * @throws PortoonError E_QUEUE_FULL (capacity reached), E_CLOSED (shutting down), and what the
   *   engine's check refuses (E_UNKNOWN_STYLE, E_MODEL_MISSING).
   */
  enqueue(input: Uint8Array, request: CartoonizeRequest, meta?: JobMeta): Promise<JobStatus>;
  /** Undefined for an unknown or expired job. */
  status(id: string): Promise<JobStatus | undefined>;
  /** The image of a completed job; undefined while it is not completed, or once it has expired. */
  result(id: string): Promise<JobResult | undefined>;
  /**
   * Resolves with the final status once the job has finished (completed, failed or cancelled).
   * @throws PortoonError E_JOB_NOT_FOUND for an unknown job; the signal's reason when aborted.
   */
  wait(id: string, signal?: AbortSignal): Promise<JobStatus>;
  /** Cancels a queued or running job. Returns its status, or undefined for an unknown job. A finished job is left as it is. */
  cancel(id: string): Promise<JobStatus | undefined>;
  /** Forgets a job and its result now (e.g. after a synchronous request has delivered it). */
  remove(id: string): Promise<void>;
  counts(): Promise<QueueCounts>;
  /** Seconds a client should wait before retrying when the queue is full. */
  retryAfterSeconds(): number;
  /**
   * Stops accepting jobs and lets accepted ones finish; jobs still unfinished after `graceMs` are
   * cancelled. Resolves when nothing is running.
   */
  close(graceMs?: number): Promise<void>;
}
