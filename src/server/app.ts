/**
 * The fastify application: plugins (security headers, CORS, rate limit, API keys, multipart, OpenAPI,
 * metrics, the web UI) and the routes, around a job queue. It holds no engine of its own, so tests can
 * build it around any queue backend and drive it with `app.inject()`.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import multipart from '@fastify/multipart';
import rateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type onRequestHookHandler } from 'fastify';
import { errorTableMarkdown } from '../core/error-docs.js';
import { PortoonError } from '../core/errors.js';
import type { StyleInfo } from '../node/style-info.js';
import { VERSION } from '../node/version.js';
import type { JobQueue } from '../queue/job-queue.js';
import { trustProxyOption, type ServerConfig } from './config.js';
import { clientErrorHandler, frameworkErrorHandler } from './client-errors.js';
import { errorSchema, formatMb, registerErrorHandling } from './errors.js';
import type { ServiceMetrics } from './metrics.js';
import type { CartoonizeRequest } from '../node/engine.js';
import { requireApiKey } from './auth.js';
import { REPORT_HEADERS } from './reply-image.js';
import { cartoonRoutes } from './routes/cartoon.js';
import { healthRoutes, type Readiness } from './routes/health.js';
import { infoRoutes } from './routes/info.js';
import { jobRoutes } from './routes/jobs.js';
import type { RouteOptions } from './routes/route-options.js';
import { styleRoutes } from './routes/styles.js';
import { API_PREFIX, jobStatusSchema } from './schemas.js';
import type { SubmitContext } from './submit.js';

export interface AppDependencies {
  config: Readonly<ServerConfig>;
  queue: JobQueue;
  metrics: ServiceMetrics;
  readiness: Readiness;
  /** Validates a request against the catalogue and the installed models. */
  check: (request: CartoonizeRequest) => void;
  styles: () => StyleInfo[];
  /** Folder of the built web UI; when missing, `/` explains how to build it. */
  webRoot: string | undefined;
  previewImage: string | undefined;
}

/** Multipart envelope allowance on top of the file limit, for the early Content-Length check. */
const MULTIPART_OVERHEAD_BYTES = 64 * 1024;

/** A client-supplied request id is kept when it is short and plain (it ends up in logs). */
function requestId(request: { headers: Record<string, string | string[] | undefined> }): string {
  const header = request.headers['x-request-id'];
  return typeof header === 'string' && /^[\w.:-]{1,64}$/.test(header) ? header : randomUUID();
}

