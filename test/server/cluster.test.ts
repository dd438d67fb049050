/**
 * A cluster of real processes: a real Redis, two API nodes (`portoon serve --queue`) and a worker
 * (`portoon worker`) running real models, on a shared folder store. A job sent to one API node is
 * followed, fetched and cancelled on the other; the worker's metrics count what it ran; a rate limit
 * holds across API nodes; an API node reports a lost Redis in /readyz and refuses work until it is
 * back; and the commands refuse a missing or wrong queue at start-up.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { PublicJobStatus } from '../../src/core/job.js';
import { assertCliBuilt, expectOneLineError, runCli } from '../helpers/cli-process.js';
import { describeWithModels, portrait, TEST_MODELS_DIR, TEST_OUTPUT_DIR } from '../helpers/env.js';
import { cartoonForm } from '../helpers/http.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait.js';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process.js';

const PHOTO = readFileSync(portrait('01-woman-mask-peace.jpg'));
/** 1280x960, five faces: the cartoon style takes seconds on it, with one thread. */
const GROUP = readFileSync(portrait('12-group-selfie-cafe.jpeg'));
const QUEUE_NAME = `cluster-${process.pid}`;
const storeDir = join(TEST_OUTPUT_DIR, `cluster-store-${process.pid}`);

let redis: RedisServer | undefined;
let worker: WorkerProcess | undefined;
let apiA: ServerProcess | undefined;
let apiB: ServerProcess | undefined;
/** Nodes started by single tests, stopped in afterAll whatever happens. */
const extraNodes: ServerProcess[] = [];
/** Set while a test has Redis stopped, so that afterAll starts it again. */
let redisDown = false;
/** Jobs of style cartoon the worker has completed so far (its metrics must count exactly these). */
let completedCartoon = 0;

/** Waits for every start, so that all that started are stopped in afterAll even when one fails; then throws the first failure. */
async function allStarted(starts: Array<Promise<unknown>>): Promise<void> {
  const failed = (await Promise.allSettled(starts)).find((outcome) => outcome.status === 'rejected');
  if (failed) throw failed.reason;
}

function apiNode(args: string[] = []): Promise<ServerProcess> {
  return startServerProcess([
    '--queue',
    redis!.url,
    '--queue-name',
    QUEUE_NAME,
    '--models-dir',
    TEST_MODELS_DIR,
    '--blob-store',
    storeDir,
    '--rate-limit',
    '0',
    '--shutdown-grace',
    '5',
    ...args,
  ]);
}

interface ErrorBody {
  error: { code: string; message: string };
}

async function errorOf(response: Response): Promise<{ status: number; code: string }> {
  return { status: response.status, code: ((await response.json()) as ErrorBody).error.code };
}

function postJob(api: string, photo: Buffer, fields: Record<string, string> = { style: 'cartoon' }): Promise<Response> {
  return fetch(`${api}/api/v1/jobs`, { method: 'POST', body: cartoonForm(photo, fields) });
}

async function submit(api: string, photo: Buffer, fields?: Record<string, string>): Promise<PublicJobStatus> {
  const response = await postJob(api, photo, fields);
  if (response.status !== 202) throw new Error(`POST ${api}/api/v1/jobs answered ${response.status} ${await response.text()}`);
  return (await response.json()) as PublicJobStatus;
}

/**
 * Polls `GET /api/v1/jobs/:id` on `api` until the job is in one of `states` (and `also` holds). Fails
 * at once on any answer but 200, or when the job has finished in another state.
 */
async function waitForJob(
  api: string,
  id: string,
  states: ReadonlyArray<PublicJobStatus['state']>,
  { also = () => true, timeoutMs = 60_000 }: { also?: (status: PublicJobStatus) => boolean; timeoutMs?: number } = {},
): Promise<PublicJobStatus> {
  const what = `job ${id} to be ${states.join(' or ')} on ${api}`;
  return waitFor(
    what,
    async () => {
      const response = await fetch(`${api}/api/v1/jobs/${id}`);
      if (response.status !== 200) throw new Error(`While waiting for ${what}: ${response.status} ${await response.text()}`);
      const status = (await response.json()) as PublicJobStatus;
      const finished = ['completed', 'failed', 'cancelled'].includes(status.state);
      if (!states.includes(status.state) && finished) throw new Error(`While waiting for ${what}: it ended ${JSON.stringify(status)}`);
      return status;
    },
    (status) => states.includes(status.state) && also(status),
    { timeoutMs, intervalMs: 25 },
  );
}

