/**
 * The HTTP service under load: `portoon serve` (the built CLI, as a child process) answering
 * POST /api/v1/cartoon at 1, 2, 4 and 8 concurrent clients, with /healthz polled every 100 ms during
 * each level and the server's resident memory sampled every 200 ms.
 *
 * Baseline, measured in the same run: the naive design — a bare node:http server (also a child
 * process: this file run with --naive-server) that parses the upload and awaits NodeEngine.process
 * in the request handler, so inference runs on the event loop. Same photo, style, levels and
 * request counts. Ratios: Portoon req/s ÷ naive req/s, and naive /healthz p99 ÷ Portoon's.
 *
 * The three servers run side by side for the whole bench (idle, they use no CPU) and each level is
 * measured on every design back to back, so load from other processes hits the designs alike.
 * Each level sends a bounded number of requests (default max(4, 2 × concurrency)), not a duration,
 * after two unmeasured warm-up requests sent at once (so every worker has run). Latencies are
 * nearest-rank percentiles of so few requests, so p95/p99 are close to the slowest request. Before
 * each level the bench waits (up to 120 s) for the machine to be quiet, and reports as "other load"
 * the cores used by processes other than the server and the bench during the level; a level with
 * more than 0.25 cores of other load is measured again (--retries, default 2) and the quietest
 * attempt kept.
 *
 *   npm run bench:service -- [--models-dir dir] [--style cartoon] [--levels 1,2,4,8] [--requests-per-level n] [--photo path]
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, get, type IncomingMessage, type ServerResponse } from 'node:http';
import { availableParallelism } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { parseCartoonizeRequest } from '../src/core/request.js';
import { NodeEngine } from '../src/node/engine.js';
import { defaultModelsDir } from '../src/node/model-store.js';
import { startChildService } from '../test/helpers/child-service.js';
import { machineLine, machineTicks, processTicks } from './machine.js';

const REPO_ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const PORTRAITS = resolve(process.env.PORTOON_TEST_PORTRAITS ?? join(REPO_ROOT, '../shared/portraits'));

const { values } = parseArgs({
  options: {
    'models-dir': { type: 'string' },
    style: { type: 'string', default: 'cartoon' },
    photo: { type: 'string', default: join(PORTRAITS, '12-group-selfie-cafe.jpeg') },
    levels: { type: 'string', default: '1,2,4,8' },
    /** Requests per level; default max(4, 2 × concurrency). */
    'requests-per-level': { type: 'string' },
    'max-queue': { type: 'string', default: '16' },
    /** Hard stop for the whole run. */
    'time-limit-min': { type: 'string', default: '40' },
    /** Extra attempts at a level when other processes used more than a quarter of a core during it. */
    retries: { type: 'string', default: '2' },
    /** Internal: run the naive baseline server in this process. */
    'naive-server': { type: 'boolean', default: false },
  },
});
const modelsDir = resolve(values['models-dir'] ?? defaultModelsDir());

// ---------------------------------------------------------------------------------------------
// The naive baseline server (child process mode).
// ---------------------------------------------------------------------------------------------

