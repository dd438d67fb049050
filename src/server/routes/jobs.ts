/** The asynchronous job API: submit, follow progress, fetch the result, cancel. */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { PortoonError } from '../../core/errors.js';
import { isFinished, type JobStatus } from '../../queue/job-queue.js';
import { sendError } from '../errors.js';
import { jobError, outputFilename, sendImage } from '../reply-image.js';
import { imageResponse, jobIdParams, withErrors } from '../schemas.js';
import { submitUpload, type SubmitContext } from '../submit.js';
import { cartoonBodySchema, readMultipart } from '../upload.js';
import type { RouteOptions } from './route-options.js';

const JOBS = '/api/v1/jobs';

function withLinks(status: JobStatus): JobStatus & { statusUrl: string; resultUrl: string } {
  return { ...status, statusUrl: `${JOBS}/${status.id}`, resultUrl: `${JOBS}/${status.id}/result` };
}

function notFound(id: string): PortoonError {
  return new PortoonError('E_JOB_NOT_FOUND', `No job ${id} (it never existed or its result has expired)`);
}

export function jobRoutes(app: FastifyInstance, context: SubmitContext, options: RouteOptions): void {
  app.post(
    JOBS,
    {
      schema: {
        summary: 'Start cartoonizing a photo in the background',
        description: 'Answers 202 at once with the job id; follow it at statusUrl and download it from resultUrl.',
        tags: ['jobs'],
        consumes: ['multipart/form-data'],
        body: cartoonBodySchema,
        response: withErrors({ 202: { $ref: 'JobStatus#' } }),
      },
      config: { createsWork: true },
      onRequest: options.uploadGuard,
      preValidation: readMultipart,
    },
    async (request, reply) => {
      const status = await submitUpload(request, context);
      return reply.code(202).header('location', `${JOBS}/${status.id}`).send(withLinks(status));
    },
  );

  app.get<{ Params: { id: string } }>(
    `${JOBS}/:id`,
    {
      schema: {
        summary: 'State and per-stage progress of a job',
        tags: ['jobs'],
        params: jobIdParams,
        response: withErrors({ 200: { $ref: 'JobStatus#' } }),
      },
    },
    async (request, reply) => {
      const status = await context.queue.status(request.params.id);
      if (!status) throw notFound(request.params.id);
      return reply.header('cache-control', 'no-store').send(withLinks(status));
    },
  );

  app.get<{ Params: { id: string } }>(
    `${JOBS}/:id/result`,
    {
      schema: {
        summary: "A finished job's image",
        description: '409 while the job is queued or running; the job’s own error if it failed.',
        tags: ['jobs'],
        params: jobIdParams,
        response: withErrors({ 200: imageResponse }),
      },
    },
    async (request, reply): Promise<FastifyReply> => {
      const { id } = request.params;
      const status = await context.queue.status(id);
      if (!status) throw notFound(id);
      if (!isFinished(status.state)) {
        const seconds = Math.max(1, Math.ceil(context.queue.retryAfterSeconds() / 2));
        reply.header('retry-after', String(seconds));
        return sendError(
          reply,
          new PortoonError('E_JOB_NOT_READY', `Job ${id} is ${status.state}; poll ${JOBS}/${id} until it is completed`),
        );
      }
      const result = status.state === 'completed' ? await context.queue.result(id) : undefined;
      if (!result) throw status.state === 'completed' ? notFound(id) : jobError(status);
      return sendImage(reply, result, outputFilename(status.filename, result.report.style, result.report.format));
    },
  );

  app.delete<{ Params: { id: string } }>(
    `${JOBS}/:id`,
    {
      schema: {
        summary: 'Cancel a queued or running job',
        description: 'A finished job is left as it is.',
        tags: ['jobs'],
        params: jobIdParams,
        response: withErrors({ 200: { $ref: 'JobStatus#' } }),
      },
    },
    async (request, reply) => {
      const status = await context.queue.cancel(request.params.id);
      if (!status) throw notFound(request.params.id);
      return reply.send(withLinks(status));
    },
  );
}
