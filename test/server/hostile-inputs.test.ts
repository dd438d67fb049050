/**
 * A corpus of hostile and odd uploads (test/helpers/hostile-corpus.ts) against a real service: real
 * models and worker, `app.inject()` for the whole corpus, then a real socket for the framing and size
 * cases that only a socket shows. Every input gets exactly its documented answer (status and code from
 * the error table), none a 500, and the service is still healthy and serving afterwards. Both kinds of
 * service get the same corpus: one process, and an API node of a cluster (real Redis, a worker node).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { ERROR_TABLE } from '../../src/core/errors.js';
import { resolveServerConfig } from '../../src/server/config.js';
import { createClusterService } from '../../src/server/cluster-service.js';
import { resolveWorkerConfig, type RawSettings } from '../../src/server/config.js';
import { createService, type RunningService } from '../../src/server/service.js';
import { createWorkerService } from '../../src/worker/worker-service.js';
import { describeWithModels, portrait, TEST_MODELS_DIR, video } from '../helpers/env.js';
import { startRedisServer } from '../helpers/redis-server.js';
import {
  buildHostileCorpus,
  H,
  MAX_SIDE,
  rawExchange,
  W,
  type Expected,
  type HostileCase,
  type RawAnswer,
} from '../helpers/hostile-corpus.js';
import { multipart } from '../helpers/multipart.js';

const MODELS = ['whitebox-cartoon'];
const PHOTO = readFileSync(portrait('04-man-headshot-suit.jpg'));
const MAX_UPLOAD_MB = 1;

/** What the service answered, in the shape of an expectation. */
async function outcome(response: LightMyRequestResponse): Promise<Expected | { status: number; body: string }> {
  if (response.statusCode === 200) {
    const meta = await sharp(response.rawPayload).metadata();
    const headers = [Number(response.headers['x-portoon-width']), Number(response.headers['x-portoon-height'])];
    // The report headers and the image itself must agree.
    if (headers[0] !== meta.width || headers[1] !== meta.height)
      return { status: 200, body: `headers ${headers.join('x')}, image ${meta.width}x${meta.height}` };
    return { status: 200, width: meta.width!, height: meta.height! };
  }
  const type = response.headers['content-type'];
  const body = response.body;
  try {
    const parsed = JSON.parse(body) as { error?: { code?: unknown; message?: unknown } };
    const { code, message } = parsed.error ?? {};
    const wellFormed =
      type === 'application/json; charset=utf-8' &&
      Object.keys(parsed).join() === 'error' &&
      typeof message === 'string' &&
      message.length > 10 &&
      typeof code === 'string' &&
      Object.hasOwn(ERROR_TABLE, code) &&
      ERROR_TABLE[code as keyof typeof ERROR_TABLE].status === response.statusCode;
    if (wellFormed) return { code: code as keyof typeof ERROR_TABLE };
  } catch {
    // Not JSON: reported below as it is.
  }
  return { status: response.statusCode, body: `${String(type)} ${body.slice(0, 200)}` };
}

function expectApiError(answer: RawAnswer, code: keyof typeof ERROR_TABLE): void {
  expect({ status: answer.status, type: answer.headers['content-type'], body: JSON.parse(answer.body) as unknown }).toMatchObject({
    status: ERROR_TABLE[code].status,
    type: 'application/json; charset=utf-8',
    body: { error: { code, message: expect.any(String) } },
  });
}

