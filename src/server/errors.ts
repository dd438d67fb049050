/**
 * One error shape for every response: `{ "error": { "code": "E_…", "message": "…" } }`, with the
 * status from the error table. Framework errors (validation, multipart limits, rate limiting, unknown
 * routes) are translated into the same codes. Server-side failures never leak a stack trace or a
 * file path: the client gets the code's summary and the request id, the log gets everything.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_TABLE, PortoonError, toPortoonError, type ErrorCode } from '../core/errors.js';
import { BODY_LIMIT_BYTES } from './limits.js';
import type { RejectionReason, ServiceMetrics } from './metrics.js';

export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

/** JSON schema of the error body, shared by every route's responses. */
export const errorSchema = {
  $id: 'PortoonError',
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: {
          type: 'string',
          enum: Object.keys(ERROR_TABLE),
          // Listed here in full because users of /docs and /openapi.json cannot see the repository's docs.
          description: [
            'Stable error code. The response has the HTTP status given with its code; 503 and 429 answers also carry Retry-After (seconds).',
            '',
            ...Object.entries(ERROR_TABLE).map(([code, { status, summary }]) => `- \`${code}\`: HTTP ${status}. ${summary}`),
          ].join('\n'),
        },
        message: { type: 'string', description: 'What went wrong and what to do about it' },
      },
    },
  },
  examples: [{ error: { code: 'E_UNKNOWN_STYLE', message: 'Unknown style "vaporwave". Available styles: anime, cartoon, cel' } }],
} as const;

const REJECTION_BY_CODE: Partial<Record<ErrorCode, RejectionReason>> = {
  E_QUEUE_FULL: 'queue_full',
  E_RATE_LIMITED: 'rate_limited',
  E_FILE_TOO_LARGE: 'too_large',
  E_UNAUTHORIZED: 'unauthorized',
  E_TIMEOUT: 'timeout',
};