export async function buildApp(deps: AppDependencies): Promise<FastifyInstance> {
  const { config, metrics } = deps;
  const app = Fastify({
    logger: {
      level: config.logLevel,
      // Never log credentials.
      redact: ['req.headers.authorization', 'req.headers["x-api-key"]'],
    },
    genReqId: requestId,
    trustProxy: trustProxyOption(config.trustProxy),
    // Unknown parameters are an error, not silently dropped: a typo like "strenght" must not pass.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true, allErrors: false } },
    bodyLimit: 64 * 1024,
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

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    metrics.observeRequest(request.routeOptions.url ?? 'unmatched', request.method, reply.statusCode, reply.elapsedTime / 1000);
  });
  // Once shutting down, responses close their connection: an idle keep-alive connection would
  // otherwise hold the shutdown open for up to keepAliveTimeout.
  app.addHook('onSend', async (_request, reply) => {
    if (deps.readiness.draining) reply.header('connection', 'close');
  });
  registerErrorHandling(app, { maxUploadBytes: config.maxUploadBytes, metrics });
  app.addSchema(errorSchema);
  app.addSchema(jobStatusSchema);

  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        // The API docs page (Swagger UI) sets inline styles.
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:', 'blob:'],
        connectSrc: ["'self'"],
        fontSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
  });
  if (config.corsOrigins.length > 0) {
    await app.register(cors, {
      origin: config.corsOrigins.includes('*') ? '*' : [...config.corsOrigins],
      methods: ['GET', 'POST', 'DELETE'],
      allowedHeaders: ['content-type', 'authorization', 'x-api-key', 'x-request-id'],
      exposedHeaders: [...REPORT_HEADERS, 'retry-after', 'x-request-id', 'content-disposition', 'location'],
      maxAge: 600,
    });
  }
  if (config.rateLimitPerMinute > 0) {
    await app.register(rateLimit, {
      global: true,
      max: config.rateLimitPerMinute,
      timeWindow: 60_000,
      // Only routes that start image work count; polling a job or reading styles is free.
      allowList: (request) => request.routeOptions.config.createsWork !== true,
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
          {
            statusCode: 429,
          },
        ),
    });
  }
  await app.register(multipart, {
    limits: { fileSize: config.maxUploadBytes, files: 1, fields: 16, fieldSize: 1024, parts: 17, headerPairs: 64 },
  });
  await app.register(swagger, {
    // Shared schemas keep their names (PortoonError, JobStatus) in the document instead of def-0, def-1.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Portoon API',
        version: VERSION,
        description: `Turn photos of people into cartoon portraits. Every error is \`{ "error": { "code", "message" } }\` with the HTTP status of its code:\n\n${errorTableMarkdown()}`,
      },
      tags: [
        { name: 'cartoon', description: 'Synchronous cartoonization' },
        { name: 'jobs', description: 'Asynchronous jobs with progress' },
        { name: 'styles', description: 'The styles on offer' },
        { name: 'service', description: 'Health, readiness, metrics, limits' },
      ],
      ...(config.apiKeys.length > 0
        ? { components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } }, security: [{ bearer: [] }] }
        : {}),
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list', deepLinking: true } });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  const uploadGuard: onRequestHookHandler = async (request) => {
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > config.maxUploadBytes + MULTIPART_OVERHEAD_BYTES) {
      throw new PortoonError(
        'E_FILE_TOO_LARGE',
        `The upload is larger than the limit of ${formatMb(config.maxUploadBytes)}; send a smaller photo`,
      );
    }
  };
  const routeOptions: RouteOptions = { uploadGuard };
  const submitContext: SubmitContext = {
    queue: deps.queue,
    styles: config.styles,
    maxSide: config.maxSide,
    maxFaces: config.maxFaces,
    maxPixels: config.maxPixels,
    check: deps.check,
  };
  healthRoutes(app, deps.readiness, metrics);
  // The API lives in its own plugin scope: its hooks (the key check) run for every route registered in
  // it, whatever spelling of the URL the router matched.
  await app.register(
    async (api) => {
      if (config.apiKeys.length > 0) api.addHook('onRequest', requireApiKey(config.apiKeys));
      // While draining, new work is refused before its upload is read; polls and results still work.
      api.addHook('onRequest', async (request) => {
        if (deps.readiness.draining && request.routeOptions.config.createsWork === true) {
          throw new PortoonError('E_CLOSED', 'The service is shutting down and accepts no new work; retry on another instance');
        }
      });
      cartoonRoutes(api, submitContext, routeOptions);
      jobRoutes(api, submitContext, routeOptions);
      styleRoutes(api, submitContext, { ...routeOptions, styles: deps.styles, previewImage: deps.previewImage });
    },
    { prefix: API_PREFIX },
  );
  // What a client checks before it has a key (limits, whether a key is needed) stays open.
  await app.register(
    async (open) => {
      infoRoutes(open, {
        maxUploadBytes: config.maxUploadBytes,
        maxSide: config.maxSide,
        maxFaces: config.maxFaces,
        maxPixels: config.maxPixels,
        jobTimeoutMs: config.jobTimeoutMs,
        authRequired: config.apiKeys.length > 0,
      });
    },
    { prefix: API_PREFIX },
  );

  if (deps.webRoot && existsSync(deps.webRoot)) {
    await app.register(fastifyStatic, {
      root: deps.webRoot,
      prefix: '/',
      wildcard: false,
      // Cache-Control is set below, per file type.
      cacheControl: false,
      setHeaders: (response, path) => {
        // Vite puts a content hash in every asset name, so assets never change; the page itself may.
        response.setHeader('cache-control', /[/\\]assets[/\\]/.test(path) ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    });
  } else {
    app.get('/', { schema: { hide: true } }, async (_request, reply) =>
      reply
        .type('text/plain; charset=utf-8')
        .send('Portoon API is running; the web UI is not built (run `npm run build`). API docs: /docs\n'),
    );
  }
  return app;
}
