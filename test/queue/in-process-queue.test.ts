import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PortoonError } from '../../src/core/errors.js';
import { parseCartoonizeRequest, type CartoonizeRequest } from '../../src/core/request.js';
import { loadCatalogue } from '../../src/node/load-catalogue.js';
import { Portoon } from '../../src/node/portoon.js';
import { InProcessQueue, type InProcessQueueOptions } from '../../src/queue/in-process-queue.js';
import type { JobStatus } from '../../src/queue/job-queue.js';
import { describeWithModels, portrait, TEST_MODELS_DIR, TEST_OUTPUT_DIR } from '../helpers/env.js';
import { waitFor, within } from '../helpers/wait.js';
import { describeQueueConformance, MISSING_MODEL_STYLE, QUICK_STYLE, type EngineHarness, type QueueBackend } from './conformance.js';
import { FakeEngine, type HoldOptions } from './fake-engine.js';

const inProcess: QueueBackend = { create: async (engine, options) => new InProcessQueue(engine, options) };

const photo = (): Uint8Array => readFileSync(portrait('01-woman-mask-peace.jpg'));

function fakeEngine(workers = 1): FakeEngine {
  return new FakeEngine({ workers, styles: [QUICK_STYLE], missingModel: [MISSING_MODEL_STYLE] });
}

/** A request for a new held style of the fake engine, and the function that releases its runs. */
function held(engine: FakeEngine, options?: HoldOptions): { request: CartoonizeRequest; release: () => void } {
  const { style, release } = engine.hold(options);
  return { request: parseCartoonizeRequest({ style }), release };
}

describeQueueConformance('in-process, fake engine', inProcess, async () => {
  const engine = fakeEngine();
  return {
    engine,
    held: () => ({ input: photo(), ...held(engine) }),
    deadlineMs: 10_000,
    close: async () => undefined,
  };
});

describeWithModels(['whitebox-cartoon'])('in-process queue on the real engine', () => {
  describeQueueConformance('in-process, Portoon', inProcess, async (): Promise<EngineHarness> => {
    // Every installed model but the missing style's, linked into a folder of its own.
    const modelsDir = join(TEST_OUTPUT_DIR, 'queue-models');
    rmSync(modelsDir, { recursive: true, force: true });
    mkdirSync(modelsDir, { recursive: true });
    const catalogue = loadCatalogue(TEST_MODELS_DIR);
    const left = new Set(catalogue.modelsOf(catalogue.style(MISSING_MODEL_STYLE)));
    for (const { id, file } of catalogue.models) {
      if (!left.has(id) && existsSync(join(TEST_MODELS_DIR, file))) symlinkSync(join(TEST_MODELS_DIR, file), join(modelsDir, file));
    }
    // One engine with one worker for the whole suite; each test gets a fresh queue on it.
    const portoon = await Portoon.create({ modelsDir, workers: 1, threads: 2 });
    const group = readFileSync(portrait('12-group-selfie-cafe.jpeg'));
    return {
      engine: portoon,
      // The 1280x960 group photo in a model style takes seconds, reporting progress tile by tile.
      held: () => ({ input: group, request: parseCartoonizeRequest({ style: 'cartoon' }), release: () => undefined }),
      deadlineMs: 120_000,
      close: () => portoon.close(),
    };
  });
});

