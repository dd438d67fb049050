/**
 * The asynchronous job API (mounted under the API prefix): submit, follow progress, fetch the result,
 * cancel. With API keys, a job belongs to the key that created it: any other key is told the job does
 * not exist, exactly as for an unknown id, so ids cannot be probed either.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PortoonError } from '../../core/errors.js';
import { isFinished, type JobStatus } from '../../queue/job-queue.js';
import { sendError } from '../errors.js';
import { jobError, outputFilename, sendImage } from '../reply-image.js';
import { API_PREFIX, imageResponse, jobIdParams, withErrors } from '../schemas.js';
import { submitUpload, type SubmitContext } from '../submit.js';
import { cartoonBodySchema, readMultipart } from '../upload.js';
import type { RouteOptions } from './route-options.js';

/** The route path inside the API plugin, and the public URL clients follow. */
const JOBS = '/jobs';
const JOBS_URL = `${API_PREFIX}${JOBS}`;

type PublicJobStatus = Omit<JobStatus, 'owner'> & { statusUrl: string; resultUrl: string };

function withLinks({ owner: _owner, ...status }: JobStatus): PublicJobStatus {
  return { ...status, statusUrl: `${JOBS_URL}/${status.id}`, resultUrl: `${JOBS_URL}/${status.id}/result` };
}

/** The job's status when the request may see it (same key, or a service without keys). */
async function ownedStatus(context: SubmitContext, request: FastifyRequest, id: string): Promise<JobStatus> {
  const status = await context.queue.status(id);
  if (!status || status.owner !== request.apiKeyId) throw notFound(id);
  return status;
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
      return reply.code(202).header('location', `${JOBS_URL}/${status.id}`).send(withLinks(status));
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
      const status = await ownedStatus(context, request, request.params.id);
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
      const status = await ownedStatus(context, request, id);
      if (!isFinished(status.state)) {
        const seconds = Math.max(1, Math.ceil(context.queue.retryAfterSeconds() / 2));
        reply.header('retry-after', String(seconds));
        return sendError(
          reply,
          new PortoonError('E_JOB_NOT_READY', `Job ${id} is ${status.state}; poll ${JOBS_URL}/${id} until it is completed`),
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
      const { id } = request.params;
      await ownedStatus(context, request, id);
      const status = await context.queue.cancel(id);
      if (!status) throw notFound(id);
      return reply.send(withLinks(status));
    },
  );
}
