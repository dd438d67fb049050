/**
 * GET /api/v1/info: version and limits, for clients that check an upload before sending it. Mounted in
 * its own open scope under the API prefix: a client may read it before it has a key.
 */
import type { FastifyInstance } from 'fastify';
import { VERSION } from '../../node/version.js';
import { ACCEPTED_TYPES } from './styles.js';

export interface InfoOptions {
  maxUploadBytes: number;
  maxSide: number;
  maxFaces: number;
  maxPixels: number;
  jobTimeoutMs: number;
  authRequired: boolean;
}

export function infoRoutes(app: FastifyInstance, options: InfoOptions): void {
  app.get(
    '/info',
    {
      schema: {
        summary: 'Version and limits, for clients that check uploads before sending them',
        tags: ['service'],
        response: {
          200: {
            type: 'object',
            required: [
              'version',
              'maxUploadBytes',
              'maxSide',
              'maxFaces',
              'maxInputPixels',
              'jobTimeoutSeconds',
              'acceptedTypes',
              'authRequired',
            ],
            properties: {
              version: { type: 'string' },
              maxUploadBytes: { type: 'integer', description: 'Largest upload, in bytes (413 beyond)' },
              maxSide: {
                type: 'integer',
                description: 'Longest side processed; larger photos are shrunk to it (requests may ask for less)',
              },
              maxFaces: {
                type: 'integer',
                description: 'Most faces stylized one by one per image (the largest); the rest get the background style',
              },
              maxInputPixels: { type: 'integer', description: 'Largest photo accepted, in pixels (422 beyond)' },
              jobTimeoutSeconds: { type: 'integer', description: 'Longest one image may take once started (504 beyond)' },
              acceptedTypes: { type: 'array', items: { type: 'string' }, description: 'Raster image types accepted (by content)' },
              authRequired: { type: 'boolean' },
            },
          },
        },
      },
    },
    async () => ({
      version: VERSION,
      maxUploadBytes: options.maxUploadBytes,
      maxSide: options.maxSide,
      maxFaces: options.maxFaces,
      maxInputPixels: options.maxPixels,
      jobTimeoutSeconds: Math.round(options.jobTimeoutMs / 1000),
      acceptedTypes: ACCEPTED_TYPES,
      authRequired: options.authRequired,
    }),
  );
}
