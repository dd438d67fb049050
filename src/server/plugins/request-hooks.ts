/**
 * What every request goes through, whichever route (or none) answers it: its id, echoed in the
 * response; its route, status and duration in the metrics; and, once the service is shutting down, a
 * closed connection after the response.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ServiceMetrics } from '../metrics.js';
import type { Readiness } from '../routes/health.js';

/** fastify's `genReqId`: a client-supplied request id is kept when it is short and plain (it ends up in logs). */
export function requestId(request: { headers: Record<string, string | string[] | undefined> }): string {
  const header = request.headers['x-request-id'];
  return typeof header === 'string' && /^[\w.:-]{1,64}$/.test(header) ? header : randomUUID();
}

export interface RequestHookOptions {
  metrics: ServiceMetrics;
  readiness: Pick<Readiness, 'draining'>;
}

/**
 * Adds the hooks to the root instance (before any route plugin is registered, so every one of them
 * inherits the hooks).
 */
export function registerRequestHooks(app: FastifyInstance, { metrics, readiness }: RequestHookOptions): void {
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    metrics.observeRequest(request.routeOptions.url ?? 'unmatched', request.method, reply.statusCode, reply.elapsedTime / 1000);
  });
  // Once shutting down, responses close their connection: an idle keep-alive connection would
  // otherwise hold the shutdown open for up to keepAliveTimeout.
  app.addHook('onSend', async (_request, reply) => {
    if (readiness.draining) reply.header('connection', 'close');
  });
}
