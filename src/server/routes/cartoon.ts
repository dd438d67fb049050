/** POST /api/v1/cartoon (a plugin of the API scope): one photo in, its cartoon out, in the same response. */
import type { FastifyPluginAsync } from 'fastify';
import { PortoonError } from '../../core/errors.js';
import { imageResponse } from '../schemas.js';
import { JOB_FAILURE_ERRORS, outputFilename, resultOf, sendImage } from '../reply-image.js';
import { SUBMIT_ERRORS, submitUpload, type UploadRouteOptions } from '../submit.js';
import { cartoonBodySchema, uploadHandling } from '../upload.js';

/** The synchronous route: the request waits for its image (and cancels the job if the client hangs up). */
export const cartoonRoutes: FastifyPluginAsync<UploadRouteOptions> = async (app, { submit, limits }) => {
  app.post(
    '/cartoon',
    {
      schema: {
        operationId: 'cartoonize',
        summary: 'Cartoonize a photo and wait for the result',
        description:
          'Runs the photo through the style and answers with the image. Busy servers answer 503 with Retry-After; long work is better sent to /api/v1/jobs. A video is answered 415 E_VIDEO_NEEDS_JOB: videos are processed as jobs.',
        tags: ['cartoon'],
        consumes: ['multipart/form-data'],
        body: cartoonBodySchema,
        response: { 200: imageResponse },
      },
      config: { createsWork: true, errors: [...SUBMIT_ERRORS, 'E_VIDEO_NEEDS_JOB', ...JOB_FAILURE_ERRORS] },
      ...uploadHandling(limits),
    },
    async (request, reply) => {
      const job = await submitUpload(request, submit);
      // A client that hangs up should not keep a worker busy.
      const hangUp = new AbortController();
      reply.raw.on('close', () => {
        if (!reply.raw.writableFinished) hangUp.abort(new PortoonError('E_CLOSED', 'The client went away'));
      });
      const { result, bytes } = await resultOf(submit.queue, job.id, hangUp.signal, limits.spoolDir);
      return sendImage(reply, result, bytes, outputFilename(request.upload?.filename, result));
    },
  );
};
