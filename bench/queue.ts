/**
 * The job queue on Redis (`portoon serve --queue` + `portoon worker`), measured against the
 * in-process queue on this machine. Every process is the built CLI (dist/cli/main.js) as a child
 * process on loopback, with a real redis-server (append-only file on) of its own.
 *
 * a. Overhead: images/s of POST /api/v1/cartoon through Redis (an API node + one worker process,
 *    `--workers 1 --threads 2`) against `portoon serve --workers 1 --threads 2` running its own
 *    jobs; same photo, style, client concurrency and request count; rounds alternate A, B, A, B
 *    after an unmeasured warm-up of each, and the medians are compared (target: Redis ≥ 0.95 ×
 *    in-process).
 * b. Burst: 2 API nodes + 2 workers (`--workers 1 --threads 1` each), a burst of requests spread over
 *    both API nodes at once, default `--max-queue`: every answer must be 200 or 503 with
 *    Retry-After, with no socket errors.
 * c. Scaling: one API node with 1 worker vs 2 workers (`--workers 1 --threads 1` each), same load,
 *    rounds alternating: the images/s one added worker (one inference thread, i.e. one core) brings.
 * d. Redis per job: the queue's keys (SCAN + MEMORY USAGE, summed) and used_memory (INFO memory,
 *    less the script cache and the client and AOF buffers; per-command latency histograms off) before
 *    and after N jobs queued while BullMQ's queue is paused (a first job has run before, so one-time
 *    costs are paid), and after a worker has run them (finished jobs are kept for --job-ttl); MEMORY
 *    USAGE of one job's keys; client commands per job (INFO stats), net of the idle nodes' background
 *    commands, and the commands run per job, those inside Lua scripts included.
 *
 * Before each round the bench waits (up to 120 s) for other processes to be quiet, and reports as
 * "other load" the cores used by processes other than its own (itself, its nodes, its Redis) during
 * the round; a round with more than 0.25 cores of other load is measured again (--retries) and the
 * quietest attempt kept. Targets are printed PASS/MISS; the exit code is 0 either way (2 when the
 * time limit stops the run, 1 on an error).
 *
 *   npm run build && npm run bench:queue -- [--requests 40] [--rounds 2] [--concurrency 4] [--models-dir dir] [--photo path]
 *     [--burst-requests 48] [--burst-concurrency 24] [--memory-jobs 100] [--parts overhead,burst,memory] [--time-limit-min 45]
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { SERVER_SETTINGS, WORKER_ONLY_SETTINGS } from '../src/server/config.js';
import { portrait, TEST_MODELS_DIR } from '../test/helpers/env.js';
import { cartoonForm, percentile, promisePool } from '../test/helpers/http.js';
import { CLI_PATH, startChildService } from '../test/helpers/child-service.js';
import { startRedisServer, type RedisServer } from '../test/helpers/redis-server.js';
import { machineLine, machineTicks, processTicks } from './machine.js';

const { values } = parseArgs({
  options: {
    'models-dir': { type: 'string', default: TEST_MODELS_DIR },
    photo: { type: 'string', default: portrait('01-woman-mask-peace.jpg') },
    style: { type: 'string', default: 'cartoon' },
    /** Measured requests per round (overhead and scaling). */
    requests: { type: 'string', default: '40' },
    /** Measured rounds of each setup (overhead and scaling), alternating. */
    rounds: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '4' },
    /** Unmeasured requests sent to each setup before its first round. */
    warmup: { type: 'string', default: '4' },
    'burst-requests': { type: 'string', default: '48' },
    'burst-concurrency': { type: 'string', default: '24' },
    /** Jobs queued for the Redis memory measurement. */
    'memory-jobs': { type: 'string', default: '100' },
    /** Extra attempts at a round when other processes used more than a quarter of a core during it. */
    retries: { type: 'string', default: '2' },
    /** Parts to run: overhead (a), burst (b and c, which share their nodes), memory (d). */
    parts: { type: 'string', default: 'overhead,burst,memory' },
    /** Hard stop for the whole run. */
    'time-limit-min': { type: 'string', default: '45' },
  },
});

const modelsDir = resolve(values['models-dir']);
const requests = Number(values.requests);
const rounds = Number(values.rounds);
const concurrency = Number(values.concurrency);
const warmupRequests = Number(values.warmup);
const maxRetries = Number(values.retries);
const timeLimitMs = Number(values['time-limit-min']) * 60_000;
const startedAt = performance.now();
/** Other processes may use at most this many cores during a round before it is measured again. */
const MAX_OTHER_LOAD = 0.25;
/** Retries stop once half the time limit is spent, so the run always finishes. */
const retriesAllowed = (): boolean => performance.now() - startedAt < timeLimitMs / 2;
const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

