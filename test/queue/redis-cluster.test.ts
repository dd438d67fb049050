/**
 * What only a distributed queue has, on a real Redis server and real blob stores: several nodes in
 * this process (separate RedisJobQueue and QueueWorker instances on one namespace and one store
 * folder, each with connections of its own) cancelling, following and admitting each other's jobs;
 * an API node, a worker or Redis itself going away; retries; expiry and sweeping; an S3 store.
 * The engine is the FakeEngine (no models), so ordering is decided by the test, never by timing:
 * every step waits on observable state with a deadline.
 */
import { randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CartoonEngine, FileRef, RunOptions, VideoRunOptions } from '../../src/core/engine-port.js';
import { PortoonError } from '../../src/core/errors.js';
import type { CartoonizeOutput, CartoonizeReport } from '../../src/core/report.js';
import { parseCartoonizeRequest, type CartoonizeParams, type CartoonizeRequest } from '../../src/core/request.js';
import type { VideoInfo, VideoParams, VideoReport } from '../../src/core/video/types.js';
import { FsBlobStore } from '../../src/queue/blob/fs-blob-store.js';
import { S3BlobStore } from '../../src/queue/blob/s3-blob-store.js';
import type { JobResult, JobState, JobStatus } from '../../src/queue/job-queue.js';
import { acceptedStatus } from '../../src/queue/job-status.js';
import { inputKey, type QueueNamespace } from '../../src/queue/redis/job-data.js';
import { JobRecords } from '../../src/queue/redis/job-records.js';
import { QueueWorker, type QueueWorkerOptions } from '../../src/queue/redis/queue-worker.js';
import { RedisJobQueue, type RedisJobQueueOptions } from '../../src/queue/redis/redis-job-queue.js';
import { Sweeper } from '../../src/queue/redis/sweeper.js';
import { portrait, TEST_OUTPUT_DIR, video } from '../helpers/env.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { startS3Server } from '../helpers/s3-server.js';
import { rejection } from '../helpers/errors.js';
import { waitFor, waitForQueuedJob, within } from '../helpers/wait.js';
import { ClusterNode } from './cluster-node.js';
import { FakeEngine, type Hold, type HoldOptions } from './fake-engine.js';

const QUICK = 'cel';
/** The longest a single wait in this file may take. */
const DEADLINE_MS = 15_000;

let redis: RedisServer;
const root = join(TEST_OUTPUT_DIR, `redis-cluster-${process.pid}`);

beforeAll(async () => {
  redis = await startRedisServer();
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
});
afterAll(async () => {
  await redis?.destroy();
  rmSync(root, { recursive: true, force: true });
});

/** The 512x512 test photo (read once: the queue stores bytes, it does not keep or change them). */
const PHOTO = readFileSync(portrait('01-woman-mask-peace.jpg'));

const request = (style: string, params: Partial<CartoonizeParams> = {}): CartoonizeRequest => parseCartoonizeRequest({ style, ...params });

// ---------------------------------------------------------------------------------------------------
// Per-test resources: everything opened is closed after the test, whatever happened in it.

const cleanups: Array<{ what: string; run: () => Promise<unknown> }> = [];
const holds: Hold[] = [];

function onCleanup(what: string, run: () => Promise<unknown>): void {
  cleanups.push({ what, run });
}

afterEach(async () => {
  // Held runs first, so that closing a worker does not wait for a run nobody will release.
  for (const hold of holds.splice(0)) hold.release();
  const failures: unknown[] = [];
  for (const { what, run } of cleanups.splice(0).reverse()) {
    await within(what, run(), 20_000).catch((error: unknown) => failures.push(error));
  }
  if (failures.length > 0) throw new AggregateError(failures, `${failures.length} cleanup step(s) failed`);
});

function hold(engine: FakeEngine, options?: HoldOptions): Hold {
  const held = engine.hold(options);
  holds.push(held);
  return held;
}

let clusters = 0;

/** A namespace and a store folder of the test's own, and factories for nodes on them. */
function newCluster(): {
  namespace: QueueNamespace;
  dir: string;
  api(checker: Pick<CartoonEngine, 'check'>, options?: Partial<RedisJobQueueOptions>): RedisJobQueue;
  worker(engine: CartoonEngine, options?: Partial<QueueWorkerOptions>): Promise<QueueWorker>;
  /** Files stored under `inputs/` or `results/` of the store folder. */
  files(folder: 'inputs' | 'results'): string[];
} {
  clusters += 1;
  const namespace: QueueNamespace = { prefix: 'test', name: `cluster-${process.pid}-${clusters}` };
  const dir = join(root, namespace.name);
  mkdirSync(dir, { recursive: true });
  return {
    namespace,
    dir,
    // Each node opens the shared folder through a store of its own, as separate hosts would.
    api: (checker, options = {}) => {
      const queue = new RedisJobQueue({ url: redis.url, namespace, store: new FsBlobStore(dir), checker, ...options });
      onCleanup('an API node to close', () => queue.close());
      return queue;
    },
    worker: async (engine, options = {}) => {
      const worker = new QueueWorker({ url: redis.url, namespace, store: new FsBlobStore(dir), engine, models: () => [], ...options });
      onCleanup('a worker to close', () => worker.close(0));
      await worker.start();
      return worker;
    },
    files: (folder) => {
      const path = join(dir, folder);
      return existsSync(path) ? readdirSync(path).sort() : [];
    },
  };
}

