/**
 * Errors that happen before a request reaches fastify's routing and error handler, answered in the
 * API's one error shape instead of node's or fastify's own bodies:
 *
 * - `clientError`: node's HTTP parser gave up on the bytes (a bad Content-Length, chunked plus
 *   Content-Length, a bad chunk size, headers over the limit, a request that took too long). There
 *   is no request object, only the socket: the answer is a whole HTTP/1.1 response written to it,
 *   and the connection is closed, since the parser cannot find where the next request would start.
 * - framework errors: the router could not decode the URL (`/%c0%ae`) or a path parameter is over its
 *   length limit.
 *
 * Both are the client's mistakes: logged at info level, never as errors of the service.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionError, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PortoonError } from '../core/errors.js';
import { sendError, toHttpError, type ErrorBody } from './errors.js';
import { addSecurityHeaders } from './plugins/security.js';

/** The error a socket-level parse failure is answered with. */
export function connectionError(error: Pick<ConnectionError, 'code' | 'message'>): PortoonError {
  const reason = error.message.replace(/^Parse Error:\s*/i, '');
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return new PortoonError('E_HEADERS_TOO_LARGE', 'The request headers are too large; send fewer or shorter headers');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new PortoonError('E_REQUEST_TIMEOUT', 'The request did not arrive completely within the time limit; send it again');
    case 'HPE_INVALID_CONTENT_LENGTH':
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
      return new PortoonError(
        'E_BAD_REQUEST',
        `The request's length is malformed (${reason}): send one Content-Length, or Transfer-Encoding: chunked, not both`,
      );
    default:
      return new PortoonError('E_BAD_REQUEST', `The request is not valid HTTP/1.1 (${reason})`);
  }
}

/** fastify's `clientErrorHandler` (bound to the instance by fastify). */
export function clientErrorHandler(this: FastifyInstance, error: ConnectionError, socket: Socket): void {
  // A reset or already closed connection has nobody left to answer.
  if (error.code === 'ECONNRESET' || error.code === 'EPIPE' || socket.destroyed) {
    socket.destroy();
    return;
  }
  const mapped = connectionError(error);
  this.log.info({ code: mapped.code, parserCode: error.code }, 'malformed request refused');
  // Node's own handler writes only when no response has begun on the socket: bytes written in the
  // middle of one would corrupt it.
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (!socket.writable || inFlight?.headersSent === true) {
    socket.destroy();
    return;
  }
  const body: ErrorBody = { error: { code: mapped.code, message: mapped.message } };
  const json = JSON.stringify(body);
  const head = [
    `HTTP/1.1 ${mapped.status} ${STATUS_CODES[mapped.status] ?? 'Error'}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(json)}`,
    'Cache-Control: no-store',
    'Connection: close',
  ];
  // end() rather than destroy(): the answer is flushed before the connection closes, so the client
  // reads it instead of a reset.
  socket.end(`${head.join('\r\n')}\r\n\r\n${json}`, () => socket.destroy());
}

/** fastify's `frameworkErrors`: errors raised by the router before any route or hook runs. */
export function frameworkErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  // No upload is read before routing, so the upload limit never appears in these messages.
  const mapped = toHttpError(error, 0);
  if (mapped.status === 500) request.log.error({ err: error, code: mapped.code }, 'request failed');
  else request.log.info({ code: mapped.code, message: mapped.message }, 'request refused');
  // The onRequest hooks that set these have not run for a request the router refused.
  reply.header('x-request-id', request.id);
  addSecurityHeaders(request, reply);
  void sendError(reply, mapped);
}
