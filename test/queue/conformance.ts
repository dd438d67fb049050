/**
 * The job-queue conformance suite. Every backend (in-process now, Redis later) runs exactly these
 * tests through its own factory: same inputs, same states, same errors.
 */
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PortoonError } from '../../src/core/errors.js';
import { isFinished, type JobQueue, type JobState, type JobStatus } from '../../src/queue/job-queue.js';
import { portrait } from '../helpers/env.js';
import { waitFor } from '../helpers/wait.js';

export interface ConformanceOptions {
  /** Jobs that may wait beyond the running ones. */
  maxQueued: number;
  timeoutMs: number;
  ttlMs: number;
}

export interface QueueBackend {
  /** Images processed at the same time by this backend's workers (the suite assumes 1). */
  create(options: ConformanceOptions): Promise<JobQueue>;
  /** Frees what `create` and the backend set up. */
  teardown(): Promise<void>;
}

const DEFAULTS: ConformanceOptions = { maxQueued: 8, timeoutMs: 120_000, ttlMs: 60_000 };

/** The suite's photos: a small portrait (fast styles), and the 1280x960 group photo (slow styles). */
const small = (): Uint8Array => readFileSync(portrait('01-woman-mask-peace.jpg'));
const large = (): Uint8Array => readFileSync(portrait('12-group-selfie-cafe.jpeg'));

/** The job's status once it is in one of `states` (fails after the deadline, or at once if it finished otherwise). */
async function untilState(queue: JobQueue, id: string, states: readonly JobState[], timeoutMs = 30_000): Promise<JobStatus> {
  return waitFor(
    `job ${id} to be ${states.join(' or ')}`,
    async () => {
      const status = await queue.status(id);
      if (!status) throw new Error(`job ${id} is unknown`);
      if (!states.includes(status.state) && isFinished(status.state))
        throw new Error(`job ${id} finished as ${status.state}, not ${states.join(' or ')}`);
      return status;
    },
    (status) => states.includes(status.state),
    { timeoutMs, intervalMs: 20 },
  );
}

async function rejection(promise: Promise<unknown>): Promise<PortoonError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PortoonError);
  return error as PortoonError;
}