/** A plain connection to look at Redis from outside the nodes. */
function inspector(): Redis {
  const connection = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  connection.on('error', () => undefined);
  onCleanup('the inspector connection to close', async () => connection.disconnect());
  return connection;
}

/** The events BullMQ recorded for one job (its `<prefix>:<name>:events` stream), in order. */
async function bullEvents(connection: Redis, namespace: QueueNamespace, id: string): Promise<string[]> {
  const entries = await connection.xrange(`${namespace.prefix}:${namespace.name}:events`, '-', '+');
  const events: string[] = [];
  for (const [, fields] of entries) {
    const entry: Record<string, string> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) entry[fields[i]!] = fields[i + 1]!;
    if (entry.jobId === id && entry.event !== undefined) events.push(entry.event);
  }
  return events;
}

const count = (values: readonly string[], value: string): number => values.filter((v) => v === value).length;

/** The job's final status, as `queue` reports it (fails after the deadline). */
function finished(queue: RedisJobQueue, id: string, timeoutMs = DEADLINE_MS): Promise<JobStatus> {
  return within(`job ${id} to finish`, queue.wait(id), timeoutMs);
}

/** The job's status once it is in `state`; fails at once if it finished otherwise. */
function untilState(
  queue: RedisJobQueue,
  id: string,
  state: JobState,
  check: (status: JobStatus) => boolean = () => true,
): Promise<JobStatus> {
  return waitForQueuedJob(queue, id, state, { timeoutMs: DEADLINE_MS, check });
}

/** The PortoonError a promise rejects with (fails the test if it resolves or rejects with something else). */

async function expectImage(file: string, format: string, width: number, height: number): Promise<void> {
  const meta = await sharp(file).metadata();
  expect([meta.format, meta.width, meta.height]).toEqual([format, width, height]);
}

/** The error a run of a ScriptedEngine fails with (by attempt of the job, from 1, and request), or undefined to run it. */
type Failure = (attempt: number, request: CartoonizeRequest) => PortoonError | undefined;

/**
 * A FakeEngine seen through a recorder: every image run is noted by job id (the input a folder store
 * hands the engine is the stored file `inputs/<job id>` itself), and a run may be made to fail, by
 * attempt and request, before the fake engine runs it.
 */
class ScriptedEngine implements CartoonEngine {
  /** The job id of every image run, in the order they started. */
  readonly runs: string[] = [];
  readonly #inner: FakeEngine;
  readonly #fail: Failure;

  constructor(inner: FakeEngine, fail: Failure = () => undefined) {
    this.#inner = inner;
    this.#fail = fail;
  }

  get workers(): number {
    return this.#inner.workers;
  }

  /** Runs of one job. */
  runsOf(id: string): number {
    return count(this.runs, id);
  }

  check(request: CartoonizeRequest): void {
    this.#inner.check(request);
  }

  probe(input: Uint8Array): Promise<void> {
    return this.#inner.probe(input);
  }

  run(input: Uint8Array, request: CartoonizeRequest, options?: RunOptions): Promise<CartoonizeOutput> {
    return this.#inner.run(input, request, options);
  }

  async runFile(input: FileRef, output: FileRef, request: CartoonizeRequest, options?: RunOptions): Promise<CartoonizeReport> {
    const id = basename(input.path);
    this.runs.push(id);
    const failure = this.#fail(this.runsOf(id), request);
    if (failure) throw failure;
    return this.#inner.runFile(input, output, request, options);
  }

  probeVideo(input: FileRef): Promise<VideoInfo> {
    return this.#inner.probeVideo(input);
  }

  runVideo(
    input: FileRef,
    output: FileRef,
    request: CartoonizeRequest,
    params: VideoParams,
    options?: VideoRunOptions,
  ): Promise<VideoReport> {
    return this.#inner.runVideo(input, output, request, params, options);
  }
}

// ---------------------------------------------------------------------------------------------------

