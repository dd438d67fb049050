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
  for await (const part of request.parts()) {
    if (Object.hasOwn(fields, part.fieldname)) throw new PortoonError('E_BAD_OPTION', `Parameter "${part.fieldname}" was sent twice`);
    if (part.type === 'file') {
      if (part.fieldname !== 'image') {
        part.file.resume();
        throw new PortoonError('E_BAD_OPTION', `Unexpected file in the field "${part.fieldname}"; send the photo in the field "image"`);
      }
      request.upload = { bytes: await readFilePart(request, part.file), filename: part.filename, mimetype: part.mimetype };
      fields.image = part.filename || 'upload';
    } else {
      fields[part.fieldname] = typeof part.value === 'string' ? part.value : String(part.value);
    }
  }
  request.body = fields;
}

/**
 * Buffers the photo, refusing it (413) the moment it passes the upload limit. `part.toBuffer()` only
 * fails at the end of the part: past the limit busboy reads on and discards until the body ends, so
 * an endless or huge body without Content-Length would hold the request for as long as it is sent.
 * Destroying the file stream stops the parsing.
 */
function readFilePart(request: FastifyRequest, file: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    file.on('data', (chunk: Buffer) => chunks.push(chunk));
    file.once('limit', () => {
      chunks.length = 0;
      reject(new request.server.multipartErrors.RequestFileTooLargeError());
      file.destroy();
    });
    file.once('end', () => resolve(Buffer.concat(chunks)));
    file.once('error', reject);
  });
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
