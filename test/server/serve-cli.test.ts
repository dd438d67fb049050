/**
 * `portoon serve` as a real process (the built CLI, `npm run build` first): the web UI and docs are
 * served, SIGTERM lets the request under way finish before the process exits 0, and a bad setting
 * stops start-up at once with exit code 2 and one line naming the flag or variable.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWithModels, portrait, REPO_ROOT, TEST_MODELS_DIR } from '../helpers/env.js';
import { cartoonForm, metricValue } from '../helpers/http.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait.js';

const CLI = join(REPO_ROOT, 'dist/cli/main.js');
if (!existsSync(CLI)) throw new Error(`${CLI} is missing: these tests run the built CLI; run "npm run build" first.`);

const GROUP = '12-group-selfie-cafe.jpeg'; // 1280x960

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  stdout: string;
  ms: number;
}

/** Runs `portoon serve ...args` to its end (killed after `timeoutMs`), with a clean environment plus `env`. */
function runServe(args: readonly string[], env: Record<string, string> = {}, timeoutMs = 20_000): Promise<Exit> {
  const clean: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^(PORTOON_|PORT$|HOST$|NODE_OPTIONS$)/.test(key)) clean[key] = value;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'serve', '--host', '127.0.0.1', ...args], {
      env: { ...clean, PORTOON_LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started });
    });
  });
}

describe('portoon serve: bad configuration', () => {
  const cases: Array<{ name: string; args: string[]; env?: Record<string, string>; names: RegExp }> = [
    { name: '--port abc', args: ['--port', 'abc'], names: /--port\b.*"abc"/ },
    { name: 'PORT=70000', args: [], env: { PORT: '70000' }, names: /\bPORT\b.*"70000"/ },
    { name: '--styles nope', args: ['--port', '0', '--styles', 'nope', '--models-dir', TEST_MODELS_DIR], names: /--styles\b.*"nope"/ },
  ];
  it.each(cases)('$name: exits 2 at once with one line naming the setting', async ({ args, env, names }) => {
    const result = await runServe(args, env);
    expect(result.signal).toBeNull();
    expect(result.code).toBe(2);
    expect(result.ms).toBeLessThan(15_000);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^portoon: /);
    expect(lines[0]).toMatch(names);
    expect(lines[0]).toMatch(/\[E_(BAD_OPTION|UNKNOWN_STYLE)\]$/);
    // It never started listening.
    expect(result.stdout).not.toContain('"msg":"listening"');
  });
});

describeWithModels(['whitebox-cartoon'])('portoon serve as a process', () => {
  let server: ServerProcess | undefined;

  beforeAll(async () => {
    server = await startServerProcess(['--styles', 'cel,cartoon', '--models-dir', TEST_MODELS_DIR, '--rate-limit', '0']);
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('serves the web UI at /, readiness and the API docs', async () => {
    const { url } = server!;
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toMatch(/<html[\s>]/i);
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
    const docs = await fetch(`${url}/docs`);
    expect(docs.status).toBe(200);
    expect(docs.headers.get('content-type')).toMatch(/^text\/html/);
  });

  it('on SIGTERM finishes the request under way, then exits 0', async () => {
    const { url } = server!;
    const photo = readFileSync(portrait(GROUP));
    const inFlight = fetch(`${url}/api/v1/cartoon`, {
      method: 'POST',
      body: cartoonForm(photo, { style: 'cartoon' }),
      signal: AbortSignal.timeout(90_000),
    });
    // SIGTERM once the image is running in the worker.
    await waitFor(
      'the request to be running',
      async () => metricValue(await (await fetch(`${url}/metrics`)).text(), 'portoon_queue_depth{state="running"}'),
      (running) => running === 1,
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    const exited = server!.stop();

    const response = await inFlight;
    expect(response.status).toBe(200);
    // The connection is not kept alive past the shutdown (it would hold the exit back).
    expect(response.headers.get('connection')).toBe('close');
    const meta = await sharp(Buffer.from(await response.arrayBuffer())).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 1280, 960]);
    const answeredAt = performance.now();

    expect(await exited).toBe(0);
    expect(performance.now() - answeredAt).toBeLessThan(10_000);
    const logs = server!.logs();
    expect(logs).toContain('shutting down');
    expect(logs).toContain('"msg":"stopped"');
    await expect(fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5000) })).rejects.toThrow();
    server = undefined;
  });
});

describeWithModels(['animeganv3-jpface-v1', 'animeganv3-hayao36', 'bisenetv2-faceparsing-448'])('portoon serve, stopped twice', () => {
  it('a second signal ends the process at once, without waiting for the image under way', async () => {
    const server = await startServerProcess(['--styles', 'anime', '--models-dir', TEST_MODELS_DIR, '--rate-limit', '0']);
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      // 'close', not 'exit': only then has everything the process wrote been read from its pipes.
      server.process.once('close', (code, signal) => resolve({ code, signal })),
    );
    const inFlight = fetch(`${server.url}/api/v1/cartoon`, {
      method: 'POST',
      body: cartoonForm(readFileSync(portrait(GROUP)), { style: 'anime' }),
      signal: AbortSignal.timeout(90_000),
    }).then(
      (response) => `answered ${response.status}`,
      () => 'connection lost',
    );
    await waitFor(
      'the image to start running',
      async () => metricValue(await (await fetch(`${server.url}/metrics`)).text(), 'portoon_queue_depth{state="running"}'),
      (running) => running === 1,
      { timeoutMs: 20_000 },
    );
    server.process.kill('SIGTERM');
    await waitFor(
      'the shutdown to begin',
      () => server.logs(),
      (logs) => logs.includes('shutting down'),
      { timeoutMs: 10_000 },
    );
    server.process.kill('SIGTERM');
    // Killed, not exited: a worker busy in native code cannot hold the process up.
    expect(await exit).toEqual({ code: null, signal: 'SIGKILL' });
    expect(server.logs()).toContain('second signal: exiting now');
    expect(await inFlight).toBe('connection lost');
  });
});
