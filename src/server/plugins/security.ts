/** Security headers on every response, and CORS for the configured origins. */
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';
import type { ServerConfig } from '../config.js';
import { REPORT_HEADERS } from '../reply-image.js';

/**
 * Registers helmet (a Content-Security-Policy that allows only the service's own origin) and, when
 * origins are configured, CORS. On the root instance: both plugins hook every route.
 */
export async function registerSecurity(app: FastifyInstance, config: Pick<ServerConfig, 'corsOrigins'>): Promise<void> {
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
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
}
