/**
 * The job queue seen by the HTTP service. Backends (in-process worker threads now, Redis later)
 * implement this interface and pass one conformance test suite (`test/queue/conformance.ts`).
 */
import type { SerializedError } from '../core/errors.js';
import type { Stage } from '../core/pipeline.js';
import type { CartoonizeReport, CartoonizeRequest } from '../node/engine.js';

export const JOB_STATES = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** States a job never leaves. */
export function isFinished(state: JobState): boolean {
  return state === 'completed' || state === 'failed' || state === 'cancelled';
}

export interface JobStatus {
  id: string;
  state: JobState;
  style: string;
  /** The uploaded file's name, when known (names the download). */
  filename?: string;
  /** Opaque id of the API key that submitted the job; only that key may see it. Absent on open services. */
  owner?: string;
  /** The stage running now (absent before the first stage starts). */
  stage?: Stage;
  /** Progress 0..1 of every stage that has started. */
  progress: Partial<Record<Stage, number>>;
  /** Rough overall progress 0..1 (1 once completed). */
  overall: number;
  /** ISO 8601 times. */
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** When a finished job and its result are forgotten. */
  expiresAt?: string;
  error?: Pick<SerializedError, 'code' | 'message'>;
  report?: CartoonizeReport;
}

export interface JobMeta {
  filename?: string | undefined;
  /** Opaque id of the submitting API key (never the key itself). */
  owner?: string | undefined;
}

export interface JobResult {
  image: Uint8Array;
  report: CartoonizeReport;
}

export interface QueueCounts {
  queued: number;
  running: number;
  /** Finished jobs whose status and result are still kept. */
  finished: number;
}

export interface JobQueue {
  /**
   * Accepts a job, or refuses it at once.
   * @throws PortoonError E_QUEUE_FULL (capacity reached), E_CLOSED (shutting down), and the
   *   request's own validation errors (E_BAD_OPTION, E_UNKNOWN_STYLE, E_MODEL_MISSING).
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
