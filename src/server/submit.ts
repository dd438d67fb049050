/**
 * Turning one multipart request into an accepted job: shared by the synchronous route and the job
 * API. Everything that can be refused cheaply is refused here, before any worker is involved: a bad
 * parameter, a style this service does not serve, a file that is not an image or has too many pixels,
 * and a full queue.
 */
import { dirname } from 'node:path';
import type { FastifyRequest } from 'fastify';
import { PortoonError, type ErrorCode } from '../core/errors.js';
import type { CartoonEngine } from '../core/engine-port.js';
import type { JobStatus } from '../core/job.js';
import type { JobQueue } from '../queue/job-queue.js';
import { withServiceLimits } from './limits.js';
import { inClientTerms } from './reply-image.js';
import type { UploadForm, UploadLimits, VideoUpload } from './upload.js';

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

/** What submitting a video can be refused with besides (see submitUpload). */
export const SUBMIT_VIDEO_ERRORS: readonly ErrorCode[] = ['E_FFMPEG_MISSING'];

export interface SubmitContext {
  queue: JobQueue;
  /** Undefined: every catalogued style is served. */
  styles: readonly string[] | undefined;
  /** Longest side processed (the service's `--max-side`). */
  maxSide: number;
  /** Most faces stylized one by one (the service's `--max-faces`). */
  maxFaces: number;
  /** Checks requests against the installed styles and probes uploads. */
  engine: Pick<CartoonEngine, 'check' | 'probe' | 'probeVideo'>;
}

/** Options of the route plugins that take uploads (the synchronous route and the job API). */
export interface UploadRouteOptions {
  submit: SubmitContext;
  /** Upload limits and the spool folder of video uploads (the synchronous route takes no video). */
  limits: UploadLimits;
}

export function assertStyleServed(style: string, styles: readonly string[] | undefined): void {
  if (styles && !styles.includes(style)) {
    throw new PortoonError('E_UNKNOWN_STYLE', `Style "${style}" is not served here; available: ${styles.join(', ')}`);
  }
}

export async function submitUpload(request: FastifyRequest, context: SubmitContext): Promise<JobStatus> {
  const upload = request.upload;
  if (!upload) throw new PortoonError('E_BAD_OPTION', 'Missing parameter "image" (the photo or video file)');
  // The body was validated into a request by the route's schema (see upload.ts).
  const form = request.body as UploadForm;
  if (upload.kind === 'image' && form.videoFields.length > 0) {
    const name = form.videoFields[0]!;
    throw new PortoonError('E_BAD_OPTION', `Parameter "${name}" is for videos; the upload is a photo`, { details: { parameter: name } });
  }
  if (upload.kind === 'video' && form.stillFields.length > 0) {
    const name = form.stillFields[0]!;
    const hint = name === 'format' ? "; a video's container is set with videoFormat" : '';
    throw new PortoonError('E_BAD_OPTION', `Parameter "${name}" is for photos; the upload is a video${hint}`, {
      details: { parameter: name },
    });
  }
  const cartoonizeRequest = withServiceLimits(form.request, context);
  assertStyleServed(cartoonizeRequest.style, context.styles);
  if (cartoonizeRequest.mix) assertStyleServed(cartoonizeRequest.mix.style, context.styles);
  // Parameters before the file: a bad style is a 400 even when the file is bad too. (The queue checks
  // again on enqueue, for callers that do not come through here; it is a few map lookups.)
  context.engine.check(cartoonizeRequest);
  const meta = { filename: upload.filename, owner: request.apiKeyId };
  if (upload.kind === 'video') {
    // ffprobe reads the container only: no ffmpeg → 503, damaged → 422, too many pixels per frame → 422.
    const info = await context.engine.probeVideo({ path: upload.file }).catch((error: unknown) => {
      throw videoRefusal(error, upload, request);
    });
    // Nobody could learn the id of a job whose client has gone: its video is not worth a worker's time
    // (and the file is already being removed with the response).
    if (request.raw.socket?.destroyed === true) throw new PortoonError('E_CLOSED', 'The client went away before its video was queued');
    upload.handedOver = true;
    return context.queue.enqueue({ kind: 'video', file: upload.file, params: form.video, info }, cartoonizeRequest, meta);
  }
  // Header only: not an image → 415, too many pixels → 422.
  await context.engine.probe(upload.bytes);
  return context.queue.enqueue(upload.bytes, cartoonizeRequest, meta);
}

/**
 * A probe's refusal in the client's terms. The probe names the spooled file (a random name in a
 * folder of the server), and without ffmpeg it tells the operator what to install and which settings
 * point to it: the client learns that videos cannot be processed here now, and the log keeps the rest.
 */
function videoRefusal(error: unknown, upload: VideoUpload, request: FastifyRequest): unknown {
  if (!(error instanceof PortoonError)) return error;
  if (error.code === 'E_FFMPEG_MISSING') {
    request.log.warn({ code: error.code, message: error.message }, 'video refused: ffmpeg is missing');
    return new PortoonError(
      'E_FFMPEG_MISSING',
      'This service cannot process videos at the moment (its video tools are not installed); photos still work. Try the video again later',
      { cause: error },
    );
  }
  return new PortoonError(error.code, inClientTerms(error.message, dirname(upload.file), upload.filename), {
    cause: error,
    details: error.details,
  });
}
