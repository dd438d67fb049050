/**
 * Turning one multipart request into an accepted job: shared by the synchronous route and the job
 * API. Everything that can be refused cheaply is refused here, before any worker is involved: a bad
 * parameter, a style this service does not serve, a file that is not an image or has too many pixels,
 * and a full queue.
 */
import type { FastifyRequest } from 'fastify';
import { PortoonError } from '../core/errors.js';
import { probeImage } from '../node/codec.js';
import type { CartoonizeRequest } from '../node/engine.js';
import type { JobQueue, JobStatus } from '../queue/job-queue.js';
import { withServiceLimits } from './limits.js';
import { toCartoonizeRequest, type CartoonFields } from './upload.js';

export interface SubmitContext {
  queue: JobQueue;
  /** Undefined: every catalogued style is served. */
  styles: readonly string[] | undefined;
  /** Longest side processed (the service's `--max-side`). */
  maxSide: number;
  /** Most faces stylized one by one (the service's `--max-faces`). */
  maxFaces: number;
  maxPixels: number;
  /** Validates a request against the catalogue and installed models (Portoon.check). */
  check: (request: CartoonizeRequest) => void;
}

export function assertStyleServed(style: string, styles: readonly string[] | undefined): void {
  if (styles && !styles.includes(style)) {
    throw new PortoonError('E_UNKNOWN_STYLE', `Style "${style}" is not served here; available: ${styles.join(', ')}`);
  }
}

export async function submitUpload(request: FastifyRequest, context: SubmitContext): Promise<JobStatus> {
  const upload = request.upload;
  if (!upload) throw new PortoonError('E_BAD_OPTION', 'Missing parameter "image" (the photo file)');
  const cartoonizeRequest: CartoonizeRequest = withServiceLimits(toCartoonizeRequest(request.body as CartoonFields), context);
  assertStyleServed(cartoonizeRequest.style, context.styles);
  if (cartoonizeRequest.mix) assertStyleServed(cartoonizeRequest.mix.style, context.styles);
  // Parameters before the file: a bad style is a 400 even when the file is bad too. (The queue checks
  // again on enqueue, for callers that do not come through here; it is a few map lookups.)
  context.check(cartoonizeRequest);
  // Header only (sharp reads it on the libuv pool): not an image → 415, too many pixels → 422.
  await probeImage(upload.bytes, { maxInputPixels: context.maxPixels });
  return context.queue.enqueue(upload.bytes, cartoonizeRequest, { filename: upload.filename, owner: request.apiKeyId });
}