async function runNaiveServer(): Promise<void> {
  const engine = new NodeEngine({ modelsDir, intraOpThreads: availableParallelism() });
  const log = (fields: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(fields)}\n`);
  const send = (res: ServerResponse, status: number, body: string | Uint8Array, type = 'application/json'): void => {
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  const cartoon = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > 10 * 1024 * 1024) return send(res, 413, '{"error":"too large"}');
      chunks.push(chunk);
    }
    const form = await new Response(Buffer.concat(chunks), { headers: { 'content-type': req.headers['content-type'] ?? '' } }).formData();
    const style = form.get('style');
    const image = form.get('image');
    if (typeof style !== 'string' || image === null || typeof image === 'string') return send(res, 400, '{"error":"style and image"}');
    // The naive part: the whole pipeline, onnxruntime included, on this thread.
    const { image: output, report } = await engine.process(new Uint8Array(await image.arrayBuffer()), parseCartoonizeRequest({ style }));
    send(res, 200, output, `image/${report.format}`);
  };
  // No request timeout (queued requests wait minutes at 8 clients); every other setting is Node's
  // default, as in a naive server, including the 5 s keep-alive timeout.
  const server = createServer({ requestTimeout: 0 }, (req, res) => {
    if (req.method === 'GET' && req.url === '/healthz') return send(res, 200, '{"status":"ok"}');
    if (req.method === 'POST' && req.url === '/api/v1/cartoon') {
      cartoon(req, res).catch((error: unknown) => send(res, 500, JSON.stringify({ error: String(error) })));
      return;
    }
    send(res, 404, '{"error":"not found"}');
  });
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    log({ msg: 'listening', url: `http://127.0.0.1:${address.port}` });
    log({ msg: 'ready' });
  });
  const stop = (): void => {
    server.close();
    server.closeAllConnections();
    void engine.close().finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

// ---------------------------------------------------------------------------------------------
// The load generator (default mode).
// ---------------------------------------------------------------------------------------------

interface Server {
  name: string;
  url: string;
  pid: number;
  stop(): Promise<void>;
  logs(): string;
}

const children = new Set<ChildProcess>();

/** Spawns a server that logs JSON lines; resolves once it has logged "listening" (with url) and "ready". */
async function startServer(name: string, args: string[], timeoutMs = 180_000): Promise<Server> {
  const server = await startChildService(args, {
    name,
    readyTimeoutMs: timeoutMs,
    // Long runs: only the tail of the log is kept.
    logTail: 64_000,
    onSpawn: (child) => children.add(child),
  });
  return {
    name,
    url: server.url,
    pid: server.pid,
    logs: server.logs,
    async stop() {
      await server.stop();
      children.delete(server.process);
    },
  };
}

/** kB → MB from /proc/<pid>/status. */
function procStatus(pid: number): { rss: number; hwm: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) / 1024;
  return { rss: field('VmRSS'), hwm: field('VmHWM') };
}

/** Resets the process's peak RSS (VmHWM) so it covers only what follows; false when the kernel refuses. */
function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Peak RSS of a process over a period: VmHWM after a reset, and VmRSS sampled every 200 ms as a floor. */
function watchMemory(pid: number): () => number {
  const reset = resetPeak(pid);
  let max = procStatus(pid).rss;
  const timer = setInterval(() => (max = Math.max(max, procStatus(pid).rss)), 200);
  return () => {
    clearInterval(timer);
    const { rss, hwm } = procStatus(pid);
    return Math.max(max, rss, reset ? hwm : 0);
  };
}

/** CPU time in clock ticks (1/100 s): the whole machine's busy and total time, and one process's. */
const TICK_MS = 10;
const benchTicks = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000 / TICK_MS;
};

/**
 * CPU used over a period by processes other than the server and this bench, in cores. Other
 * processes (a test run, a build) on a 2-core machine would otherwise pass for a slow server.
 */
function watchOtherLoad(pid: number): () => number {
  const m0 = machineTicks();
  const s0 = processTicks(pid);
  const b0 = benchTicks();
  return () => {
    const m1 = machineTicks();
    const other = m1.busy - m0.busy - (processTicks(pid) - s0) - (benchTicks() - b0);
    return Math.max(0, (other / Math.max(1, m1.total - m0.total)) * availableParallelism());
  };
}

/** Waits (at most maxMs) until other processes use less than a quarter of a core over one second; returns the last reading. */
async function waitForQuiet(pid: number, maxMs = 120_000): Promise<number> {
  const until = performance.now() + maxMs;
  for (;;) {
    const stop = watchOtherLoad(pid);
    await new Promise((done) => setTimeout(done, 1000));
    const other = stop();
    if (other < MAX_OTHER_LOAD || performance.now() > until) return other;
  }
}