export function describeQueueConformance(name: string, setup: () => Promise<QueueBackend>): void {
  describe(`job queue conformance: ${name}`, () => {
    let backend: QueueBackend;
    const open: JobQueue[] = [];
    const create = async (options: Partial<ConformanceOptions> = {}): Promise<JobQueue> => {
      const queue = await backend.create({ ...DEFAULTS, ...options });
      open.push(queue);
      return queue;
    };

    beforeAll(async () => {
      backend = await setup();
    });
    afterEach(async () => {
      await Promise.all(open.splice(0).map((queue) => queue.close(0)));
    });
    afterAll(async () => {
      await backend?.teardown();
    });

    it('runs a job to completion: state, per-stage progress, report and an image of the input size', async () => {
      const queue = await create();
      const accepted = await queue.enqueue(small(), { style: 'cel', format: 'png' }, { filename: 'me.jpg' });
      // Either is right (a backend may or may not start a job before enqueue returns); finished is not.
      expect(['queued', 'running']).toContain(accepted.state);
      expect(accepted.style).toBe('cel');
      expect(accepted.filename).toBe('me.jpg');
      expect(Date.parse(accepted.createdAt)).not.toBeNaN();
      const done = await queue.wait(accepted.id);
      expect(done.state).toBe('completed');
      expect(done.overall).toBe(1);
      expect(done.progress.decode).toBe(1);
      expect(done.progress.encode).toBe(1);
      expect(Date.parse(done.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(done.startedAt!));
      expect(Date.parse(done.expiresAt!)).toBeGreaterThan(Date.parse(done.finishedAt!));
      expect(done.report).toMatchObject({ width: 512, height: 512, style: 'cel', format: 'png' });
      const result = await queue.result(accepted.id);
      expect(result).toBeDefined();
      const meta = await sharp(result!.image).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(['png', 512, 512]);
      expect(await queue.status(accepted.id)).toMatchObject({ id: accepted.id, state: 'completed' });
    });

    it('reports progress while a job runs, stage by stage', async () => {
      const queue = await create();
      const { id } = await queue.enqueue(large(), { style: 'cartoon' });
      const seen: JobStatus[] = [];
      await waitFor(
        `job ${id} to finish`,
        async () => {
          const status = await queue.status(id);
          if (!status) throw new Error(`job ${id} is unknown`);
          seen.push(status);
          return status;
        },
        (status) => isFinished(status.state),
        { timeoutMs: 120_000, intervalMs: 20 },
      );
      const running = seen.filter((s) => s.state === 'running');
      expect(running.length).toBeGreaterThan(0);
      expect(running.some((s) => s.stage !== undefined && s.overall > 0 && s.overall < 1)).toBe(true);
      const overall = seen.map((s) => s.overall);
      expect(overall).toEqual([...overall].sort((a, b) => a - b));
      expect(seen.at(-1)!.state).toBe('completed');
    });

    it('records a failed job with the error code of a bad input, and keeps no result', async () => {
      const queue = await create();
      const { id } = await queue.enqueue(new TextEncoder().encode('this is not an image'), { style: 'cel' });
      const done = await queue.wait(id);
      expect(done.state).toBe('failed');
      expect(done.error?.code).toBe('E_UNSUPPORTED_FORMAT');
      expect(done.error?.message).toMatch(/not an image/);
      expect(await queue.result(id)).toBeUndefined();
    });

    it('refuses an invalid request at once, without creating a job', async () => {
      const queue = await create();
      expect((await rejection(queue.enqueue(small(), { style: 'no-such-style' }))).code).toBe('E_UNKNOWN_STYLE');
      expect((await rejection(queue.enqueue(small(), { style: 'cel', strength: 3 }))).code).toBe('E_BAD_OPTION');
      expect(await queue.counts()).toMatchObject({ queued: 0, running: 0 });
    });

    it('is bounded: beyond running + maxQueued it refuses with E_QUEUE_FULL and a retry hint', async () => {
      const queue = await create({ maxQueued: 1 });
      const first = await queue.enqueue(large(), { style: 'cartoon' });
      const second = await queue.enqueue(small(), { style: 'cel' });
      const refused = await rejection(queue.enqueue(small(), { style: 'cel' }));
      expect(refused.code).toBe('E_QUEUE_FULL');
      expect(refused.details.retryAfter).toBeGreaterThanOrEqual(1);
      expect(queue.retryAfterSeconds()).toBeGreaterThanOrEqual(1);
      expect(await queue.counts()).toMatchObject({ queued: 1, running: 1 });
      expect((await queue.wait(first.id)).state).toBe('completed');
      expect((await queue.wait(second.id)).state).toBe('completed');
    });

    it('cancels a queued job (it never runs) and a running one (the next job still runs)', async () => {
      const queue = await create();
      const running = await queue.enqueue(large(), { style: 'anime' });
      const waiting = await queue.enqueue(small(), { style: 'cel' });
      await untilState(queue, running.id, ['running']);
      expect((await queue.cancel(waiting.id))!.state).toBe('cancelled');
      expect((await queue.status(waiting.id))!.startedAt).toBeUndefined();
      expect((await queue.cancel(running.id))!.state).toBe('cancelled');
      expect((await queue.wait(running.id)).state).toBe('cancelled');
      expect(await queue.result(running.id)).toBeUndefined();
      const next = await queue.enqueue(small(), { style: 'cel' });
      expect((await queue.wait(next.id)).state).toBe('completed');
      // Cancelling a finished job leaves it as it is.
      expect((await queue.cancel(next.id))!.state).toBe('completed');
    });

    it('fails a job that runs longer than the timeout with E_TIMEOUT, and keeps working', async () => {
      const queue = await create({ timeoutMs: 300 });
      const slow = await queue.enqueue(large(), { style: 'anime' });
      const done = await queue.wait(slow.id);
      expect(done.state).toBe('failed');
      expect(done.error?.code).toBe('E_TIMEOUT');
      // A thumbnail whose face is too small for a face pass: done in tens of milliseconds, well inside the timeout.
      const next = await queue.enqueue(small(), { style: 'cel', maxSide: 64 });
      expect((await queue.wait(next.id)).state).toBe('completed');
    });

    it('forgets finished jobs and their results after the TTL', async () => {
      const queue = await create({ ttlMs: 400 });
      const { id } = await queue.enqueue(small(), { style: 'cel', maxSide: 128 });
      await queue.wait(id);
      expect(await queue.result(id)).toBeDefined();
      await waitFor(
        `job ${id} to be forgotten`,
        () => queue.status(id),
        (status) => status === undefined,
        { timeoutMs: 10_000, intervalMs: 20 },
      );
      expect(await queue.result(id)).toBeUndefined();
    });

    it('answers unknown ids with nothing, and wait() with E_JOB_NOT_FOUND', async () => {
      const queue = await create();
      expect(await queue.status('no-such-job')).toBeUndefined();
      expect(await queue.result('no-such-job')).toBeUndefined();
      expect(await queue.cancel('no-such-job')).toBeUndefined();
      expect((await rejection(queue.wait('no-such-job'))).code).toBe('E_JOB_NOT_FOUND');
    });

    it('removes a job on request', async () => {
      const queue = await create();
      const { id } = await queue.enqueue(small(), { style: 'cel', maxSide: 128 });
      await queue.wait(id);
      await queue.remove(id);
      expect(await queue.status(id)).toBeUndefined();
    });

    it('wait() gives up when its signal aborts, without touching the job', async () => {
      const queue = await create();
      const { id } = await queue.enqueue(large(), { style: 'cartoon' });
      const controller = new AbortController();
      const waiting = rejection(queue.wait(id, controller.signal));
      // Abort while the job is certainly unfinished: it is running (and takes seconds).
      await untilState(queue, id, ['running']);
      controller.abort(new PortoonError('E_CLOSED', 'caller went away'));
      expect((await waiting).code).toBe('E_CLOSED');
      // The job itself carries on, untouched, and completes.
      expect((await queue.status(id))!.state).toBe('running');
      expect((await queue.wait(id)).state).toBe('completed');
    });

    it('on close, lets accepted jobs finish and refuses new ones', async () => {
      const queue = await backend.create(DEFAULTS);
      const a = await queue.enqueue(small(), { style: 'cel' });
      const b = await queue.enqueue(small(), { style: 'cel' });
      await queue.close(60_000);
      expect((await queue.status(a.id))!.state).toBe('completed');
      expect((await queue.status(b.id))!.state).toBe('completed');
      expect((await rejection(queue.enqueue(small(), { style: 'cel' }))).code).toBe('E_CLOSED');
    });
  });
}
