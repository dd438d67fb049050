/**
 * Running the built `portoon` binary (`node dist/cli/main.js`) in a child process, as the CLI tests
 * do, and the shape every CLI error must have. Build first (`npm run build`; `npm test` does it).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { REPO_ROOT } from './env.js';

export const CLI = join(REPO_ROOT, 'dist/cli/main.js');

/** The CLI tests run the built binary: fail at once, saying how to build it, when it is missing. */
export function assertCliBuilt(): void {
  if (!existsSync(CLI)) {
    throw new Error(
      `${CLI} is missing: the CLI tests run the built binary. Run "npm run build" first ("npm test" builds before running vitest).`,
    );
  }
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  /** The models folder the child sees as PORTOON_MODELS. */
  modelsDir: string;
  /** Overrides of the child's environment; `undefined` removes a variable. */
  env?: Record<string, string | undefined>;
  cwd: string;
  /** Default 60 s; then the child (or its whole process group) is killed. */
  timeoutMs?: number;
  /** Close our end of the child's stdout right away (a reader that goes away, like `| head`). */
  closeStdout?: boolean;
  /** Program and leading arguments to run instead of `node dist/cli/main.js`, e.g. `['npx', 'portoon']`. */
  command?: readonly string[];
  /** Start it in a process group of its own (as a shell runs a command), whose id is handed over here. */
  onStart?: (pid: number) => void;
}

/** Runs `node dist/cli/main.js ...args` (or `options.command ...args`) without a model mirror. */
export function runCli(args: readonly string[], options: CliRunOptions): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, PORTOON_MODELS: options.modelsDir };
  delete env.PORTOON_MODEL_MIRROR;
  delete env.PORTOON_DEBUG;
  delete env.NODE_OPTIONS;
  env.npm_config_update_notifier = 'false'; // npm's "new version available" notice is not the CLI's output
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return new Promise((resolvePromise, reject) => {
    const [file, ...lead] = options.command ?? [process.execPath, CLI];
    const grouped = options.onStart !== undefined;
    const child = spawn(file!, [...lead, ...args], { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: grouped });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    if (options.closeStdout) child.stdout.destroy();
    const timer = setTimeout(() => {
      timedOut = true;
      // The whole group: ffmpeg too, when the command started any.
      if (grouped) process.kill(-child.pid!, 'SIGKILL');
      else child.kill('SIGKILL');
    }, options.timeoutMs ?? 60_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, timedOut, stdout, stderr });
    });
    if (grouped) options.onStart!(child.pid!);
  });
}

/** stderr is exactly one `portoon: <message> [<code>]` line with no stack trace; returns the line. */
export function expectOneLineError(result: CliResult, code: string): string {
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines, `stderr: ${result.stderr}`).toHaveLength(1);
  const line = lines[0]!;
  expect(line).toMatch(/^portoon: \S.* \[E_[A-Z_]+\]$/);
  expect(line).toContain(`[${code}]`);
  expect(result.stderr).not.toMatch(/^\s+at /m);
  return line;
}

/** A usage error: exactly `portoon: <message> [E_BAD_OPTION]` on stderr, nothing on stdout, exit 2. */
export function expectUsageError(result: CliResult, message: string): void {
  expect(result.code, result.stderr).toBe(2);
  expect(result.stdout).toBe('');
  expect(result.stderr).toBe(`portoon: ${message} [E_BAD_OPTION]\n`);
}