/** One GET /healthz on a fresh connection (like a load balancer's probe); latency in ms, NaN when it fails. */
function probe(url: string): Promise<number> {
  const start = performance.now();
  return new Promise((done) => {
    const req = get(`${url}/healthz`, { agent: false, timeout: 120_000 }, (res) => {
      res.resume();
      res.on('end', () => done(res.statusCode === 200 ? performance.now() - start : NaN));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => done(NaN));
  });
}

/** Polls /healthz every 100 ms (not waiting for earlier probes) until stopped. */
function watchHealth(url: string): () => Promise<{ latencies: number[]; failed: number }> {
  const probes: Array<Promise<number>> = [probe(url)];
  const timer = setInterval(() => probes.push(probe(url)), 100);
  return async () => {
    clearInterval(timer);
    const all = await Promise.all(probes);
    return { latencies: all.filter((ms) => !Number.isNaN(ms)), failed: all.filter((ms) => Number.isNaN(ms)).length };
  };
}

/** Nearest-rank percentile. */
const percentile = (xs: number[], p: number): number => {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
};

interface Level {
  concurrency: number;
  requests: number;
  ok: number;
  seconds: number;
  reqPerSec: number;
  p50: number;
  p95: number;
  p99: number;
  non2xx: number;
  statuses: Record<number, number>;
  errors: number;
  /** Error codes or messages, counted. */
  errorKinds: Record<string, number>;
  peakRssMb: number;
  /** Cores used by other processes during the level. */
  otherLoad: number;
  health: { p50: number; p99: number; max: number; count: number; failed: number };
}

interface Upload {
  body: Buffer;
  headers: Record<string, string>;
}

async function runLevel(server: Server, concurrency: number, amount: number, upload: Upload): Promise<Level> {
  const quiet = await waitForQuiet(server.pid);
  if (quiet >= MAX_OTHER_LOAD) console.log(`[${server.name}] other processes use ${quiet.toFixed(2)} cores; measuring anyway`);
  const stopLoad = watchOtherLoad(server.pid);
  const stopMemory = watchMemory(server.pid);
  const stopHealth = watchHealth(server.url);
  const latencies: number[] = [];
  const statuses: Record<number, number> = {};
  const errorKinds: Record<string, number> = {};
  const start = performance.now();
  // autocannon notices that the last request is done only on its once-a-second tick: time the level by its last answer.
  let last = start;
  const result = await new Promise<autocannon.Result>((done, fail) => {
    const instance = autocannon(
      {
        url: `${server.url}/api/v1/cartoon`,
        method: 'POST',
        connections: concurrency,
        amount,
        body: upload.body,
        headers: upload.headers,
        timeout: 600,
      },
      (error: unknown, res) => (error ? fail(error) : done(res)),
    );
    instance.on('response', (_client, status, _bytes, ms) => {
      last = performance.now();
      latencies.push(ms);
      statuses[status] = (statuses[status] ?? 0) + 1;
    });
    instance.on('reqError', (error: { code?: string; message?: string }) => {
      last = performance.now();
      const kind = error.code ?? error.message ?? 'unknown';
      errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
    });
  });
  const seconds = (last - start) / 1000;
  const health = await stopHealth();
  const peakRssMb = stopMemory();
  const otherLoad = stopLoad();
  const ok = result['2xx'];
  return {
    concurrency,
    requests: amount,
    ok,
    seconds,
    reqPerSec: ok / seconds,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    non2xx: result.non2xx,
    statuses,
    errors: result.errors,
    errorKinds,
    peakRssMb,
    otherLoad,
    health: {
      p50: percentile(health.latencies, 50),
      p99: percentile(health.latencies, 99),
      max: Math.max(...health.latencies),
      count: health.latencies.length + health.failed,
      failed: health.failed,
    },
  };
}

/** Unmeasured requests, two at once (so every worker runs once): creates sessions, grows the arenas, checks the answer is an image. */
async function warmUp(server: Server, upload: Upload): Promise<number> {
  const start = performance.now();
  await Promise.all([warmUpOne(server, upload), warmUpOne(server, upload)]);
  return performance.now() - start;
}

async function warmUpOne(server: Server, upload: Upload): Promise<void> {
  const res = await fetch(`${server.url}/api/v1/cartoon`, { method: 'POST', body: upload.body, headers: upload.headers });
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (res.status !== 200 || !res.headers.get('content-type')?.startsWith('image/')) {
    throw new Error(
      `${server.name}: warm-up answered ${res.status} ${res.headers.get('content-type')}: ${new TextDecoder().decode(bytes.slice(0, 300))}`,
    );
  }
}

interface Run {
  name: string;
  idleRssMb: number;
  warmUpMs: number;
  levels: Level[];
  endRssMb: number;
}

/** Other processes may use at most this many cores during a level before it is measured again. */
const MAX_OTHER_LOAD = 0.25;
const maxRetries = Number(values.retries);
const timeLimitMs = Number(values['time-limit-min']) * 60_000;
const started = performance.now();
/** Retries stop once half the time limit is spent, so the run always finishes. */
const retriesAllowed = (): boolean => performance.now() - started < timeLimitMs / 2;

interface Started {
  server: Server;
  run: Run;
}

/** Starts one server and warms it up. */
async function start(name: string, args: string[], upload: Upload): Promise<Started> {
  console.log(`[${name}] starting`);
  const server = await startServer(name, args);
  try {
    const warmUpMs = await warmUp(server, upload);
    const idleRssMb = procStatus(server.pid).rss;
    console.log(
      `[${name}] pid ${server.pid} ${server.url}, warm-up (2 requests at once) ${(warmUpMs / 1000).toFixed(1)} s, RSS ${idleRssMb.toFixed(0)} MB`,
    );
    return { server, run: { name, idleRssMb, warmUpMs, levels: [], endRssMb: NaN } };
  } catch (error) {
    console.error(`[${name}] failed; server log tail:\n${server.logs().slice(-4000)}`);
    throw error;
  }
}

/** One level on one server; measured again while other processes took a share of the cores (time allowing), keeping the quietest attempt. */
async function measureLevel({ server, run }: Started, c: number, amount: number, upload: Upload): Promise<void> {
  try {
    let attempt = await runLevel(server, c, amount, upload);
    let level = attempt;
    for (let retry = 0; retry < maxRetries && attempt.otherLoad > MAX_OTHER_LOAD && retriesAllowed(); retry++) {
      console.log(`[${run.name}] c=${c}: other processes used ${attempt.otherLoad.toFixed(2)} cores; measuring again`);
      attempt = await runLevel(server, c, amount, upload);
      if (attempt.otherLoad < level.otherLoad) level = attempt;
    }
    console.log(
      `[${run.name}] c=${c}: ${level.ok}/${level.requests} ok in ${level.seconds.toFixed(1)} s, p50 ${(level.p50 / 1000).toFixed(1)} s, ` +
        `/healthz p99 ${level.health.p99.toFixed(0)} ms, peak RSS ${level.peakRssMb.toFixed(0)} MB, other load ${level.otherLoad.toFixed(2)} cores`,
    );
    run.levels.push(level);
  } catch (error) {
    console.error(`[${run.name}] failed; server log tail:\n${server.logs().slice(-4000)}`);
    throw error;
  }
}

const s = (ms: number): string => (ms / 1000).toFixed(2);
const ms0 = (ms: number): string => (Number.isFinite(ms) ? ms.toFixed(0) : '-');

function printRun(run: Run): void {
  console.log(
    `\n### ${run.name}\n\nRSS after warm-up ${run.idleRssMb.toFixed(0)} MB, after the last level ${run.endRssMb.toFixed(0)} MB; ` +
      `warm-up (2 requests at once) ${s(run.warmUpMs)} s.\n`,
  );
  console.log(
    '| clients | requests | ok req/s | p50 s | p95 s | p99 s | non-2xx | errors | peak RSS MB | /healthz p50 ms | p99 ms | max ms | other load |',
  );
  console.log(
    '| ------: | -------: | -------: | ----: | ----: | ----: | ------: | -----: | ----------: | --------------: | -----: | -----: | ---------: |',
  );
  for (const l of run.levels) {
    const non2xx =
      l.non2xx === 0
        ? '0'
        : `${l.non2xx} (${Object.entries(l.statuses)
            .filter(([code]) => !code.startsWith('2'))
            .map(([code, n]) => `${n}×${code}`)
            .join(', ')})`;
    const kinds = Object.entries(l.errorKinds).map(([kind, n]) => `${n}×${kind}`);
    const errors = l.errors === 0 ? '0' : `${l.errors}${kinds.length > 0 ? ` (${kinds.join(', ')})` : ''}`;
    const health = l.health.failed > 0 ? ` (${l.health.failed} failed)` : '';
    console.log(
      `| ${l.concurrency} | ${l.requests} | ${l.reqPerSec.toFixed(3)} | ${s(l.p50)} | ${s(l.p95)} | ${s(l.p99)} | ${non2xx} | ${errors} | ` +
        `${l.peakRssMb.toFixed(0)} | ${ms0(l.health.p50)} | ${ms0(l.health.p99)}${health} | ${ms0(l.health.max)} | ${l.otherLoad.toFixed(2)} |`,
    );
  }
}

async function main(): Promise<void> {
  const levels = values.levels.split(',').map(Number);
  const fixed = values['requests-per-level'] === undefined ? undefined : Number(values['requests-per-level']);
  const amountFor = (c: number): number => Math.max(c, fixed ?? Math.max(4, 2 * c));
  const photo = readFileSync(values.photo);
  const form = new FormData();
  form.append('style', values.style); // fields before the file: the service reads them in order
  form.append('image', new Blob([photo], { type: 'image/jpeg' }), basename(values.photo));
  const encoded = new Response(form);
  const upload: Upload = {
    body: Buffer.from(await encoded.arrayBuffer()),
    headers: { 'content-type': encoded.headers.get('content-type')! },
  };
  const deadline = setTimeout(() => {
    console.error(`time limit of ${values['time-limit-min']} min reached: stopping`);
    for (const child of children) child.kill('SIGKILL');
    process.exit(2);
  }, timeLimitMs);
  deadline.unref();
  process.once('SIGINT', () => {
    for (const child of children) child.kill('SIGKILL');
    process.exit(130);
  });

  const cores = availableParallelism();
  console.log(machineLine());
  console.log(
    `photo ${values.photo} (${(photo.length / 1024).toFixed(0)} KB), style ${values.style}, levels ${levels.join(', ')}, ` +
      `requests per level ${levels.map(amountFor).join(', ')}; ${cores} cores`,
  );
  const cli = [join(REPO_ROOT, 'dist/cli/main.js'), 'serve', '--host', '127.0.0.1', '--port', '0', '--models-dir', modelsDir];
  const common = ['--styles', values.style, '--rate-limit', '0', '--max-queue', values['max-queue']];
  const self = ['--import', 'tsx', fileURLToPath(import.meta.url), '--naive-server', '--models-dir', modelsDir];
  const configs: Array<[string, string[]]> = [
    [`Portoon, --workers 1 (${cores} threads)`, [...cli, ...common, '--workers', '1']],
    ['Portoon, --workers 2 --threads 1', [...cli, ...common, '--workers', '2', '--threads', '1']],
    [`naive: inference on the event loop (${cores} threads)`, self],
  ];
  // All servers run for the whole bench (idle ones use no CPU), and each level is measured on every
  // design back to back, so bursts of load from other processes hit the designs alike.
  const started: Started[] = [];
  try {
    for (const [name, args] of configs) started.push(await start(name, args, upload));
    for (const c of levels) for (const each of started) await measureLevel(each, c, amountFor(c), upload);
    for (const { server, run } of started) run.endRssMb = procStatus(server.pid).rss;
  } finally {
    for (const { server } of started) await server.stop();
    for (const child of children) child.kill('SIGKILL');
  }
  const runs = started.map(({ run }) => run);
  for (const run of runs) printRun(run);
  const naive = runs[runs.length - 1]!;
  console.log('\nRatios against the naive baseline (same run):\n');
  for (const run of runs.slice(0, -1)) {
    for (const [i, l] of run.levels.entries()) {
      const base = naive.levels[i]!;
      console.log(
        `${run.name}, ${l.concurrency} clients: throughput Portoon / naive = ${(l.reqPerSec / base.reqPerSec).toFixed(2)}, ` +
          `/healthz p99 naive / Portoon = ${(base.health.p99 / l.health.p99).toFixed(0)}`,
      );
    }
  }
}

if (values['naive-server']) await runNaiveServer();
else await main();
