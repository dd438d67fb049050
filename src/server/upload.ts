/**
 * Multipart uploads: the photo and the parameters of one cartoonization. The parts are read into a
 * plain object of fields, which the request schema then validates; the photo's bytes are kept aside
 * on the request.
 */
import type { Readable } from 'node:stream';
import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyRequest, FastifySchemaCompiler, onRequestHookHandler, preValidationAsyncHookHandler } from 'fastify';
import { z } from 'zod';
import { PortoonError } from '../core/errors.js';
import { ACCEPTED_LABELS } from '../core/formats.js';
import { cartoonizeFieldsSchema, decodeTextFields, parseCartoonizeRequest, requestJsonSchema } from '../core/request.js';
import type { ServerConfig } from './config.js';
import { formatMb } from './errors.js';

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

/**
 * The routes' body validator: the request schema, applied to the form's text fields once they are
 * decoded into numbers and booleans. The body becomes the validated `CartoonizeRequest`.
 */
const cartoonFormValidator: FastifySchemaCompiler<unknown> = () => (fields) => {
  try {
    const decoded = decodeTextFields((fields ?? {}) as Record<string, unknown>, cartoonFormSchema);
    return { value: parseCartoonizeRequest(decoded, { schema: cartoonFormSchema }) };
  } catch (error) {
    return { error: error as Error };
  }
};

/** Multipart envelope allowance on top of the file limit, for the early Content-Length check. */
const MULTIPART_OVERHEAD_BYTES = 64 * 1024;

/**
 * Registers @fastify/multipart with the upload limits: one file of at most the upload size and the
 * form's few short fields. On the root instance, as the other body parsers are: a multipart body sent
 * to a route that takes none (a CORS preflight, say) is left unread there rather than refused with 415.
 */
export async function registerMultipart(app: FastifyInstance, config: Pick<ServerConfig, 'maxUploadBytes'>): Promise<void> {
  await app.register(multipart, {
    limits: { fileSize: config.maxUploadBytes, files: 1, fields: 16, fieldSize: 1024, parts: 17, headerPairs: 64 },
  });
}

/** The hooks and validator a route that takes a photo upload is declared with. */
export interface UploadHandling {
  onRequest: onRequestHookHandler;
  preValidation: preValidationAsyncHookHandler;
  validatorCompiler: FastifySchemaCompiler<unknown>;
}

/**
 * What every upload route does before its handler: refuse an upload whose declared length is over the
 * limit before reading any of it, read the parts, and validate the fields into a `CartoonizeRequest`.
 */
export function uploadHandling(maxUploadBytes: number): UploadHandling {
  return { onRequest: uploadGuard(maxUploadBytes), preValidation: readMultipart, validatorCompiler: cartoonFormValidator };
}

/** An onRequest hook: 413 for a declared Content-Length over the upload limit, before the body is read. */
function uploadGuard(maxUploadBytes: number): onRequestHookHandler {
  return async (request) => {
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxUploadBytes + MULTIPART_OVERHEAD_BYTES) {
      throw new PortoonError(
        'E_FILE_TOO_LARGE',
        `The upload is larger than the limit of ${formatMb(maxUploadBytes)}; send a smaller photo`,
      );
    }
  };
}

/**
 * A preValidation hook: reads every part of a multipart request. Text fields become `request.body`;
 * the file in the field "image" is buffered (up to the upload limit) into `request.upload`, and the
 * body's `image` holds its name so the schema can require it.
 */
async function readMultipart(request: FastifyRequest): Promise<void> {
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