describe('Redis (BullMQ) queue as a cluster: several nodes on one Redis and one store', () => {
  it('cancels from API node B a job accepted by A and running on worker W: W aborts the run and takes the next job', async () => {
    const cluster = newCluster();
    const engine = new FakeEngine({ workers: 1, styles: [QUICK] });
    const held = hold(engine);
    const a = cluster.api(engine);
    const b = cluster.api(engine);
    const w = await cluster.worker(engine);

    const { id } = await a.enqueue(PHOTO, request(held.style));
    await untilState(a, id, 'running');
    expect(w.running).toBe(1);
    // A waiter on A hears of a cancellation made on B.
    const waitingOnA = finished(a, id);
    void waitingOnA.catch(() => undefined);

    expect((await b.cancel(id))!.state).toBe('cancelled');
    expect((await waitingOnA).state).toBe('cancelled');
    expect((await a.status(id))!.state).toBe('cancelled');
    expect((await b.status(id))!.state).toBe('cancelled');
    expect(await a.result(id)).toBeUndefined();

    // W heard the announcement and aborted the run (the hold was never released).
    await waitFor(
      'the cancelled run to stop on W',
      () => ({ state: engine.runs[0]?.state, running: w.running }),
      (seen) => seen.state === 'failed' && seen.running === 0,
      { timeoutMs: DEADLINE_MS },
    );
    const aborted = engine.runs[0]!.abortedWith;
    expect(aborted).toBeInstanceOf(PortoonError);
    expect((aborted as PortoonError).code).toBe('E_CLOSED');
    expect(cluster.files('inputs')).toEqual([]);

    // The slot is free again: the next job runs to completion on W.
    const next = await b.enqueue(PHOTO, request(QUICK, { maxSide: 64 }));
    expect((await finished(a, next.id)).state).toBe('completed');
    expect(engine.runs.map((run) => run.state)).toEqual(['failed', 'completed']);
    expect((await a.status(id))!.state).toBe('cancelled');
  });

  it("shows a job's progress on node B while worker W runs it, and B's wait() resolves when it completes", async () => {
    const cluster = newCluster();
    const engine = new FakeEngine({ workers: 1, styles: [QUICK] });
    const held = hold(engine);
    const a = cluster.api(engine);
    const b = cluster.api(engine);
    await cluster.worker(engine);

    const { id } = await a.enqueue(PHOTO, request(held.style));
    let settled = false;
    const waitingOnB = finished(b, id).finally(() => (settled = true));
    void waitingOnB.catch(() => undefined);
    // The fake engine reports decode and detect done and the background half way, then holds.
    const running = await untilState(b, id, 'running', (status) => status.stage === 'background');
    expect(running.overall).toBeGreaterThan(0);
    expect(running.overall).toBeLessThan(1);
    expect(running.progress).toMatchObject({ decode: 1, detect: 1, background: 0.5 });
    expect(Date.parse(running.startedAt!)).not.toBeNaN();
    expect(await a.status(id)).toEqual(running);
    expect(settled).toBe(false);

    held.release();
    const done = await waitingOnB;
    expect(done).toMatchObject({ state: 'completed', overall: 1 });
    expect(done.report).toMatchObject({ width: 512, height: 512, style: held.style });
    await expectImage((await b.result(id))!.file, 'png', 512, 512);
  });

  it('admits atomically for all API nodes: 30 concurrent enqueues on 3 nodes, maxQueued 5 → exactly 5; a live worker adds its slots', async () => {
    const cluster = newCluster();
    const engine = new FakeEngine({ workers: 2, styles: [QUICK] });
    const held = hold(engine);
    const nodes = [cluster.api(engine, { maxQueued: 5 }), cluster.api(engine, { maxQueued: 5 }), cluster.api(engine, { maxQueued: 5 })];

    const settle = (n: number): Promise<Array<PromiseSettledResult<JobStatus>>> =>
      Promise.allSettled(Array.from({ length: n }, (_, i) => nodes[i % nodes.length]!.enqueue(PHOTO, request(held.style))));
    const accepted = (results: Array<PromiseSettledResult<JobStatus>>): JobStatus[] =>
      results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const refused = (results: Array<PromiseSettledResult<JobStatus>>): unknown[] =>
      results.flatMap((result) => (result.status === 'rejected' ? [result.reason] : []));

    // No worker: capacity is maxQueued alone.
    const first = await settle(30);
    expect(accepted(first)).toHaveLength(5);
    const firstRefusals = refused(first);
    expect(firstRefusals).toHaveLength(25);
    for (const reason of firstRefusals) {
      expect(reason).toBeInstanceOf(PortoonError);
      expect((reason as PortoonError).code).toBe('E_QUEUE_FULL');
      expect((reason as PortoonError).status).toBe(503);
      expect((reason as PortoonError).details.retryAfter).toBeGreaterThanOrEqual(1);
    }
    for (const node of nodes) expect(await node.counts()).toEqual({ queued: 5, running: 0, finished: 0 });
    // Refused jobs left nothing behind: only the accepted jobs' inputs are stored.
    expect(cluster.files('inputs')).toEqual(
      accepted(first)
        .map((status) => status.id)
        .sort(),
    );

    // A worker with 2 slots registers and takes 2 of the held jobs.
    await cluster.worker(engine);
    await waitFor(
      'the worker to take 2 jobs',
      () => nodes[0]!.counts(),
      (counts) => counts.running === 2 && counts.queued === 3,
      {
        timeoutMs: DEADLINE_MS,
      },
    );
    // Capacity is now slots + maxQueued = 2 + 5 = 7 jobs in flight: 2 more are admitted, not 10.
    const second = await settle(10);
    expect(accepted(second)).toHaveLength(2);
    expect(refused(second).map((reason) => (reason as PortoonError).code)).toEqual(Array(8).fill('E_QUEUE_FULL'));
    for (const node of nodes) expect(await node.counts()).toEqual({ queued: 5, running: 2, finished: 0 });

    held.release();
    const all = [...accepted(first), ...accepted(second)];
    for (const [i, status] of all.entries()) expect((await finished(nodes[i % 3]!, status.id)).state).toBe('completed');
    expect(await nodes[1]!.counts()).toEqual({ queued: 0, running: 0, finished: 7 });
  });

  it('loses nothing when the API node that accepted the jobs goes away: a new worker and API node complete and serve them', async () => {
    const cluster = newCluster();
    const engine = new FakeEngine({ workers: 1, styles: [QUICK] });
    const a = cluster.api(engine);
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) ids.push((await a.enqueue(PHOTO, request(QUICK))).id);
    await a.close();
    expect((await rejection(a.enqueue(PHOTO, request(QUICK)))).code).toBe('E_CLOSED');

    await cluster.worker(engine);
    const b = cluster.api(engine);
    for (const id of ids) {
      expect((await finished(b, id)).state).toBe('completed');
      const result = await b.result(id);
      expect(result).toMatchObject({ mediaType: 'image/png' });
      await expectImage(result!.file, 'png', 512, 512);
    }
    expect(engine.runs).toHaveLength(3);
  });

  it('loses nothing accepted when Redis restarts (append-only file); while it is down the API node fails fast with E_QUEUE_UNAVAILABLE', async () => {
    const cluster = newCluster();
    const engine = new FakeEngine({ workers: 1, styles: [QUICK] });
    const a = cluster.api(engine);
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) ids.push((await a.enqueue(PHOTO, request(QUICK))).id);

    let down = false;
    // Runs before the nodes close (cleanups run in reverse): never leave the file's Redis stopped.
    onCleanup('Redis to be running again', async () => {
      if (down) await redis.start();
    });
    await redis.stop();
    down = true;

    const enqueueStarted = performance.now();
    const refused = await rejection(a.enqueue(PHOTO, request(QUICK)));
    const enqueueMs = performance.now() - enqueueStarted;
    expect(refused.code).toBe('E_QUEUE_UNAVAILABLE');
    expect(refused.status).toBe(503);
    const statusStarted = performance.now();
    const unreadable = await rejection(a.status(ids[0]!));
    const statusMs = performance.now() - statusStarted;
    expect(unreadable.code).toBe('E_QUEUE_UNAVAILABLE');
    // Fails fast: not a request that hangs until Redis is back.
    expect(enqueueMs).toBeLessThan(5000);
    expect(statusMs).toBeLessThan(5000);
    // The refused upload left no file behind.
    expect(cluster.files('inputs')).toEqual([...ids].sort());

    await redis.start();
    down = false;
    // The same API node reconnects by itself.
    const reconnectStarted = performance.now();
    await waitFor(
      'API node A to reach Redis again',
      () => a.counts().catch((error: unknown) => (error as PortoonError).code),
      (counts) => typeof counts === 'object' && counts.queued === 3,
      { timeoutMs: DEADLINE_MS, intervalMs: 50 },
    );
    const reconnectMs = performance.now() - reconnectStarted;

    await cluster.worker(engine);
    const b = cluster.api(engine);
    for (const id of ids) {
      expect((await finished(b, id)).state).toBe('completed');
      await expectImage((await b.result(id))!.file, 'png', 512, 512);
    }
    // A works again for new jobs too (its subscription is back: wait() hears the finish).
    const next = await a.enqueue(PHOTO, request(QUICK, { maxSide: 64 }));
    expect((await finished(a, next.id)).state).toBe('completed');
    console.info(
      `[redis-cluster] Redis down: enqueue failed in ${enqueueMs.toFixed(0)} ms, status() in ${statusMs.toFixed(0)} ms; ` +
        `API node reconnected ${reconnectMs.toFixed(0)} ms after restart`,
    );
  });

  describe('retry policy', () => {
    it('retries a job whose runs fail with a retryable error, and completes it after the failures', async () => {
      const cluster = newCluster();
      const fake = new FakeEngine({ workers: 1, styles: [QUICK] });
      const engine = new ScriptedEngine(fake, (attempt) =>
        attempt <= 2 ? new PortoonError('E_INFERENCE_FAILED', `attempt ${attempt} failed`) : undefined,
      );
      const retries: Array<[string, string]> = [];
      const events = inspector();
      const a = cluster.api(engine);
      await cluster.worker(engine, { onRetry: (jobId, error) => retries.push([jobId, error.code]) });

      const { id } = await a.enqueue(PHOTO, request(QUICK));
      // Backoff is exponential from 1 s: the third run starts ~3 s after the first.
      const done = await finished(a, id);
      expect(done.state).toBe('completed');
      expect(done.error).toBeUndefined();
      expect(engine.runsOf(id)).toBe(3);
      expect(retries).toEqual([
        [id, 'E_INFERENCE_FAILED'],
        [id, 'E_INFERENCE_FAILED'],
      ]);
      await expectImage((await a.result(id))!.file, 'png', 512, 512);
      const seen = await waitFor(
        'BullMQ to record the completion',
        () => bullEvents(events, cluster.namespace, id),
        (e) => e.includes('completed'),
      );
      expect([count(seen, 'active'), count(seen, 'delayed'), count(seen, 'failed')]).toEqual([3, 2, 0]);
    });

    it('fails a job at its first non-retryable error without running it again (BullMQ gets an UnrecoverableError)', async () => {
      const cluster = newCluster();
      const fake = new FakeEngine({ workers: 1, styles: [QUICK] });
      // Requests with maxSide 100 mark the "damaged" image.
      const engine = new ScriptedEngine(fake, (_attempt, request) =>
        request.maxSide === 100 ? new PortoonError('E_DECODE_FAILED', 'truncated image') : undefined,
      );
      const retries: string[] = [];
      const events = inspector();
      const a = cluster.api(engine);
      await cluster.worker(engine, { onRetry: (jobId) => retries.push(jobId) });

      // The engine throws E_DECODE_FAILED for this one...
      const damaged = await a.enqueue(PHOTO, request(QUICK, { maxSide: 100 }));
      // ...and the fake engine itself refuses bytes that are not an image (E_UNSUPPORTED_FORMAT).
      const notImage = await a.enqueue(new TextEncoder().encode('this is not an image'), request(QUICK));

      for (const [id, code] of [
        [damaged.id, 'E_DECODE_FAILED'],
        [notImage.id, 'E_UNSUPPORTED_FORMAT'],
      ] as const) {
        const done = await finished(a, id);
        expect(done.state).toBe('failed');
        expect(done.error?.code).toBe(code);
        expect(await a.result(id)).toBeUndefined();
        // The record is final before BullMQ hears of the failure: wait for BullMQ's verdict, then look.
        const seen = await waitFor(
          `BullMQ to fail job ${id}`,
          () => bullEvents(events, cluster.namespace, id),
          (e) => e.includes('failed'),
        );
        expect(count(seen, 'active')).toBe(1);
        expect(count(seen, 'delayed')).toBe(0);
        expect(engine.runsOf(id)).toBe(1);
      }
      expect(retries).toEqual([]);
      // The damaged one never reached the fake engine; the other failed there, once.
      expect(fake.runs.map((run) => run.state)).toEqual(['failed']);
    });

    it('fails a job after exactly `attempts` runs when every run fails with a retryable error', async () => {
      const cluster = newCluster();
      const fake = new FakeEngine({ workers: 1, styles: [QUICK] });
      const engine = new ScriptedEngine(fake, (attempt) => new PortoonError('E_INFERENCE_FAILED', `attempt ${attempt} failed`));
      const retries: string[] = [];
      const events = inspector();
      const a = cluster.api(engine, { attempts: 2 });
      await cluster.worker(engine, { onRetry: (jobId) => retries.push(jobId) });

      const { id } = await a.enqueue(PHOTO, request(QUICK));
      const done = await finished(a, id);
      expect(done.state).toBe('failed');
      expect(done.error).toMatchObject({ code: 'E_INFERENCE_FAILED', message: 'attempt 2 failed' });
      expect(retries).toEqual([id]);
      const seen = await waitFor(
        `BullMQ to fail job ${id}`,
        () => bullEvents(events, cluster.namespace, id),
        (e) => e.includes('failed'),
      );
      expect([count(seen, 'active'), count(seen, 'delayed'), count(seen, 'failed')]).toEqual([2, 1, 1]);
      expect(engine.runsOf(id)).toBe(2);
    });
  });

  it('takes over the job of a worker cut off from Redis mid-run (lock lapses, another worker runs it); the late run of the first changes nothing', async () => {
    const cluster = newCluster();
    const inspect = inspector();
    // W1 connects as a Redis user of its own: disabling it and killing its connections cuts W1 off
    // from Redis (it cannot reconnect), as a dead host would be, while this process lives on.
    const user = `w1-${randomUUID().slice(0, 8)}`;
    const password = randomUUID();
    await inspect.call('ACL', 'SETUSER', user, 'on', `>${password}`, '~*', '&*', '+@all');
    onCleanup('the W1 Redis user to be removed', () => inspect.call('ACL', 'DELUSER', user));
    const w1Url = redis.url.replace('redis://', `redis://${user}:${password}@`);
    const connectionsOf = async (): Promise<number> =>
      String(await inspect.call('CLIENT', 'LIST'))
        .split('\n')
        .filter((line) => line.includes(` user=${user} `)).length;

    const engine1 = new FakeEngine({ workers: 1, styles: [QUICK] });
    // W1's run does not stop when aborted: only the release ends it.
    const stuck = hold(engine1, { stopsOnAbort: false });
    const engine2 = new FakeEngine({ workers: 1, styles: [QUICK, stuck.style] });
    const a = cluster.api(engine1);
    const w1 = await cluster.worker(engine1, { url: w1Url, lockDurationMs: 1000 });
    // Re-enabled before W1 closes (cleanups run in reverse), so that W1 can close normally.
    onCleanup('the W1 Redis user to be enabled again', () => inspect.call('ACL', 'SETUSER', user, 'on'));

    const { id } = await a.enqueue(PHOTO, request(stuck.style));
    await untilState(a, id, 'running');
    // The record says running as soon as W1 takes the job; its engine run starts once the input is read.
    await waitFor(
      'W1 to start its run',
      () => engine1.runs.length,
      (n) => n === 1,
      { timeoutMs: DEADLINE_MS, intervalMs: 5 },
    );
    const stalled: string[] = [];
    await cluster.worker(engine2, { lockDurationMs: 1000, onStalled: (jobId) => stalled.push(jobId) });

    const w1Connections = await connectionsOf();
    expect(w1Connections).toBeGreaterThanOrEqual(3);
    await inspect.call('ACL', 'SETUSER', user, 'off');
    await inspect.call('CLIENT', 'KILL', 'USER', user);
    const cutAt = performance.now();
    // Cut off: none of W1's connections is left, and none can come back while the user is disabled.
    expect(await connectionsOf()).toBe(0);

    const done = await finished(a, id, 20_000);
    const takeoverMs = performance.now() - cutAt;
    expect(done.state).toBe('completed');
    expect(stalled).toEqual([id]);
    expect(engine2.runs.map((run) => run.state)).toEqual(['completed']);
    // W1 is still inside its run: the job was completed by W2 while W1 never finished.
    expect(engine1.runs[0]!.state).toBe('running');
    expect(w1.running).toBe(1);
    await expectImage((await a.result(id))!.file, 'png', 512, 512);
    const record = await a.records.get(id);
    expect(cluster.files('results')).toEqual([basename(record!.result!.key)]);

    // W1 comes back and finishes its run late: its result is discarded, the one that counts stays.
    await inspect.call('ACL', 'SETUSER', user, 'on');
    await waitFor('W1 to reconnect', connectionsOf, (n) => n >= w1Connections, { timeoutMs: DEADLINE_MS, intervalMs: 50 });
    stuck.release();
    await waitFor(
      'W1 to end its late run',
      () => w1.running,
      (n) => n === 0,
      { timeoutMs: DEADLINE_MS },
    );
    expect(engine1.runs[0]!.state).toBe('completed');
    expect(await a.records.get(id)).toEqual(record);
    expect(cluster.files('results')).toEqual([basename(record!.result!.key)]);
    expect(cluster.files('inputs')).toEqual([]);
    console.info(
      `[redis-cluster] lost worker: its job completed on another worker ${takeoverMs.toFixed(0)} ms after the cut (lock 1000 ms)`,
    );
  });

  describe('sweeping', () => {
    it('forgets a finished job at its TTL, and the sweeper then removes its record and files', async () => {
      const cluster = newCluster();
      const engine = new FakeEngine({ workers: 1, styles: [QUICK] });
      // 1 s, not less: result() must still find the job after wait() returns, on a loaded machine too.
      const a = cluster.api(engine, { ttlMs: 1000 });
      await cluster.worker(engine);
      const sweeper = new Sweeper({ url: redis.url, namespace: cluster.namespace, store: new FsBlobStore(cluster.dir) });
      onCleanup('the sweeper to stop', () => sweeper.stop());

      const { id } = await a.enqueue(PHOTO, request(QUICK, { maxSide: 128 }));
      expect((await finished(a, id)).state).toBe('completed');
      const result = await a.result(id);
      const resultFile = result!.file;
      expect(existsSync(resultFile)).toBe(true);
      // The input went when the job completed; the result is a file of the store folder itself.
      expect(cluster.files('inputs')).toEqual([]);
      expect(cluster.files('results')).toEqual([basename(resultFile)]);

      await waitFor(
        `job ${id} to expire`,
        () => a.status(id),
        (status) => status === undefined,
        { timeoutMs: 10_000, intervalMs: 20 },
      );
      expect(await a.result(id)).toBeUndefined();
      expect(await a.counts()).toMatchObject({ finished: 0 });
      // Readers no longer see it, but its record and file are only removed by a sweep.
      expect(await a.records.exists(id)).toBe(true);
      expect(existsSync(resultFile)).toBe(true);

      expect(await sweeper.sweep(Date.now() + 1)).toEqual({ expired: 1, lost: 0, orphans: 0 });
      expect(existsSync(resultFile)).toBe(false);
      expect(cluster.files('results')).toEqual([]);
      expect(cluster.files('inputs')).toEqual([]);
      expect(await a.records.exists(id)).toBe(false);
      expect(await a.records.expired(Date.now() + 1)).toEqual([]);
    });

    it("removes old files no job refers to (inputs, results, .tmp leftovers), but not a queued job's input or a kept job's result", async () => {
      const cluster = newCluster();
      const engine = new FakeEngine({ workers: 1, styles: [QUICK] });
      const a = cluster.api(engine);
      const store = new FsBlobStore(cluster.dir);
      const sweeper = new Sweeper({ url: redis.url, namespace: cluster.namespace, store });
      onCleanup('the sweeper to stop', () => sweeper.stop());

      // A job completed and kept (TTL 15 min), then, with the worker gone, one that stays queued.
      const w = await cluster.worker(engine);
      const kept = await a.enqueue(PHOTO, request(QUICK, { maxSide: 64 }));
      expect((await finished(a, kept.id)).state).toBe('completed');
      await w.close(0);
      const queued = await a.enqueue(PHOTO, request(QUICK));
      const keptResult = join(cluster.dir, ...(await a.records.get(kept.id))!.result!.key.split('/'));
      const queuedInput = join(cluster.dir, 'inputs', queued.id);

      const orphanInput = `inputs/${randomUUID()}`;
      const orphanResult = `results/${randomUUID()}-abc`;
      const youngOrphan = `inputs/${randomUUID()}`;
      await store.putBytes(orphanInput, PHOTO);
      await store.putBytes(orphanResult, PHOTO);
      await store.putBytes(youngOrphan, PHOTO);
      const leftover = join(cluster.dir, '.tmp', `${randomUUID()}`);
      mkdirSync(join(cluster.dir, '.tmp'), { recursive: true });
      writeFileSync(leftover, 'half-written');
      // Two days old (orphans are removed after 24 h); the files jobs still need are just as old.
      const old = Date.now() / 1000 - 2 * 86_400;
      for (const path of [orphanInput, orphanResult].map((key) => join(cluster.dir, key)).concat(leftover, keptResult, queuedInput)) {
        utimesSync(path, old, old);
      }

      expect(await sweeper.sweep()).toEqual({ expired: 0, lost: 0, orphans: 3 });
      for (const key of [orphanInput, orphanResult]) expect(existsSync(join(cluster.dir, key))).toBe(false);
      expect(existsSync(leftover)).toBe(false);
      // Kept: the young orphan (it may be a write under way), the queued input, the kept result.
      expect(existsSync(join(cluster.dir, youngOrphan))).toBe(true);
      expect(existsSync(queuedInput)).toBe(true);
      expect(existsSync(keptResult)).toBe(true);
      expect(cluster.files('inputs')).toEqual([queued.id, basename(youngOrphan)].sort());
      expect(cluster.files('results')).toEqual([basename(keptResult)]);
      expect((await a.status(queued.id))!.state).toBe('queued');
      expect(await a.result(kept.id)).toBeDefined();
    });

    it('fails with E_CLOSED a job admitted but never handed to BullMQ, and its waiter resolves; a job BullMQ holds is left alone', async () => {
      const cluster = newCluster();
      const engine = new FakeEngine({ workers: 1, styles: [QUICK] });
      const b = cluster.api(engine);
      const store = new FsBlobStore(cluster.dir);
      const sweeper = new Sweeper({ url: redis.url, namespace: cluster.namespace, store });
      onCleanup('the sweeper to stop', () => sweeper.stop());
      const records = new JobRecords(inspector(), cluster.namespace);

      // What an API node that died between admission and queue.add() leaves: a record and its input.
      const lost = acceptedStatus(randomUUID(), 'image', request(QUICK), {});
      expect(await records.admit(lost, 8)).toMatchObject({ accepted: true });
      await store.putBytes(inputKey(lost.id), PHOTO);
      // A lost job that had started: its worker died and BullMQ has forgotten it.
      const lostRunning = acceptedStatus(randomUUID(), 'image', request(QUICK), {});
      expect(await records.admit(lostRunning, 8)).toMatchObject({ accepted: true });
      expect(await records.start({ ...lostRunning, state: 'running' }, 'queued', 'gone-worker:run')).toBe('ok');
      // A job queued the normal way (no worker runs): BullMQ has it waiting.
      const waiting = await b.enqueue(PHOTO, request(QUICK));

      expect((await b.status(lost.id))!.state).toBe('queued');
      let settled = false;
      const waiter = finished(b, lost.id).finally(() => (settled = true));
      void waiter.catch(() => undefined);
      // Nothing is lost yet at this time: the jobs are younger than lostAfterMs (60 s).
      expect(await sweeper.sweep()).toEqual({ expired: 0, lost: 0, orphans: 0 });
      expect(settled).toBe(false);

      expect(await sweeper.sweep(Date.now() + 120_000)).toEqual({ expired: 0, lost: 2, orphans: 0 });
      const done = await waiter;
      expect(done.state).toBe('failed');
      expect(done.error?.code).toBe('E_CLOSED');
      expect(await store.size(inputKey(lost.id))).toBeUndefined();
      expect(await b.status(lostRunning.id)).toMatchObject({ state: 'failed', error: { code: 'E_INTERNAL' } });
      expect((await b.status(waiting.id))!.state).toBe('queued');
      expect(await b.counts()).toMatchObject({ queued: 1, running: 0 });
    });
  });

  it('runs image and video jobs end to end on an S3 store: results are downloaded files; remove() deletes the objects', async () => {
    const cluster = newCluster();
    const s3 = await startS3Server();
    onCleanup('the S3 server to stop', () => s3.stop());
    const store = new S3BlobStore({
      bucket: s3.bucket,
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    });
    const engine = new FakeEngine({ workers: 1, styles: [QUICK] });
    const node = await ClusterNode.start({ url: redis.url, namespace: cluster.namespace, store, engine });
    onCleanup('the S3 cluster node to close', () => node.close(0));

    const clip = join(cluster.dir, 'upload.mp4');
    copyFileSync(video('03-talking-head-woman.mp4'), clip);
    const image = await node.enqueue(PHOTO, request(QUICK));
    const clipJob = await node.enqueue({ kind: 'video', file: clip, params: { duration: 0.5 } }, request(QUICK, { maxSide: 96 }));
    expect(existsSync(clip)).toBe(false);

    /** The completed job's result: a download into the API node's cache, not a path of the S3 server. */
    const served = async (id: string, mediaType: string): Promise<JobResult> => {
      expect((await finished(node.api, id)).state).toBe('completed');
      const result = await node.result(id);
      expect(result).toMatchObject({ mediaType });
      expect(result!.file.startsWith(s3.directory)).toBe(false);
      expect(statSync(result!.file).size).toBe(result!.size);
      return result!;
    };
    /** remove() deletes the result object from the server and the download. */
    const removes = async (id: string, result: JobResult): Promise<void> => {
      const key = (await node.api.records.get(id))!.result!.key;
      expect(await store.size(key)).toBe(result.size);
      // The input object went when the job completed.
      expect(await store.size(inputKey(id))).toBeUndefined();
      await node.remove(id);
      expect(await store.size(key)).toBeUndefined();
      expect(existsSync(result.file)).toBe(false);
      expect(await node.status(id)).toBeUndefined();
    };

    const imageResult = await served(image.id, 'image/png');
    await expectImage(imageResult.file, 'png', 512, 512);
    await removes(image.id, imageResult);

    const videoResult = await served(clipJob.id, 'video/mp4');
    expect(readFileSync(videoResult.file).subarray(4, 8).toString('latin1')).toBe('ftyp');
    expect((await node.api.records.get(clipJob.id))!.status.video).toMatchObject({ kind: 'video', format: 'mp4' });
    await removes(clipJob.id, videoResult);
  });

  it('completes 20 jobs on two workers exactly once each: every job ran once, 20 results stored', async () => {
    const cluster = newCluster();
    const engines = [
      new ScriptedEngine(new FakeEngine({ workers: 1, styles: [QUICK] })),
      new ScriptedEngine(new FakeEngine({ workers: 1, styles: [QUICK] })),
    ];
    const a = cluster.api(engines[0]!, { maxQueued: 20 });
    for (const engine of engines) await cluster.worker(engine);

    const ids = (await Promise.all(Array.from({ length: 20 }, () => a.enqueue(PHOTO, request(QUICK, { maxSide: 64 }))))).map((s) => s.id);
    for (const id of ids) expect((await finished(a, id)).state).toBe('completed');

    const runs = engines.flatMap((engine) => engine.runs);
    expect([...runs].sort()).toEqual([...ids].sort());
    const keys: string[] = [];
    for (const id of ids) {
      const result = await a.result(id);
      expect(existsSync(result!.file)).toBe(true);
      keys.push(basename((await a.records.get(id))!.result!.key));
    }
    expect(cluster.files('results')).toEqual(keys.sort());
    expect(cluster.files('inputs')).toEqual([]);
    console.info(`[redis-cluster] 20 jobs on two workers: ${engines.map((engine) => engine.runs.length).join(' + ')} runs`);
  });

  it('survives garbage written into Redis: jobs with missing or hostile data and a corrupt record fail or are skipped, and the worker goes on', async () => {
    const cluster = newCluster();
    const engine = new FakeEngine({ workers: 1, styles: [QUICK] });
    const a = cluster.api(engine);
    // A record whose status is not JSON, for a job that is in the queue (made before any worker runs).
    const { id: corruptId } = await a.enqueue(PHOTO, request(QUICK));
    const inspect = inspector();
    await inspect.hset(`${cluster.namespace.prefix}:${cluster.namespace.name}:portoon:job:${corruptId}`, 'status', '{not json');
    // Jobs nobody accepted, added to the queue behind the API nodes' back.
    const raw = new Queue(cluster.namespace.name, { connection: { url: redis.url }, prefix: cluster.namespace.prefix });
    onCleanup('the raw queue to close', () => raw.close());
    const garbage = [
      {},
      { id: 'not-a-uuid' },
      { id: randomUUID(), kind: 'image', input: '../../etc/passwd', request: { style: QUICK }, timeoutMs: 1000, ttlMs: 1000 },
      { id: '__proto__', kind: 'video', input: 'inputs/x', request: null },
      'a string, not an object',
      null,
    ];
    const added = await Promise.all(garbage.map((data, i) => raw.add('image', data as never, { jobId: `garbage-${i}` })));
    const failures: string[] = [];
    const worker = await cluster.worker(engine, { onFinished: (status) => failures.push(status.state) });

    // BullMQ is done with every one of them (skipped, or failed without retry), and nothing crashed.
    await waitFor(
      'the garbage jobs to be handled',
      async () => Promise.all(added.map((job) => raw.getJobState(job.id!))),
      (states) => states.every((state) => state === 'completed' || state === 'failed' || state === 'unknown'),
      { timeoutMs: DEADLINE_MS },
    );
    expect(engine.runs).toEqual([]);
    // The worker still takes real jobs.
    const good = await a.enqueue(PHOTO, request(QUICK, { maxSide: 64 }));
    expect((await finished(a, good.id)).state).toBe('completed');
    // The record is final before the worker has tidied up after the run.
    await waitFor(
      'the worker to be idle',
      () => worker.running,
      (n) => n === 0,
      { timeoutMs: DEADLINE_MS },
    );
    expect(engine.runs.map((run) => run.state)).toEqual(['completed']);
    expect(failures).toEqual(['completed']);
    // The unreadable record is nobody's job: it reads as gone, and the sweeper frees its place in line.
    expect(await a.status(corruptId)).toBeUndefined();
    expect(await a.counts()).toMatchObject({ queued: 1 });
    const sweeper = new Sweeper({ url: redis.url, namespace: cluster.namespace, store: new FsBlobStore(cluster.dir) });
    onCleanup('the sweeper to stop', () => sweeper.stop());
    await sweeper.sweep(Date.now() + 120_000);
    expect(await a.counts()).toMatchObject({ queued: 0, running: 0 });
  });
});
