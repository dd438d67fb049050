/**
 * Connections to the Redis server behind a distributed queue. The location is a URL,
 * `redis://[user:password@]host:port/db` (`rediss://` for TLS), checked once where it is configured.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { PortoonError } from '../../core/errors.js';

/**
 * What a connection is for. Commands of an API node fail fast while Redis is down (the client gets a
 * 503 at once instead of a request that hangs); a worker's connections wait and reconnect, as
 * BullMQ requires of blocking connections.
 */
export type ConnectionRole = 'commands' | 'worker' | 'subscriber';

/**
 * Checks a queue location and returns it normalized.
 * @throws PortoonError E_BAD_OPTION naming the setting, for anything but a redis:// or rediss:// URL.
 */
export function parseRedisUrl(value: string, setting = '--queue'): string {
  const expected = 'a Redis URL such as redis://127.0.0.1:6379/0 (rediss:// for TLS)';
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new PortoonError('E_BAD_OPTION', `${setting}: expected ${expected}, got "${value}"`, { details: { setting } });
  }
  const db = url.pathname.replace(/^\//, '');
  if (
    !['redis:', 'rediss:'].includes(url.protocol) ||
    url.hostname === '' ||
    !/^\d{0,2}$/.test(db) ||
    url.search !== '' ||
    url.hash !== ''
  ) {
    throw new PortoonError('E_BAD_OPTION', `${setting}: expected ${expected}, got "${redactRedisUrl(value)}"`, { details: { setting } });
  }
  return url.toString();
}

/** The URL without its password, for logs and messages. */
export function redactRedisUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.password !== '') url.password = '***';
    return url.toString();
  } catch {
    return value.replace(/\/\/[^@/]*@/, '//***@');
  }
}

export function connectRedis(url: string, role: ConnectionRole, connectionName: string): Redis {
  const options: RedisOptions = {
    connectionName,
    // A lost connection is retried with a growing pause, capped so a restarted Redis is found quickly.
    retryStrategy: (attempt) => Math.min(2000, 50 * 2 ** Math.min(attempt, 6)),
    ...(role === 'commands'
      ? // Commands sent while connecting wait for the connection; while Redis is down they fail after
        // one reconnection attempt instead of queueing up.
        { maxRetriesPerRequest: 1, connectTimeout: 5000 }
      : { maxRetriesPerRequest: null, enableOfflineQueue: true }),
  };
  const redis = new Redis(url, options);
  // Connection errors are reported by the commands that fail (and /readyz); an 'error' event without a
  // listener would crash the process.
  redis.on('error', () => undefined);
  return redis;
}

/** A Redis failure in the service's terms. */
export function queueUnavailable(error: unknown, url: string): PortoonError {
  if (error instanceof PortoonError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new PortoonError('E_QUEUE_UNAVAILABLE', `The job queue at ${redactRedisUrl(url)} cannot be reached (${reason}); retry shortly`, {
    cause: error,
  });
}

/** Waits until the connection is ready, or fails with E_QUEUE_UNAVAILABLE after `timeoutMs`. */
export async function untilConnected(redis: Redis, url: string, timeoutMs = 10_000): Promise<void> {
  if (redis.status === 'ready') return;
  if (redis.status === 'wait') redis.connect().catch(() => undefined);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(queueUnavailable(new Error(`no connection after ${timeoutMs / 1000} s`), url));
    }, timeoutMs);
    // The connection keeps the process alive while it tries; a wait for one that was closed must not
    // (a node whose start-up failed would linger until the timeout).
    timer.unref();
    const onReady = (): void => {
      cleanup();
      resolve();
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      redis.off('ready', onReady);
    };
    redis.on('ready', onReady);
  });
}

/**
 * Subscribes once the connection is ready. A SUBSCRIBE sent while ioredis is still connecting can be
 * lost to its ready check (seen: the subscription resolved, and no message ever came); once
 * subscribed, ioredis subscribes again by itself after every reconnection.
 */
export async function subscribeWhenReady(redis: Redis, channel: string, url: string): Promise<void> {
  await untilConnected(redis, url, 60_000);
  await redis.subscribe(channel);
}
