/**
 * Multipart uploads: the photo and the parameters of one cartoonization. The parts are read into a
 * plain object of fields, which the route's JSON schema then validates and coerces like any other
 * body; the photo's bytes are kept aside on the request.
 */
import type { Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import { PortoonError } from '../core/errors.js';
import { BACKGROUND_MODES } from '../core/pipeline.js';
import { OUTPUT_FORMATS } from '../node/codec.js';
import type { CartoonizeRequest } from '../node/engine.js';

/** The longest side of a preview image (gallery thumbnails). */
export const PREVIEW_MAX_SIDE = 256;

export interface Upload {
  bytes: Buffer;
  filename: string;
  mimetype: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    upload?: Upload;
  }
}

export interface CartoonFields {
  image: string;
  style: string;
  strength?: number;
  mix?: string;
  mixWeight?: number;
  maxSide?: number;
  background?: (typeof BACKGROUND_MODES)[number];
  format?: (typeof OUTPUT_FORMATS)[number] | 'jpg';
  quality?: number;
  preview?: boolean;
}

/** The multipart body as documented (OpenAPI) and validated (after parsing). */
export const cartoonBodySchema = {
  type: 'object',
  required: ['image', 'style'],
  additionalProperties: false,
  properties: {
    image: {
      type: 'string',
      format: 'binary',
      description: 'The photo (JPEG, PNG, WebP, AVIF, GIF, TIFF, HEIC), at most the upload limit',
    },
    style: { type: 'string', minLength: 1, maxLength: 64, description: 'Style id, see GET /api/v1/styles' },
    strength: {
      type: 'number',
      minimum: 0,
      maximum: 1,
      description: "How much of the style to apply; 0 gives back the photo. Default: the style's default",
    },
    mix: { type: 'string', minLength: 1, maxLength: 64, description: 'A second style to blend toward' },
    mixWeight: { type: 'number', minimum: 0, maximum: 1, default: 0.5, description: 'Weight of the mix style (with `mix`)' },
    maxSide: {
      type: 'integer',
      minimum: 16,
      maximum: 100_000,
      description: 'Shrink so the long side is at most this many pixels (never enlarges)',
    },
    background: {
      type: 'string',
      enum: [...BACKGROUND_MODES],
      description: 'stylize everything, keep the photo outside faces, or blur the backdrop',
    },
    format: {
      type: 'string',
      enum: [...OUTPUT_FORMATS, 'jpg'],
      description: "Output format. Default: the input's (JPEG/PNG/WebP), else PNG",
    },
    quality: { type: 'integer', minimum: 1, maximum: 100, description: 'JPEG/WebP quality (default 90)' },
    preview: {
      type: 'boolean',
      description: `A cheap thumbnail: at most ${PREVIEW_MAX_SIDE} px, JPEG. For galleries that show each style on the user's photo`,
    },
  },
} as const;

/**
 * A preValidation hook: reads every part of a multipart request. Text fields become `request.body`;
 * the file in the field "image" is buffered (up to the upload limit) into `request.upload`, and the
 * body's `image` holds its name so the schema can require it.
 */
export async function readMultipart(request: FastifyRequest): Promise<void> {
  if (!request.isMultipart()) {
    throw new PortoonError('E_UNSUPPORTED_FORMAT', 'Send the photo as multipart/form-data, in the field "image"');
  }
  const fields: Record<string, string> = Object.create(null) as Record<string, string>;
  for await (const part of parsed(request.parts())) {
    if (Object.hasOwn(fields, part.fieldname)) throw new PortoonError('E_BAD_OPTION', `Parameter "${part.fieldname}" was sent twice`);
    if (part.type === 'file') {
      if (part.fieldname !== 'image') {
        part.file.resume();
        throw new PortoonError('E_BAD_OPTION', `Unexpected file in the field "${part.fieldname}"; send the photo in the field "image"`);
      }
      const bytes = await readFilePart(request, part.file).catch((error: unknown) => {
        throw framingError(error);
      });
      request.upload = { bytes, filename: part.filename, mimetype: part.mimetype };
      fields.image = part.filename || 'upload';
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

/**
 * Buffers the photo, refusing it (413) the moment it passes the upload limit. `part.toBuffer()` only
 * fails at the end of the part: past the limit busboy reads on and discards until the body ends, so
 * an endless or huge body without Content-Length would hold the request for as long as it is sent.
 * Destroying the file stream stops the parsing.
 *
 * Read by iterating, not by adding 'end' and 'error' listeners: a small body arrives in one piece, and
 * busboy may already have ended the stream, or destroyed it for a body cut short, before the part gets
 * here. Iteration sees that state; listeners added afterwards would wait forever.
 */
async function readFilePart(request: FastifyRequest, file: Readable & { truncated?: boolean }): Promise<Buffer> {
  const tooLarge = (): Error => new request.server.multipartErrors.RequestFileTooLargeError();
  file.once('limit', () => file.destroy(tooLarge()));
  const chunks: Buffer[] = [];
  for await (const chunk of file) chunks.push(chunk as Buffer);
  // The limit can also have been passed before the listener above was added.
  if (file.truncated === true) throw tooLarge();
  return Buffer.concat(chunks);
}

/** Turns validated fields into an engine request. */
export function toCartoonizeRequest(fields: CartoonFields): CartoonizeRequest {
  const format = fields.format === 'jpg' ? 'jpeg' : fields.format;
  const request: CartoonizeRequest = { style: fields.style };
  if (fields.strength !== undefined) request.strength = fields.strength;
  if (fields.mix !== undefined) request.mix = { style: fields.mix, weight: fields.mixWeight ?? 0.5 };
  if (fields.background !== undefined) request.background = fields.background;
  if (fields.quality !== undefined) request.quality = fields.quality;
  if (fields.preview) {
    request.maxSide = Math.min(fields.maxSide ?? PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE);
    request.format = format ?? 'jpeg';
    request.quality ??= 80;
  } else {
    if (fields.maxSide !== undefined) request.maxSide = fields.maxSide;
    if (format !== undefined) request.format = format;
  }
  return request;
}
