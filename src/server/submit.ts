/**
 * Turning one multipart request into an accepted job: shared by the synchronous route and the job
 * API. Everything that can be refused cheaply is refused here, before any worker is involved: a bad
 * parameter, a style this service does not serve, a file that is not an image or has too many pixels,
 * and a full queue.
 */
import type { FastifyRequest } from 'fastify';
import { PortoonError, type ErrorCode } from '../core/errors.js';
import type { CartoonEngine } from '../core/engine-port.js';
import type { JobStatus } from '../core/job.js';
import type { CartoonizeRequest } from '../core/request.js';
import type { JobQueue } from '../queue/job-queue.js';
import { withServiceLimits } from './limits.js';

/** What submitting an upload can be refused with (see submitUpload), before any work is queued. */
export const SUBMIT_ERRORS: readonly ErrorCode[] = [
  'E_BAD_OPTION',
  'E_UNKNOWN_STYLE',
  'E_FILE_TOO_LARGE',
  'E_EMPTY_INPUT',
  'E_UNSUPPORTED_FORMAT',
  'E_IMAGE_TOO_LARGE',
  'E_DECODE_FAILED',
  'E_MODEL_MISSING',
  'E_QUEUE_FULL',
  'E_CLOSED',
];

export interface SubmitContext {
  queue: JobQueue;
  /** Undefined: every catalogued style is served. */
  styles: readonly string[] | undefined;
  /** Longest side processed (the service's `--max-side`). */
  maxSide: number;
  /** Most faces stylized one by one (the service's `--max-faces`). */
  maxFaces: number;
  /** Checks requests against the installed styles and probes uploads. */
  engine: Pick<CartoonEngine, 'check' | 'probe'>;
}

/** Options of the route plugins that take uploads (the synchronous route and the job API). */
export interface UploadRouteOptions {
  submit: SubmitContext;
  /** Largest upload, in bytes: a longer declared body is refused before it is read. */
  maxUploadBytes: number;
}

export function assertStyleServed(style: string, styles: readonly string[] | undefined): void {
  if (styles && !styles.includes(style)) {
    throw new PortoonError('E_UNKNOWN_STYLE', `Style "${style}" is not served here; available: ${styles.join(', ')}`);
  }
}

export async function submitUpload(request: FastifyRequest, context: SubmitContext): Promise<JobStatus> {
  const upload = request.upload;
  if (!upload) throw new PortoonError('E_BAD_OPTION', 'Missing parameter "image" (the photo file)');
  // The body was validated into a request by the route's schema (see upload.ts).
  const cartoonizeRequest = withServiceLimits(request.body as CartoonizeRequest, context);
  assertStyleServed(cartoonizeRequest.style, context.styles);
  if (cartoonizeRequest.mix) assertStyleServed(cartoonizeRequest.mix.style, context.styles);
  // Parameters before the file: a bad style is a 400 even when the file is bad too. (The queue checks
  // again on enqueue, for callers that do not come through here; it is a few map lookups.)
  context.engine.check(cartoonizeRequest);
  // Header only: not an image → 415, too many pixels → 422.
  await context.engine.probe(upload.bytes);
  return context.queue.enqueue(upload.bytes, cartoonizeRequest, { filename: upload.filename, owner: request.apiKeyId });
}