// ---------------------------------------------------------------------------------------------
// Processes: nodes (the built CLI), Redis servers, blob folders; all torn down in `cleanUp`.
// ---------------------------------------------------------------------------------------------

interface Node {
  name: string;
  /** API node: its base URL; worker: its metrics base URL. */
  url: string;
  pid: number;
  logs(): string;
  stop(): Promise<void>;
}

const children = new Set<ChildProcess>();
const nodes = new Set<Node>();
const redisServers = new Set<RedisServer>();
const folders = new Set<string>();

/** The environment of a node: this process's, without any Portoon setting that could change what the flags say. */
function nodeEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PORTOON_LOG_LEVEL: 'info' };
  for (const setting of [...Object.values(SERVER_SETTINGS), ...Object.values(WORKER_ONLY_SETTINGS)]) {
    if (setting.env !== 'PORTOON_LOG_LEVEL' && setting.env !== 'PORTOON_MODELS') delete env[setting.env];
  }
  return env;
}

/**
 * Spawns `portoon serve|worker …` and resolves once it is ready: an API node has logged "listening"
 * (its URL) and "ready"; a worker has logged "taking jobs" (its metrics URL).
 */
async function startNode(name: string, args: string[], timeoutMs = 180_000): Promise<Node> {
  const service = await startChildService([CLI_PATH, ...args], {
    env: nodeEnv(),
    name,
    readyTimeoutMs: timeoutMs,
    stopTimeoutMs: 20_000,
    logTail: 64_000,
    onSpawn: (child) => children.add(child),
  });
  const node: Node = {
    name,
    url: service.url,
    pid: service.pid,
    logs: service.logs,
    async stop() {
      await service.stop();
      children.delete(service.process);
      nodes.delete(node);
    },
  };
  nodes.add(node);
  return node;
}

interface Cluster {
  redis: RedisServer;
  /** Its pid (for the load accounting). */
  redisPid: number;
  blobs: string;
}

async function startCluster(): Promise<Cluster> {
  const redis = await startRedisServer();
  redisServers.add(redis);
  const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  try {
    const info = await client.info('server');
    const redisPid = Number(/^process_id:(\d+)/m.exec(info)?.[1] ?? -1);
    const blobs = mkdtempSync(join(tmpdir(), 'portoon-bench-queue-'));
    folders.add(blobs);
    return { redis, redisPid, blobs };
  } finally {
    client.disconnect();
  }
}

const common = ['--models-dir', modelsDir, '--rate-limit', '0'];

/** An API node of `cluster`'s queue `queueName`. */
function apiNode(name: string, cluster: Cluster, queueName: string, extra: string[] = []): Promise<Node> {
  const queue = ['--queue', cluster.redis.url, '--queue-name', queueName, '--blob-store', cluster.blobs];
  return startNode(name, ['serve', '--host', '127.0.0.1', '--port', '0', ...queue, ...common, ...extra]);
}

/** A worker of `cluster`'s queue `queueName`: `--workers 1 --threads <threads>`, style cartoon only. */
function workerNode(name: string, cluster: Cluster, queueName: string, threads: number): Promise<Node> {
  const queue = ['--queue', cluster.redis.url, '--queue-name', queueName, '--blob-store', cluster.blobs];
  const engine = ['--models-dir', modelsDir, '--styles', values.style, '--workers', '1', '--threads', String(threads)];
  return startNode(name, ['worker', '--host', '127.0.0.1', '--metrics-port', '0', ...queue, ...engine]);
}