describe('in-process queue, what it asks of its engine (fake engine)', () => {
  const queues: InProcessQueue[] = [];
  const releases: Array<() => void> = [];
  const create = (engine: FakeEngine, options: InProcessQueueOptions = {}): InProcessQueue => {
    const queue = new InProcessQueue(engine, options);
    queues.push(queue);
    return queue;
  };
  const hold = (engine: FakeEngine, options?: HoldOptions): CartoonizeRequest => {
    const { request, release } = held(engine, options);
    releases.push(release);
    return request;
  };
  const finished = (queue: InProcessQueue, id: string): Promise<JobStatus> => within(`job ${id} to finish`, queue.wait(id), 10_000);
  const untilRunning = (queue: InProcessQueue, id: string): Promise<JobStatus | undefined> =>
    waitFor(
      `job ${id} to run`,
      () => queue.status(id),
      (status) => status?.state === 'running',
      { timeoutMs: 10_000, intervalMs: 5 },
    );

  afterEach(async () => {
    for (const release of releases.splice(0)) release();
    await Promise.all(queues.splice(0).map((queue) => queue.close(0)));
  });

  it('runs at most as many jobs at once as the engine has workers, in the order they were accepted', async () => {
    const engine = fakeEngine(2);
    const queue = create(engine);
    const requests = [hold(engine), hold(engine), parseCartoonizeRequest({ style: QUICK_STYLE }), hold(engine)];
    const jobs = [];
    for (const request of requests) jobs.push(await queue.enqueue(photo(), request));
    await untilRunning(queue, jobs[1]!.id);
    expect(await queue.counts()).toMatchObject({ running: 2, queued: 2 });
    expect(engine.runs.map((run) => run.style)).toEqual(requests.slice(0, 2).map((r) => r.style));
    for (const release of releases) release();
    for (const job of jobs) expect((await finished(queue, job.id)).state).toBe('completed');
    expect(engine.runs.map((run) => run.style)).toEqual(requests.map((r) => r.style));
    expect(engine.maxConcurrent).toBe(2);
  });

  it("aborts the engine's run of a cancelled or timed-out job, with the reason", async () => {
    const engine = fakeEngine();
    const queue = create(engine, { timeoutMs: 200 });
    const cancelled = await queue.enqueue(photo(), hold(engine));
    await untilRunning(queue, cancelled.id);
    await queue.cancel(cancelled.id);
    const timedOut = await queue.enqueue(photo(), hold(engine));
    expect((await finished(queue, timedOut.id)).error?.code).toBe('E_TIMEOUT');
    const reasons = engine.runs.map((run) => [run.state, (run.abortedWith as PortoonError | undefined)?.code]);
    expect(reasons).toEqual([
      ['failed', 'E_CLOSED'],
      ['failed', 'E_TIMEOUT'],
    ]);
  });

  it('keeps the worker taken until the engine has actually stopped a cancelled run', async () => {
    const engine = fakeEngine();
    const queue = create(engine);
    const { request, release } = held(engine, { stopsOnAbort: false });
    releases.push(release);
    const stubborn = await queue.enqueue(photo(), request);
    await untilRunning(queue, stubborn.id);
    const next = await queue.enqueue(photo(), parseCartoonizeRequest({ style: QUICK_STYLE }));
    expect((await queue.cancel(stubborn.id))!.state).toBe('cancelled');
    // Cancelled for everyone at once, but the engine is still busy with it: the next job waits.
    expect(await queue.counts()).toMatchObject({ running: 1, queued: 1 });
    expect((await queue.status(next.id))!.state).toBe('queued');
    release();
    expect((await finished(queue, next.id)).state).toBe('completed');
    expect((await queue.status(stubborn.id))!.state).toBe('cancelled');
    expect(engine.runs.map((run) => run.state)).toEqual(['failed', 'completed']);
  });

  it('forgets the oldest finished results first when they exceed the memory budget, never the newest', async () => {
    const queue = create(fakeEngine(), { maxResultBytes: 1 });
    const request = parseCartoonizeRequest({ style: QUICK_STYLE, maxSide: 128 });
    const first = await queue.enqueue(photo(), request);
    await finished(queue, first.id);
    expect(await queue.result(first.id)).toBeDefined();
    const second = await queue.enqueue(photo(), request);
    await finished(queue, second.id);
    expect(await queue.status(first.id)).toBeUndefined();
    expect(await queue.result(second.id)).toBeDefined();
  });
});
