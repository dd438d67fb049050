/**
 * A real Redis server for tests: Debian's `redis-server` on a free loopback port, with its data in a
 * folder of its own, append-only file on and no snapshots (`--save '' --appendonly yes`), so a
 * restart keeps every acknowledged write, as a production setup would. It can be stopped cleanly,
 * killed, and started again on the same port and data, for the tests of what survives a restart.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { TEST_OUTPUT_DIR } from './env.js';
import { waitFor } from './wait.js';

export interface RedisServer {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** Stops the server the way an operator does (SHUTDOWN: the append-only file is written out). */
  stop(): Promise<void>;
  /** Kills the server without warning (SIGKILL). */
  kill(): Promise<void>;
  /** Starts it again on the same port and data folder. */
  start(): Promise<void>;
  /** Stops it (if running) and removes its data. */
  destroy(): Promise<void>;
}

/** A free TCP port on loopback (the OS picks; the port is released before the server binds it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

let started = 0;

export async function startRedisServer(): Promise<RedisServer> {
  const port = await freePort();
  const dir = join(TEST_OUTPUT_DIR, `redis-${process.pid}-${(started += 1)}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const url = `redis://127.0.0.1:${port}`;

  const start = async (): Promise<void> => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes'];
    const proc = spawn('redis-server', [...args, '--loglevel', 'warning'], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    let stderr = '';
    proc.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    const spawnError = new Promise<never>((_, reject) =>
      proc.once('error', (error) => reject(new Error(`redis-server could not be started (is it installed?): ${error.message}`))),
    );
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
    // Refused connections while the server starts are expected: the loop below tries again.
    probe.on('error', () => undefined);
    try {
      await Promise.race([
        spawnError,
        waitFor(
          `redis-server on port ${port} to answer PING`,
          async () => {
            if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode}: ${stderr}`);
            try {
              if (probe.status !== 'ready') await probe.connect();
              return await probe.ping();
            } catch {
              probe.disconnect();
              return 'not yet';
            }
          },
          (answer) => answer === 'PONG',
          { timeoutMs: 15_000, intervalMs: 50 },
        ),
      ]);
    } finally {
      probe.disconnect();
    }
  };

  const stopWith = async (how: 'shutdown' | 'kill'): Promise<void> => {
    const proc = child;
    if (!proc || proc.exitCode !== null) return;
    if (how === 'kill') proc.kill('SIGKILL');
    // SIGTERM makes redis-server shut down as SHUTDOWN does: the append-only file is flushed.
    else proc.kill('SIGTERM');
    await exited;
    child = undefined;
  };

  await start();
  return {
    url,
    port,
    dir,
    start,
    stop: () => stopWith('shutdown'),
    kill: () => stopWith('kill'),
    async destroy() {
      await stopWith('kill');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