/** Waits until the API node's /readyz counts `workers` live workers (it then also knows their models). */
async function untilWorkers(api: Node, workers: number, timeoutMs = 60_000): Promise<void> {
  const until = performance.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${api.url}/readyz`).catch(() => undefined);
    const body = res?.ok ? ((await res.json()) as { workers?: number }) : undefined;
    if ((body?.workers ?? -1) >= workers) return;
    if (performance.now() > until) throw new Error(`${api.name}: ${workers} workers not live within ${timeoutMs} ms`);
    await sleep(250);
  }
}

async function cleanUp(): Promise<void> {
  await Promise.allSettled([...nodes].map((node) => node.stop()));
  for (const child of children) child.kill('SIGKILL');
  await Promise.allSettled([...redisServers].map((redis) => redis.destroy()));
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// Load accounting: CPU used by processes other than this bench's own.
// ---------------------------------------------------------------------------------------------

const redisPids: number[] = [];
const ownPids = (): number[] => [process.pid, ...[...nodes].map((node) => node.pid), ...redisPids];
const ownTicks = (pids: number[]): number => pids.reduce((sum, pid) => sum + processTicks(pid), 0);

/** Cores used by other processes from now until the returned function is called. */
function watchOtherLoad(): () => number {
  const pids = ownPids();
  const m0 = machineTicks();
  const o0 = ownTicks(pids);
  return () => {
    const m1 = machineTicks();
    const other = m1.busy - m0.busy - (ownTicks(pids) - o0);
    return Math.max(0, (other / Math.max(1, m1.total - m0.total)) * availableParallelism());
  };
}

/** Waits (at most maxMs) until other processes use less than a quarter of a core over one second; returns the last reading. */
async function waitForQuiet(maxMs = 120_000): Promise<number> {
  const until = performance.now() + maxMs;
  for (;;) {
    const stop = watchOtherLoad();
    await sleep(1000);
    const other = stop();
    if (other < MAX_OTHER_LOAD || performance.now() > until) return other;
  }
}

/** The 1-, 5- and 15-minute load averages (as `uptime` prints them; they include this bench's own processes). */
const loadAverage = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

// ---------------------------------------------------------------------------------------------
// The load: POST /api/v1/cartoon, `count` requests with at most `concurrency` at once.
// ---------------------------------------------------------------------------------------------

interface Upload {
  body: Buffer;
  contentType: string;
}

interface Outcome {
  /** Undefined: the request failed at the socket (no answer). */
  status: number | undefined;
  retryAfter: string | null;
  /** A 200 whose body is an image. */
  image: boolean;
  /** Bytes of the body. */
  bytes: number;
  ms: number;
  /** The socket error's code, for a request without an answer. */
  error?: string;
}

async function send(url: string, upload: Upload): Promise<Outcome> {
  const start = performance.now();
  try {
    const res = await fetch(`${url}/api/v1/cartoon`, {
      method: 'POST',
      body: upload.body,
      headers: { 'content-type': upload.contentType },
      signal: AbortSignal.timeout(300_000),
    });
    const body = new Uint8Array(await res.arrayBuffer());
    const image = res.status === 200 && (res.headers.get('content-type') ?? '').startsWith('image/') && body.length > 0;
    return { status: res.status, retryAfter: res.headers.get('retry-after'), image, bytes: body.length, ms: performance.now() - start };
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const code = cause?.code ?? cause?.message ?? (error as Error).name;
    return { status: undefined, retryAfter: null, image: false, bytes: 0, ms: performance.now() - start, error: code };
  }
}

interface Load {
  seconds: number;
  outcomes: Outcome[];
}

/** Request i goes to urls[i % urls.length]; the time runs from the first request to the last answer. */
async function runLoad(urls: string[], count: number, clients: number, upload: Upload): Promise<Load> {
  const start = performance.now();
  const outcomes = await promisePool(count, clients, (i) => send(urls[i % urls.length]!, upload));
  return { seconds: (performance.now() - start) / 1000, outcomes };
}

async function warmUp(name: string, urls: string[], upload: Upload): Promise<void> {
  const { outcomes } = await runLoad(urls, warmupRequests, Math.min(concurrency, warmupRequests), upload);
  const bad = outcomes.find((o) => !o.image);
  if (bad) throw new Error(`${name}: warm-up request answered ${bad.status ?? bad.error}`);
}

interface Round {
  imagesPerSecond: number;
  ok: number;
  count: number;
  latencies: number[];
  /** Bytes of each result image. */
  sizes: number[];
  otherLoad: number;
  loadAverage: string;
}

/** One measured round; measured again while other processes took a share of the cores (time allowing), keeping the quietest. */
async function measureRound(name: string, urls: string[], upload: Upload): Promise<Round> {
  const attempt = async (): Promise<Round> => {
    const quiet = await waitForQuiet();
    if (quiet >= MAX_OTHER_LOAD) console.log(`[${name}] other processes use ${quiet.toFixed(2)} cores; measuring anyway`);
    const average = loadAverage();
    const stop = watchOtherLoad();
    const load = await runLoad(urls, requests, concurrency, upload);
    const otherLoad = stop();
    const good = load.outcomes.filter((o) => o.image);
    const others = load.outcomes.filter((o) => !o.image).map((o) => o.status ?? o.error);
    if (others.length > 0) console.log(`[${name}] ${others.length} requests without an image: ${others.join(', ')}`);
    return {
      imagesPerSecond: good.length / load.seconds,
      ok: good.length,
      count: load.outcomes.length,
      latencies: good.map((o) => o.ms),
      sizes: good.map((o) => o.bytes),
      otherLoad,
      loadAverage: average,
    };
  };
  let best = await attempt();
  let last = best;
  for (let retry = 0; retry < maxRetries && last.otherLoad > MAX_OTHER_LOAD && retriesAllowed(); retry++) {
    console.log(`[${name}] other processes used ${last.otherLoad.toFixed(2)} cores; measuring again`);
    last = await attempt();
    if (last.otherLoad < best.otherLoad) best = last;
  }
  console.log(
    `[${name}] ${best.ok}/${best.count} images, ${best.imagesPerSecond.toFixed(3)} images/s, other load ${best.otherLoad.toFixed(2)} cores, ` +
      `load average ${best.loadAverage}`,
  );
  return best;
}

interface Series {
  name: string;
  rounds: Round[];
}

const median = (xs: number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const medianRate = (series: Series): number => median(series.rounds.map((r) => r.imagesPerSecond));

/** Rounds alternate between the setups: A, B, A, B … */
async function alternate(setups: Array<{ name: string; urls: string[] }>, upload: Upload): Promise<Series[]> {
  const series = setups.map(({ name }) => ({ name, rounds: [] as Round[] }));
  for (let round = 0; round < rounds; round++) {
    for (const [i, setup] of setups.entries()) series[i]!.rounds.push(await measureRound(setup.name, setup.urls, upload));
  }
  return series;
}

const s2 = (ms: number): string => (ms / 1000).toFixed(2);

function seriesTable(series: Series[]): string[] {
  const lines = [
    '| setup | images/s per round | median images/s | p50 s | p95 s | other load, cores | load average at start |',
    '| ----- | -----------------: | --------------: | ----: | ----: | ----------------: | --------------------- |',
  ];
  for (const s of series) {
    const latencies = s.rounds.flatMap((r) => r.latencies);
    lines.push(
      `| ${s.name} | ${s.rounds.map((r) => r.imagesPerSecond.toFixed(3)).join(', ')} | ${medianRate(s).toFixed(3)} | ` +
        `${s2(percentile(latencies, 50))} | ${s2(percentile(latencies, 95))} | ${s.rounds.map((r) => r.otherLoad.toFixed(2)).join(', ')} | ` +
        `${s.rounds.map((r) => r.loadAverage).join('; ')} |`,
    );
  }
  return lines;
}

const verdict = (ok: boolean): string => (ok ? 'PASS' : 'MISS');
const meanKb = (series: Series): string => {
  const sizes = series.rounds.flatMap((r) => r.sizes);
  return (sizes.reduce((sum, n) => sum + n, 0) / Math.max(1, sizes.length) / 1024).toFixed(0);
};
/** `5 s`, `3–7 s`, or `never sent`. */
const range = (seconds: number[]): string => {
  if (seconds.length === 0) return 'never sent';
  const [min, max] = [Math.min(...seconds), Math.max(...seconds)];
  return min === max ? `${min} s` : `${min}–${max} s`;
};

// ---------------------------------------------------------------------------------------------
// The sections.
// ---------------------------------------------------------------------------------------------

const report: string[] = [];
const out = (...lines: string[]): void => {
  for (const line of lines) report.push(line);
};

async function overhead(upload: Upload): Promise<void> {
  const cluster = await startCluster();
  redisPids.push(cluster.redisPid);
  const inProcess = await startNode('in-process', [
    'serve',
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    ...common,
    '--styles',
    values.style,
    '--workers',
    '1',
    '--threads',
    '2',
    '--max-queue',
    '64',
  ]);
  const api = await apiNode('redis-api', cluster, 'overhead', ['--max-queue', '64']);
  const worker = await workerNode('redis-worker', cluster, 'overhead', 2);
  await untilWorkers(api, 1);
  await warmUp('in-process', [inProcess.url], upload);
  await warmUp('redis', [api.url], upload);
  const [a, b] = await alternate(
    [
      { name: 'in-process: `serve --workers 1 --threads 2`', urls: [inProcess.url] },
      { name: 'Redis: `serve --queue` + `worker --workers 1 --threads 2`', urls: [api.url] },
    ],
    upload,
  );
  for (const node of [inProcess, api, worker]) await node.stop();
  const ratio = medianRate(b!) / medianRate(a!);
  out(
    '',
    `### a. Overhead: Redis queue vs in-process queue (${requests} requests at ${concurrency} clients per round, ${rounds} rounds each, alternating)`,
    '',
    ...seriesTable([a!, b!]),
    '',
    `Redis / in-process (medians) = ${ratio.toFixed(3)} (target ≥ 0.95): ${verdict(ratio >= 0.95)}`,
    `Upload ${(upload.body.length / 1024).toFixed(0)} KB per request; result images ${meanKb(b!)} KB on average (what a job keeps in the blob store).`,
  );
}

