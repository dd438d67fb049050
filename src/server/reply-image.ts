/** Sends a finished job's image or video with the report's key facts as headers. */
import { open, readFile } from 'node:fs/promises';
import type { FastifyReply } from 'fastify';
import { PortoonError, type ErrorCode } from '../core/errors.js';
import { extensionOf } from '../core/formats.js';
import type { JobQueue, JobResult, JobStatus } from '../queue/job-queue.js';

/** Headers a browser on another origin may read (see CORS). */
export const REPORT_HEADERS = [
  'x-portoon-faces',
  'x-portoon-time-ms',
  'x-portoon-style',
  'x-portoon-width',
  'x-portoon-height',
  'x-portoon-ai-generated',
  'x-portoon-frames',
  'x-portoon-audio',
  'x-portoon-output-id',
];

/** A file name for the download: the upload's name (made safe), the style and the result's extension. */
export function outputFilename(uploadName: string | undefined, result: JobResult): string {
  const fallback = result.video ? 'video' : 'photo';
  const base =
    (uploadName ?? fallback)
      .replace(/\.[^.]*$/, '')
      .replace(/[^\w.-]+/g, '_')
      .slice(0, 80) || fallback;
  const style = result.report?.style ?? result.video?.style ?? 'cartoon';
  const extension = result.video ? result.video.format : extensionOf(result.report?.format ?? 'png');
  return `${base}-${style}.${extension}`;
}

/** The report's key facts as headers (so a client that only keeps the body still learns them). */
function withReportHeaders(reply: FastifyReply, result: JobResult, filename: string): FastifyReply {
  reply
    .code(200)
    .type(result.mediaType)
    .header('content-disposition', `inline; filename="${filename}"`)
    .header('cache-control', 'no-store')
    .header('x-portoon-ai-generated', 'true');
  const { report, video } = result;
  const outputId = report?.provenance?.id ?? video?.provenance?.id;
  if (outputId !== undefined) reply.header('x-portoon-output-id', outputId);
  if (report) {
    const totalMs = Object.values(report.timings).reduce((sum, ms) => sum + (ms ?? 0), 0);
    reply
      .header('x-portoon-faces', String(report.faces.length))
      .header('x-portoon-time-ms', String(Math.round(totalMs)))
      .header('x-portoon-style', report.style)
      .header('x-portoon-width', String(report.width))
      .header('x-portoon-height', String(report.height));
  }
  if (video) {
    reply
      .header('x-portoon-faces', String(video.tracks.length))
      .header('x-portoon-time-ms', String(Math.round(video.timings.total)))
      .header('x-portoon-style', video.style)
      .header('x-portoon-width', String(video.width))
      .header('x-portoon-height', String(video.height))
      .header('x-portoon-frames', String(video.frames))
      .header('x-portoon-audio', video.audio);
  }
  return reply;
}

/** Sends an image already read into memory (the synchronous route: the job is gone by then). */
export function sendImage(reply: FastifyReply, result: JobResult, bytes: Buffer, filename: string): FastifyReply {
  return withReportHeaders(reply, result, filename).send(bytes);
}

/**
 * Streams a result file. The file is opened before the reply starts, so it stays readable to the
 * end even if the job expires meanwhile (its name is removed, the open file lives on).
 */
export async function sendResultFile(reply: FastifyReply, result: JobResult, filename: string): Promise<FastifyReply> {
  const handle = await open(result.file).catch((error: unknown) => {
    throw new PortoonError('E_JOB_NOT_FOUND', 'The result has expired', { cause: error });
  });
  return withReportHeaders(reply, result, filename).header('content-length', String(result.size)).send(handle.createReadStream());
}

/**
 * Waits for an accepted image job and returns its result with the image's bytes, or throws the error
 * it ended with. The job is forgotten afterwards either way: the caller is the only one who knows its id.
 * @param storeDir the job store's folder, which the client is not told (see `inClientTerms`).
 */
export async function resultOf(
  queue: JobQueue,
  id: string,
  signal?: AbortSignal,
  storeDir?: string,
): Promise<{ result: JobResult; bytes: Buffer }> {
  try {
    const status = await queue.wait(id, signal);
    const result = status.state === 'completed' ? await queue.result(id) : undefined;
    if (!result) throw jobError(status, storeDir);
    return { result, bytes: await readFile(result.file) };
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

/** The error a failed or cancelled job ends with, worded for the client (see `inClientTerms`). */
export function jobError(status: JobStatus, storeDir?: string): PortoonError {
  if (status.state === 'cancelled') return new PortoonError('E_JOB_NOT_FOUND', `Job ${status.id} was cancelled; it has no result`);
  if (status.error) return new PortoonError(status.error.code, inClientTerms(status.error.message, storeDir, status.filename));
  return new PortoonError('E_INTERNAL', `Job ${status.id} ended without a result`);
}

/** How the job store names its files (`upload-<uuid>` while uploading, then `<uuid>`, maybe with an extension). */
const STORE_FILE_NAME = '(?:upload-)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?:\\.[a-z0-9]+)?';

/**
 * A message of the engine in the client's terms. The engine names the files it reads, and the
 * service's inputs are files of its job store: a folder of the server and random names the client
 * has never seen. The client knows its file by the name it uploaded it under.
 */
export function inClientTerms(message: string, storeDir: string | undefined, filename: string | undefined): string {
  const folder = storeDir?.replace(/[\\/]+$/, '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const storeFile = new RegExp(`(?:file:)?${folder ? `(?:${folder}[\\\\/])?` : ''}${STORE_FILE_NAME}`, 'gi');
  const name = filename ? `"${filename}"` : 'the upload';
  const named = message.replace(storeFile, () => name);
  return storeDir ? named.replaceAll(storeDir, 'the jobs folder') : named;
}