function describeValidation(error: FastifyError): string {
  const first = error.validation?.[0];
  if (!first) return error.message;
  const field = first.instancePath.replace(/^\//, '').replaceAll('/', '.');
  const params = first.params as Record<string, unknown>;
  if (first.keyword === 'required')
    return `Missing parameter "${String(params.missingProperty)}"${params.missingProperty === 'image' ? ' (the photo file)' : ''}`;
  if (first.keyword === 'additionalProperties') return `Unknown parameter "${String(params.additionalProperty)}"`;
  if (first.keyword === 'enum') return `Invalid ${field}: expected one of ${(params.allowedValues as unknown[]).join(', ')}`;
  return `Invalid ${field || error.validationContext || 'request'}: ${first.message ?? 'invalid value'}`;
}

/** Maps anything thrown inside a request to a PortoonError. */
export function toHttpError(error: unknown, maxUploadBytes: number): PortoonError {
  if (error instanceof PortoonError) return error;
  const e = error as Partial<FastifyError>;
  if (e.validation) return new PortoonError('E_BAD_OPTION', describeValidation(e as FastifyError));
  switch (e.code) {
    case 'FST_REQ_FILE_TOO_LARGE':
      return new PortoonError(
        'E_FILE_TOO_LARGE',
        `The upload is larger than the limit of ${formatMb(maxUploadBytes)}; send a smaller photo`,
      );
    // Bodies other than an upload (a JSON or text body, which no route needs): any route that reads a body.
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new PortoonError(
        'E_FILE_TOO_LARGE',
        `The request body is larger than the ${BODY_LIMIT_BYTES / 1024} KB accepted for anything but a photo upload (multipart/form-data)`,
      );
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new PortoonError(
        'E_UNSUPPORTED_FORMAT',
        'This body type is not accepted: the upload routes take multipart/form-data with the photo in the field "image", the other routes no body',
      );
    case 'FST_FILES_LIMIT':
    case 'FST_FIELDS_LIMIT':
    case 'FST_PARTS_LIMIT':
      return new PortoonError(
        'E_BAD_OPTION',
        'Too many form fields or files: send one photo in the field "image" and the documented parameters',
      );
    case 'FST_PROTO_VIOLATION':
      return new PortoonError('E_BAD_OPTION', 'Form field names must be plain parameter names');
    case 'FST_MP_PREMATURE_CLOSE':
      return new PortoonError('E_BAD_REQUEST', 'The multipart/form-data body ended before its closing boundary');
    case 'FST_ERR_BAD_URL':
      return new PortoonError('E_BAD_REQUEST', 'The URL is not valid: it has a malformed percent-escape');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new PortoonError('E_BAD_REQUEST', 'A part of the URL path is too long to name anything here');
  }
  if (e.statusCode === 429) return new PortoonError('E_RATE_LIMITED', e.message ?? 'Too many requests; slow down');
  if (e.statusCode === 404) return new PortoonError('E_NOT_FOUND', e.message ?? 'Not found');
  if (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500) {
    // Other malformed requests the framework caught (bad JSON, a body shorter than its Content-Length).
    return new PortoonError('E_BAD_REQUEST', e.message ?? 'Malformed request');
  }
  return toPortoonError(error);
}

export function formatMb(bytes: number): string {
  return `${Math.round((bytes / 1024 / 1024) * 10) / 10} MB`;
}

export function sendError(reply: FastifyReply, error: PortoonError, retryAfter?: number): FastifyReply {
  const { status } = error;
  // Only 500 messages may carry internals (paths, runtime messages); 503 and 504 messages are written for
  // clients, except a cluster's unreachable Redis or store, whose messages name hosts and folders (the
  // log keeps them).
  const internal = status === 500 || error.code === 'E_QUEUE_UNAVAILABLE' || error.code === 'E_BLOB_STORE';
  const message = internal ? `${ERROR_TABLE[error.code].summary} (request ${reply.request.id})` : error.message;
  if (status === 503 || status === 429) {
    const seconds = retryAfter ?? (typeof error.details.retryAfter === 'number' ? error.details.retryAfter : 5);
    if (!reply.hasHeader('retry-after')) reply.header('retry-after', String(seconds));
  }
  // A refused upload is usually not read to its end: close the connection rather than drain the rest.
  if (error.code === 'E_FILE_TOO_LARGE') reply.header('connection', 'close');
  const body: ErrorBody = { error: { code: error.code, message } };
  return reply.code(status).type('application/json; charset=utf-8').send(body);
}

export function registerErrorHandling(app: FastifyInstance, options: { maxUploadBytes: number; metrics: ServiceMetrics }): void {
  // HTTP/1.1 requires a Host header. Node's own check (turned off in the server options) would answer
  // with an empty body; this one answers in the API's error shape.
  app.addHook('onRequest', async (request) => {
    if (request.raw.httpVersion === '1.1' && request.headers.host === undefined) {
      throw new PortoonError('E_BAD_REQUEST', 'An HTTP/1.1 request needs a Host header');
    }
  });
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const mapped = toHttpError(error, options.maxUploadBytes);
    // (`request.raw.destroyed` is true once the body has been read; only the socket tells a hang-up.)
    if (request.raw.socket?.destroyed) {
      // The client hung up (its work was cancelled): nothing to answer, and nothing went wrong here.
      request.log.info({ code: mapped.code }, 'client went away');
      return reply;
    }
    if (mapped.status === 500) {
      request.log.error({ err: error, code: mapped.code }, 'request failed');
    } else if (mapped.status > 500 && mapped.code !== 'E_QUEUE_FULL') {
      request.log.warn({ code: mapped.code, message: mapped.message }, 'request not served');
    } else {
      request.log.info({ code: mapped.code, message: mapped.message }, 'request refused');
    }
    const reason =
      REJECTION_BY_CODE[mapped.code] ??
      (mapped.status === 400 ? 'bad_request' : mapped.status === 415 || mapped.status === 422 ? 'bad_input' : undefined);
    if (reason) options.metrics.reject(reason);
    return sendError(reply, mapped);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(
      reply,
      new PortoonError('E_NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0] ?? ''}; see /docs for the API`),
    ),
  );
}
