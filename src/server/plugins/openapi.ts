/**
 * The OpenAPI document, built from the routes' own schemas: served at /openapi.json and browsable at
 * /docs (Swagger UI).
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { errorTableMarkdown } from '../../core/error-docs.js';
import { VERSION } from '../../node/version.js';
import type { ServerConfig } from '../config.js';

/**
 * Registers the document and its pages. On the root instance and before the routes: the document
 * collects every route added after it, in whichever plugin.
 */
export async function registerOpenApi(app: FastifyInstance, config: Pick<ServerConfig, 'apiKeys'>): Promise<void> {
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
}
