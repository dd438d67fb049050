/**
 * `portoon serve`: the HTTP service. Flags come from the settings table (each also readable from its
 * environment variable). Runs until SIGTERM or SIGINT, then shuts down gracefully; a second signal
 * stops at once.
 */
import { Command, Option } from 'commander';
import { toPortoonError } from '../core/errors.js';
import { resolveServerConfig, SERVER_SETTINGS, shownDefault, type RawSettings, type SettingName } from '../server/config.js';
import { createService } from '../server/service.js';

export function addServeCommand(program: Command, setExit: (code: number) => void): void {
  const command = program
    .command('serve')
    .description('run the HTTP service: web UI at /, REST API at /api/v1, docs at /docs')
    .addHelpText('after', '\nEvery option can also be set with the environment variable shown in brackets.');
  for (const [name, setting] of Object.entries(SERVER_SETTINGS) as Array<[SettingName, (typeof SERVER_SETTINGS)[SettingName]]>) {
    const valueName = setting.kind === 'bool' ? '' : ` <${setting.kind === 'list' ? 'a,b' : setting.kind === 'int' ? 'n' : 'value'}>`;
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
      process.exit(1);
    }
    app.log.info({ signal, graceMs: config.shutdownGraceMs }, 'shutting down: finishing accepted work');
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
