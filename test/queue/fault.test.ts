/**
 * The fault test of the cluster: 100 real jobs through a real Redis and two real `portoon worker`
 * processes running real models, while one worker is killed (SIGKILL) five times in the middle of a
 * job and replaced. Nothing may be lost and nothing may complete twice: every job completes, once,
 * with one result file, and at least one job is taken over from a killed worker.
 *
 * The jobs are enqueued from this process by an API node's queue (`RedisJobQueue`), as
 * `portoon serve --queue` does; the workers share its folder store.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseCartoonizeRequest } from '../../src/core/request.js';
import { FsBlobStore } from '../../src/queue/blob/fs-blob-store.js';
import type { JobStatus } from '../../src/queue/job-queue.js';
import { RedisJobQueue } from '../../src/queue/redis/redis-job-queue.js';
import { Sweeper } from '../../src/queue/redis/sweeper.js';
import { assertCliBuilt } from '../helpers/cli-process.js';
import { describeWithModels, portrait, TEST_MODELS_DIR, TEST_OUTPUT_DIR } from '../helpers/env.js';
import { metricValue } from '../helpers/http.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { waitFor, within } from '../helpers/wait.js';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process.js';

const JOBS = 100;
const KILLS = 5;
const SIDE = 256;
const QUEUE_NAME = `fault-${process.pid}`;
const storeDir = join(TEST_OUTPUT_DIR, `fault-store-${process.pid}`);

let redis: RedisServer | undefined;
let queue: RedisJobQueue | undefined;
/** Every worker process started, killed ones included (their logs are read at the end). */
const workers: WorkerProcess[] = [];

function startWorker(): Promise<WorkerProcess> {
  return startWorkerProcess([
    '--queue',
    redis!.url,
    '--queue-name',
    QUEUE_NAME,
    '--blob-store',
    storeDir,
    '--models-dir',
    TEST_MODELS_DIR,
    '--styles',
    'cartoon',
    '--threads',
    '1',
    '--lock-duration',
    '2',
    '--max-stalls',
    '5',
  ]).then((worker) => {
    workers.push(worker);
    return worker;
  });
}

async function metrics(worker: WorkerProcess): Promise<string> {
  const response = await fetch(`${worker.metricsUrl}/metrics`);
  if (response.status !== 200) throw new Error(`${worker.metricsUrl}/metrics answered ${response.status}`);
  return response.text();
}

/** The `"msg":"job finished"` lines of a worker's log. */
function finishedLines(worker: WorkerProcess): Array<{ job: string; state: string }> {
  return worker
    .logs()
    .split('\n')
    .filter((line) => line.includes('"msg":"job finished"'))
    .map((line) => JSON.parse(line) as { job: string; state: string });
}

