/**
 * Multipart uploads: the photo or video and the parameters of one cartoonization. The parts are read
 * into a plain object of fields, which the request schema then validates. A photo's bytes are kept
 * aside on the request; a video (recognised by its first bytes) is written to a file as it arrives,
 * so no video is ever held in memory, and the file is removed with the request unless a job took it.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import multipart from '@fastify/multipart';
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  FastifySchemaCompiler,
  onRequestHookHandler,
  preValidationAsyncHookHandler,
} from 'fastify';
import { z } from 'zod';
import { PortoonError } from '../core/errors.js';
import { ACCEPTED_LABELS } from '../core/formats.js';
import {
  cartoonizeFieldsSchema,
  decodeTextFields,
  parseCartoonizeRequest,
  requestJsonSchema,
  type CartoonizeRequest,
} from '../core/request.js';
import { parseVideoParams, VIDEO_FIELDS, videoFieldsSchema } from '../core/video/params.js';
import { ACCEPTED_VIDEO_LABELS, isGifHeader, sniffVideo } from '../core/video/sniff.js';
import type { VideoParams } from '../core/video/types.js';
import type { ServerConfig } from './config.js';
import { formatMb } from './errors.js';

interface UploadedFile {
  filename: string;
  mimetype: string;
}

/** A video upload, in a file of the spool folder. */
export type VideoUpload = UploadedFile & {
  kind: 'video';
  file: string;
  size: number;
  /** Set once a job queue has taken the file over; until then the request removes it when it ends. */
  handedOver: boolean;
};

/** A photo, in memory (it is at most the upload limit), or a video, in a file of the spool folder. */
export type Upload = (UploadedFile & { kind: 'image'; bytes: Buffer }) | VideoUpload;

/** A validated upload form: the cartoonize request, and the video options (empty for a photo). */
export interface UploadForm {
  request: CartoonizeRequest;
  video: VideoParams;
  /** The video options the client set (refused with a photo). */
  videoFields: string[];
  /** The options only photos have that the client set (refused with a video). */
  stillFields: string[];
}

export interface UploadLimits {
  /** Largest photo, in bytes. */
  maxUploadBytes: number;
  /** Largest video, in bytes; undefined: the route takes no video and answers E_VIDEO_NEEDS_JOB. */
  maxVideoUploadBytes?: number | undefined;
  /** Where a video is written while it arrives. */
  spoolDir: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    upload?: Upload;
  }
}

/**
 * The multipart form of a cartoonization: the request's fields (minus those only the library and the
 * service set) and the photo. Its JSON schema documents the routes; its zod schema validates them.
 */
export const cartoonFormSchema = z.strictObject({
  image: z.string().meta({ format: 'binary', description: `The photo (${ACCEPTED_LABELS}), at most the upload limit` }),
  ...cartoonizeFieldsSchema.omit({ minFaceSize: true, maxFaces: true, maxTile: true }).shape,
});

/** The form as documented in the OpenAPI document. */
export const cartoonBodySchema = requestJsonSchema(cartoonFormSchema);

/** The jobs form: a photo or a video (in the field "image" or "video"), the request's fields and the video options. */
export const jobFormSchema = cartoonFormSchema.extend({
  image: z
    .string()
    .optional()
    .meta({
      format: 'binary',
      description: `The photo (${ACCEPTED_LABELS}) or the video (${ACCEPTED_VIDEO_LABELS}); send one file, here or in "video"`,
    }),
  video: z
    .string()
    .optional()
    .meta({ format: 'binary', description: `The video (${ACCEPTED_VIDEO_LABELS}), at most the video upload limit; the result is a video` }),
  ...videoFieldsSchema.shape,
});

export const jobBodySchema = requestJsonSchema(jobFormSchema);

/** Options only a photo has. */
const STILL_ONLY_FIELDS = ['format', 'quality', 'preview'];

/**
 * The routes' body validator: the request schema, applied to the form's text fields once they are
 * decoded into numbers and booleans. The body becomes an `UploadForm`.
 */
