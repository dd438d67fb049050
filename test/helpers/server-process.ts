/**
 * Runs `portoon serve` (the built CLI) as a child process on a free loopback port and waits until it
 * is ready, for tests that need a real socket and a real process (signals, browsers).
 */
import { CLI_PATH, startChildService, type ChildService } from './child-service.js';

/** `url` is the service's base URL. */
export type ServerProcess = ChildService;

export function startServerProcess(args: string[], env: Record<string, string> = {}, readyTimeoutMs = 120_000): Promise<ServerProcess> {
  return startChildService([CLI_PATH, 'serve', '--host', '127.0.0.1', '--port', '0', ...args], {
    env: { ...process.env, PORTOON_LOG_LEVEL: 'info', ...env },
    readyTimeoutMs,
    name: 'portoon serve',
  });
}
