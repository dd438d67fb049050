/** Sends a finished job's image with the report's key facts as headers. */
import type { FastifyReply } from 'fastify';
import { PortoonError, type ErrorCode } from '../core/errors.js';
import { extensionOf, mimeTypeOf, type OutputFormat } from '../core/formats.js';
import type { JobQueue, JobResult, JobStatus } from '../queue/job-queue.js';

/** Headers a browser on another origin may read (see CORS). */
export const REPORT_HEADERS = [
  'x-portoon-faces',
  'x-portoon-time-ms',
  'x-portoon-style',
  'x-portoon-width',
  'x-portoon-height',
  'x-portoon-ai-generated',
];

/** A file name for the download: the upload's name (made safe) and the style. */
export function outputFilename(uploadName: string | undefined, style: string, format: OutputFormat): string {
  const base =
    (uploadName ?? 'photo')
      .replace(/\.[^.]*$/, '')
      .replace(/[^\w.-]+/g, '_')
      .slice(0, 80) || 'photo';
  return `${base}-${style}.${extensionOf(format)}`;
}

export function sendImage(reply: FastifyReply, result: JobResult, filename: string): FastifyReply {
  const { report } = result;
  const totalMs = Object.values(report.timings).reduce((sum, ms) => sum + (ms ?? 0), 0);
  return reply
    .code(200)
    .type(mimeTypeOf(report.format))
    .header('content-disposition', `inline; filename="${filename}"`)
    .header('cache-control', 'no-store')
    .header('x-portoon-faces', String(report.faces.length))
    .header('x-portoon-time-ms', String(Math.round(totalMs)))
    .header('x-portoon-style', report.style)
    .header('x-portoon-width', String(report.width))
    .header('x-portoon-height', String(report.height))
    .header('x-portoon-ai-generated', 'true')
    .send(Buffer.from(result.image.buffer, result.image.byteOffset, result.image.byteLength));
}

/**
 * Waits for an accepted job and returns its result, or throws the error it ended with. The job is
 * forgotten afterwards either way: the caller is the only one who knows its id.
 */
export async function resultOf(queue: JobQueue, id: string, signal?: AbortSignal): Promise<JobResult> {
  try {
    const status = await queue.wait(id, signal);
    const result = status.state === 'completed' ? await queue.result(id) : undefined;
    if (!result) throw jobError(status);
    return result;
  } finally {
    void queue.remove(id);
  }
}

/** What a job can fail with once accepted: its image, its models, its time limit, a shutdown. */
export const JOB_FAILURE_ERRORS: readonly ErrorCode[] = [
  'E_DECODE_FAILED',
  'E_IMAGE_TOO_LARGE',
  'E_MODEL_MISSING',
  'E_MODEL_CORRUPT',
  'E_INFERENCE_FAILED',
  'E_OUTPUT_FAILED',
  'E_TIMEOUT',
  'E_CLOSED',
];

/** The error a failed or cancelled job ends with. */
export function jobError(status: JobStatus): PortoonError {
  if (status.state === 'cancelled') return new PortoonError('E_JOB_NOT_FOUND', `Job ${status.id} was cancelled; it has no result`);
  if (status.error) return new PortoonError(status.error.code, status.error.message);
  return new PortoonError('E_INTERNAL', `Job ${status.id} ended without a result`);
}
