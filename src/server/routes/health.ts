/** Liveness, readiness and Prometheus metrics. */
import type { FastifyPluginAsync } from 'fastify';
import { PortoonError } from '../../core/errors.js';
import { sendError } from '../errors.js';
import type { ServiceMetrics } from '../metrics.js';

export interface Readiness {
  ready: boolean;
  /** Why the service is not ready (shown in /readyz). */
  reason: string;
  /**
   * Shutting down: the listener stays open while accepted work finishes, /readyz answers 503 so load
   * balancers move traffic away, new work is refused with 503 E_CLOSED, and responses close their
   * connections.
   */
  draining: boolean;
}

export interface HealthOptions {
  readiness: Readiness;
  metrics: ServiceMetrics;
}

/** /healthz, /readyz and /metrics, at the root: load balancers and scrapers need no key. */
export const healthRoutes: FastifyPluginAsync<HealthOptions> = async (app, { readiness, metrics }) => {
  const statusSchema = { type: 'object', properties: { status: { type: 'string' } } } as const;

  app.get(
    '/healthz',
    {
      schema: {
        operationId: 'getLiveness',
        summary: 'Liveness: 200 while the process runs',
        tags: ['service'],
        response: { 200: statusSchema },
      },
    },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        operationId: 'getReadiness',
        summary: 'Readiness: 200 once the models of the served styles are loaded, 503 before (and while shutting down)',
        tags: ['service'],
        response: { 200: statusSchema },
      },
      config: { errors: ['E_NOT_READY', 'E_CLOSED'] },
    },
    async (_request, reply) => {
      if (readiness.draining) return sendError(reply, new PortoonError('E_CLOSED', 'The service is shutting down'), 5);
      if (!readiness.ready) return sendError(reply, new PortoonError('E_NOT_READY', readiness.reason), 2);
      return { status: 'ready' };
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        operationId: 'getMetrics',
        summary: 'Prometheus metrics',
        tags: ['service'],
        response: {
          200: {
            description: 'The metrics in the Prometheus text format',
            content: { 'text/plain': { schema: { type: 'string' } } },
          },
        },
      },
    },
    async (_request, reply) => {
      const { contentType, body } = await metrics.render();
      return reply.type(contentType).header('cache-control', 'no-store').send(body);
    },
  );
};
