/**
 * Requests that node's HTTP parser or fastify's router refuse before any route runs, sent as raw bytes
 * on a real loopback socket to a listening service (`app.inject()` can only build well-formed HTTP).
 * Each must be answered in the API's one error shape with a documented code whose status is the one
 * on the status line, and the service must go on serving.
 */
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_TABLE, type ErrorCode } from '../../src/core/errors.js';
import { clientErrorHandler } from '../../src/server/client-errors.js';
import { resolveServerConfig } from '../../src/server/config.js';
import { createService, type Service } from '../../src/server/service.js';
import { TEST_MODELS_DIR } from '../helpers/env.js';
import { rawExchange, type RawAnswer } from '../helpers/hostile-corpus.js';

function expectApiError(answer: RawAnswer, code: ErrorCode): string {
  const body = JSON.parse(answer.body) as { error: { code: string; message: string } };
  expect({ status: answer.status, type: answer.headers['content-type'], keys: Object.keys(body), code: body.error.code }).toEqual({
    status: ERROR_TABLE[code].status,
    type: 'application/json; charset=utf-8',
    keys: ['error'],
    code,
  });
  expect(Number(answer.headers['content-length'])).toBe(Buffer.byteLength(answer.body));
  expect(body.error.message.length).toBeGreaterThan(10);
  return body.error.message;
}

describe('low-level HTTP errors on a real socket', () => {
  let service: Service;
  let port = 0;
  let base = '';

  beforeAll(async () => {
    // The model-free style: nothing to load, the framing is all that matters here.
    const config = resolveServerConfig({ modelsDir: TEST_MODELS_DIR, styles: 'cel', workers: '1', rateLimit: '0', logLevel: 'silent' }, {});
    service = await createService(config);
    base = await service.app.listen({ host: '127.0.0.1', port: 0 });
    port = Number(new URL(base).port);
    await service.warmUp();
  });
  afterAll(async () => {
    await service?.close();
  });

  const request = (line: string, headers: string[] = ['Host: 127.0.0.1']): string =>
    `${line}\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n`;

  it.each([
    ['a Content-Length that is not a number', ['Host: 127.0.0.1', 'Content-Type: text/plain', 'Content-Length: abc'], 'hello'],
    ['two different Content-Lengths', ['Host: 127.0.0.1', 'Content-Type: text/plain', 'Content-Length: 5', 'Content-Length: 6'], 'hello'],
    [
      'chunked plus Content-Length',
      ['Host: 127.0.0.1', 'Content-Type: text/plain', 'Content-Length: 5', 'Transfer-Encoding: chunked'],
      '0\r\n\r\n',
    ],
    [
      'a chunk size that is not hex',
      ['Host: 127.0.0.1', 'Content-Type: text/plain', 'Transfer-Encoding: chunked'],
      'zz\r\nhello\r\n0\r\n\r\n',
    ],
    ['a header name with a space', ['Host: 127.0.0.1', 'Bad Header: x'], ''],
  ])('%s: 400 E_BAD_REQUEST from the parser, then the connection is closed', async (_name, headers, body) => {
    const answer = await rawExchange(port, request('POST /api/v1/cartoon HTTP/1.1', headers), Buffer.from(body));
    expectApiError(answer, 'E_BAD_REQUEST');
    expect(answer.headers.connection).toBe('close');
  });

  it('a request line that is not HTTP (a TLS hello on the plain port): 400 E_BAD_REQUEST', async () => {
    const hello = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]);
    expectApiError(await rawExchange(port, '', hello), 'E_BAD_REQUEST');
  });

  it('headers over the size limit: 431 E_HEADERS_TOO_LARGE, then the connection is closed', async () => {
    const answer = await rawExchange(port, request('GET /healthz HTTP/1.1', ['Host: 127.0.0.1', `X-Padding: ${'a'.repeat(20_000)}`]));
    expectApiError(answer, 'E_HEADERS_TOO_LARGE');
    expect(answer.headers.connection).toBe('close');
  });

  it.each(['/%c0%ae', '/api/v1/jobs/%zz', '/api/v1/styles/%E0%A4%A/preview'])(
    'a URL with a bad escape (%s): 400 E_BAD_REQUEST',
    async (url) => {
      const answer = await rawExchange(port, request(`GET ${url} HTTP/1.1`, ['Host: 127.0.0.1', 'Connection: close']));
      expect(expectApiError(answer, 'E_BAD_REQUEST')).toMatch(/URL/);
      expect(answer.headers['x-request-id']).toMatch(/^[\w.:-]+$/);
    },
  );

  it('a path parameter over the router limit: 400 E_BAD_REQUEST', async () => {
    const answer = await rawExchange(
      port,
      request(`GET /api/v1/jobs/${'a'.repeat(300)} HTTP/1.1`, ['Host: 127.0.0.1', 'Connection: close']),
    );
    expectApiError(answer, 'E_BAD_REQUEST');
  });

  it('HTTP/1.1 without Host: 400 E_BAD_REQUEST; HTTP/1.0 needs none', async () => {
    expect(expectApiError(await rawExchange(port, request('GET /healthz HTTP/1.1', ['Connection: close'])), 'E_BAD_REQUEST')).toMatch(
      /Host/,
    );
    const old = await rawExchange(port, request('GET /healthz HTTP/1.0', []));
    expect([old.status, JSON.parse(old.body)]).toEqual([200, { status: 'ok' }]);
  });

  it('the service serves on after all of it', async () => {
    const health = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(5000) });
    expect([health.status, await health.json()]).toEqual([200, { status: 'ok' }]);
  });

  describe('clientErrorHandler, on a socket of its own', () => {
    let server: Server;
    let handlerPort = 0;
    const errors: Array<Error & { code: string }> = [];

    beforeAll(async () => {
      // The parser's request timeout (120 s) cannot be waited for here: the handler gets the error
      // node would give it, on a real connection.
      server = createServer((socket) =>
        clientErrorHandler.call(
          service.app,
          Object.assign(errors.shift()!, { bytesParsed: 0, rawPacket: { type: 'Buffer', data: [] } }),
          socket,
        ),
      );
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      handlerPort = (server.address() as { port: number }).port;
    });
    afterAll(async () => {
      await new Promise((resolve) => server.close(resolve));
    });

    it('a request that did not arrive in time: 408 E_REQUEST_TIMEOUT', async () => {
      errors.push(Object.assign(new Error('Request timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }));
      const answer = await rawExchange(handlerPort, 'POST /api/v1/cartoon HTTP/1.1\r\nHost: x\r\n');
      expectApiError(answer, 'E_REQUEST_TIMEOUT');
      expect(answer.headers.connection).toBe('close');
    });

    it('a connection reset: nothing is written, the socket is closed', async () => {
      errors.push(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
      const answer = await rawExchange(handlerPort, '');
      expect(answer).toEqual({ status: Number.NaN, headers: {}, body: '' });
    });
  });
});
