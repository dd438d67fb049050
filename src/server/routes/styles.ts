/** GET /api/v1/styles and the style previews (a plugin of the API scope). */
import { readFile } from 'node:fs/promises';
import type { FastifyPluginAsync } from 'fastify';
import { PortoonError } from '../../core/errors.js';
import { parseCartoonizeRequest, PREVIEW_MAX_SIDE } from '../../core/request.js';
import type { StyleInfo } from '../../core/style-info.js';
import { JOB_FAILURE_ERRORS, resultOf } from '../reply-image.js';
import { styleSchema } from '../schemas.js';
import { assertStyleServed, type SubmitContext } from '../submit.js';

export interface StyleRouteOptions {
  /** The queue previews are rendered on, the styles served and the engine that checks them. */
  submit: SubmitContext;
  /** Every catalogued style, with its installation state. */
  styles: () => StyleInfo[];
  /** Photo the previews are rendered from; undefined: previews are unavailable. */
  previewImage: string | undefined;
}

/** The served styles, and a preview of each, rendered on first request and kept. */
export const styleRoutes: FastifyPluginAsync<StyleRouteOptions> = async (app, options) => {
  const { submit } = options;
  const served = (): StyleInfo[] => options.styles().filter((style) => !submit.styles || submit.styles.includes(style.id));
  /** Previews are rendered once per style and kept; a failed render is not kept. */
  const previews = new Map<string, Promise<Buffer>>();

  app.get(
    '/styles',
    {
      schema: {
        operationId: 'listStyles',
        summary: 'The styles this service offers',
        tags: ['styles'],
        response: {
          200: { type: 'object', required: ['styles'], properties: { styles: { type: 'array', items: styleSchema } } },
        },
      },
    },
    async () => ({
      styles: served().map((style) => ({ ...style, previewUrl: `${app.prefix}/styles/${encodeURIComponent(style.id)}/preview` })),
    }),
  );

  async function renderPreview(style: string): Promise<Buffer> {
    if (!options.previewImage) throw new PortoonError('E_NOT_FOUND', 'Style previews are not configured on this server (--preview-image)');
    const photo = await readFile(options.previewImage).catch((error: unknown) => {
      throw new PortoonError('E_NOT_FOUND', 'The preview photo of this server cannot be read', { cause: error });
    });
    const job = await submit.queue.enqueue(photo, parseCartoonizeRequest({ style, preview: true }));
    return (await resultOf(submit.queue, job.id)).bytes;
  }

  app.get<{ Params: { id: string } }>(
    '/styles/:id/preview',
    {
      schema: {
        operationId: 'getStylePreview',
        summary: 'A small sample of a style',
        description: `The style applied to the server's sample photo, at most ${PREVIEW_MAX_SIDE} px (JPEG). Rendered on first request, then cached.`,
        tags: ['styles'],
        params: { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 64 } } },
        response: {
          200: { description: 'JPEG preview', content: { 'image/jpeg': { schema: { type: 'string', format: 'binary' } } } },
        },
      },
      config: {
        createsWork: true,
        errors: ['E_BAD_OPTION', 'E_UNKNOWN_STYLE', 'E_NOT_FOUND', 'E_MODEL_MISSING', 'E_QUEUE_FULL', ...JOB_FAILURE_ERRORS],
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      assertStyleServed(id, submit.styles);
      submit.engine.check(parseCartoonizeRequest({ style: id }));
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
};