describeWithModels(['whitebox-cartoon'])('cluster fault test: workers killed mid-job', { timeout: 300_000 }, () => {
  beforeAll(async () => {
    assertCliBuilt();
    rmSync(storeDir, { recursive: true, force: true });
    mkdirSync(storeDir, { recursive: true });
    redis = await startRedisServer();
    queue = new RedisJobQueue({
      url: redis!.url,
      namespace: { prefix: 'portoon', name: QUEUE_NAME },
      store: new FsBlobStore(storeDir),
      checker: { check: () => undefined },
      maxQueued: 200,
      ttlMs: 3_600_000,
    });
    await queue.ping();
    // Both awaited even when one fails, so that afterAll stops whichever started.
    const failed = (await Promise.allSettled([startWorker(), startWorker()])).find((outcome) => outcome.status === 'rejected');
    if (failed) throw failed.reason;
  });

  afterAll(async () => {
    await Promise.allSettled(workers.map((worker) => worker.kill()));
    await queue?.close();
    await redis?.destroy();
    rmSync(storeDir, { recursive: true, force: true });
  });

  it(`completes ${JOBS} of ${JOBS} jobs exactly once while one worker is killed ${KILLS} times mid-job`, async () => {
    const started = performance.now();
    const photo = new Uint8Array(readFileSync(portrait('01-woman-mask-peace.jpg')));
    const request = parseCartoonizeRequest({ style: 'cartoon', maxSide: SIDE });
    const ids: string[] = [];
    for (let i = 0; i < JOBS; i += 1) ids.push((await queue!.enqueue(photo, request, { filename: `${i}.jpg` })).id);
    expect(new Set(ids).size).toBe(JOBS);

    // Each time: wait until the doomed worker runs a job, read its counters, kill it, replace it.
    let stalledSeenOnKilled = 0;
    let victim = workers[0]!;
    for (let kill = 1; kill <= KILLS; kill += 1) {
      await waitFor(
        `worker ${victim.process.pid} (kill ${kill}) to be running a job`,
        async () => metricValue(await metrics(victim), 'portoon_worker_running_jobs'),
        (running) => running === 1,
        { timeoutMs: 60_000, intervalMs: 20 },
      );
      stalledSeenOnKilled += metricValue(await metrics(victim), 'portoon_jobs_stalled_total') ?? 0;
      expect(await victim.kill()).toBe('SIGKILL');
      victim = await startWorker();
    }

    // Every job ends: `wait` resolves once its record is final.
    const finals: JobStatus[] = await within(
      `all ${JOBS} jobs to finish`,
      Promise.all(ids.map((id) => queue!.wait(id))),
      240_000 - (performance.now() - started),
    );
    const states = finals.map((status) => status.state);
    expect(
      states.filter((state) => state !== 'completed'),
      JSON.stringify(finals.find((s) => s.state !== 'completed')),
    ).toEqual([]);
    // Not lost: each id still has its record, and it says completed.
    for (const id of ids) expect((await queue!.status(id))?.state, id).toBe('completed');

    // Each result is a real image of the requested size.
    const resultFiles: string[] = [];
    for (const id of ids) {
      const result = await queue!.result(id);
      expect(result, id).toBeDefined();
      resultFiles.push(basename(result!.file));
      const meta = await sharp(result!.file).metadata();
      expect([meta.width, meta.height], id).toEqual([SIDE, SIDE]);
    }
    // One result file per job, the one its record names. A worker killed between storing its result and
    // finishing the record leaves a file nobody names: the sweeper's orphan pass (here without its
    // usual age limit) removes it, and what remains is exactly one result per job.
    const sweeper = new Sweeper({
      url: redis!.url,
      namespace: { prefix: 'portoon', name: QUEUE_NAME },
      store: new FsBlobStore(storeDir),
      orphanAgeMs: 0,
    });
    const swept = await sweeper.sweep();
    await sweeper.stop();
    expect(swept).toMatchObject({ expired: 0, lost: 0 });
    const files = readdirSync(join(storeDir, 'results'));
    expect(files).toHaveLength(JOBS);
    expect(files.sort()).toEqual(resultFiles.sort());

    // Completed once: across every worker's log (killed ones included), no job is reported finished
    // twice. (A worker killed between finishing a record and writing its log line leaves that job out,
    // so at most one line per kill may be missing.)
    const lines = workers.flatMap(finishedLines);
    expect(lines.filter((line) => line.state !== 'completed')).toEqual([]);
    const logged = lines.map((line) => line.job);
    expect(new Set(logged).size).toBe(logged.length);
    expect(logged.filter((id) => !ids.includes(id))).toEqual([]);
    expect(logged.length).toBeGreaterThanOrEqual(JOBS - KILLS);

    // Taken over: the stalled-job checks of the workers put back jobs of the killed ones.
    const survivors = workers.filter((worker) => worker.process.exitCode === null && worker.process.signalCode === null);
    expect(survivors).toHaveLength(2);
    let stalled = stalledSeenOnKilled;
    for (const worker of survivors) stalled += metricValue(await metrics(worker), 'portoon_jobs_stalled_total') ?? 0;
    expect(stalled).toBeGreaterThan(0);

    // The survivors stop cleanly when asked (SIGTERM: exit 0, nothing left running that holds them).
    for (const worker of survivors) expect(await within(`worker ${worker.process.pid} to stop`, worker.stop(), 15_000)).toBe(0);

    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(
      `fault test: ${JOBS} jobs, ${KILLS} workers killed mid-job, ${stalled} jobs recovered from killed workers, ` +
        `${states.filter((s) => s === 'completed').length}/${JOBS} completed once, ${files.length} result files ` +
        `(${swept.orphans} orphan files swept), ${seconds} s`,
    );
  });
});
