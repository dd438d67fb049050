/**
 * What an API node hands a worker through BullMQ: references and parameters, never the image. The
 * payload sits in the blob store under `inputs/<job id>`; each run writes its result under a key of
 * its own (`results/<job id>-<run>`), so a run that lost a race can remove its file without touching
 * the result that counts.
 */
import type { CartoonizeRequest } from '../../core/request.js';
import type { VideoInfo, VideoParams } from '../../core/video/types.js';

/** Where one queue's keys live: `<prefix>:<name>:…`, the same prefix BullMQ is given. */
export interface QueueNamespace {
  /** Key prefix shared with BullMQ. Default "portoon". */
  prefix: string;
  /** The queue's name; deployments sharing one Redis use different names. */
  name: string;
}

export interface QueuedJob {
  id: string;
  kind: 'image' | 'video';
  request: CartoonizeRequest;
  /** Blob key of the input. */
  input: string;
  video?: VideoParams | undefined;
  /** The clip's facts, probed by the API node. */
  info?: VideoInfo | undefined;
  /** Longest the run may take once started, in ms (the accepting node's setting). */
  timeoutMs: number;
  /** How long the finished job and its result are kept, in ms. */
  ttlMs: number;
}

export const DEFAULT_NAMESPACE: QueueNamespace = { prefix: 'portoon', name: 'jobs' };

export function inputKey(id: string): string {
  return `inputs/${id}`;
}

export function resultKey(id: string, run: string): string {
  return `results/${id}-${run}`;
}

/** The job id a stored blob belongs to (for the sweeper's orphan scan), or undefined for a foreign key. */
export function jobIdOfKey(key: string): string | undefined {
  const match = /^(?:inputs\/([0-9a-f-]{36})|results\/([0-9a-f-]{36})-[\w-]+)$/.exec(key);
  return match?.[1] ?? match?.[2];
}

/** Runs of a job that failed for a reason another attempt may not have (see ERROR_TABLE's `retry`). */
export const DEFAULT_ATTEMPTS = 3;

/** How long after its expiry a finished job's record may linger in Redis if no sweeper removes it first. */
export const RECORD_GRACE_MS = 3_600_000;

/**
 * BullMQ's event stream is read by no node (the job records announce finished jobs): it is kept short,
 * trimmed (approximately, as Redis trims) to this many events.
 */
export const EVENT_STREAM_LENGTH = 1000;
