/**
 * Runs `portoon worker` (the built CLI) as a child process with its metrics on a free loopback port
 * and waits until it takes jobs, for the tests of a cluster made of real processes (kills, restarts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './env.js';

export interface WorkerProcess {
  /** `http://127.0.0.1:<port>`: the worker's /metrics, /healthz and /readyz. */
  metricsUrl: string;
  process: ChildProcess;
  /** Everything it wrote so far (stdout and stderr: its JSON log lines). */
  logs(): string;
  /** SIGTERM, then wait for exit (SIGKILL after 30 s). Resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL, then wait for exit. Resolves with the signal that ended it. */
  kill(): Promise<NodeJS.Signals | null>;
}

export async function startWorkerProcess(
  args: string[],
  env: Record<string, string> = {},
  readyTimeoutMs = 120_000,
): Promise<WorkerProcess> {
  const child = spawn(
    process.execPath,
    [join(REPO_ROOT, 'dist/cli/main.js'), 'worker', '--host', '127.0.0.1', '--metrics-port', '0', ...args],
    {
      env: { ...process.env, PORTOON_LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const metricsUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`worker did not take jobs within ${readyTimeoutMs} ms:\n${output}`));
    }, readyTimeoutMs);
    const onData = (): void => {
      const line = output.split('\n').find((l) => l.includes('"msg":"taking jobs"'));
      const address = line ? (JSON.parse(line) as { metrics?: string }).metrics : undefined;
      if (address) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve(address);
      }
    };
    child.stdout!.on('data', onData);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`worker exited with ${code ?? signal} before it took jobs:\n${output}`));
    });
  });
  return {
    metricsUrl,
    process: child,
    logs: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const { code } = await exited;
      clearTimeout(kill);
      return code;
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return child.signalCode;
      child.kill('SIGKILL');
      return (await exited).signal;
    },
  };
}
