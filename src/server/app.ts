/**
 * The fastify application, composed of plugins around a job queue. What applies to every request
 * (request ids, metrics, error handling, shared schemas, security headers, CORS, the rate limit, the
 * multipart parser, the OpenAPI document) is set up on the root instance; each route group is a plugin
 * with its prefix and its own hooks. It holds no engine of its own, so tests can build it around any
 * queue backend and drive it with `app.inject()`.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { CartoonEngine, ModelFiles } from '../core/engine-port.js';
import type { StyleInfo } from '../core/style-info.js';
import type { JobQueue } from '../queue/job-queue.js';
import { clientErrorHandler, frameworkErrorHandler } from './client-errors.js';
import { trustProxyOption, type ServerConfig } from './config.js';
import { registerErrorHandling } from './errors.js';
import { BODY_LIMIT_BYTES } from './limits.js';
import type { ServiceMetrics } from './metrics.js';
import { registerOpenApi } from './plugins/openapi.js';
import { registerRateLimit } from './plugins/rate-limit.js';
import { registerRequestHooks, requestId } from './plugins/request-hooks.js';
import { registerSecurity } from './plugins/security.js';
import { webUi } from './plugins/web-ui.js';
import { apiRoutes } from './routes/api.js';
import { registerWebSockets } from './routes/call.js';
import { healthRoutes, type Readiness } from './routes/health.js';
import { infoRoutes } from './routes/info.js';
import { API_PREFIX, registerSharedSchemas } from './schemas.js';
import { registerMultipart } from './upload.js';

export interface AppDependencies {
  config: Readonly<ServerConfig>;
  queue: JobQueue;
  metrics: ServiceMetrics;
  readiness: Readiness;
  /** Checks requests against the installed styles and probes uploads (the queue's engine). */
  engine: Pick<CartoonEngine, 'check' | 'probe' | 'probeVideo'>;
  /** Where video uploads are written while they arrive (the queue's store, so a job takes them over by renaming). */
  spoolDir: string;
  styles: () => StyleInfo[];
  /** The catalogue and its installed model files, served to the browser engine. */
  models: ModelFiles;
  /** Folder of the built web UI; when missing, `/` explains how to build it. */
  webRoot: string | undefined;
  previewImage: string | undefined;
  /** The Redis of a cluster, where the rate limit's counters are shared by every API node. */
  rateLimitRedis?: Redis | undefined;
}

/** Builds the application; `ready()` (or `listen()`) is the caller's. */
export async function buildApp(deps: AppDependencies): Promise<FastifyInstance> {
  const { config, metrics, readiness } = deps;
  const app = Fastify({
    logger: {
      level: config.logLevel,
      // Never log credentials.
      redact: ['req.headers.authorization', 'req.headers["x-api-key"]'],
    },
    genReqId: requestId,
    trustProxy: trustProxyOption(config.trustProxy),
    // For the schemas ajv checks (path parameters; the upload form is checked by the request schema):
    // an unknown property is an error, never silently dropped.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true, allErrors: false } },
    bodyLimit: BODY_LIMIT_BYTES,
    // Slow or stalled clients may not hold a connection forever.
    requestTimeout: 120_000,
    connectionTimeout: 0,
    keepAliveTimeout: 5_000,
    // While shutting down, requests on open connections reach the routes, which answer in the API's
    // error format (E_CLOSED / E_NOT_READY, with Retry-After) instead of a bare 503.
    return503OnClosing: false,
    // Requests refused before routing (unparseable HTTP, an undecodable URL) get the same error shape.
    clientErrorHandler,
    frameworkErrors: frameworkErrorHandler,
    // Node answers an HTTP/1.1 request without Host with an empty 400 of its own; the error handling
    // refuses it instead, in the API's error shape.
    http: { requireHostHeader: false },
  });

  // Root-wide: called on the root instance itself, before any route plugin. A plugin registered with
  // `app.register` gets an encapsulated context, and its hooks, handlers and schemas would reach only
  // the routes inside it.
  registerRequestHooks(app, { metrics, readiness });
  registerErrorHandling(app, { maxUploadBytes: config.maxUploadBytes, metrics });
  registerSharedSchemas(app);
  await registerSecurity(app, config);
  await registerRateLimit(app, config, deps.rateLimitRedis);
  await registerMultipart(app, config);
  await registerOpenApi(app, config);
  // WebSocket routes (the video call signalling) can be declared by any plugin registered after it.
  await registerWebSockets(app);

  // The route groups: encapsulated plugins, each with its prefix and its own hooks.
  await app.register(healthRoutes, { readiness, metrics });
  await app.register(apiRoutes, { prefix: API_PREFIX, ...deps });
  // What a client checks before it has a key (limits, whether a key is needed) stays open.
  await app.register(infoRoutes, { prefix: API_PREFIX, config });
  await app.register(webUi, { root: deps.webRoot });
  return app;
}
