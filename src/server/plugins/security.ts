/** Security headers on every response, and CORS for the configured origins. */
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import helmetHeaders from 'helmet';
import type { ServerConfig } from '../config.js';
import { REPORT_HEADERS } from '../reply-image.js';

const HELMET_OPTIONS = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'", "'wasm-unsafe-eval'"],
      workerSrc: ["'self'", 'blob:'],
      // The API docs page (Swagger UI) sets inline styles.
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", 'data:', 'blob:'],
      mediaSrc: ["'self'", 'blob:'],
      connectSrc: ["'self'"],
      fontSrc: ["'self'"],
      objectSrc: ["'none'"],
      baseUri: ["'self'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
    },
  },
  crossOriginEmbedderPolicy: { policy: 'require-corp' },
  crossOriginOpenerPolicy: { policy: 'same-origin' },
  crossOriginResourcePolicy: { policy: 'same-origin' },
} as const;

const applyHeaders = helmetHeaders(HELMET_OPTIONS);

/**
 * The same headers on a response fastify's router refuses before any hook has run (a malformed URL,
 * a path parameter over the length limit): every response of the service is isolated.
 */
export function addSecurityHeaders(request: FastifyRequest, reply: FastifyReply): void {
  applyHeaders(request.raw, reply.raw, () => undefined);
}

/**
 * Registers helmet (a Content-Security-Policy that allows only the service's own origin) and, when
 * origins are configured, CORS. On the root instance: both plugins hook every route.
 *
 * Every response is cross-origin isolated (COOP same-origin, COEP require-corp, CORP same-origin):
 * the in-browser engine runs onnxruntime-web with WebAssembly threads, which need SharedArrayBuffer,
 * which browsers only give to isolated pages. The CSP allows compiling WebAssembly
 * ('wasm-unsafe-eval', not 'unsafe-eval') and workers from the service's own origin.
 */
export async function registerSecurity(app: FastifyInstance, config: Pick<ServerConfig, 'corsOrigins'>): Promise<void> {
  await app.register(helmet, HELMET_OPTIONS);
  if (config.corsOrigins.length > 0) {
    await app.register(cors, {
      origin: config.corsOrigins.includes('*') ? '*' : [...config.corsOrigins],
      methods: ['GET', 'POST', 'DELETE'],
      allowedHeaders: ['content-type', 'authorization', 'x-api-key', 'x-request-id'],
      exposedHeaders: [...REPORT_HEADERS, 'retry-after', 'x-request-id', 'content-disposition', 'location'],
      maxAge: 600,
    });
  }
}
