/**
 * The OpenAPI document, built from the routes' own schemas and what the routes say of themselves
 * (see route-config.ts): served at /openapi.json and browsable at /docs (Swagger UI). It describes
 * this service as configured: which operations need a key, which errors each can answer, and the
 * address clients reach it at.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { errorTableMarkdown } from '../../core/error-docs.js';
import { VERSION } from '../../node/version.js';
import type { ServerConfig } from '../config.js';
import { errorResponses } from '../schemas.js';

/** The two ways to present a key (see auth.ts), as OpenAPI security schemes. */
const SECURITY_SCHEMES = {
  bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API key of this service: `Authorization: Bearer <key>`' },
  apiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'An API key of this service: `X-API-Key: <key>`' },
} as const;

/** Either scheme will do. */
const KEY_REQUIRED = [{ bearerAuth: [] }, { apiKeyHeader: [] }];

type Document = Record<string, unknown>;

/**
 * Registers the document and its pages. On the root instance and before the routes: the document
 * collects every route added after it, in whichever plugin.
 */
export async function registerOpenApi(app: FastifyInstance, config: Pick<ServerConfig, 'apiKeys' | 'publicUrl'>): Promise<void> {
  const keyed = config.apiKeys.length > 0;
  await app.register(swagger, {
    // Shared schemas keep their names (PortoonError, JobStatus) in the document instead of def-0, def-1.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Portoon API',
        version: VERSION,
        description: `Turn photos of people into cartoon portraits. Every error is \`{ "error": { "code", "message" } }\` with the HTTP status of its code:\n\n${errorTableMarkdown()}`,
        license: { name: 'MIT', identifier: 'MIT' },
      },
      tags: [
        { name: 'cartoon', description: 'Synchronous cartoonization' },
        { name: 'jobs', description: 'Asynchronous jobs with progress' },
        { name: 'styles', description: 'The styles on offer' },
        { name: 'calls', description: 'Video calls between two browsers (the /call page)' },
        { name: 'provenance', description: "Checking an image for Portoon's provenance marks" },
        { name: 'service', description: 'Health, readiness, metrics, limits' },
      ],
      // Declared only when keys are configured: a service without keys has nothing to present.
      ...(keyed ? { components: { securitySchemes: SECURITY_SCHEMES } } : {}),
    },
    // Each operation's errors and security come from what its route and the plugins around it say.
    transform: ({ schema, url, route }) => {
      if (!schema || schema.hide === true) return { schema, url };
      const errors = errorResponses(route.config?.errors ?? []);
      const security = route.config?.needsKey === true ? KEY_REQUIRED : [];
      return { schema: { ...schema, response: { ...(schema.response as object), ...errors }, security }, url };
    },
  });
  const withServer = (document: Document, request: FastifyRequest): Document => ({
    ...document,
    servers: [{ url: config.publicUrl ?? requestOrigin(request), description: 'This service' }],
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { docExpansion: 'list', deepLinking: true },
    transformSpecification: (document, request) => withServer(document as Document, request),
  });
  app.get('/openapi.json', { schema: { hide: true } }, async (request) => withServer(app.swagger() as unknown as Document, request));
}

/**
 * The origin the request was sent to (with trusted proxies, the one the client used). A Host header
 * that is no host name or address gives the relative "/" instead: the document's own origin.
 */
function requestOrigin(request: FastifyRequest): string {
  return /^[A-Za-z0-9.-]+(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$/.test(request.host)
    ? `${request.protocol}://${request.host}`
    : '/';
}