function formValidator(schema: z.ZodObject): FastifySchemaCompiler<unknown> {
  return () => (fields) => {
    try {
      const decoded = decodeTextFields((fields ?? {}) as Record<string, unknown>, schema);
      // The schema checks every field (unknown ones too); the video options then go their own way.
      const request = parseCartoonizeRequest(decoded, { schema });
      const videoOnly = Object.fromEntries(Object.entries(decoded).filter(([key]) => VIDEO_FIELDS.includes(key)));
      const form: UploadForm = {
        request,
        video: parseVideoParams(videoOnly),
        videoFields: Object.keys(videoOnly),
        stillFields: STILL_ONLY_FIELDS.filter((key) => decoded[key] !== undefined),
      };
      return { value: form };
    } catch (error) {
      return { error: error as Error };
    }
  };
}

/** Multipart envelope allowance on top of the file limit, for the early Content-Length check. */
const MULTIPART_OVERHEAD_BYTES = 64 * 1024;

/**
 * Registers @fastify/multipart with the upload limits: one file of at most the upload size and the
 * form's few short fields. On the root instance, as the other body parsers are: a multipart body sent
 * to a route that takes none (a CORS preflight, say) is left unread there rather than refused with 415.
 */
export async function registerMultipart(
  app: FastifyInstance,
  config: Pick<ServerConfig, 'maxUploadBytes' | 'maxVideoUploadBytes'>,
): Promise<void> {
  // The parser's own file limit is the larger of the two; the reader below applies each kind's own.
  const fileSize = Math.max(config.maxUploadBytes, config.maxVideoUploadBytes);
  await app.register(multipart, {
    limits: { fileSize, files: 1, fields: 24, fieldSize: 1024, parts: 25, headerPairs: 64 },
  });
}

/** The hooks and validator a route that takes an upload is declared with. */
export interface UploadHandling {
  onRequest: onRequestHookHandler;
  preValidation: preValidationAsyncHookHandler;
  validatorCompiler: FastifySchemaCompiler<unknown>;
}

/**
 * What every upload route does before its handler: refuse an upload whose declared length is over the
 * limit before reading any of it, read the parts, and validate the fields into an `UploadForm`. A
 * video file no job took over is removed when the response ends (see `removeWithResponse`).
 */
export function uploadHandling(limits: UploadLimits): UploadHandling {
  const schema = limits.maxVideoUploadBytes === undefined ? cartoonFormSchema : jobFormSchema;
  return {
    onRequest: uploadGuard(limits),
    preValidation: (request, reply) => readMultipart(request, reply, limits),
    validatorCompiler: formValidator(schema),
  };
}

/** An onRequest hook: 413 for a declared Content-Length over the upload limit, before the body is read. */
function uploadGuard(limits: UploadLimits): onRequestHookHandler {
  const largest = Math.max(limits.maxUploadBytes, limits.maxVideoUploadBytes ?? 0);
  return async (request) => {
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > largest + MULTIPART_OVERHEAD_BYTES) {
      throw new PortoonError(
        'E_FILE_TOO_LARGE',
        limits.maxVideoUploadBytes === undefined
          ? `The upload is larger than the limit of ${formatMb(limits.maxUploadBytes)}; send a smaller photo`
          : `The upload is larger than the limit of ${formatMb(largest)}; send a smaller file`,
      );
    }
  };
}

/**
 * Removes a spooled video when the response ends, unless a job has taken it over. The response's
 * 'close' comes both after an answer and when the client hangs up without one; fastify's onResponse
 * hook runs only in the first case, so a client gone after its upload would leave the file behind.
 * A file spooled after the connection is already gone is removed at once.
 */
function removeWithResponse(request: FastifyRequest, reply: FastifyReply, upload: VideoUpload): void {
  const remove = (): void => {
    if (!upload.handedOver)
      rm(upload.file, { force: true }).catch((error: unknown) => request.log.warn({ err: error }, 'could not remove a video upload'));
  };
  if (reply.raw.destroyed || request.raw.socket?.destroyed === true) remove();
  else reply.raw.once('close', remove);
}