async function burstAndScaling(upload: Upload): Promise<void> {
  const cluster = await startCluster();
  redisPids.push(cluster.redisPid);
  // b. Two API nodes, two workers, one queue; the default --max-queue (8).
  const api1 = await apiNode('api-1', cluster, 'burst');
  const api2 = await apiNode('api-2', cluster, 'burst');
  const w1 = await workerNode('worker-1', cluster, 'burst', 1);
  const w2 = await workerNode('worker-2', cluster, 'burst', 1);
  await untilWorkers(api1, 2);
  await untilWorkers(api2, 2);
  await warmUp('burst', [api1.url, api2.url], upload);
  const burstRequests = Number(values['burst-requests']);
  const burstClients = Number(values['burst-concurrency']);
  const quiet = await waitForQuiet();
  const average = loadAverage();
  const stop = watchOtherLoad();
  const burst = await runLoad([api1.url, api2.url], burstRequests, burstClients, upload);
  const otherLoad = stop();
  const count = (test: (o: Outcome) => boolean): number => burst.outcomes.filter(test).length;
  const images = count((o) => o.image);
  const ok200 = count((o) => o.status === 200);
  const busyWith = count((o) => o.status === 503 && o.retryAfter !== null);
  const busyWithout = count((o) => o.status === 503 && o.retryAfter === null);
  const otherStatus = burst.outcomes.filter((o) => o.status !== undefined && o.status !== 200 && o.status !== 503);
  const socket = burst.outcomes.filter((o) => o.status === undefined);
  const kinds = (list: Outcome[], key: (o: Outcome) => string): string =>
    Object.entries(
      list.reduce<Record<string, number>>((counts, o) => {
        counts[key(o)] = (counts[key(o)] ?? 0) + 1;
        return counts;
      }, {}),
    )
      .map(([k, n]) => `${n}×${k}`)
      .join(', ');
  const retryAfter = burst.outcomes.filter((o) => o.retryAfter !== null).map((o) => Number(o.retryAfter));
  const target = otherStatus.length === 0 && busyWithout === 0 && socket.length === 0 && images === ok200;
  out(
    '',
    `### b. Burst: 2 API nodes + 2 workers (\`--workers 1 --threads 1\` each), ${burstRequests} requests at ${burstClients} clients, ` +
      `alternating between the API nodes, default \`--max-queue\` (${SERVER_SETTINGS.maxQueue.default})`,
    '',
    '| answer | requests |',
    '| ------ | -------: |',
    `| 200 with an image | ${images} |`,
    ...(ok200 !== images ? [`| 200 without an image | ${ok200 - images} |`] : []),
    `| 503 with Retry-After | ${busyWith} |`,
    `| 503 without Retry-After | ${busyWithout} |`,
    `| other status | ${otherStatus.length === 0 ? '0' : kinds(otherStatus, (o) => String(o.status))} |`,
    `| socket errors | ${socket.length === 0 ? '0' : kinds(socket, (o) => o.error ?? 'unknown')} |`,
    '',
    `Burst took ${burst.seconds.toFixed(1)} s; Retry-After ${range(retryAfter)}; ` +
      `other load ${otherLoad.toFixed(2)} cores (quiet check before: ${quiet.toFixed(2)}); load average at start ${average}.`,
    `Target (only 200 and 503 with Retry-After, no socket errors): ${verdict(target)}`,
  );

  // c. One API node with 1 worker (queue "scale-1") vs one API node with the 2 workers above.
  const api3 = await apiNode('api-3', cluster, 'scale-1');
  const w3 = await workerNode('worker-3', cluster, 'scale-1', 1);
  await untilWorkers(api3, 1);
  await warmUp('1 worker', [api3.url], upload);
  await warmUp('2 workers', [api1.url], upload);
  const [one, two] = await alternate(
    [
      { name: '1 worker (`--workers 1 --threads 1`)', urls: [api3.url] },
      { name: '2 workers (`--workers 1 --threads 1` each)', urls: [api1.url] },
    ],
    upload,
  );
  for (const node of [api1, api2, api3, w1, w2, w3]) await node.stop();
  const gain = medianRate(two!) - medianRate(one!);
  out(
    '',
    `### c. Scaling: one API node, 1 vs 2 workers (${requests} requests at ${concurrency} clients per round, ${rounds} rounds each, alternating)`,
    '',
    ...seriesTable([one!, two!]),
    '',
    `Added worker: ${gain >= 0 ? '+' : ''}${gain.toFixed(3)} images/s (2 workers / 1 worker = ${(medianRate(two!) / medianRate(one!)).toFixed(2)}). ` +
      `Each worker runs one inference thread, so this is what one added core brings; on this ${availableParallelism()}-core machine ` +
      'the API node, Redis and the load client share the same cores as the 2 workers.',
  );
}

