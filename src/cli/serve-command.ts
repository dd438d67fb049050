/**
 * `portoon serve`: the HTTP service. Flags come from the settings table (each also readable from its
 * environment variable). Runs until SIGTERM or SIGINT, then shuts down gracefully; a second signal
 * stops at once.
 */
import { Command, Option } from 'commander';
import type { FastifyBaseLogger } from 'fastify';
import { toPortoonError } from '../core/errors.js';
import { resolveServerConfig, SERVER_SETTINGS, settingOf, shownDefault, type RawSettings, type SettingName } from '../server/config.js';
import { startService } from '../server/start-service.js';

export function addServeCommand(program: Command, setExit: (code: number) => void): void {
  const command = program
    .command('serve')
    .description('run the HTTP service: web UI at /, REST API at /api/v1, docs at /docs')
    .addHelpText('after', '\nEvery option can also be set with the environment variable shown in brackets.');
  const names = Object.keys(SERVER_SETTINGS) as SettingName[];
  addSettingOptions(command, names);
  command.action(async (options: Record<string, string | boolean | undefined>) => {
    setExit(await runServe(settingFlags(options, names)));
  });
}

/** Adds a command-line option for each setting, with its variable and default in the help. */
export function addSettingOptions(command: Command, names: readonly SettingName[]): void {
  for (const name of names) {
    const setting = settingOf(name);
    // --trust-proxy alone means one hop; it also takes a hop count or proxy addresses.
    const valueName =
      setting.kind === 'proxy'
        ? ' [hops|a,b]'
        : setting.kind === 'boolean'
          ? ' [true|false]'
          : ` <${setting.kind === 'list' ? 'a,b' : setting.kind === 'int' ? 'n' : setting.kind === 'url' || setting.kind === 'redis' ? 'url' : 'value'}>`;
    const option = new Option(`${setting.flag}${valueName}`, `${setting.help} [${setting.env}] (default: ${shownDefault(name)})`);
    command.addOption(option);
  }
}

/** The raw values of the settings given on the command line (commander names them by setting). */
export function settingFlags(options: Record<string, string | boolean | undefined>, names: readonly SettingName[]): RawSettings {
  const flags: RawSettings = {};
  for (const name of names) {
    const value = options[name];
    if (value !== undefined) flags[name] = String(value);
  }
  return flags;
}

/** How long past the grace period a shutdown may take (closing sockets, stopping workers). */
const SHUTDOWN_OVERRUN_MS = 15_000;

/** Longest the last log lines may take to reach their destination before the process is killed. */
const LOG_FLUSH_MS = 1000;
const LOG_SETTLE_MS = 100;

/**
 * Ends the process at once, once the log has been written out (the logger buffers). `process.exit`
 * waits for worker threads to stop, and a thread busy in native code (an image codec) never does;
 * SIGKILL cannot be held up.
 */
function killAfterFlush(log: FastifyBaseLogger & { flush?: (done: () => void) => void }): void {
  const kill = (): void => {
    process.kill(process.pid, 'SIGKILL');
  };
  // pino's flush reports when its buffer is handed to the stream, not when the line is on the
  // descriptor: a short pause after it lets the last line out (measured: without it, it is lost).
  // fastify's logger is pino, whose flush is not part of fastify's logger type.
  if (log.flush) log.flush(() => setTimeout(kill, LOG_SETTLE_MS));
  setTimeout(kill, LOG_FLUSH_MS);
}

export async function runServe(flags: RawSettings): Promise<number> {
  const config = resolveServerConfig(flags);
  const service = await startService(config);
  const { app } = service;
  return runUntilSignalled(app.log, config.shutdownGraceMs, {
    async start() {
      const address = await app.listen({ host: config.host, port: config.port });
      app.log.info({ url: address }, 'listening');
      await service.warmUp();
    },
    close: () => service.close(),
  });
}

/**
 * Starts a service and keeps it running until a signal has triggered its shutdown and the shutdown
 * has finished. A start-up failure is logged, the service closed, and the error thrown.
 */
export async function runUntilSignalled(
  log: FastifyBaseLogger,
  graceMs: number,
  service: { start(): Promise<unknown>; close(): Promise<void> },
): Promise<number> {
  const stopped = stopOnSignals(log, graceMs, () => service.close());
  try {
    await service.start();
  } catch (error) {
    const e = toPortoonError(error);
    log.fatal({ code: e.code, err: error }, 'start-up failed');
    await service.close().catch(() => undefined);
    throw e;
  }
  await stopped;
  return 0;
}

/**
 * Shuts down gracefully on the first SIGTERM or SIGINT (`close`, which gets `graceMs` and a margin
 * before the process is killed), and at once on a second one. Resolves once the shutdown is done.
 */
function stopOnSignals(log: FastifyBaseLogger, graceMs: number, close: () => Promise<void>): Promise<void> {
  let stopping: Promise<void> | undefined;
  let markStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (markStopped = resolve));
  const stop = (signal: string): void => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      killAfterFlush(log);
      return;
    }
    log.info({ signal, graceMs }, 'shutting down: finishing accepted work');
    // Accepted work gets the grace period; a shutdown still not done well after it (a worker stuck in
    // native code) must not keep the process alive for ever.
    setTimeout(() => {
      log.error({ graceMs }, 'shutdown did not finish after the grace period: exiting now');
      killAfterFlush(log);
    }, graceMs + SHUTDOWN_OVERRUN_MS).unref();
    stopping = close()
      .catch((error: unknown) => log.error({ err: error }, 'shutdown failed'))
      .then(() => log.info('stopped'))
      .finally(markStopped);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  return stopped;
}
