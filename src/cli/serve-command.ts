/**
 * `portoon serve`: the HTTP service. Flags come from the settings table (each also readable from its
 * environment variable). Runs until SIGTERM or SIGINT, then shuts down gracefully; a second signal
 * stops at once.
 */
import { Command, Option } from 'commander';
import type { FastifyBaseLogger } from 'fastify';
import { toPortoonError } from '../core/errors.js';
import { resolveServerConfig, SERVER_SETTINGS, shownDefault, type RawSettings, type SettingName } from '../server/config.js';
import { createService } from '../server/service.js';

export function addServeCommand(program: Command, setExit: (code: number) => void): void {
  const command = program
    .command('serve')
    .description('run the HTTP service: web UI at /, REST API at /api/v1, docs at /docs')
    .addHelpText('after', '\nEvery option can also be set with the environment variable shown in brackets.');
  for (const [name, setting] of Object.entries(SERVER_SETTINGS) as Array<[SettingName, (typeof SERVER_SETTINGS)[SettingName]]>) {
    // --trust-proxy alone means one hop; it also takes a hop count or proxy addresses.
    const valueName =
      setting.kind === 'proxy'
        ? ' [hops|a,b]'
        : ` <${setting.kind === 'list' ? 'a,b' : setting.kind === 'int' ? 'n' : setting.kind === 'url' ? 'url' : 'value'}>`;
    const option = new Option(`${setting.flag}${valueName}`, `${setting.help} [${setting.env}] (default: ${shownDefault(name)})`);
    command.addOption(option);
  }
  command.action(async (options: Record<string, string | boolean | undefined>) => {
    const flags: RawSettings = {};
    for (const name of Object.keys(SERVER_SETTINGS) as SettingName[]) {
      const value = options[name];
      if (value !== undefined) flags[name] = String(value);
    }
    setExit(await runServe(flags));
  });
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
  const service = await createService(config);
  const { app } = service;
  let stopping: Promise<void> | undefined;
  let markStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (markStopped = resolve));
  const stop = (signal: string): void => {
    if (stopping) {
      app.log.warn({ signal }, 'second signal: exiting now');
      killAfterFlush(app.log);
      return;
    }
    app.log.info({ signal, graceMs: config.shutdownGraceMs }, 'shutting down: finishing accepted work');
    // Accepted work gets the grace period; a shutdown still not done well after it (a worker stuck in
    // native code) must not keep the process alive for ever.
    setTimeout(() => {
      app.log.error({ graceMs: config.shutdownGraceMs }, 'shutdown did not finish after the grace period: exiting now');
      killAfterFlush(app.log);
    }, config.shutdownGraceMs + SHUTDOWN_OVERRUN_MS).unref();
    stopping = service
      .close()
      .catch((error: unknown) => app.log.error({ err: error }, 'shutdown failed'))
      .then(() => app.log.info('stopped'))
      .finally(markStopped);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  try {
    const address = await app.listen({ host: config.host, port: config.port });
    app.log.info({ url: address }, 'listening');
    await service.warmUp();
  } catch (error) {
    const e = toPortoonError(error);
    app.log.fatal({ code: e.code, err: error }, 'start-up failed');
    await service.close().catch(() => undefined);
    throw e;
  }
  // Runs until a signal has triggered the shutdown and it has finished.
  await stopped;
  return 0;
}
