/**
 * The job queue seen by the HTTP service. Backends (in-process worker threads now, Redis later)
 * implement this interface and pass one conformance test suite (`test/queue/conformance.ts`). Jobs
 * hold their input and result as files (references), never as bytes in the queue's memory.
 */
import type { JobStatus } from '../core/job.js';
import type { CartoonizeReport } from '../core/report.js';
import type { CartoonizeRequest } from '../core/request.js';
import type { VideoInfo, VideoParams, VideoReport } from '../core/video/types.js';

export { isFinished, JOB_STATES, type JobKind, type JobState, type JobStatus } from '../core/job.js';

export interface JobMeta {
  filename?: string | undefined;
  /** Opaque id of the submitting API key (never the key itself). */
  owner?: string | undefined;
}

/**
 * A video to cartoonize. The queue takes the file over (moves it into its store) and removes it
 * when the job ends, whether it is accepted or refused.
 */
export interface VideoInput {
  kind: 'video';
  file: string;
  params: VideoParams;
  /** The clip's facts when the caller probed it already (the engine then does not probe it again). */
  info?: VideoInfo | undefined;
}

/** An encoded image's bytes (stored by the queue as a file until its turn), or a video file. */
export type JobInput = Uint8Array | VideoInput;

/** The result of a completed job: a file in the queue's store, valid until the job expires or is removed. */
export interface JobResult {
  file: string;
  /** MIME type of the file (image/png, video/mp4…). */
  mediaType: string;
  /** Bytes. */
  size: number;
  /** The report of an image job (absent for a video). */
  report?: CartoonizeReport;
  /** The report of a video job. */
  video?: VideoReport;
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
   * @param request validated at the caller's edge (`parseCartoonizeRequest`).
   * @throws PortoonError E_QUEUE_FULL (capacity reached), E_CLOSED (shutting down), and what the
   *   engine's check refuses (E_UNKNOWN_STYLE, E_MODEL_MISSING).
   */
  enqueue(input: JobInput, request: CartoonizeRequest, meta?: JobMeta): Promise<JobStatus>;
  /** Undefined for an unknown or expired job. */
  status(id: string): Promise<JobStatus | undefined>;
  /** The result of a completed job; undefined while it is not completed, or once it has expired. */
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
