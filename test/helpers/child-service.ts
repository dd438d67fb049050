/**
 * Runs a service of Portoon's as a child process (`portoon serve`, `portoon worker`, or any script
 * that logs the same JSON lines) and waits until it is ready, for the tests and benchmarks that need
 * real processes: sockets, signals, kills and restarts.
 *
 * Ready means: an HTTP service has logged `"msg":"listening"` (with its `url`) and `"msg":"ready"`;
 * a worker has logged `"msg":"taking jobs"` (with its `metrics` URL). Output is always drained (a
 * full pipe would stall the child); it is all kept unless `logTail` bounds it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './env.js';

/** The built CLI. */
export const CLI_PATH = join(REPO_ROOT, 'dist/cli/main.js');

export interface ChildService {
  /** An HTTP service's base URL; a worker's metrics base URL. */
  url: string;
  pid: number;
  process: ChildProcess;
  /** What it wrote to stdout and stderr (its JSON log lines). */
  logs(): string;
  /** SIGTERM, then wait for exit (SIGKILL after `stopTimeoutMs`). Resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL, then wait for exit. Resolves with the signal that ended it. */
  kill(): Promise<NodeJS.Signals | null>;
}

export interface ChildServiceOptions {
  /** The child's whole environment. Default: this process's, with PORTOON_LOG_LEVEL=info. */
  env?: NodeJS.ProcessEnv;
  /** Give up (kill the child, fail) after this long. Default 120 s. */
  readyTimeoutMs?: number;
  /** How long `stop()` waits before SIGKILL. Default 30 s. */
  stopTimeoutMs?: number;
  /** Keep only the last this many characters of output (long benchmarks). Default: all of it. */
  logTail?: number;
  /** Named in errors. Default: the first argument. */
  name?: string;
  /** Called with the child as soon as it is spawned (a caller that must kill it even before it is ready). */
  onSpawn?: (child: ChildProcess) => void;
}

/** Spawns `node <argv…>` and resolves once the child says it is ready. */
export async function startChildService(argv: readonly string[], options: ChildServiceOptions = {}): Promise<ChildService> {
  const { readyTimeoutMs = 120_000, stopTimeoutMs = 30_000, logTail = Number.POSITIVE_INFINITY } = options;
  const name = options.name ?? argv[0] ?? 'child';
  const child = spawn(process.execPath, [...argv], {
    cwd: REPO_ROOT,
    env: options.env ?? { ...process.env, PORTOON_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  options.onSpawn?.(child);
  let output = '';
  const keep = (chunk: Buffer): void => {
    output += chunk.toString();
    if (output.length > logTail) output = output.slice(-logTail);
  };
  child.stderr!.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );

  const url = await new Promise<string>((resolve, reject) => {
    let listening: string | undefined;
    let ready = false;
    let pending = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} was not ready within ${readyTimeoutMs} ms:\n${output.slice(-4000)}`));
    }, readyTimeoutMs);
    child.stdout!.on('data', (chunk: Buffer) => {
      keep(chunk);
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        if (line.includes('"msg":"listening"')) listening = (JSON.parse(line) as { url?: string }).url;
        if (line.includes('"msg":"ready"')) ready = true;
        if (line.includes('"msg":"taking jobs"')) {
          listening = (JSON.parse(line) as { metrics?: string }).metrics;
          ready = true;
        }
      }
      if (listening !== undefined && ready) {
        clearTimeout(timer);
        resolve(listening);
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code ?? signal} before it was ready:\n${output.slice(-4000)}`));
    });
  });

  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  return {
    url,
    pid: child.pid!,
    process: child,
    logs: () => output,
    async stop() {
      if (!running()) return child.exitCode;
      child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
      const { code } = await exited;
      clearTimeout(kill);
      return code;
    },
    async kill() {
      if (!running()) return child.signalCode;
      child.kill('SIGKILL');
      return (await exited).signal;
    },
  };
}
