/**
 * Waiting for an observable event with a deadline. Tests order their steps by what the service
 * reports (a job's state, the queue's counts, a metric), never by sleeping for a while, and a wait
 * that cannot end fails with a message saying what was awaited and what was last seen, instead of
 * hanging until the test timeout.
 */
import type { FastifyInstance } from 'fastify';
import { isFinished, type JobState, type JobStatus } from '../../src/queue/job-queue.js';
import { sleep } from './http.js';

export interface WaitOptions {
  /** Give up (and fail) after this long. Default 30 s. */
  timeoutMs?: number;
  /** Pause between probes. Default 25 ms. */
  intervalMs?: number;
}

/**
 * Calls `probe` until `done(value)` holds, and returns that value. Throws when the deadline passes,
 * naming `what` and the last value seen. A probe that throws fails the wait at once.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T> | T,
  done: (value: T) => boolean,
  { timeoutMs = 30_000, intervalMs = 25 }: WaitOptions = {},
): Promise<T> {
  const started = performance.now();
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (performance.now() - started >= timeoutMs) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${JSON.stringify(value)}`);
    }
    await sleep(intervalMs);
  }
}

/** A job's status as `GET /api/v1/jobs/:id` answers it. */
export type JobStatusBody = JobStatus & { statusUrl: string; resultUrl: string };

/**
 * Polls `GET /api/v1/jobs/:id` until the job is in one of `states`. Fails at once when the job is
 * unknown (any answer but 200) or has finished in another state (it will never get there), and after
 * the deadline otherwise.
 */
export async function waitForJobState(
  app: FastifyInstance,
  id: string,
  states: readonly JobState[],
  options: WaitOptions = {},
): Promise<JobStatusBody> {
  const what = `job ${id} to be ${states.join(' or ')}`;
  return waitFor(
    what,
    async () => {
      const response = await app.inject(`/api/v1/jobs/${id}`);
      if (response.statusCode !== 200)
        throw new Error(`While waiting for ${what}: GET /api/v1/jobs/${id} answered ${response.statusCode} ${response.body}`);
      const status = response.json<JobStatusBody>();
      if (!states.includes(status.state) && isFinished(status.state)) {
        throw new Error(`While waiting for ${what}: the job finished as ${status.state} (${JSON.stringify(status.error ?? {})})`);
      }
      return status;
    },
    (status) => states.includes(status.state),
    options,
  );
}

/** Awaits `promise`, failing with a message naming `what` if it has not settled within `timeoutMs`. */
export async function within<T>(what: string, promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Polls a queue until the job is in `state` (and `check` holds). Fails at once when the job is unknown
 * or has finished in another state, and after the deadline otherwise.
 */
export function waitForQueuedJob(
  queue: { status(id: string): Promise<JobStatus | undefined> },
  id: string,
  state: JobState,
  { timeoutMs, check = () => true }: { timeoutMs: number; check?: (status: JobStatus) => boolean },
): Promise<JobStatus> {
  return waitFor(
    `job ${id} to be ${state}`,
    async () => {
      const status = await queue.status(id);
      if (!status) throw new Error(`job ${id} is unknown`);
      if (status.state !== state && isFinished(status.state)) throw new Error(`job ${id} finished as ${status.state}, not ${state}`);
      return status;
    },
    (status) => status.state === state && check(status),
    { timeoutMs, intervalMs: 10 },
  );
}
