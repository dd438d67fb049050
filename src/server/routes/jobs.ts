/**
 * The asynchronous job API (a plugin of the API scope): submit, follow progress, fetch the result,
 * cancel. With API keys, a job belongs to the key that created it: any other key is told the job does
 * not exist, exactly as for an unknown id, so ids cannot be probed either.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { PortoonError } from '../../core/errors.js';
import { isFinished, type JobStatus, type PublicJobStatus } from '../../core/job.js';
import { sendError } from '../errors.js';
import { inClientTerms, JOB_FAILURE_ERRORS, jobError, outputFilename, sendResultFile } from '../reply-image.js';
import { jobIdParams, jobResultResponse } from '../schemas.js';
import { SUBMIT_ERRORS, SUBMIT_VIDEO_ERRORS, submitUpload, type SubmitContext, type UploadRouteOptions } from '../submit.js';
import { jobBodySchema, uploadHandling } from '../upload.js';

/** The routes' path inside the plugin; clients follow it under the plugin's prefix. */
const JOBS = '/jobs';

/**
 * The status as clients see it: without its owner, its error in the client's terms (no file of the
 * job store named), with the URLs of the status and the result.
 */
function publicStatus({ owner: _owner, ...status }: JobStatus, jobsUrl: string, storeDir: string): PublicJobStatus {
  const error = status.error && { ...status.error, message: inClientTerms(status.error.message, storeDir, status.filename) };
  return { ...status, ...(error ? { error } : {}), statusUrl: `${jobsUrl}/${status.id}`, resultUrl: `${jobsUrl}/${status.id}/result` };
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

/** Submit (202 with links), status, result and cancel of background jobs. */
export const jobRoutes: FastifyPluginAsync<UploadRouteOptions> = async (app, { submit, limits }) => {
  /** The public URL of the jobs, wherever the plugin is mounted. */
  const jobsUrl = `${app.prefix}${JOBS}`;
  const withLinks = (status: JobStatus): PublicJobStatus => publicStatus(status, jobsUrl, limits.spoolDir);

  app.post(
    JOBS,
    {
      schema: {
        operationId: 'createJob',
        summary: 'Start cartoonizing a photo or a video in the background',
        description:
          'Answers 202 at once with the job id; follow it at statusUrl (a video reports its progress in frames) and download it from resultUrl. A video (MP4, MOV, MKV, WebM…, recognised by its content; an animated GIF when sent in the field "video") may be as large as the video upload limit (see /api/v1/info) and gives a video: MP4 unless videoFormat says otherwise, with its sound track.',
        tags: ['jobs'],
        consumes: ['multipart/form-data'],
        body: jobBodySchema,
        response: { 202: { $ref: 'JobStatus#' } },
      },
      config: { createsWork: true, errors: [...SUBMIT_ERRORS, ...SUBMIT_VIDEO_ERRORS] },
      ...uploadHandling(limits),
    },
    async (request, reply) => {
      const status = await submitUpload(request, submit);
      return reply.code(202).header('location', `${jobsUrl}/${status.id}`).send(withLinks(status));
    },
  );

  app.get<{ Params: { id: string } }>(
    `${JOBS}/:id`,
    {
      schema: {
        operationId: 'getJob',
        summary: 'State and per-stage progress of a job',
        tags: ['jobs'],
        params: jobIdParams,
        response: { 200: { $ref: 'JobStatus#' } },
      },
      config: { errors: ['E_BAD_OPTION', 'E_JOB_NOT_FOUND'] },
    },
    async (request, reply) => {
      const status = await ownedStatus(submit, request, request.params.id);
      return reply.header('cache-control', 'no-store').send(withLinks(status));
    },
  );

  app.get<{ Params: { id: string } }>(
    `${JOBS}/:id/result`,
    {
      schema: {
        operationId: 'getJobResult',
        summary: "A finished job's image or video",
        description: '409 while the job is queued or running; the job’s own error if it failed.',
        tags: ['jobs'],
        params: jobIdParams,
        response: { 200: jobResultResponse },
      },
      config: { errors: ['E_BAD_OPTION', 'E_JOB_NOT_FOUND', 'E_JOB_NOT_READY', ...JOB_FAILURE_ERRORS] },
    },
    async (request, reply): Promise<FastifyReply> => {
      const { id } = request.params;
      const status = await ownedStatus(submit, request, id);
      if (!isFinished(status.state)) {
        const seconds = Math.max(1, Math.ceil(submit.queue.retryAfterSeconds() / 2));
        reply.header('retry-after', String(seconds));
        return sendError(
          reply,
          new PortoonError('E_JOB_NOT_READY', `Job ${id} is ${status.state}; poll ${jobsUrl}/${id} until it is completed`),
        );
      }
      const result = status.state === 'completed' ? await submit.queue.result(id) : undefined;
      if (!result) throw status.state === 'completed' ? notFound(id) : jobError(status, limits.spoolDir);
      return sendResultFile(reply, result, outputFilename(status.filename, result));
    },
  );

  app.delete<{ Params: { id: string } }>(
    `${JOBS}/:id`,
    {
      schema: {
        operationId: 'cancelJob',
        summary: 'Cancel a queued or running job',
        description: 'A finished job is left as it is.',
        tags: ['jobs'],
        params: jobIdParams,
        response: { 200: { $ref: 'JobStatus#' } },
      },
      // A DELETE may carry a body, which fastify reads: one too large or of a type it cannot read is refused.
      config: { errors: ['E_BAD_OPTION', 'E_JOB_NOT_FOUND', 'E_FILE_TOO_LARGE', 'E_UNSUPPORTED_FORMAT'] },
    },
    async (request, reply) => {
      const { id } = request.params;
      await ownedStatus(submit, request, id);
      const status = await submit.queue.cancel(id);
      if (!status) throw notFound(id);
      return reply.send(withLinks(status));
    },
  );
};