/** One reading of Redis's INFO. */
interface Reading {
  at: number;
  /** used_memory less the script cache, client buffers and AOF buffer: what the keys take. */
  keysMemory: number;
  /** Client commands processed (total_commands_processed), less this bench's own. */
  commands: number;
  /** Calls per command, commands run inside Lua scripts included (INFO commandstats), less this bench's own. */
  calls: Map<string, number>;
}

/** Commands between two readings, less a background rate (per second) over the time between them. */
function commandsBetween(
  a: Reading,
  b: Reading,
  background?: { commands: number; calls: Map<string, number> },
): { commands: number; calls: Map<string, number> } {
  const seconds = (b.at - a.at) / 1000;
  const calls = new Map<string, number>();
  for (const [name, n] of b.calls) {
    const value = n - (a.calls.get(name) ?? 0) - (background?.calls.get(name) ?? 0) * seconds;
    if (value > 0) calls.set(name, value);
  }
  return { commands: b.commands - a.commands - (background?.commands ?? 0) * seconds, calls };
}

/** `evalsha 2.0, hset 1.0, …`: calls per job, the most frequent first, those under 0.5 per job left out. */
function perJobCalls(calls: Map<string, number>, jobs: number): string {
  return [...calls]
    .map(([name, n]) => [name, n / jobs] as const)
    .filter(([, n]) => n >= 0.5)
    .sort((x, y) => y[1] - x[1])
    .map(([name, n]) => `${name} ${n.toFixed(1)}`)
    .join(', ');
}

