/**
 * The per-client rate limit on work: only routes marked `config.createsWork` count, so polling a job,
 * reading styles or checking health is never limited.
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { PortoonError } from '../../core/errors.js';
import type { ServerConfig } from '../config.js';
import { addRouteErrors } from '../route-config.js';

/**
 * Registers @fastify/rate-limit when a limit is configured. On the root instance and before the routes:
 * the plugin hooks every route added after it.
 */
export async function registerRateLimit(
  app: FastifyInstance,
  config: Pick<ServerConfig, 'rateLimitPerMinute' | 'queueName'>,
  redis?: Redis,
): Promise<void> {
  if (config.rateLimitPerMinute <= 0) return;
  app.addHook('onRoute', (route) => {
    if (route.config?.createsWork === true) addRouteErrors(route, ['E_RATE_LIMITED']);
  });
  await app.register(rateLimit, {
    global: true,
    max: config.rateLimitPerMinute,
    timeWindow: 60_000,
    allowList: (request) => request.routeOptions.config.createsWork !== true,
    // In a cluster the counters live in Redis, so a client gets one limit however many API nodes it
    // reaches. While Redis is down the limit is not applied (the queue refuses work then anyway).
    ...(redis ? { redis, nameSpace: `portoon:${config.queueName}:rate-limit:`, skipOnError: true } : {}),
    // A bucket per valid API key (set by the API plugin's key check, which runs first); otherwise per
    // client address. A key the service does not know is no identity: keying on it would let a
    // client get a fresh bucket with every made-up key.
    keyGenerator: (request) => (request.apiKeyId ? `key:${request.apiKeyId}` : `ip:${request.ip}`),
    errorResponseBuilder: (_request, context) =>
      Object.assign(
        new PortoonError(
          'E_RATE_LIMITED',
          `Too many requests: at most ${context.max} per minute; retry in ${Math.ceil(context.ttl / 1000)} s`,
        ),
        { statusCode: 429 },
      ),
  });
}
