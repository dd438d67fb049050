/**
 * GET /api/v1/catalogue and GET /api/v1/models/{id}: what the browser engine needs to run the same
 * styles on the user's device (a plugin of the API scope, so the key rules apply). The model files
 * are the installed, sha256-verified ones; the browser checks the sha256 again against the catalogue.
 */
import { createReadStream } from 'node:fs';
import type { FastifyPluginAsync } from 'fastify';
import type { ModelFiles } from '../../core/engine-port.js';
import { PortoonError } from '../../core/errors.js';
import { VERSION } from '../../node/version.js';

export interface ModelRouteOptions {
  models: ModelFiles;
  /** The styles this service offers (`--styles`); undefined: every style of the catalogue. */
  served: readonly string[] | undefined;
}

const manifestSchema = {
  type: 'object',
  description: 'A catalogue manifest (see catalogue/manifest.schema.json).',
  additionalProperties: true,
} as const;

/** If-None-Match (RFC 9110 §13.1.2): `*`, or a list of tags compared weakly (W/ prefixes ignored). */
function matchesEtag(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

export const modelRoutes: FastifyPluginAsync<ModelRouteOptions> = async (app, { models, served }) => {
  const fileUrl = (id: string): string => `${app.prefix}/models/${encodeURIComponent(id)}`;

  app.get(
    '/catalogue',
    {
      schema: {
        operationId: 'getCatalogue',
        summary: 'The model catalogue, for running styles in the browser',
        description:
          'The manifests of every style and model this server knows, and where each installed model file can be downloaded. The browser engine (`portoon/web`) builds its catalogue from this and verifies every file against the manifest sha256.',
        tags: ['models'],
        response: {
          200: {
            type: 'object',
            required: ['manifests', 'modelUrls', 'styles', 'version'],
            properties: {
              manifests: { type: 'array', items: manifestSchema },
              styles: { type: 'array', items: { type: 'string' }, description: 'The styles this service offers.' },
              modelUrls: { type: 'object', additionalProperties: { type: 'string' } },
              version: { type: 'string' },
            },
          },
        },
      },
    },
    async () => {
      const { catalogue } = models;
      const modelUrls: Record<string, string> = {};
      for (const model of catalogue.models) if (models.isInstalled(model.id)) modelUrls[model.id] = fileUrl(model.id);
      const styles = catalogue.styles.map((style) => style.id).filter((id) => !served || served.includes(id));
      return { manifests: catalogue.sources.map((source) => source.manifest), modelUrls, styles, version: VERSION };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/models/:id',
    {
      schema: {
        operationId: 'getModelFile',
        summary: 'An installed model file (ONNX)',
        description: 'The verified file; its ETag is the sha256 from the catalogue.',
        tags: ['models'],
        params: { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 128 } } },
        response: {
          200: { description: 'ONNX model', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
        },
      },
      config: { errors: ['E_NOT_FOUND', 'E_MODEL_MISSING', 'E_MODEL_CORRUPT'] },
    },
    async (request, reply) => {
      const { id } = request.params;
      if (!models.catalogue.hasModel(id)) throw new PortoonError('E_NOT_FOUND', `No model "${id}" in the catalogue`);
      const entry = models.catalogue.model(id);
      const path = await models.verifiedPath(id);
      const etag = `"${entry.sha256}"`;
      reply.header('etag', etag).header('cache-control', 'no-cache');
      if (matchesEtag(request.headers['if-none-match'], etag)) return reply.code(304).send();
      return reply
        .type('application/octet-stream')
        .header('content-length', entry.bytes)
        .header('content-disposition', `attachment; filename="${entry.file.replace(/[^\w.-]/g, '_')}"`)
        .send(createReadStream(path));
    },
  );
};
