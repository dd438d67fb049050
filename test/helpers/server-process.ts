/**
 * Runs `portoon serve` (the built CLI) as a child process on a free loopback port and waits until it
 * is ready, for tests that need a real socket and a real process (signals, browsers).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './env.js';

export interface ServerProcess {
  url: string;
  process: ChildProcess;
  /** SIGTERM, then wait for exit (SIGKILL after 30 s). Resolves with the exit code. */
  stop(): Promise<number | null>;
  logs(): string;
}

export async function startServerProcess(
  args: string[],
  env: Record<string, string> = {},
  readyTimeoutMs = 120_000,
): Promise<ServerProcess> {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'dist/cli/main.js'), 'serve', '--host', '127.0.0.1', '--port', '0', ...args], {
    env: { ...process.env, PORTOON_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start within ${readyTimeoutMs} ms:\n${output}`)), readyTimeoutMs);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      for (const line of output.split('\n')) {
        if (!line.includes('"msg":"ready"')) continue;
        const listening = output.split('\n').find((l) => l.includes('"msg":"listening"'));
        const address = listening ? (JSON.parse(listening) as { url?: string }).url : undefined;
        if (address) {
          clearTimeout(timer);
          resolve(address);
        }
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before it was ready:\n${output}`));
    });
  });
  return {
    url,
    process: child,
    logs: () => output,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const code = await exited;
      clearTimeout(kill);
      return code;
    },
  };
}
