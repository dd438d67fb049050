/**
 * POST /api/v1/verify over a real socket, on the real service: a marked portrait is answered 200 with
 * `marked: true` and its watermark id, the unmarked original 200 with `marked: false`; bytes that are
 * not a readable image get the very status and code the cartoon route gives for the same bytes; a
 * missing or extra field, a body that is not multipart, a video and an upload over the limit are
 * refused; with API keys configured the route needs one and counts against the rate limit; the
 * service's watermark key is the one marks are read with.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { resolveServerConfig, type RawSettings } from '../../src/server/config.js';
import { createService, type Service } from '../../src/server/service.js';
import { describeWithModels, TEST_MODELS_DIR } from '../helpers/env.js';
import { fakeJpeg } from '../helpers/http.js';
import { pngBomb } from '../helpers/images.js';
import { unmarkedPhoto, watermarkedJpeg } from '../helpers/marked-images.js';

const MODELS = ['retinaface-mnet025', 'yunet-face'];
const PHOTO = '04-man-headshot-suit.jpg'; // 512x512
const ID = '5e1f00c0ffee';
const KEY = 'verify-test-key-0123';

interface Answer {
  status: number;
  type: string | undefined;
  body: Record<string, unknown>;
}

interface ErrorAnswer {
  status: number;
  code: unknown;
}

async function startService(flags: RawSettings): Promise<{ service: Service; base: string }> {
  const config = resolveServerConfig({ modelsDir: TEST_MODELS_DIR, styles: 'cel', logLevel: 'silent', ...flags }, {});
  const service = await createService(config);
  const base = await service.app.listen({ host: '127.0.0.1', port: 0 });
  return { service, base };
}

function form(file: Uint8Array | undefined, fields: Record<string, string> = {}, name = 'image.jpg'): FormData {
  const body = new FormData();
  for (const [field, value] of Object.entries(fields)) body.append(field, value);
  if (file !== undefined) body.append('image', new Blob([new Uint8Array(file)], { type: 'application/octet-stream' }), name);
  return body;
}

async function post(base: string, path: string, body: FormData | string, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(`${base}${path}`, { method: 'POST', body, headers });
  const type = response.headers.get('content-type')?.split(';')[0];
  const text = await response.text();
  return { status: response.status, type, body: type === 'application/json' ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

function errorOf(answer: Answer): ErrorAnswer {
  return { status: answer.status, code: (answer.body.error as { code?: unknown } | undefined)?.code };
}

describeWithModels(MODELS)('POST /api/v1/verify', () => {
  let service: Service;
  let base: string;
  let marked: Buffer;

  beforeAll(async () => {
    ({ service, base } = await startService({ maxUploadMb: '1', rateLimit: '0' }));
    marked = await watermarkedJpeg(PHOTO, ID);
  });
  afterAll(async () => {
    await service?.close();
  });

  it('answers 200 with marked: true and the watermark id for a marked portrait', async () => {
    const answer = await post(base, '/api/v1/verify', form(marked));
    expect([answer.status, answer.type]).toEqual([200, 'application/json']);
    expect(answer.body).toMatchObject({
      marked: true,
      format: 'jpeg',
      width: 512,
      height: 512,
      xmp: { present: false },
      c2pa: { present: false, valid: false, status: [], actions: [] },
      watermark: { found: true, id: ID, correctedBits: expect.any(Number), gain: expect.any(Number), alignment: 'none' },
      summary: expect.stringMatching(new RegExp(`^Portoon watermark ${ID} \\(confidence 0\\.\\d\\d\\)$`)),
    });
  });

  it('answers 200 with marked: false for the unmarked original', async () => {
    const answer = await post(base, '/api/v1/verify', form(unmarkedPhoto(PHOTO)));
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ marked: false, watermark: { found: false, confidence: 0 }, summary: 'No Portoon mark found' });
  });

  it('refuses bytes that are not a readable image exactly as the cartoon route does', async () => {
    const cases: Record<string, Uint8Array> = {
      empty: new Uint8Array(0),
      text: Buffer.from('just some text, not a picture'),
      svg: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64"/></svg>'),
      truncated: marked.subarray(0, Math.floor(marked.length / 2)),
      fakeJpeg: fakeJpeg(4096),
      pixelBomb: pngBomb(100_000, 100_000),
    };
    const verify: Record<string, ErrorAnswer> = {};
    const cartoon: Record<string, ErrorAnswer> = {};
    for (const [name, bytes] of Object.entries(cases)) {
      verify[name] = errorOf(await post(base, '/api/v1/verify', form(bytes)));
      cartoon[name] = errorOf(await post(base, '/api/v1/cartoon', form(bytes, { style: 'cel' })));
    }
    expect(verify).toEqual(cartoon);
    expect(verify).toEqual({
      empty: { status: 415, code: 'E_EMPTY_INPUT' },
      text: { status: 415, code: 'E_UNSUPPORTED_FORMAT' },
      svg: { status: 415, code: 'E_UNSUPPORTED_FORMAT' },
      truncated: { status: 422, code: 'E_DECODE_FAILED' },
      fakeJpeg: { status: 422, code: 'E_DECODE_FAILED' },
      pixelBomb: { status: 422, code: 'E_IMAGE_TOO_LARGE' },
    });
  });

  it('refuses a missing image, an extra field, a body that is not multipart, a video and an upload over the limit', async () => {
    // The first bytes of an MP4 file: a video is no image to check.
    const mp4 = Buffer.concat([
      Buffer.from([0, 0, 0, 0x18]),
      Buffer.from('ftypisom'),
      Buffer.from([0, 0, 2, 0]),
      Buffer.from('isomiso2'),
      Buffer.alloc(256),
    ]);
    const refusals = {
      noImage: errorOf(await post(base, '/api/v1/verify', form(undefined, { note: 'no file' }))),
      noImageAtAll: errorOf(await post(base, '/api/v1/verify', form(undefined, {}))),
      extraField: errorOf(await post(base, '/api/v1/verify', form(marked, { style: 'cel' }))),
      json: errorOf(await post(base, '/api/v1/verify', JSON.stringify({ image: 'x' }), { 'content-type': 'application/json' })),
      video: errorOf(await post(base, '/api/v1/verify', form(mp4, {}, 'clip.mp4'))),
      tooLarge: errorOf(await post(base, '/api/v1/verify', form(fakeJpeg(1024 * 1024 + 4096)))),
    };
    expect(refusals).toEqual({
      noImage: { status: 400, code: 'E_BAD_OPTION' },
      noImageAtAll: { status: 400, code: 'E_BAD_OPTION' },
      extraField: { status: 400, code: 'E_BAD_OPTION' },
      json: { status: 415, code: 'E_UNSUPPORTED_FORMAT' },
      video: { status: 415, code: 'E_UNSUPPORTED_FORMAT' },
      tooLarge: { status: 413, code: 'E_FILE_TOO_LARGE' },
    });
  });

  it('is in the OpenAPI document with its form, its report and its errors', async () => {
    const document = (await (await fetch(`${base}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { operationId: string; tags: string[]; responses: Record<string, unknown> }>>;
    };
    const operation = document.paths['/api/v1/verify']?.post;
    expect(operation).toMatchObject({ operationId: 'verifyImage', tags: ['provenance'] });
    expect(Object.keys(operation!.responses).sort()).toEqual(['200', '400', '413', '415', '422', '500', '503']);
  });
});

describeWithModels(MODELS)('POST /api/v1/verify with API keys, a rate limit and a watermark key of the service', () => {
  let service: Service;
  let base: string;
  let secret: Buffer;

  beforeAll(async () => {
    ({ service, base } = await startService({ apiKeys: KEY, rateLimit: '2', watermarkKey: 'this-service-only' }));
    secret = await watermarkedJpeg(PHOTO, ID, { key: 'this-service-only' });
  });
  afterAll(async () => {
    await service?.close();
  });

  it('needs a key, reads marks with the service’s watermark key, and counts against the rate limit', async () => {
    const anonymous = await post(base, '/api/v1/verify', form(secret));
    const wrongKey = await post(base, '/api/v1/verify', form(secret), { 'x-api-key': 'not-the-key' });
    const first = await post(base, '/api/v1/verify', form(secret), { authorization: `Bearer ${KEY}` });
    const second = await post(base, '/api/v1/verify', form(unmarkedPhoto(PHOTO)), { 'x-api-key': KEY });
    const third = await post(base, '/api/v1/verify', form(secret), { 'x-api-key': KEY });
    expect([errorOf(anonymous), errorOf(wrongKey)]).toEqual([
      { status: 401, code: 'E_UNAUTHORIZED' },
      { status: 401, code: 'E_UNAUTHORIZED' },
    ]);
    expect([first.status, first.body.marked, (first.body.watermark as { id?: string }).id]).toEqual([200, true, ID]);
    expect([second.status, second.body.marked]).toEqual([200, false]);
    expect(errorOf(third)).toEqual({ status: 429, code: 'E_RATE_LIMITED' });
  });
});
