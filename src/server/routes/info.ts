/**
 * GET /api/v1/info: version and limits, for clients that check an upload before sending it. A plugin
 * of its own under the API prefix, outside the API plugin and its key check: a client may read it
 * before it has a key.
 */
import type { FastifyPluginAsync } from 'fastify';
import { VERSION } from '../../node/version.js';
import { ACCEPTED_MIME_TYPES } from '../../core/formats.js';
import { SERVER_SETTINGS, type ServerConfig } from '../config.js';

export interface InfoOptions {
  config: Pick<
    ServerConfig,
    'maxUploadBytes' | 'maxVideoUploadBytes' | 'maxSide' | 'maxFaces' | 'maxPixels' | 'jobTimeoutMs' | 'videoTimeoutMs' | 'apiKeys'
  >;
}

/** The limits a client checks before uploading, and whether it needs a key. */
export const infoRoutes: FastifyPluginAsync<InfoOptions> = async (app, { config }) => {
  app.get(
    '/info',
    {
      schema: {
        operationId: 'getServiceInfo',
        summary: 'Version and limits, for clients that check uploads before sending them',
        tags: ['service'],
        response: {
          200: {
            type: 'object',
            required: [
              'version',
              'maxUploadBytes',
              'maxVideoUploadBytes',
              'maxSide',
              'maxFaces',
              'maxInputPixels',
              'jobTimeoutSeconds',
              'videoTimeoutSeconds',
              'acceptedTypes',
              'authRequired',
            ],
            properties: {
              version: { type: 'string' },
              maxUploadBytes: { type: 'integer', description: 'Largest photo upload, in bytes (413 beyond)' },
              maxVideoUploadBytes: { type: 'integer', description: 'Largest video upload (to /api/v1/jobs), in bytes (413 beyond)' },
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
              videoTimeoutSeconds: { type: 'integer', description: 'Longest one video may take once started (504 beyond)' },
              acceptedTypes: { type: 'array', items: { type: 'string' }, description: 'Raster image types accepted (by content)' },
              authRequired: { type: 'boolean' },
            },
            // A service with the default settings.
            examples: [
              {
                version: VERSION,
                maxUploadBytes: SERVER_SETTINGS.maxUploadMb.default * 1024 * 1024,
                maxVideoUploadBytes: SERVER_SETTINGS.maxVideoUploadMb.default * 1024 * 1024,
                maxSide: SERVER_SETTINGS.maxSide.default,
                maxFaces: SERVER_SETTINGS.maxFaces.default,
                maxInputPixels: SERVER_SETTINGS.maxPixels.default,
                jobTimeoutSeconds: SERVER_SETTINGS.jobTimeout.default,
                videoTimeoutSeconds: SERVER_SETTINGS.videoTimeout.default,
                acceptedTypes: ACCEPTED_MIME_TYPES,
                authRequired: false,
              },
            ],
          },
        },
      },
    },
    async () => ({
      version: VERSION,
      maxUploadBytes: config.maxUploadBytes,
      maxVideoUploadBytes: config.maxVideoUploadBytes,
      maxSide: config.maxSide,
      maxFaces: config.maxFaces,
      maxInputPixels: config.maxPixels,
      jobTimeoutSeconds: Math.round(config.jobTimeoutMs / 1000),
      videoTimeoutSeconds: Math.round(config.videoTimeoutMs / 1000),
      acceptedTypes: ACCEPTED_MIME_TYPES,
      authRequired: config.apiKeys.length > 0,
    }),
  );
};
