/**
 * Runs `portoon worker` (the built CLI) as a child process with its metrics on a free loopback port
 * and waits until it takes jobs, for the tests of a cluster made of real processes (kills, restarts).
 */
import { CLI_PATH, startChildService, type ChildService } from './child-service.js';

export interface WorkerProcess extends ChildService {
  /** `http://127.0.0.1:<port>`: the worker's /metrics, /healthz and /readyz (the same as `url`). */
  metricsUrl: string;
}

export async function startWorkerProcess(
  args: string[],
  env: Record<string, string> = {},
  readyTimeoutMs = 120_000,
): Promise<WorkerProcess> {
  const worker = await startChildService([CLI_PATH, 'worker', '--host', '127.0.0.1', '--metrics-port', '0', ...args], {
    env: { ...process.env, PORTOON_LOG_LEVEL: 'info', ...env },
    readyTimeoutMs,
    name: 'portoon worker',
  });
  return { ...worker, metricsUrl: worker.url };
}