/** The file fields a route reads. */
const FILE_FIELDS = ['image', 'video'];

/**
 * A preValidation hook: reads every part of a multipart request. Text fields become `request.body`;
 * the file (field "image", or "video" where videos are taken) goes to `request.upload`, and the body
 * names it in that field so the schema can require it.
 */
async function readMultipart(request: FastifyRequest, reply: FastifyReply, limits: UploadLimits): Promise<void> {
  const takesVideo = limits.maxVideoUploadBytes !== undefined;
  const fileWord = takesVideo ? 'photo or video' : 'photo';
  if (!request.isMultipart()) {
    throw new PortoonError('E_UNSUPPORTED_FORMAT', `Send the ${fileWord} as multipart/form-data, in the field "image"`);
  }
  const fields: Record<string, string> = Object.create(null) as Record<string, string>;
  for await (const part of parsed(request.parts())) {
    if (Object.hasOwn(fields, part.fieldname)) throw new PortoonError('E_BAD_OPTION', `Parameter "${part.fieldname}" was sent twice`);
    if (part.type === 'file') {
      if (!takesVideo && part.fieldname === 'video') {
        part.file.resume();
        throw videoNeedsJob(
          'The field "video" belongs to POST /api/v1/jobs: videos are processed as jobs; send a photo here in the field "image"',
        );
      }
      const accepted = takesVideo ? FILE_FIELDS : ['image'];
      if (!accepted.includes(part.fieldname) || request.upload) {
        part.file.resume();
        throw new PortoonError(
          'E_BAD_OPTION',
          `Unexpected file in the field "${part.fieldname}"; send one ${fileWord} in the field "image"`,
        );
      }
      const meta = { filename: part.filename, mimetype: part.mimetype };
      const upload = await readFilePart(request, part.file, meta, limits, part.fieldname === 'video').catch((error: unknown) => {
        throw framingError(error);
      });
      request.upload = upload;
      if (upload.kind === 'video') removeWithResponse(request, reply, upload);
      fields[part.fieldname] = part.filename || 'upload';
    } else {
      fields[part.fieldname] = typeof part.value === 'string' ? part.value : String(part.value);
    }
  }
  request.body = fields;
}

/**
 * Errors out of the multipart parser are the client's framing mistakes. @fastify/multipart's own
 * errors (limits, a request closed early) carry a code and are mapped by `toHttpError`; busboy's are
 * plain `Error`s (no boundary, "Unexpected end of multipart data", a part cut short), which would
 * otherwise pass for a bug of ours: a 500 and an error-level log for a client's broken upload.
 */
function framingError(error: unknown): Error {
  if (error instanceof PortoonError) return error;
  if (error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string') return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new PortoonError('E_BAD_REQUEST', `The multipart/form-data body is malformed (${reason}); send the photo in the field "image"`, {
    cause: error,
  });
}

/** The parts, with the parser's own failures turned into framing errors (the loop body's errors pass untouched). */
async function* parsed<T>(parts: AsyncIterable<T>): AsyncGenerator<T> {
  try {
    for await (const part of parts) yield part;
  } catch (error) {
    throw framingError(error);
  }
}

/** Bytes read before deciding whether a file is a video: enough for every container's signature. */
const SNIFF_BYTES = 4096;

/**
 * Reads the uploaded file: a photo is buffered, a video written to the spool folder, each refused
 * (413) the moment it passes its limit. `part.toBuffer()` only fails at the end of the part: past the
 * limit busboy reads on and discards until the body ends, so an endless or huge body without
 * Content-Length would hold the request for as long as it is sent. Destroying the file stream stops
 * the parsing.
 *
 * Read by iterating, not by adding 'end' and 'error' listeners: a small body arrives in one piece, and
 * busboy may already have ended the stream, or destroyed it for a body cut short, before the part gets
 * here. Iteration sees that state; listeners added afterwards would wait forever.
 */
