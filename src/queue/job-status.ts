/**
 * How every queue backend writes a job's status: the first status, progress by stage or by frame,
 * the completed status and the final one. One set of rules, so a job looks the same to clients
 * whichever backend runs it (the conformance suite checks that).
 */
import type { JobStatus } from '../core/job.js';
import { overallProgress, type Stage, type StageProgress } from '../core/report.js';
import type { CartoonizeRequest } from '../core/request.js';
import type { VideoProgress } from '../core/video/types.js';
import type { JobMeta, JobResult } from './job-queue.js';

export type FinalState = 'completed' | 'failed' | 'cancelled';

export const VIDEO_MEDIA_TYPES = { mp4: 'video/mp4', webm: 'video/webm', gif: 'image/gif' } as const;

/** The status of a job just accepted. */
export function acceptedStatus(
  id: string,
  kind: JobStatus['kind'],
  request: CartoonizeRequest,
  meta: JobMeta,
  now = Date.now(),
): JobStatus {
  return {
    id,
    state: 'queued',
    kind,
    style: request.style,
    ...(meta.filename ? { filename: meta.filename } : {}),
    ...(meta.owner ? { owner: meta.owner } : {}),
    progress: {},
    overall: 0,
    createdAt: new Date(now).toISOString(),
  };
}

/** Marks a job running (again, after a worker was lost: its progress starts over, its first start time stays). */
export function startedStatus(status: JobStatus, now = Date.now()): JobStatus {
  const restarted: JobStatus = {
    ...status,
    state: 'running',
    startedAt: status.startedAt ?? new Date(now).toISOString(),
    progress: {},
    overall: 0,
  };
  delete restarted.stage;
  delete restarted.frames;
  return restarted;
}

export function recordProgress(status: JobStatus, { stage, progress }: StageProgress): void {
  if (status.state !== 'running') return;
  status.stage = stage;
  status.progress[stage] = roundProgress(Math.max(status.progress[stage] ?? 0, progress));
  // Never backwards (the per-face steps interleave), and 1 only once the job has completed.
  status.overall = roundProgress(Math.min(0.99, Math.max(status.overall, overallProgress({ stage, progress }))));
}

export function recordFrames(status: JobStatus, { framesDone, framesTotal, fps }: VideoProgress): void {
  if (status.state !== 'running') return;
  status.frames = { done: framesDone, total: framesTotal, fps: roundProgress(fps) };
  status.overall = roundProgress(Math.min(0.99, Math.max(status.overall, framesDone / Math.max(1, framesTotal))));
}

/** Puts a finished run's report into the status (before it is marked completed). */
export function recordResult(status: JobStatus, result: Pick<JobResult, 'report' | 'video'>): void {
  if (result.report) {
    status.report = result.report;
    // The last progress messages from the worker may arrive after its result: every stage that ran is done.
    for (const stage of Object.keys(result.report.timings) as Stage[]) status.progress[stage] = 1;
  }
  if (result.video) {
    status.video = result.video;
    status.frames = { done: result.video.frames, total: result.video.frames, fps: status.frames?.fps ?? 0 };
  }
}

/** Marks a job final; it and its result are kept until `expiresAt`. */
export function finishStatus(status: JobStatus, state: FinalState, ttlMs: number, now = Date.now()): void {
  status.state = state;
  status.finishedAt = new Date(now).toISOString();
  status.expiresAt = new Date(now + ttlMs).toISOString();
  if (state === 'completed') status.overall = 1;
}

/** Progress is a fraction for people and progress bars: three decimals, not 0.32499999999999996. */
function roundProgress(value: number): number {
  return Math.round(value * 1000) / 1000;
}