/** Each operation of the served OpenAPI document: its method, a pattern of its path, the statuses it lists. */
async function documentedStatuses(service: RunningService): Promise<Array<{ method: string; path: RegExp; statuses: Set<number> }>> {
  const document = (await service.app.inject('/openapi.json')).json<{
    paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
  }>();
  return Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({
      method: method.toUpperCase(),
      path: new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}$`),
      statuses: new Set(Object.keys(operation.responses).map(Number)),
    })),
  );
}

/** Bytes from text, one byte per character. */
const latin1 = (text: string): Buffer => Buffer.from(text, 'latin1');

/** Numbers that look random, the same on every run. */
function noise(length: number): Buffer {
  return Buffer.from(Array.from({ length }, (_, i) => (i * 2654435761) >>> 24));
}

/**
 * Hostile and odd uploads in the job API's field "video": container heads over junk, truncated and
 * still files, things that are not videos, and a real clip with bad video options. Each maps to the
 * answer it must get; none may become a job. A container that ffprobe cannot read is damaged (422);
 * one it reads without finding a picture stream in it (or a GIF without a second frame) is not a
 * video (415).
 */
async function hostileVideoUploads(
  stillGif: Buffer,
): Promise<Array<{ name: string; bytes: Buffer; fields?: Record<string, string>; code: keyof typeof ERROR_TABLE }>> {
  const clip = readFileSync(video('03-talking-head-woman.mp4'));
  const netscapeLoop = Buffer.concat([latin1('GIF89a'), Buffer.from([4, 0, 4, 0, 0, 0, 0]), latin1('!\xff\x0bNETSCAPE2.0\x03\x01\0\0\0')]);
  return [
    { name: 'empty', bytes: Buffer.alloc(0), code: 'E_EMPTY_INPUT' },
    { name: 'mp4/ftyp-box-only', bytes: latin1('\0\0\0\x0cftypisom'), code: 'E_DECODE_FAILED' },
    {
      name: 'mp4/ftyp-then-zeros',
      bytes: Buffer.concat([latin1('\0\0\0\x18ftypisom\0\0\x02\0isomiso2'), Buffer.alloc(4096)]),
      code: 'E_DECODE_FAILED',
    },
    { name: 'mp4/ftyp-then-noise', bytes: Buffer.concat([clip.subarray(0, 32), noise(8192)]), code: 'E_DECODE_FAILED' },
    { name: 'mp4/cut-to-a-tenth', bytes: clip.subarray(0, Math.floor(clip.length / 10)), code: 'E_DECODE_FAILED' },
    { name: 'mov/moov-atom-then-noise', bytes: Buffer.concat([latin1('\0\0\x10\0moov'), noise(4096)]), code: 'E_UNSUPPORTED_FORMAT' },
    {
      name: 'matroska/ebml-then-noise',
      bytes: Buffer.concat([Buffer.from([0x1a, 0x45, 0xdf, 0xa3]), noise(4096)]),
      code: 'E_DECODE_FAILED',
    },
    { name: 'avi/riff-then-noise', bytes: Buffer.concat([latin1('RIFF\0\x10\0\0AVI LIST'), noise(4096)]), code: 'E_UNSUPPORTED_FORMAT' },
    { name: 'gif/animated-head-cut-off', bytes: netscapeLoop, code: 'E_UNSUPPORTED_FORMAT' },
    { name: 'gif/one-frame', bytes: stillGif, code: 'E_UNSUPPORTED_FORMAT' },
    {
      name: 'heic-brand',
      bytes: Buffer.concat([latin1('\0\0\0\x18ftypheic\0\0\0\0mif1heic'), Buffer.alloc(64)]),
      code: 'E_UNSUPPORTED_FORMAT',
    },
    {
      name: 'm4a-audio-brand',
      bytes: Buffer.concat([latin1('\0\0\0\x18ftypM4A \0\0\0\0M4A mp42'), Buffer.alloc(4096)]),
      code: 'E_UNSUPPORTED_FORMAT',
    },
    { name: 'jpeg-photo', bytes: PHOTO, code: 'E_UNSUPPORTED_FORMAT' },
    { name: 'svg', bytes: latin1('<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>'), code: 'E_UNSUPPORTED_FORMAT' },
    { name: 'riff-wave', bytes: Buffer.concat([latin1('RIFF\x24\0\0\0WAVEfmt '), Buffer.alloc(64)]), code: 'E_UNSUPPORTED_FORMAT' },
    ...[
      { fps: '0' },
      { fps: '1000' },
      { crf: '52' },
      { crf: '1.5' },
      { start: '-1' },
      { duration: '0' },
      { videoFormat: 'avi' },
      { audio: 'maybe' },
      { temporal: '2' },
      { format: 'png' },
      { quality: '80' },
      { preview: 'true' },
    ].map((fields) => ({ name: `options/${Object.entries(fields).flat().join('=')}`, bytes: clip, fields, code: 'E_BAD_OPTION' as const })),
  ];
}

/** The settings both kinds of service are started with. */
const SETTINGS: RawSettings = {
  modelsDir: TEST_MODELS_DIR,
  styles: 'cel,cartoon',
  workers: '1',
  maxQueue: '8',
  rateLimit: '0',
  maxUploadMb: String(MAX_UPLOAD_MB),
  logLevel: 'silent',
};

/** A service to attack, and what stops it and everything it needs. */
interface Target {
  service: RunningService;
  stop(): Promise<void>;
}

async function singleProcess(): Promise<Target> {
  const service = await createService(resolveServerConfig(SETTINGS, {}));
  await service.warmUp();
  return { service, stop: () => service.close() };
}

/** An API node of a cluster with one worker node, on a Redis server of their own and a shared folder. */
async function clusterApiNode(): Promise<Target> {
  const redis = await startRedisServer();
  const cluster = { queue: redis.url, blobStore: join(redis.dir, 'blobs') };
  const worker = await createWorkerService(resolveWorkerConfig({ ...SETTINGS, ...cluster, metricsPort: '0' }, {}));
  await worker.start();
  const service = await createClusterService(resolveServerConfig({ ...SETTINGS, ...cluster }, {}));
  await service.warmUp();
  return {
    service,
    async stop() {
      await service.close();
      await worker.close();
      await redis.destroy();
    },
  };
}

describeWithModels(MODELS).each([
  { kind: 'one process', start: singleProcess },
  { kind: 'cluster API node', start: clusterApiNode },
])('hostile inputs: $kind', ({ start }) => {
  let target: Target | undefined;
  let service: RunningService;
  let corpus: HostileCase[] = [];

  beforeAll(async () => {
    target = await start();
    service = target.service;
    corpus = await buildHostileCorpus({ photo: PHOTO, maxUploadBytes: MAX_UPLOAD_MB * 1024 * 1024, style: 'cel' });
  });
  afterAll(async () => {
    await target?.stop();
  });

  it('the corpus holds at least 250 distinct inputs', () => {
    const digest = (c: HostileCase): string =>
      createHash('sha256')
        .update(`${c.request.method} ${c.request.url}\n${JSON.stringify(Object.entries(c.request.headers).sort())}\n`)
        .update(c.request.payload ?? Buffer.alloc(0))
        .digest('hex');
    console.info(`hostile corpus: ${corpus.length} inputs`);
    expect(corpus.length).toBeGreaterThanOrEqual(250);
    expect(new Set(corpus.map((c) => c.name)).size).toBe(corpus.length);
    expect(new Set(corpus.map(digest)).size).toBe(corpus.length);
  });

  it('answers every input with exactly its documented status and code, never a 500', async () => {
    const started = performance.now();
    const expected: Record<string, Expected> = {};
    const actual: Record<string, unknown> = {};
    const statuses: number[] = [];
    const answered: Array<{ method: string; url: string; status: number }> = [];
    for (const { name, request, expected: want } of corpus) {
      const response = await service.app.inject({
        method: request.method,
        url: request.url,
        headers: request.headers,
        ...(request.payload ? { payload: request.payload } : {}),
      });
      statuses.push(response.statusCode);
      answered.push({ method: request.method, url: request.url, status: response.statusCode });
      expected[name] = want;
      actual[name] = await outcome(response);
    }
    console.info(`hostile corpus: ${corpus.length} answers in ${Math.round(performance.now() - started)} ms`);
    expect(actual).toEqual(expected);
    expect(statuses.filter((status) => status >= 500)).toEqual([]);
    // Every answer an operation gave is one the OpenAPI document lists for it.
    const listed = await documentedStatuses(service);
    const undocumented = answered.flatMap(({ method, url, status }) => {
      const operation = listed.find((op) => op.method === method && op.path.test(url.split('?')[0]!));
      return operation && !operation.statuses.has(status) ? [`${method} ${url} answered ${status}`] : [];
    });
    expect(undocumented).toEqual([]);
    expect(await service.queue.counts()).toMatchObject({ queued: 0, running: 0 });
  });

  it('videos in the job API: hostile containers and bad video options get their documented answer, never a 500, never a job', async () => {
    const stillGif = await sharp(PHOTO).resize(W, H).gif().toBuffer();
    const cases = await hostileVideoUploads(stillGif);
    const before = await service.queue.counts();
    const expected: Record<string, unknown> = {};
    const actual: Record<string, unknown> = {};
    for (const { name, bytes, fields = {}, code } of cases) {
      const body = await multipart({ style: 'cel', maxSide: String(MAX_SIDE), ...fields }, { bytes, field: 'video', filename: 'clip.mp4' });
      const response = await service.app.inject({ method: 'POST', url: '/api/v1/jobs', headers: body.headers, payload: body.payload });
      expected[name] = { code };
      actual[name] = await outcome(response);
    }
    expect(actual).toEqual(expected);
    const listed = (await documentedStatuses(service)).find((op) => op.method === 'POST' && op.path.test('/api/v1/jobs'));
    const undocumented = [...new Set(cases.map(({ code }) => ERROR_TABLE[code].status))].filter((status) => !listed?.statuses.has(status));
    expect(undocumented).toEqual([]);
    // Nothing was queued: every refusal came before a job existed.
    expect(await service.queue.counts()).toEqual(before);
  });

  it('on a real socket: broken framing, bad HTTP and oversize bodies get the API error shape; the service keeps serving', async () => {
    const base = await service.app.listen({ host: '127.0.0.1', port: 0 });
    const port = Number(new URL(base).port);
    const photo = await sharp(PHOTO).resize(W, H).jpeg().toBuffer();
    const post = (headers: string, length?: number): string =>
      `POST /api/v1/cartoon HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${headers}${length === undefined ? '' : `Content-Length: ${length}\r\n`}\r\n`;
    const form = await multipart({ style: 'cel', maxSide: String(MAX_SIDE) }, { bytes: photo });
    const formType = form.headers['content-type']!;

    // No boundary, and a body that stops before its closing boundary.
    const noBoundary = await rawExchange(port, post('Content-Type: multipart/form-data\r\n', form.payload.length), form.payload);
    expectApiError(noBoundary, 'E_BAD_REQUEST');
    const cut = form.payload.subarray(0, form.payload.length - 50);
    expectApiError(await rawExchange(port, post(`Content-Type: ${formType}\r\n`, cut.length), cut), 'E_BAD_REQUEST');

    // Bad HTTP: the parser's own refusals, closed after the answer.
    const badChunk = await rawExchange(
      port,
      post(`Content-Type: ${formType}\r\nTransfer-Encoding: chunked\r\n`),
      Buffer.from('zz\r\nhello\r\n0\r\n\r\n'),
    );
    expectApiError(badChunk, 'E_BAD_REQUEST');
    expect(badChunk.headers.connection).toBe('close');
    expectApiError(
      await rawExchange(port, post(`Content-Type: ${formType}\r\nContent-Length: 12, 13\r\n`), Buffer.alloc(0)),
      'E_BAD_REQUEST',
    );

    // Over the upload limit: refused from the declared length, before the body is sent...
    const declared = await rawExchange(port, post(`Content-Type: ${formType}\r\n`, 3 * 1024 * 1024), Buffer.alloc(0));
    expectApiError(declared, 'E_FILE_TOO_LARGE');
    // ...and, without a length, as soon as the file passes the limit.
    const chunked = await rawExchange(
      port,
      post(`Content-Type: ${formType}\r\nTransfer-Encoding: chunked\r\n`),
      async (write, answered) => {
        const chunk = (bytes: Buffer): Buffer =>
          Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, Buffer.from('\r\n')]);
        write(chunk(form.payload.subarray(0, form.payload.length - 60)));
        for (let sent = 0; sent < 4 * 1024 * 1024 && !answered(); sent += 64 * 1024) {
          if (!write(chunk(Buffer.alloc(64 * 1024, 0x55)))) await new Promise((resolve) => setImmediate(resolve));
        }
      },
    );
    expectApiError(chunked, 'E_FILE_TOO_LARGE');

    // Still healthy, and a good upload still works, on the socket and through inject.
    expect((await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(5000) })).status).toBe(200);
    const good = await rawExchange(port, post(`Content-Type: ${formType}\r\n`, form.payload.length), form.payload);
    expect([good.status, good.headers['x-portoon-width'], good.headers['x-portoon-height']]).toEqual([200, String(W), String(H)]);
    const again = await service.app.inject({ method: 'POST', url: '/api/v1/cartoon', headers: form.headers, payload: form.payload });
    expect([again.statusCode, again.headers['x-portoon-width'], again.headers['x-portoon-height']]).toEqual([200, String(W), String(H)]);
    expect(await service.queue.counts()).toMatchObject({ queued: 0, running: 0 });
  });
});
