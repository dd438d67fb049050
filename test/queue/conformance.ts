/**
 * The job-queue conformance suite. Every backend (in-process now, Redis later) runs exactly these
 * tests through its own factory: same inputs, same states, same errors. The suite runs on an engine
 * it is given: the real one, or a fake whose runs finish when the test says so (ordering, cancelling
 * and timeouts are then exact, not a matter of how fast the machine is).
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CartoonEngine } from '../../src/core/engine-port.js';
import { PortoonError } from '../../src/core/errors.js';
import { parseCartoonizeRequest, type CartoonizeParams, type CartoonizeRequest } from '../../src/core/request.js';
import { isFinished, type JobQueue, type JobState, type JobStatus } from '../../src/queue/job-queue.js';
import { portrait, TEST_OUTPUT_DIR, video } from '../helpers/env.js';
import { rejection } from '../helpers/errors.js';
import { waitFor, waitForQueuedJob, within } from '../helpers/wait.js';

export interface ConformanceOptions {
  /** Jobs that may wait beyond the running ones. */
  maxQueued: number;
  timeoutMs: number;
  ttlMs: number;
}

/** The backend under test: makes a queue that runs its jobs on the given engine. */
export interface QueueBackend {
  create(engine: CartoonEngine, options: ConformanceOptions): Promise<JobQueue>;
  /**
   * For a durable backend (its jobs outlive the process that accepted them): a new queue on the same
   * jobs as `closed`, as another node of the cluster would be. A backend without it keeps its jobs in
   * the closing process, which finishes or fails them before it goes.
   */
  successor?(closed: JobQueue, engine: CartoonEngine, options: ConformanceOptions): Promise<JobQueue>;
}

/** A job whose run keeps the engine's one worker busy until it is released. */
export interface HeldJob {
  input: Uint8Array;
  request: CartoonizeRequest;
  /**
   * Lets the run finish. A fake engine holds the run until then; the real engine is given a photo
   * that takes seconds, long enough for every check made before release, and ignores it.
   */
  release(): void;
}

/** The engine the suite runs on. It has one worker, runs `QUICK_STYLE` quickly and knows `MISSING_MODEL_STYLE` without its model. */
export interface EngineHarness {
  engine: CartoonEngine;
  /** A new job that runs until released; its runs report progress before they finish. */
  held(): HeldJob;
  /** The longest one wait in the suite may take (a job to finish, a state to be reached). */
  deadlineMs: number;
  /** Frees the engine. */
  close(): Promise<void>;
}

/** A style the engine runs in well under a second on the suite's small photo. */
export const QUICK_STYLE = 'cel';
/** A style the engine knows but whose model is not installed. */
export const MISSING_MODEL_STYLE = 'shinkai';

const DEFAULTS: ConformanceOptions = { maxQueued: 8, timeoutMs: 120_000, ttlMs: 60_000 };

let clips = 0;
/** A copy of a short real clip (the queue takes the file it is given over). */
function clipCopy(): string {
  mkdirSync(CLIP_DIR, { recursive: true });
  const path = join(CLIP_DIR, `clip-${process.pid}-${(clips += 1)}.mp4`);
  copyFileSync(video('03-talking-head-woman.mp4'), path);
  return path;
}
const CLIP_DIR = join(TEST_OUTPUT_DIR, 'queue-clips');

/** The suite's small photo (512x512). */
const small = (): Uint8Array => readFileSync(portrait('01-woman-mask-peace.jpg'));

const request = (params: CartoonizeParams): CartoonizeRequest => parseCartoonizeRequest(params);
const quick = (params: Partial<CartoonizeParams> = {}): CartoonizeRequest => request({ style: QUICK_STYLE, ...params });