async function memory(upload: Upload): Promise<void> {
  const cluster = await startCluster();
  redisPids.push(cluster.redisPid);
  const jobs = Number(values['memory-jobs']);
  const name = 'mem';
  const api = await apiNode('mem-api', cluster, name, ['--max-queue', String(jobs + 10)]);
  const redis = new Redis(cluster.redis.url, { maxRetriesPerRequest: 1 });
  // Redis 7 allocates a latency histogram for each command the first time it runs, which would count
  // as data: every command a worker runs now and then (stalled-job check, sweeper) would add some.
  await redis.config('SET', 'latency-tracking', 'no');
  /** Commands this bench sent itself, by name, subtracted from Redis's counts. */
  const own = new Map<string, number>();
  const command = <T>(commandName: string, run: () => Promise<T>): Promise<T> => {
    own.set(commandName, (own.get(commandName) ?? 0) + 1);
    return run();
  };
  const field = (info: string, key: string): number => Number(new RegExp(`^${key}:(\\d+)`, 'm').exec(info)?.[1] ?? 0);
  const reading = async (): Promise<Reading> => {
    const memoryInfo = await command('info', () => redis.info('memory'));
    const statsInfo = await command('info', () => redis.info('stats'));
    const commandInfo = await command('info', () => redis.info('commandstats'));
    const calls = new Map<string, number>();
    for (const match of commandInfo.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
      calls.set(match[1]!, Number(match[2]) - (own.get(match[1]!) ?? 0));
    }
    const ownTotal = [...own.values()].reduce((sum, n) => sum + n, 0);
    return {
      at: performance.now(),
      keysMemory:
        field(memoryInfo, 'used_memory') -
        field(memoryInfo, 'used_memory_scripts') -
        field(memoryInfo, 'mem_clients_normal') -
        field(memoryInfo, 'mem_aof_buffer'),
      commands: field(statsInfo, 'total_commands_processed') - ownTotal,
      calls,
    };
  };
  const submit = async (): Promise<string> => {
    const res = await fetch(`${api.url}/api/v1/jobs`, {
      method: 'POST',
      body: upload.body,
      headers: { 'content-type': upload.contentType },
    });
    const body = (await res.json()) as { id?: string };
    if (res.status !== 202 || !body.id) throw new Error(`POST /api/v1/jobs answered ${res.status}: ${JSON.stringify(body)}`);
    return body.id;
  };
  const base = `portoon:${name}:portoon`;
  const events = `portoon:${name}:events`;
  const usage = async (key: string): Promise<number> =>
    Number(await command('memory|usage', () => redis.memory('USAGE', key, 'SAMPLES', 0)));
  /** The bytes of every key of this queue (BullMQ's and the job records), summed. */
  const keysBytes = async (): Promise<number> => {
    let total = 0;
    let cursor = '0';
    do {
      const [next, keys] = await command('scan', () => redis.scan(cursor, 'MATCH', `portoon:${name}:*`, 'COUNT', 1000));
      cursor = next;
      for (const key of keys) total += await usage(key);
    } while (cursor !== '0');
    return total;
  };
  try {
    const untilDone = async (): Promise<void> => {
      const start = performance.now();
      for (;;) {
        const waiting = await command('zcard', () => redis.zcard(`${base}:queued`));
        const running = await command('zcard', () => redis.zcard(`${base}:running`));
        if (waiting + running === 0) return;
        if (performance.now() - start > 30 * 60_000) throw new Error(`${waiting + running} jobs still unfinished`);
        await sleep(500);
      }
    };
    // Costs paid once are paid before the baseline: a first job creates BullMQ's keys and loads the
    // API node's and the worker's scripts. Then the queue is paused (BullMQ's pause: the worker stays
    // alive and takes nothing), so the jobs stay queued until it is resumed.
    await submit();
    const worker = await workerNode('mem-worker', cluster, name, 2);
    await untilDone();
    console.log('[memory] first job done; pausing the queue');
    // A connection of its own, which BullMQ leaves open on close (it did not create it).
    const bullConnection = redis.duplicate();
    const bull = new Queue(name, { connection: bullConnection, prefix: 'portoon' });
    await bull.pause();
    await sleep(1000);
    const keysBefore = await keysBytes();
    const before = await reading();
    const ids = await promisePool(jobs, 4, () => submit());
    const queued = await reading();
    const keysQueued = await keysBytes();
    const recordQueued = await usage(`${base}:job:${ids[0]}`);
    const bullJob = await usage(`portoon:${name}:${ids[0]}`);
    const eventsQueued = await usage(events);
    const xlenQueued = await command('xlen', () => redis.xlen(events));

    console.log(`[memory] ${jobs} jobs queued; resuming the queue`);
    const runStart = await reading();
    await bull.resume();
    await untilDone();
    console.log(`[memory] ${jobs} jobs finished`);
    await bull.close();
    bullConnection.disconnect();
    const finished = await reading();
    // The background: commands of the idle API node and worker (worker list, heartbeats, blocking
    // waits, stalled-job checks, sweeper) over 10 s with nothing to do.
    await sleep(10_000);
    const idle = await reading();
    const idleSeconds = (idle.at - finished.at) / 1000;
    const idleDelta = commandsBetween(finished, idle);
    const background = {
      commands: idleDelta.commands / idleSeconds,
      calls: new Map([...idleDelta.calls].map(([k, n]) => [k, n / idleSeconds])),
    };
    const keysFinished = await keysBytes();
    const recordDone = await usage(`${base}:job:${ids[0]}`);
    const eventsDone = await usage(events);
    const xlenDone = await command('xlen', () => redis.xlen(events));
    await worker.stop();
    await api.stop();

    const bytesPerJob = (a: number, b: number): string => String(Math.round((b - a) / jobs));
    const accept = commandsBetween(before, queued, background);
    const run = commandsBetween(runStart, finished, background);
    const seconds = (a: Reading, b: Reading): string => ((b.at - a.at) / 1000).toFixed(1);
    out(
      '',
      `### d. Redis per job (${jobs} jobs sent with POST /api/v1/jobs to an API node while the queue was paused, then run by one worker)`,
      '',
      '| what | bytes |',
      '| ---- | ----: |',
      `| per queued job: the queue's keys (SCAN, MEMORY USAGE of each, summed; before and after the ${jobs} jobs) | ${bytesPerJob(keysBefore, keysQueued)} |`,
      `| per queued job: used_memory less script cache, client and AOF buffers (INFO memory) | ${bytesPerJob(before.keysMemory, queued.keysMemory)} |`,
      `| per finished job, kept for --job-ttl: the queue's keys, after the worker ran them all | ${bytesPerJob(keysBefore, keysFinished)} |`,
      `| per finished job, kept for --job-ttl: used_memory less script cache, client and AOF buffers | ${bytesPerJob(before.keysMemory, finished.keysMemory)} |`,
      `| MEMORY USAGE of one job record, queued (\`${base}:job:<id>\`) | ${recordQueued} |`,
      `| MEMORY USAGE of the same record, completed | ${recordDone} |`,
      `| MEMORY USAGE of one BullMQ job hash, queued (\`portoon:${name}:<id>\`; removed once it finishes) | ${bullJob} |`,
      `| BullMQ event stream \`${events}\` (capped near 10 000 events): ${xlenQueued} events after queueing, ${xlenDone} after running | ${eventsQueued} → ${eventsDone} |`,
      '',
      `Client commands per job (INFO stats total_commands_processed, less this bench's own and the idle nodes' background of ` +
        `${background.commands.toFixed(1)}/s): ${(accept.commands / jobs).toFixed(1)} to accept it (${jobs} in ${seconds(before, queued)} s), ` +
        `${(run.commands / jobs).toFixed(1)} to run it (${jobs} in ${seconds(runStart, finished)} s).`,
      `Commands executed per job, those inside Lua scripts included (INFO commandstats): accept: ${perJobCalls(accept.calls, jobs)}; ` +
        `run: ${perJobCalls(run.calls, jobs)}.`,
    );
  } finally {
    redis.disconnect();
  }
}