async function readFilePart(
  request: FastifyRequest,
  file: Readable & { truncated?: boolean },
  meta: UploadedFile,
  limits: UploadLimits,
  /** Sent in the field "video": an animated GIF is then a video (in "image" it is a photo, its first frame). */
  asVideo: boolean,
): Promise<Upload> {
  const parserLimit = (): Error => new request.server.multipartErrors.RequestFileTooLargeError();
  file.once('limit', () => file.destroy(parserLimit()));
  const chunks = file[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const head: Buffer[] = [];
  let headBytes = 0;
  let ended = false;
  while (headBytes < SNIFF_BYTES) {
    const next = await chunks.next();
    if (next.done) {
      ended = true;
      break;
    }
    head.push(next.value);
    headBytes += next.value.length;
  }
  const first = Buffer.concat(head);
  // In the field "video" any GIF goes to the video path: its second frame may lie beyond the head,
  // and ffprobe refuses a still one there.
  const container = asVideo && isGifHeader(first) ? 'gif' : sniffVideo(first);
  if (asVideo && first.length === 0) throw new PortoonError('E_EMPTY_INPUT', 'The file in the field "video" is empty (0 bytes)');
  if (asVideo && container === undefined) {
    file.destroy();
    throw new PortoonError(
      'E_UNSUPPORTED_FORMAT',
      `The file in the field "video" is not a video (${ACCEPTED_VIDEO_LABELS}); send a photo in "image"`,
    );
  }
  if (container !== undefined && (container !== 'gif' || asVideo)) {
    if (limits.maxVideoUploadBytes === undefined) {
      file.destroy();
      throw videoNeedsJob();
    }
    return spoolVideo(file, first, ended ? undefined : chunks, meta, limits.spoolDir, limits.maxVideoUploadBytes);
  }
  const tooLarge = (): PortoonError =>
    new PortoonError('E_FILE_TOO_LARGE', `The upload is larger than the limit of ${formatMb(limits.maxUploadBytes)}; send a smaller photo`);
  const all: Buffer[] = [first];
  let size = first.length;
  if (size > limits.maxUploadBytes) throw tooLarge();
  if (!ended) {
    for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
      size += next.value.length;
      if (size > limits.maxUploadBytes) {
        file.destroy();
        throw tooLarge();
      }
      all.push(next.value);
    }
  }
  // The limit can also have been passed before the listener above was added.
  if (file.truncated === true) throw parserLimit();
  return { kind: 'image', bytes: Buffer.concat(all), ...meta };
}

function videoNeedsJob(message = 'This is a video: videos are processed as jobs; send it to POST /api/v1/jobs'): PortoonError {
  return new PortoonError('E_VIDEO_NEEDS_JOB', message);
}

/**
 * Writes a video upload to a new file as it arrives; a failure (too large, cut short) removes it. Past
 * the limit the file stream is destroyed, as for a photo, so the rest of the body is not read on.
 */
async function spoolVideo(
  file: Readable,
  head: Buffer,
  rest: AsyncIterator<Buffer> | undefined,
  meta: UploadedFile,
  spoolDir: string,
  maxBytes: number,
): Promise<VideoUpload> {
  const path = join(spoolDir, `upload-${randomUUID()}`);
  const tooLarge = (): PortoonError =>
    new PortoonError(
      'E_FILE_TOO_LARGE',
      `The video is larger than the limit of ${formatMb(maxBytes)} for videos; send a shorter or smaller clip`,
    );
  let size = 0;
  const limit = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      if (size > maxBytes) done(tooLarge());
      else done(null, chunk);
    },
  });
  async function* chunks(): AsyncGenerator<Uint8Array> {
    yield head;
    if (rest) for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
  }
  try {
    await pipeline(chunks(), limit, createWriteStream(path, { flags: 'wx', mode: 0o600 }));
  } catch (error) {
    file.destroy();
    await rm(path, { force: true });
    // The parser's own file limit is the larger of the photo and video limits: when it is the video's,
    // it may trip first, and its error would speak of the photo limit.
    if ((error as { code?: unknown }).code === 'FST_REQ_FILE_TOO_LARGE') throw tooLarge();
    throw error;
  }
  return { kind: 'video', file: path, size, handedOver: false, ...meta };
}