export function describeQueueConformance(name: string, backend: QueueBackend, setup: () => Promise<EngineHarness>): void {
  describe(`job queue conformance: ${name}`, () => {
    let harness: EngineHarness;
    const open: JobQueue[] = [];
    const held: HeldJob[] = [];
    const create = async (options: Partial<ConformanceOptions> = {}): Promise<JobQueue> => {
      const queue = await backend.create(harness.engine, { ...DEFAULTS, ...options });
      open.push(queue);
      return queue;
    };
    const hold = (): HeldJob => {
      const job = harness.held();
      held.push(job);
      return job;
    };

    /** The job's final status (fails after the deadline). */
    const finished = (queue: JobQueue, id: string): Promise<JobStatus> => within(`job ${id} to finish`, queue.wait(id), harness.deadlineMs);

    /** The job's status once it is in `state` (fails after the deadline, or at once if it finished otherwise). */
    const untilState = (queue: JobQueue, id: string, state: JobState): Promise<JobStatus> =>
      waitForQueuedJob(queue, id, state, { timeoutMs: harness.deadlineMs });

    beforeAll(async () => {
      harness = await setup();
    });
    afterEach(async () => {
      // A failed test may leave runs held: release them so that closing the queues does not wait on them.
      for (const job of held.splice(0)) job.release();
      await Promise.all(open.splice(0).map((queue) => queue.close(0)));
    });
    afterAll(async () => {
      await harness?.close();
    });

    it('runs a job to completion: state, per-stage progress, report and an image of the input size', async () => {
      const queue = await create();
      const accepted = await queue.enqueue(small(), quick({ format: 'png' }), { filename: 'me.jpg' });
      expect(isFinished(accepted.state)).toBe(false);
      expect(accepted.style).toBe(QUICK_STYLE);
      expect(accepted.filename).toBe('me.jpg');
      expect(Date.parse(accepted.createdAt)).not.toBeNaN();
      const done = await finished(queue, accepted.id);
      expect(done.state).toBe('completed');
      expect(done.overall).toBe(1);
      expect(done.progress.decode).toBe(1);
      expect(done.progress.encode).toBe(1);
      expect(Date.parse(done.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(done.startedAt!));
      expect(Date.parse(done.expiresAt!)).toBeGreaterThan(Date.parse(done.finishedAt!));
      expect(done.report).toMatchObject({ width: 512, height: 512, style: QUICK_STYLE, format: 'png' });
      const result = await queue.result(accepted.id);
      expect(result).toBeDefined();
      const meta = await sharp(result!.file).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(['png', 512, 512]);
      expect(await queue.status(accepted.id)).toMatchObject({ id: accepted.id, state: 'completed' });
    });

    it('runs a video job by reference: the file is taken over, progress counts frames, the result is an MP4 file', async () => {
      const queue = await create();
      const upload = clipCopy();
      const accepted = await queue.enqueue({ kind: 'video', file: upload, params: { duration: 0.5 } }, quick({ maxSide: 96 }));
      // The queue moved the upload into its own store: the caller's file is gone at once.
      expect(existsSync(upload)).toBe(false);
      expect(accepted.kind).toBe('video');
      const done = await finished(queue, accepted.id);
      expect(done.state).toBe('completed');
      expect(done.frames!.done).toBeGreaterThan(0);
      expect(done.frames!.done).toBe(done.frames!.total);
      expect(done.video).toMatchObject({ kind: 'video', style: QUICK_STYLE, format: 'mp4' });
      expect(done.report).toBeUndefined();
      const result = await queue.result(accepted.id);
      expect(result).toMatchObject({ mediaType: 'video/mp4' });
      expect(result!.size).toBe(statSync(result!.file).size);
      expect(readFileSync(result!.file).subarray(4, 8).toString('latin1')).toBe('ftyp');
      await queue.remove(accepted.id);
      expect(existsSync(result!.file)).toBe(false);
    });

    it('removes a refused video at once: the caller handed it over', async () => {
      const queue = await create();
      const upload = clipCopy();
      const refused = await rejection(queue.enqueue({ kind: 'video', file: upload, params: {} }, request({ style: 'no-such-style' })));
      expect(refused.code).toBe('E_UNKNOWN_STYLE');
      expect(existsSync(upload)).toBe(false);
    });

    it("removes a finished image job's result file when the job is removed", async () => {
      const queue = await create();
      const { id } = await queue.enqueue(small(), quick({ maxSide: 64 }));
      expect((await finished(queue, id)).state).toBe('completed');
      const result = await queue.result(id);
      expect(existsSync(result!.file)).toBe(true);
      await queue.remove(id);
      expect(existsSync(result!.file)).toBe(false);
      expect(await queue.result(id)).toBeUndefined();
    });

    it('reports progress while a job runs, stage by stage, never backwards', async () => {
      const queue = await create();
      const job = hold();
      const { id } = await queue.enqueue(job.input, job.request);
      const seen: JobStatus[] = [];
      const sample = async (): Promise<JobStatus> => {
        const status = await queue.status(id);
        if (!status) throw new Error(`job ${id} is unknown`);
        seen.push(status);
        return status;
      };
      await waitFor(
        `job ${id} to report progress`,
        sample,
        (status) => status.state === 'running' && status.stage !== undefined && status.overall > 0 && status.overall < 1,
        { timeoutMs: harness.deadlineMs, intervalMs: 10 },
      );
      job.release();
      await waitFor(`job ${id} to finish`, sample, (status) => isFinished(status.state), { timeoutMs: harness.deadlineMs, intervalMs: 10 });
      const overall = seen.map((s) => s.overall);
      expect(overall).toEqual([...overall].sort((a, b) => a - b));
      expect(seen.at(-1)).toMatchObject({ state: 'completed', overall: 1 });
    });

    it('records a failed job with the error code of a bad input, and keeps no result', async () => {
      const queue = await create();
      const { id } = await queue.enqueue(new TextEncoder().encode('this is not an image'), quick());
      const done = await finished(queue, id);
      expect(done.state).toBe('failed');
      expect(done.error?.code).toBe('E_UNSUPPORTED_FORMAT');
      expect(done.error?.message).toMatch(/not an image/);
      expect(await queue.result(id)).toBeUndefined();
    });

    it('refuses at once, without creating a job, a request the engine cannot run: an unknown style, a missing model', async () => {
      const queue = await create();
      expect((await rejection(queue.enqueue(small(), request({ style: 'no-such-style' })))).code).toBe('E_UNKNOWN_STYLE');
      expect((await rejection(queue.enqueue(small(), request({ style: QUICK_STYLE, mix: 'no-such-style' })))).code).toBe('E_UNKNOWN_STYLE');
      expect((await rejection(queue.enqueue(small(), request({ style: MISSING_MODEL_STYLE })))).code).toBe('E_MODEL_MISSING');
      expect(await queue.counts()).toEqual({ queued: 0, running: 0, finished: 0 });
    });

    it('is bounded: beyond running + maxQueued it refuses with E_QUEUE_FULL and a retry hint', async () => {
      const queue = await create({ maxQueued: 1 });
      const job = hold();
      const first = await queue.enqueue(job.input, job.request);
      await untilState(queue, first.id, 'running');
      const second = await queue.enqueue(small(), quick());
      expect(second.state).toBe('queued');
      const refused = await rejection(queue.enqueue(small(), quick()));
      expect(refused.code).toBe('E_QUEUE_FULL');
      expect(refused.details.retryAfter).toBeGreaterThanOrEqual(1);
      expect(queue.retryAfterSeconds()).toBeGreaterThanOrEqual(1);
      expect(await queue.counts()).toMatchObject({ queued: 1, running: 1 });
      job.release();
      expect((await finished(queue, first.id)).state).toBe('completed');
      expect((await finished(queue, second.id)).state).toBe('completed');
    });

    it('runs jobs in the order they were accepted', async () => {
      const queue = await create();
      const [a, b] = [hold(), hold()];
      const first = await queue.enqueue(a.input, a.request);
      await untilState(queue, first.id, 'running');
      const second = await queue.enqueue(b.input, b.request);
      const third = await queue.enqueue(small(), quick());
      a.release();
      await untilState(queue, second.id, 'running');
      expect((await queue.status(third.id))!.state).toBe('queued');
      b.release();
      expect((await finished(queue, third.id)).state).toBe('completed');
      expect((await queue.status(first.id))!.state).toBe('completed');
      expect((await queue.status(second.id))!.state).toBe('completed');
    });

    it('cancels a queued job (it never runs) and a running one (the next job still runs)', async () => {
      const queue = await create();
      const job = hold();
      const running = await queue.enqueue(job.input, job.request);
      const waiting = await queue.enqueue(small(), quick());
      await untilState(queue, running.id, 'running');
      expect((await queue.cancel(waiting.id))!.state).toBe('cancelled');
      expect((await queue.status(waiting.id))!.startedAt).toBeUndefined();
      expect((await queue.cancel(running.id))!.state).toBe('cancelled');
      expect((await finished(queue, running.id)).state).toBe('cancelled');
      expect(await queue.result(running.id)).toBeUndefined();
      const next = await queue.enqueue(small(), quick());
      expect((await finished(queue, next.id)).state).toBe('completed');
      // Cancelling a finished job leaves it as it is.
      expect((await queue.cancel(next.id))!.state).toBe('completed');
      expect((await queue.status(running.id))!.state).toBe('cancelled');
    });

    it('fails a job that runs longer than the timeout with E_TIMEOUT, and keeps working', async () => {
      const queue = await create({ timeoutMs: 300 });
      const job = hold();
      const slow = await queue.enqueue(job.input, job.request);
      const done = await finished(queue, slow.id);
      expect(done.state).toBe('failed');
      expect(done.error?.code).toBe('E_TIMEOUT');
      // A thumbnail: done in tens of milliseconds, well inside the timeout.
      const next = await queue.enqueue(small(), quick({ maxSide: 64 }));
      expect((await finished(queue, next.id)).state).toBe('completed');
    });

    it('forgets finished jobs and their results after the TTL', async () => {
      const queue = await create({ ttlMs: 400 });
      const { id } = await queue.enqueue(small(), quick({ maxSide: 128 }));
      await finished(queue, id);
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
      const { id } = await queue.enqueue(small(), quick({ maxSide: 128 }));
      await finished(queue, id);
      await queue.remove(id);
      expect(await queue.status(id)).toBeUndefined();
      expect(await queue.result(id)).toBeUndefined();
    });

    it('wait() gives up when its signal aborts, without touching the job', async () => {
      const queue = await create();
      const job = hold();
      const { id } = await queue.enqueue(job.input, job.request);
      await untilState(queue, id, 'running');
      const controller = new AbortController();
      const waiting = rejection(queue.wait(id, controller.signal));
      controller.abort(new PortoonError('E_CLOSED', 'caller went away'));
      expect((await waiting).code).toBe('E_CLOSED');
      // The job itself carries on, untouched, and completes.
      expect((await queue.status(id))!.state).toBe('running');
      job.release();
      expect((await finished(queue, id)).state).toBe('completed');
    });

    /** A queue of its own (the test closes it) with a held job running and a quick one waiting. */
    const runningAndWaiting = async (): Promise<{ queue: JobQueue; job: HeldJob; a: JobStatus; b: JobStatus }> => {
      const queue = await backend.create(harness.engine, DEFAULTS);
      const job = hold();
      const a = await queue.enqueue(job.input, job.request);
      await untilState(queue, a.id, 'running');
      const b = await queue.enqueue(small(), quick());
      return { queue, job, a, b };
    };

    const successor = backend.successor?.bind(backend);
    if (!successor) {
      it('on close, refuses new jobs and lets accepted ones finish, running and waiting', async () => {
        const { queue, job, a, b } = await runningAndWaiting();
        const closing = queue.close(60_000);
        expect((await rejection(queue.enqueue(small(), quick()))).code).toBe('E_CLOSED');
        expect((await queue.status(a.id))!.state).toBe('running');
        job.release();
        await within('the queue to close', closing, harness.deadlineMs);
        expect((await queue.status(a.id))!.state).toBe('completed');
        expect((await queue.status(b.id))!.state).toBe('completed');
      });

      it('on close, fails the jobs still unfinished when the grace period ends with E_CLOSED', async () => {
        const { queue, a, b } = await runningAndWaiting();
        await within('the queue to close', queue.close(50), harness.deadlineMs);
        for (const id of [a.id, b.id]) {
          expect(await queue.status(id)).toMatchObject({ state: 'failed', error: { code: 'E_CLOSED' } });
          expect(await queue.result(id)).toBeUndefined();
        }
      });
    } else {
      it('on close, refuses new jobs and lets the running one finish; a waiting job is left for the next node, which runs it', async () => {
        const { queue, job, a, b } = await runningAndWaiting();
        const closing = queue.close(60_000);
        expect((await rejection(queue.enqueue(small(), quick()))).code).toBe('E_CLOSED');
        job.release();
        await within('the queue to close', closing, harness.deadlineMs);
        const next = await successor(queue, harness.engine, DEFAULTS);
        open.push(next);
        expect((await next.status(a.id))!.state).toBe('completed');
        expect((await finished(next, b.id)).state).toBe('completed');
        const meta = await sharp((await next.result(b.id))!.file).metadata();
        expect([meta.width, meta.height]).toEqual([512, 512]);
      });

      it('on close past the grace period, puts unfinished jobs back in line: the next node completes them, nothing is lost or failed', async () => {
        const { queue, job, a, b } = await runningAndWaiting();
        await within('the queue to close', queue.close(50), harness.deadlineMs);
        job.release();
        const next = await successor(queue, harness.engine, DEFAULTS);
        open.push(next);
        for (const id of [a.id, b.id]) {
          expect((await finished(next, id)).state).toBe('completed');
          expect(await next.result(id)).toBeDefined();
        }
      });
    }
  });
}
