/** Liveness, readiness and Prometheus metrics. */
import type { FastifyPluginAsync } from 'fastify';
import { PortoonError, toPortoonError } from '../../core/errors.js';
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
  /**
   * What the service depends on besides itself (a cluster's Redis and blob store), checked on every
   * /readyz: a failure makes it 503 with the failing part's error, and its facts go in the answer.
   */
  dependencies?: (() => Promise<Record<string, string | number>>) | undefined;
}

export interface HealthOptions {
  readiness: Readiness;
  metrics: ServiceMetrics;
}

/** /healthz, /readyz and /metrics, at the root: load balancers and scrapers need no key. */
export const healthRoutes: FastifyPluginAsync<HealthOptions> = async (app, { readiness, metrics }) => {
  const statusSchema = { type: 'object', properties: { status: { type: 'string' } } } as const;
  const readySchema = {
    type: 'object',
    properties: {
      status: { type: 'string' },
      queue: { type: 'string', description: 'A cluster’s job queue: "redis" once it answers' },
      store: { type: 'string', description: 'A cluster’s store of job files (fs:… or s3://…), once it reads and writes' },
      workers: { type: 'integer', description: 'Live worker nodes of a cluster' },
    },
  } as const;

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
        summary:
          'Readiness: 200 once the models of the served styles are loaded (in a cluster: Redis and the blob store answer), 503 before (and while shutting down)',
        tags: ['service'],
        response: { 200: readySchema },
      },
      config: { errors: ['E_NOT_READY', 'E_CLOSED', 'E_QUEUE_UNAVAILABLE', 'E_BLOB_STORE'] },
    },
    async (_request, reply) => {
      if (readiness.draining) return sendError(reply, new PortoonError('E_CLOSED', 'The service is shutting down'), 5);
      if (!readiness.ready) return sendError(reply, new PortoonError('E_NOT_READY', readiness.reason), 2);
      if (!readiness.dependencies) return { status: 'ready' };
      try {
        return { status: 'ready', ...(await readiness.dependencies()) };
      } catch (error) {
        return sendError(reply, toPortoonError(error), 2);
      }
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
