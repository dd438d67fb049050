/** GET /api/v1/styles and the style previews (mounted under the API prefix). */
import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { PortoonError } from '../../core/errors.js';
import type { StyleInfo } from '../../node/style-info.js';
import { resultOf } from '../reply-image.js';
import { API_PREFIX, styleSchema, withErrors } from '../schemas.js';
import { assertStyleServed, type SubmitContext } from '../submit.js';
import { PREVIEW_MAX_SIDE } from '../upload.js';
import type { RouteOptions } from './route-options.js';

/** Image types the engine decodes (by content, not by name; the list helps clients check early). */
export const ACCEPTED_TYPES = [
  'image/jpeg',
  'image/png',
  'image/webp',
  'image/avif',
  'image/gif',
  'image/tiff',
  'image/heic',
  'image/heif',
];

export interface StyleRouteOptions extends RouteOptions {
  styles: () => StyleInfo[];
  /** Photo the previews are rendered from; undefined: previews are unavailable. */
  previewImage: string | undefined;
}

export function styleRoutes(app: FastifyInstance, context: SubmitContext, options: StyleRouteOptions): void {
  const served = (): StyleInfo[] => options.styles().filter((style) => !context.styles || context.styles.includes(style.id));
  /** Previews are rendered once per style and kept; a failed render is not kept. */
  const previews = new Map<string, Promise<Buffer>>();

  app.get(
    '/styles',
    {
      schema: {
        summary: 'The styles this service offers',
        tags: ['styles'],
        response: withErrors({
          200: { type: 'object', required: ['styles'], properties: { styles: { type: 'array', items: styleSchema } } },
        }),
      },
    },
    async () => ({
      styles: served().map((style) => ({ ...style, previewUrl: `${API_PREFIX}/styles/${encodeURIComponent(style.id)}/preview` })),
    }),
  );

  async function renderPreview(style: string): Promise<Buffer> {
    if (!options.previewImage) throw new PortoonError('E_NOT_FOUND', 'Style previews are not configured on this server (--preview-image)');
    const photo = await readFile(options.previewImage).catch((error: unknown) => {
      throw new PortoonError('E_NOT_FOUND', 'The preview photo of this server cannot be read', { cause: error });
    });
    const job = await context.queue.enqueue(photo, { style, maxSide: PREVIEW_MAX_SIDE, format: 'jpeg', quality: 80 });
    return Buffer.from((await resultOf(context.queue, job.id)).image);
  }

  app.get<{ Params: { id: string } }>(
    '/styles/:id/preview',
    {
      schema: {
        summary: 'A small sample of a style',
        description: `The style applied to the server's sample photo, at most ${PREVIEW_MAX_SIDE} px (JPEG). Rendered on first request, then cached.`,
        tags: ['styles'],
        params: { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 64 } } },
        response: withErrors({
          200: { description: 'JPEG preview', content: { 'image/jpeg': { schema: { type: 'string', format: 'binary' } } } },
        }),
      },
      config: { createsWork: true },
    },
    async (request, reply) => {
      const { id } = request.params;
      assertStyleServed(id, context.styles);
      context.check({ style: id });
      let preview = previews.get(id);
      if (!preview) {
        preview = renderPreview(id);
        previews.set(id, preview);
        preview.catch(() => previews.delete(id));
      }
      const image = await preview;
      return reply.type('image/jpeg').header('cache-control', 'public, max-age=3600').send(image);
    },
  );
}
