/**
 * `portoon worker`: a processing node of a cluster. Takes jobs from the Redis queue that
 * `portoon serve --queue` nodes fill, runs them on its worker threads, and serves its own /healthz,
 * /readyz and /metrics. Runs until SIGTERM or SIGINT: running jobs then get the grace period, and
 * whatever is still running after it goes back in line for another worker.
 */
import type { Command } from 'commander';
import { resolveWorkerConfig, WORKER_SETTINGS, type RawSettings } from '../server/config.js';
import { createWorkerService } from '../worker/worker-service.js';
import { addSettingOptions, runUntilSignalled, settingFlags } from './serve-command.js';

export function addWorkerCommand(program: Command, setExit: (code: number) => void): void {
  const command = program
    .command('worker')
    .description('run a processing node: take jobs from the Redis queue that `portoon serve --queue` nodes fill')
    .addHelpText('after', '\nEvery option can also be set with the environment variable shown in brackets.');
  addSettingOptions(command, WORKER_SETTINGS);
  command.action(async (options: Record<string, string | boolean | undefined>) => {
    setExit(await runWorker(settingFlags(options, WORKER_SETTINGS)));
  });
}

export async function runWorker(flags: RawSettings): Promise<number> {
  const config = resolveWorkerConfig(flags);
  const service = await createWorkerService(config);
  return runUntilSignalled(service.app.log, config.shutdownGraceMs, service);
}
