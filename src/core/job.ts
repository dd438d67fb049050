/**
 * The state of one job as every queue backend keeps it and the service shows it (the web UI
 * compiles against these types).
 */
import type { SerializedError } from './errors.js';
import type { CartoonizeReport, Stage } from './report.js';
import type { VideoReport } from './video/types.js';

export const JOB_STATES = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** States a job never leaves. */
export function isFinished(state: JobState): boolean {
  return state === 'completed' || state === 'failed' || state === 'cancelled';
}

/** What a job makes: a still image, or a video. */
export type JobKind = 'image' | 'video';

/** Progress of a video job in frames. */
export interface FrameProgress {
  done: number;
  /** Expected frames (exact for constant-rate clips). */
  total: number;
  /** Frames per second so far. */
  fps: number;
}

export interface JobStatus {
  id: string;
  state: JobState;
  kind: JobKind;
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
  /** A video job's progress in frames (while it runs, and its final count). */
  frames?: FrameProgress;
  error?: Pick<SerializedError, 'code' | 'message'>;
  /** The report of a completed image job. */
  report?: CartoonizeReport;
  /** The report of a completed video job. */
  video?: VideoReport;
}

/** A job as the service shows it: without its owner, with the links to follow. */
export type PublicJobStatus = Omit<JobStatus, 'owner'> & { statusUrl: string; resultUrl: string };