async function main(): Promise<void> {
  if (!existsSync(CLI_PATH)) throw new Error(`${CLI_PATH} is missing: run npm run build first`);
  const photo = readFileSync(values.photo);
  const encoded = new Response(cartoonForm(photo, { style: values.style }, basename(values.photo)));
  const upload: Upload = { body: Buffer.from(await encoded.arrayBuffer()), contentType: encoded.headers.get('content-type')! };
  const deadline = setTimeout(() => {
    console.error(`time limit of ${values['time-limit-min']} min reached: stopping`);
    for (const child of children) child.kill('SIGKILL');
    void Promise.allSettled([...redisServers].map((redis) => redis.destroy())).finally(() => {
      for (const folder of folders) rmSync(folder, { recursive: true, force: true });
      process.exit(2);
    });
  }, timeLimitMs);
  deadline.unref();
  process.once('SIGINT', () => {
    for (const child of children) child.kill('SIGKILL');
    void Promise.allSettled([...redisServers].map((redis) => redis.destroy())).finally(() => {
      for (const folder of folders) rmSync(folder, { recursive: true, force: true });
      process.exit(130);
    });
  });

  const header = [
    machineLine(),
    `uptime: load average ${loadAverage()} (1, 5, 15 min) at start`,
    `photo ${values.photo} (${(photo.length / 1024).toFixed(0)} KB), style ${values.style}, models ${modelsDir}; ` +
      `redis-server with --appendonly yes (appendfsync everysec), every process on loopback`,
  ];
  console.log(header.join('\n'));
  let failed = false;
  try {
    const parts = values.parts.split(',');
    if (parts.includes('overhead')) await overhead(upload);
    if (parts.includes('burst')) await burstAndScaling(upload);
    if (parts.includes('memory')) await memory(upload);
  } catch (error) {
    failed = true;
    console.error(error);
    for (const node of nodes) console.error(`--- ${node.name} log tail ---\n${node.logs().slice(-3000)}`);
  } finally {
    await cleanUp();
    clearTimeout(deadline);
  }
  console.log(`\n${header.join('\n')}`);
  console.log(report.join('\n'));
  console.log(`\nuptime: load average ${loadAverage()} at the end; took ${((performance.now() - startedAt) / 60_000).toFixed(1)} min`);
  process.exitCode = failed ? 1 : 0;
}

await main();