async function workerMetrics(): Promise<string> {
  const response = await fetch(`${worker!.metricsUrl}/metrics`);
  expect(response.status).toBe(200);
  return response.text();
}

/** The value of the sample `name{labels}` whatever the order of its labels; undefined when absent. */
function sample(metrics: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  for (const line of metrics.split('\n')) {
    const match = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = match[2] === undefined || match[2] === '' ? [] : match[2].split(',');
    if (have.length === wanted.length && wanted.every((label) => have.includes(label))) return Number(match[3]);
  }
  return undefined;
}

/** The worker's `"msg":"job finished"` log lines. */
function finishedLines(): Array<{ job: string; state: string; ms: number }> {
  return worker!
    .logs()
    .split('\n')
    .filter((line) => line.includes('"msg":"job finished"'))
    .map((line) => JSON.parse(line) as { job: string; state: string; ms: number });
}

function storeFiles(folder: string): string[] {
  const dir = join(storeDir, folder);
  return existsSync(dir) ? readdirSync(dir) : [];
}

describeWithModels(['whitebox-cartoon'])('cluster of processes: two API nodes, one worker, real Redis', { timeout: 180_000 }, () => {
  beforeAll(async () => {
    assertCliBuilt();
    rmSync(storeDir, { recursive: true, force: true });
    mkdirSync(storeDir, { recursive: true });
    redis = await startRedisServer();
    await allStarted([
      startWorkerProcess([
        '--queue',
        redis.url,
        '--queue-name',
        QUEUE_NAME,
        '--blob-store',
        storeDir,
        '--models-dir',
        TEST_MODELS_DIR,
        '--styles',
        'cartoon,cel',
        '--threads',
        '1',
        '--shutdown-grace',
        '5',
      ]).then((started) => (worker = started)),
      apiNode().then((node) => (apiA = node)),
      apiNode().then((node) => (apiB = node)),
    ]);
  });

  afterAll(async () => {
    // Redis first, should a test have left it stopped: the nodes then shut down as they would in production.
    if (redisDown) await redis?.start().catch(() => undefined);
    await Promise.allSettled([...extraNodes, apiA, apiB].map((node) => node?.stop()));
    await worker?.stop();
    await redis?.destroy();
    rmSync(storeDir, { recursive: true, force: true });
  });

  it('a job sent to API node A is followed on B, with per-stage progress, and B serves its result; B also answers synchronously', async () => {
    const { width, height } = await sharp(PHOTO).metadata();
    const accepted = await submit(apiA!.url, PHOTO);
    expect(accepted.state).toBe('queued');

    const done = await waitForJob(apiB!.url, accepted.id, ['completed']);
    completedCartoon += 1;
    expect(done).toMatchObject({ id: accepted.id, state: 'completed', style: 'cartoon', overall: 1 });
    // Every stage the worker ran is reported, each done.
    const stages = Object.keys(done.report!.timings).sort();
    expect(stages.length).toBeGreaterThanOrEqual(4);
    expect(Object.keys(done.progress).sort()).toEqual(stages);
    expect(Object.values(done.progress).every((progress) => progress === 1)).toBe(true);

    const result = await fetch(`${apiB!.url}${done.resultUrl}`);
    expect(result.status).toBe(200);
    expect(result.headers.get('content-type')).toBe('image/jpeg');
    const image = await sharp(Buffer.from(await result.arrayBuffer())).metadata();
    expect([image.format, image.width, image.height]).toEqual(['jpeg', width, height]);

    const sync = await fetch(`${apiB!.url}/api/v1/cartoon`, {
      method: 'POST',
      body: cartoonForm(PHOTO, { style: 'cartoon', format: 'png' }),
    });
    expect(sync.status).toBe(200);
    completedCartoon += 1;
    expect(sync.headers.get('content-type')).toBe('image/png');
    const synced = await sharp(Buffer.from(await sync.arrayBuffer())).metadata();
    expect([synced.format, synced.width, synced.height]).toEqual(['png', width, height]);
  });

  it('a running job cancelled on B stops on the worker: it stays cancelled with no result, and the next job runs at once', async () => {
    const slow = await submit(apiA!.url, GROUP);
    const running = await waitForJob(apiB!.url, slow.id, ['running']);
    expect(running.startedAt).toBeDefined();

    const cancelledAt = performance.now();
    const cancel = await fetch(`${apiB!.url}/api/v1/jobs/${slow.id}`, { method: 'DELETE' });
    expect(cancel.status).toBe(200);
    expect(((await cancel.json()) as PublicJobStatus).state).toBe('cancelled');

    // The worker hears of it through Redis and stops the run (at its next model run): it is free again
    // well before the seconds the whole photo takes.
    await waitFor(
      'the worker to stop the cancelled run',
      async () => sample(await workerMetrics(), 'portoon_worker_running_jobs'),
      (jobs) => jobs === 0,
      { timeoutMs: 5000, intervalMs: 25 },
    );
    const stoppedMs = performance.now() - cancelledAt;

    const next = await submit(apiA!.url, PHOTO);
    await waitForJob(apiB!.url, next.id, ['completed'], { timeoutMs: 30_000 });
    completedCartoon += 1;
    await waitFor(
      'the worker to log the next job',
      () => finishedLines(),
      (lines) => lines.some((line) => line.job === next.id),
    );

    // Still cancelled, on both nodes, and without a result: the run left nothing behind.
    for (const api of [apiA!.url, apiB!.url]) {
      const status = (await (await fetch(`${api}/api/v1/jobs/${slow.id}`)).json()) as PublicJobStatus;
      expect(status.state).toBe('cancelled');
      expect(await errorOf(await fetch(`${api}/api/v1/jobs/${slow.id}/result`))).toEqual({ status: 404, code: 'E_JOB_NOT_FOUND' });
    }
    expect(finishedLines().filter((line) => line.job === slow.id)).toEqual([]);
    expect(storeFiles('results').filter((file) => file.startsWith(slow.id))).toEqual([]);
    expect(storeFiles('inputs')).not.toContain(slow.id);
    console.log(`cancel: the worker stopped the run ${Math.round(stoppedMs)} ms after the DELETE`);
  });

  it("the worker's /metrics count the jobs it ran and show the cluster's queue", async () => {
    const metrics = await workerMetrics();
    expect(sample(metrics, 'portoon_jobs_total', { state: 'completed', style: 'cartoon' })).toBe(completedCartoon);
    expect(sample(metrics, 'portoon_job_run_seconds_count', { style: 'cartoon' })).toBe(completedCartoon);
    expect(sample(metrics, 'portoon_jobs_total', { state: 'failed', style: 'cartoon' })).toBeUndefined();
    expect(sample(metrics, 'portoon_queue_depth', { state: 'queued' })).toBe(0);
    expect(sample(metrics, 'portoon_queue_depth', { state: 'running' })).toBe(0);
    expect(sample(metrics, 'portoon_jobs_stalled_total')).toBe(0);
    expect(sample(metrics, 'portoon_worker_running_jobs')).toBe(0);
    const health = await fetch(`${worker!.metricsUrl}/readyz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ready', running: 0, slots: 1 });
  });

  it('a rate limit holds across API nodes: the 4th work request on either node is 429, status reads are not limited', async () => {
    // Two nodes of a cluster of their own (the limit's counters are kept per queue name), no worker.
    const name = `rate-${process.pid}`;
    const limited = ['--queue-name', name, '--blob-store', join(storeDir, name), '--rate-limit', '3'];
    const nodes: ServerProcess[] = [];
    const start = async (): Promise<void> => {
      const node = await apiNode(limited);
      nodes.push(node);
      extraNodes.push(node);
    };
    await allStarted([start(), start()]);
    const [c, d] = nodes as [ServerProcess, ServerProcess];

    const ids: string[] = [];
    for (const api of [c.url, d.url, c.url]) ids.push((await submit(api, PHOTO)).id);
    for (const api of [d.url, c.url]) {
      const refused = await postJob(api, PHOTO);
      expect(await errorOf(refused)).toEqual({ status: 429, code: 'E_RATE_LIMITED' });
    }
    for (const api of [c.url, d.url]) {
      for (const id of ids) expect((await fetch(`${api}/api/v1/jobs/${id}`)).status).toBe(200);
    }
    await Promise.all([c.stop(), d.stop()]);
  });

  it('portoon worker without --queue, and serve with a wrong or unreachable queue, stop at start-up with one line', async () => {
    const options = { modelsDir: TEST_MODELS_DIR, cwd: TEST_OUTPUT_DIR, env: { PORTOON_QUEUE: undefined }, timeoutMs: 30_000 };
    const noQueue = await runCli(['worker', '--metrics-port', '0'], options);
    expect(noQueue.code).toBe(2);
    expect(expectOneLineError(noQueue, 'E_BAD_OPTION')).toContain('--queue');

    const wrong = await runCli(['serve', '--port', '0', '--queue', 'http://x'], options);
    expect(wrong.code).toBe(2);
    expect(expectOneLineError(wrong, 'E_BAD_OPTION')).toContain('--queue');

    // Nothing listens on port 1: start-up fails, and the process ends (it does not linger on its
    // connections) with one line. The worker gives Redis 10 s to answer before it gives up.
    const unreachable = ['--queue', 'redis://127.0.0.1:1', '--blob-store', join(storeDir, 'unreachable')];
    const started = performance.now();
    const [serve, work] = await Promise.all([
      runCli(['serve', '--port', '0', ...unreachable], options).then((result) => ({ ...result, ms: performance.now() - started })),
      runCli(['worker', '--metrics-port', '0', '--styles', 'cel', ...unreachable], options).then((result) => ({
        ...result,
        ms: performance.now() - started,
      })),
    ]);
    for (const result of [serve, work]) {
      expect(result.timedOut, result.stdout).toBe(false);
      expect(result.code).toBe(1);
      expect(expectOneLineError(result, 'E_QUEUE_UNAVAILABLE')).toContain('redis://127.0.0.1:1');
    }
    expect(serve.ms).toBeLessThan(10_000);
    expect(work.ms).toBeLessThan(25_000);
  });

  // Last: it stops Redis (and starts it again).
  it('/readyz of an API node reports the queue: 503 E_QUEUE_UNAVAILABLE while Redis is down, work refused, ready again once it is back', async () => {
    const ready = await fetch(`${apiA!.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', queue: 'redis', store: `fs:${storeDir}`, workers: 1 });

    redisDown = true;
    await redis!.stop();
    try {
      const down = await waitFor(
        '/readyz to report the queue unavailable',
        async () => {
          const response = await fetch(`${apiA!.url}/readyz`);
          return { status: response.status, body: (await response.json()) as Partial<ErrorBody> };
        },
        (answer) => answer.status !== 200,
        { timeoutMs: 20_000, intervalMs: 100 },
      );
      expect([down.status, down.body.error?.code]).toEqual([503, 'E_QUEUE_UNAVAILABLE']);
      expect(await errorOf(await postJob(apiA!.url, PHOTO))).toEqual({ status: 503, code: 'E_QUEUE_UNAVAILABLE' });
    } finally {
      await redis!.start();
      redisDown = false;
    }

    await waitFor(
      '/readyz to be ready again',
      async () => (await fetch(`${apiA!.url}/readyz`)).status,
      (status) => status === 200,
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    // The whole cluster is back: a job sent now is run by the worker.
    const after = await submit(apiA!.url, PHOTO);
    await waitForJob(apiB!.url, after.id, ['completed'], { timeoutMs: 60_000 });
  });
});
