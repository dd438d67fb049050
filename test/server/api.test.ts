/**
 * Every route and every error code of the HTTP API, through `app.inject()` on a real service: real
 * models, real photos, the real worker pool and job queue.
 */
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { readProvenance, TRAINED_ALGORITHMIC_MEDIA } from '../../src/core/provenance.js';
import { resolveServerConfig, type RawSettings } from '../../src/server/config.js';
import { createService, type Service } from '../../src/server/service.js';
import { describeWithModels, portrait, TEST_MODELS_DIR, TEST_OUTPUT_DIR } from '../helpers/env.js';
import { loadRgb, meanAbsDiff, pngBomb } from '../helpers/images.js';
import { multipart } from '../helpers/multipart.js';
import { waitFor, waitForJobState } from '../helpers/wait.js';

const MODELS = ['animeganv3-jpface-v1', 'animeganv3-hayao36', 'whitebox-cartoon', 'retinaface-mnet025', 'yunet-face'];
const PHOTO = portrait('01-woman-mask-peace.jpg');
const GROUP = portrait('12-group-selfie-cafe.jpeg');

async function startService(flags: RawSettings = {}): Promise<Service> {
  const config = resolveServerConfig({ modelsDir: TEST_MODELS_DIR, styles: 'anime,cartoon,cel', logLevel: 'silent', ...flags }, {});
  const service = await createService(config);
  await service.app.ready();
  return service;
}

async function post(
  app: FastifyInstance,
  fields: Record<string, string>,
  /** null: no file at all. */
  file: { bytes: Uint8Array; filename?: string } | null = { bytes: readFileSync(PHOTO), filename: 'me.jpg' },
  url = '/api/v1/cartoon',
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  const body = await multipart(fields, ...(file ? [file] : []));
  return app.inject({ method: 'POST', url, payload: body.payload, headers: { ...body.headers, ...headers } });
}

function expectError(response: LightMyRequestResponse, status: number, code: string): { code: string; message: string } {
  expect({ status: response.statusCode, type: response.headers['content-type'] }).toEqual({
    status,
    type: 'application/json; charset=utf-8',
  });
  const body = response.json<{ error: { code: string; message: string } }>();
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(10);
  return body.error;
}

describeWithModels(MODELS)('HTTP API', () => {
  let service: Service;
  let app: FastifyInstance;

  beforeAll(async () => {
    service = await startService();
    app = service.app;
  });
  afterAll(async () => {
    await service?.close();
  });

  describe('health', () => {
    it('/healthz is 200 at once; /readyz is 503 with Retry-After until the models are loaded, then 200', async () => {
      expect((await app.inject('/healthz')).json()).toEqual({ status: 'ok' });
      const before = await app.inject('/readyz');
      expectError(before, 503, 'E_NOT_READY');
      expect(Number(before.headers['retry-after'])).toBeGreaterThan(0);
      await service.warmUp();
      expect(service.loadedStyles).toEqual(['anime', 'cartoon', 'cel']);
      const after = await app.inject('/readyz');
      expect([after.statusCode, after.json()]).toEqual([200, { status: 'ready' }]);
    });
  });

  describe('styles and info', () => {
    it('lists the served styles with labels, licences, installation state and a preview URL', async () => {
      const response = await app.inject('/api/v1/styles');
      expect(response.statusCode).toBe(200);
      const { styles } = response.json<{ styles: Array<Record<string, unknown>> }>();
      expect(styles.map((s) => s.id)).toEqual(['anime', 'cartoon', 'cel']);
      for (const style of styles) {
        expect(style).toMatchObject({ installed: true, previewUrl: `/api/v1/styles/${String(style.id)}/preview` });
        expect(typeof style.label).toBe('string');
        expect(typeof style.description).toBe('string');
        expect((style.licenses as string[]).length).toBeGreaterThan(0);
        expect(typeof style.commercialUse).toBe('boolean');
        expect(style.defaultStrength).toBe(1);
      }
      expect(styles.find((s) => s.id === 'cel')).toMatchObject({ commercialUse: true, models: [] });
      expect(styles.find((s) => s.id === 'anime')).toMatchObject({ commercialUse: false });
    });

    it('serves a small JPEG preview of a style, rendered once and cached', async () => {
      const first = await app.inject('/api/v1/styles/cel/preview');
      expect([first.statusCode, first.headers['content-type']]).toEqual([200, 'image/jpeg']);
      const meta = await sharp(first.rawPayload).metadata();
      expect(Math.max(meta.width!, meta.height!)).toBeLessThanOrEqual(256);
      const second = await app.inject('/api/v1/styles/cel/preview');
      expect(second.rawPayload.equals(first.rawPayload)).toBe(true);
      expectError(await app.inject('/api/v1/styles/ghibli/preview'), 400, 'E_UNKNOWN_STYLE');
    });

    it('/api/v1/info gives the limits a client checks before uploading', async () => {
      const info = (await app.inject('/api/v1/info')).json<Record<string, unknown>>();
      expect(info).toMatchObject({ maxUploadBytes: 10 * 1024 * 1024, maxInputPixels: 50_000_000, authRequired: false });
      expect(info.acceptedTypes).toContain('image/jpeg');
    });
  });

  describe('POST /api/v1/cartoon', () => {
    it('returns the stylized photo at the same size, with the report in headers and provenance in the file', async () => {
      const response = await post(app, { style: 'anime' });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toBe('image/jpeg');
      expect(response.headers['content-disposition']).toBe('inline; filename="me-anime.jpg"');
      expect(response.headers['x-portoon-faces']).toBe('1');
      expect(Number(response.headers['x-portoon-time-ms'])).toBeGreaterThan(0);
      expect(response.headers['x-portoon-style']).toBe('anime');
      expect(response.headers['x-portoon-ai-generated']).toBe('true');
      const meta = await sharp(response.rawPayload).metadata();
      expect([meta.width, meta.height]).toEqual([512, 512]);
      expect(readProvenance(meta.xmp!.toString()).digitalSourceType).toBe(TRAINED_ALGORITHMIC_MEDIA);
      // Stylized: clearly different from the photo.
      expect(meanAbsDiff(await loadRgb(response.rawPayload), await loadRgb(PHOTO))).toBeGreaterThan(10);
    });

    it('honours format, maxSide, strength, mix and background', async () => {
      const png = await post(app, { style: 'cel', format: 'png', maxSide: '200', strength: '0.8', background: 'keep' });
      expect([png.statusCode, png.headers['content-type'], png.headers['x-portoon-width']]).toEqual([200, 'image/png', '200']);
      const mixed = await post(app, { style: 'cel', mix: 'cartoon', mixWeight: '0.5', format: 'webp', maxSide: '128' });
      expect([mixed.statusCode, mixed.headers['content-type']]).toEqual([200, 'image/webp']);
      // strength 0 gives the photo back (up to JPEG re-encoding).
      const none = await post(app, { style: 'cel', strength: '0', format: 'png' });
      expect(meanAbsDiff(await loadRgb(none.rawPayload), await loadRgb(PHOTO))).toBeLessThan(2);
    });

    it('makes cheap previews: at most 256 px, JPEG', async () => {
      const response = await post(app, { style: 'cartoon', preview: 'true' });
      expect([response.statusCode, response.headers['content-type']]).toEqual([200, 'image/jpeg']);
      const meta = await sharp(response.rawPayload).metadata();
      expect(Math.max(meta.width!, meta.height!)).toBe(256);
    });

    it('400: unknown style, style not served, bad values, unknown or missing parameters, duplicates, extra files', async () => {
      expect(expectError(await post(app, { style: 'nope' }), 400, 'E_UNKNOWN_STYLE').message).toMatch(/anime, cartoon, cel/);
      expectError(await post(app, { style: 'ghibli' }), 400, 'E_UNKNOWN_STYLE');
      expectError(await post(app, { style: 'anime', mix: 'nope' }), 400, 'E_UNKNOWN_STYLE');
      expect(expectError(await post(app, { style: 'anime', strength: '1.5' }), 400, 'E_BAD_OPTION').message).toMatch(/strength/);
      expectError(await post(app, { style: 'anime', strength: 'lots' }), 400, 'E_BAD_OPTION');
      expectError(await post(app, { style: 'anime', maxSide: '3' }), 400, 'E_BAD_OPTION');
      expectError(await post(app, { style: 'anime', format: 'bmp' }), 400, 'E_BAD_OPTION');
      expectError(await post(app, { style: 'anime', background: 'purple' }), 400, 'E_BAD_OPTION');
      expect(expectError(await post(app, { style: 'anime', strenght: '1' }), 400, 'E_BAD_OPTION').message).toBe(
        'Unknown parameter "strenght"',
      );
      expect(expectError(await post(app, { style: 'anime' }, null), 400, 'E_BAD_OPTION').message).toMatch(/image/);
      expectError(await post(app, {}), 400, 'E_BAD_OPTION');
      const photo = readFileSync(PHOTO);
      const twoFiles = await multipart({ style: 'anime' }, { bytes: photo }, { bytes: photo, field: 'image2' });
      expectError(
        await app.inject({ method: 'POST', url: '/api/v1/cartoon', payload: twoFiles.payload, headers: twoFiles.headers }),
        400,
        'E_BAD_OPTION',
      );
      const twice = await multipart({ style: 'anime' }, { bytes: photo }, { bytes: photo });
      expectError(
        await app.inject({ method: 'POST', url: '/api/v1/cartoon', payload: twice.payload, headers: twice.headers }),
        400,
        'E_BAD_OPTION',
      );
      // Prototype-polluting field names are unknown parameters: refused (400), never applied or ignored.
      for (const name of ['__proto__', 'constructor']) {
        const hostile = await multipart(
          [
            [name, '{"polluted":true}'],
            ['style', 'cel'],
            ['maxSide', '64'],
          ],
          { bytes: photo },
        );
        const response = await app.inject({ method: 'POST', url: '/api/v1/cartoon', payload: hostile.payload, headers: hostile.headers });
        expect(expectError(response, 400, 'E_BAD_OPTION').message, name).toMatch(/parameter/i);
      }
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('415: not multipart, not an image, empty file', async () => {
      expectError(
        await app.inject({
          method: 'POST',
          url: '/api/v1/cartoon',
          payload: readFileSync(PHOTO),
          headers: { 'content-type': 'image/jpeg' },
        }),
        415,
        'E_UNSUPPORTED_FORMAT',
      );
      expectError(await app.inject({ method: 'POST', url: '/api/v1/cartoon', payload: { style: 'anime' } }), 415, 'E_UNSUPPORTED_FORMAT');
      const text = new TextEncoder().encode('hello, I am a text file pretending to be a photo');
      expectError(await post(app, { style: 'anime' }, { bytes: text, filename: 'notes.jpg' }), 415, 'E_UNSUPPORTED_FORMAT');
      expectError(await post(app, { style: 'anime' }, { bytes: new Uint8Array(0), filename: 'empty.jpg' }), 415, 'E_EMPTY_INPUT');
    });

    it('422: a truncated image, and an image with too many pixels (a PNG bomb)', async () => {
      const photo = readFileSync(GROUP);
      const truncated = photo.subarray(0, Math.floor(photo.length * 0.6));
      expectError(await post(app, { style: 'cel' }, { bytes: truncated }), 422, 'E_DECODE_FAILED');
      expect(expectError(await post(app, { style: 'cel' }, { bytes: pngBomb(30_000, 30_000) }), 422, 'E_IMAGE_TOO_LARGE').message).toMatch(
        /MP/,
      );
    });

    it('404 for unknown routes, in the same error shape', async () => {
      expectError(await app.inject('/api/v1/nothing'), 404, 'E_NOT_FOUND');
      expectError(await app.inject({ method: 'PUT', url: '/api/v1/cartoon' }), 404, 'E_NOT_FOUND');
    });
  });

  describe('jobs', () => {
    it('202 with links, progress per stage, then the result with the upload’s name', async () => {
      // The only worker is busy with another job, so this one is certainly not finished when its result
      // is asked for early.
      const blocker = await post(app, { style: 'cartoon' }, { bytes: readFileSync(GROUP) }, '/api/v1/jobs');
      expect([blocker.statusCode, blocker.json<{ state: string }>().state]).toEqual([202, 'running']);
      const accepted = await post(app, { style: 'cartoon' }, { bytes: readFileSync(GROUP), filename: 'cafe.jpeg' }, '/api/v1/jobs');
      expect(accepted.statusCode).toBe(202);
      const job = accepted.json<{ id: string; state: string; statusUrl: string; resultUrl: string }>();
      expect(job.state).toBe('queued');
      expect(accepted.headers.location).toBe(`/api/v1/jobs/${job.id}`);
      expect(job.statusUrl).toBe(`/api/v1/jobs/${job.id}`);
      const early = await app.inject(job.resultUrl);
      expectError(early, 409, 'E_JOB_NOT_READY');
      expect(Number(early.headers['retry-after'])).toBeGreaterThan(0);
      // Free the worker for the job under test.
      const cancelled = await app.inject({ method: 'DELETE', url: `/api/v1/jobs/${blocker.json<{ id: string }>().id}` });
      expect(cancelled.json<{ state: string }>().state).toBe('cancelled');

      const status = await waitForJobState(app, job.id, ['completed'], { timeoutMs: 120_000 });
      expect(status.overall).toBe(1);
      expect(status.progress).toMatchObject({ decode: 1, background: 1, encode: 1 });
      expect(status.report?.faces).toHaveLength(5);
      const result = await app.inject(job.resultUrl);
      expect([result.statusCode, result.headers['content-type'], result.headers['content-disposition']]).toEqual([
        200,
        'image/jpeg',
        'inline; filename="cafe-cartoon.jpg"',
      ]);
      const meta = await sharp(result.rawPayload).metadata();
      expect([meta.width, meta.height]).toEqual([1280, 960]);
    });

    it('cancels a running job; its result is gone and its worker takes the next job', async () => {
      const accepted = await post(app, { style: 'anime' }, { bytes: readFileSync(GROUP) }, '/api/v1/jobs');
      expect(accepted.statusCode).toBe(202);
      const { id } = accepted.json<{ id: string }>();
      await waitForJobState(app, id, ['running'], { timeoutMs: 30_000 });
      const cancelled = await app.inject({ method: 'DELETE', url: `/api/v1/jobs/${id}` });
      expect([cancelled.statusCode, cancelled.json<{ state: string }>().state]).toEqual([200, 'cancelled']);
      expect((await app.inject(`/api/v1/jobs/${id}`)).json()).toMatchObject({ state: 'cancelled' });
      expectError(await app.inject(`/api/v1/jobs/${id}/result`), 404, 'E_JOB_NOT_FOUND');
      // The service has one worker: a job submitted now only completes once the cancelled one has let go of it.
      const next = await post(app, { style: 'cel', maxSide: '64' }, { bytes: readFileSync(PHOTO) }, '/api/v1/jobs');
      expect(next.statusCode).toBe(202);
      await waitForJobState(app, next.json<{ id: string }>().id, ['completed'], { timeoutMs: 60_000 });
      expect(await service.queue.counts()).toMatchObject({ queued: 0, running: 0 });
    });

    it('a failed job reports its error, and its result answers with that error', async () => {
      const text = new TextEncoder().encode('not an image at all');
      // The upload is checked before it is queued, so a bad file never becomes a job.
      expectError(await post(app, { style: 'cel' }, { bytes: text }, '/api/v1/jobs'), 415, 'E_UNSUPPORTED_FORMAT');
      const photo = readFileSync(GROUP);
      const damaged = Buffer.concat([photo.subarray(0, 4000), Buffer.alloc(photo.length - 4000, 0x55)]);
      const accepted = await post(app, { style: 'cel' }, { bytes: damaged }, '/api/v1/jobs');
      expect(accepted.statusCode).toBe(202);
      const { id } = accepted.json<{ id: string }>();
      const status = await waitForJobState(app, id, ['failed'], { timeoutMs: 60_000 });
      expect(status).toMatchObject({ state: 'failed', error: { code: 'E_DECODE_FAILED' } });
      expectError(await app.inject(`/api/v1/jobs/${id}/result`), 422, 'E_DECODE_FAILED');
    });

    it('404 for unknown or malformed job ids', async () => {
      expectError(await app.inject('/api/v1/jobs/0b7e0c1e-0000-4000-8000-000000000000'), 404, 'E_JOB_NOT_FOUND');
      expectError(await app.inject('/api/v1/jobs/0b7e0c1e-0000-4000-8000-000000000000/result'), 404, 'E_JOB_NOT_FOUND');
      expectError(await app.inject({ method: 'DELETE', url: '/api/v1/jobs/0b7e0c1e-0000-4000-8000-000000000000' }), 404, 'E_JOB_NOT_FOUND');
      expectError(await app.inject('/api/v1/jobs/..%2F..%2Fetc'), 400, 'E_BAD_OPTION');
    });
  });

  describe('metrics, docs, UI and hygiene', () => {
    it('/metrics exposes request counts and durations by route, queue depth, inference time per model and rejections', async () => {
      const response = await app.inject('/metrics');
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toMatch(/^text\/plain/);
      const text = response.body;
      expect(text).toMatch(/portoon_http_requests_total\{route="\/api\/v1\/cartoon",method="POST",status="200"\} \d+/);
      expect(text).toMatch(/portoon_http_request_duration_seconds_bucket\{le="[^"]+",route="\/api\/v1\/cartoon"/);
      expect(text).toMatch(/portoon_queue_depth\{state="queued"\} 0/);
      expect(text).toMatch(/portoon_inference_seconds_count\{model="animeganv3-jpface-v1"\} [1-9]/);
      expect(text).toMatch(/portoon_rejected_requests_total\{reason="bad_request"\} [1-9]/);
      expect(text).toMatch(/portoon_jobs_total\{state="cancelled",style="anime"\} 1/);
    });

    it('publishes an OpenAPI document covering every route, and a docs page', async () => {
      const doc = (await app.inject('/openapi.json')).json<{ paths: Record<string, Record<string, unknown>> }>();
      for (const path of [
        '/api/v1/cartoon',
        '/api/v1/jobs',
        '/api/v1/jobs/{id}',
        '/api/v1/jobs/{id}/result',
        '/api/v1/styles',
        '/api/v1/styles/{id}/preview',
        '/api/v1/info',
        '/healthz',
        '/readyz',
        '/metrics',
      ]) {
        expect(doc.paths[path], path).toBeDefined();
      }
      expect(JSON.stringify(doc.paths['/api/v1/cartoon'])).toContain('multipart/form-data');
      const page = await app.inject('/docs/');
      expect([page.statusCode, page.headers['content-type']]).toEqual([200, 'text/html; charset=utf-8']);
    });

    it('serves the web UI with every asset local, and sets security headers and request ids', async () => {
      const page = await app.inject('/');
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expect(page.body).not.toMatch(/(src|href)="(https?:)?\/\//);
      expect(page.headers['cache-control']).toBe('no-cache');
      // Vite's hashed assets never change: cached for good.
      const asset = /src="(\/assets\/[^"]+\.js)"/.exec(page.body)?.[1];
      expect(asset).toBeDefined();
      const script = await app.inject(asset!);
      expect([script.statusCode, script.headers['cache-control']]).toEqual([200, 'public, max-age=31536000, immutable']);
      expect(page.headers['content-security-policy']).toContain("default-src 'self'");
      expect(page.headers['x-content-type-options']).toBe('nosniff');
      expect(page.headers['x-frame-options']).toBe('SAMEORIGIN');
      expect(page.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect((await app.inject({ url: '/healthz', headers: { 'x-request-id': 'trace-42' } })).headers['x-request-id']).toBe('trace-42');
      expect((await app.inject({ url: '/healthz', headers: { 'x-request-id': '<script>' } })).headers['x-request-id']).not.toBe('<script>');
    });
  });
});

describeWithModels(MODELS)('HTTP API limits', () => {
  const services: Service[] = [];
  const start = async (flags: RawSettings): Promise<Service> => {
    const service = await startService(flags);
    services.push(service);
    return service;
  };
  afterAll(async () => {
    await Promise.all(services.map((s) => s.close()));
  });

  it('413 for an upload over the limit', async () => {
    const { app } = await start({ maxUploadMb: '1' });
    const big = Buffer.concat([readFileSync(PHOTO), Buffer.alloc(1_200_000, 7)]);
    expect(expectError(await post(app, { style: 'cel' }, { bytes: big }), 413, 'E_FILE_TOO_LARGE').message).toMatch(/1 MB/);
  });

  it('429 with Retry-After past the rate limit; polling and health are not limited', async () => {
    const { app } = await start({ rateLimit: '2' });
    for (let i = 0; i < 2; i += 1) expect((await post(app, { style: 'cel', maxSide: '64' })).statusCode).toBe(200);
    const limited = await post(app, { style: 'cel', maxSide: '64' });
    expectError(limited, 429, 'E_RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    for (let i = 0; i < 5; i += 1) expect((await app.inject('/api/v1/styles')).statusCode).toBe(200);
    expect((await app.inject('/healthz')).statusCode).toBe(200);
    expect((await app.inject('/metrics')).body).toMatch(/portoon_rejected_requests_total\{reason="rate_limited"\} 1/);
  });

  it('401 without a valid API key when keys are configured; info and health stay open', async () => {
    const { app } = await start({ apiKeys: 'alpha-key,beta-key' });
    expectError(await app.inject('/api/v1/styles'), 401, 'E_UNAUTHORIZED');
    expectError(await app.inject({ url: '/api/v1/styles', headers: { authorization: 'Bearer wrong' } }), 401, 'E_UNAUTHORIZED');
    expectError(await post(app, { style: 'cel' }), 401, 'E_UNAUTHORIZED');
    expect((await app.inject({ url: '/api/v1/styles', headers: { authorization: 'Bearer beta-key' } })).statusCode).toBe(200);
    expect((await app.inject({ url: '/api/v1/styles', headers: { 'x-api-key': 'alpha-key' } })).statusCode).toBe(200);
    expect(
      (
        await post(app, { style: 'cel', maxSide: '64' }, { bytes: readFileSync(PHOTO) }, '/api/v1/cartoon', {
          authorization: 'Bearer alpha-key',
        })
      ).statusCode,
    ).toBe(200);
    expect((await app.inject('/api/v1/info')).json()).toMatchObject({ authRequired: true });
    expect((await app.inject('/healthz')).statusCode).toBe(200);
  });

  it('503 with Retry-After when the queue is full, while the accepted request still succeeds', async () => {
    const { app, queue } = await start({ maxQueue: '0', workers: '1' });
    const photo = readFileSync(GROUP);
    const first = post(app, { style: 'cartoon' }, { bytes: photo });
    // The second request is sent once the first one holds the only worker (and no job may wait).
    await waitFor(
      'the first request to be running',
      () => queue.counts(),
      (counts) => counts.running === 1,
      { timeoutMs: 30_000 },
    );
    const second = await post(app, { style: 'cartoon' }, { bytes: photo });
    expectError(second, 503, 'E_QUEUE_FULL');
    expect(Number(second.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((await first).statusCode).toBe(200);
  });

  it('504 when an image takes longer than the job timeout', async () => {
    const { app } = await start({ jobTimeout: '1' });
    expect(expectError(await post(app, { style: 'anime' }, { bytes: readFileSync(GROUP) }), 504, 'E_TIMEOUT').message).toMatch(/1 s/);
  });

  it('500 for a server-side failure, without stack trace or file path in the body', async () => {
    // A models folder whose White-box model is damaged (same size, wrong bytes): found at load time.
    const dir = join(TEST_OUTPUT_DIR, 'api-corrupt-models');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    for (const file of readdirSync(TEST_MODELS_DIR)) {
      if (file === 'whitebox-cartoon.onnx') {
        cpSync(join(TEST_MODELS_DIR, file), join(dir, file));
        const bytes = readFileSync(join(dir, file));
        bytes.fill(0x42, 1000, 5000);
        writeFileSync(join(dir, file), bytes);
      } else {
        symlinkSync(join(TEST_MODELS_DIR, file), join(dir, file));
      }
    }
    const { app } = await start({ modelsDir: dir });
    const response = await post(app, { style: 'cartoon' });
    const error = expectError(response, 500, 'E_MODEL_CORRUPT');
    expect(error.message).toContain(String(response.headers['x-request-id']));
    expect(error.message).not.toMatch(/\/|\\|at \w+ \(/);
  });

  it('CORS: configured origins may call the API from a browser and read the report headers', async () => {
    const { app } = await start({ corsOrigins: 'https://app.example.com' });
    const preflight = await app.inject({
      method: 'OPTIONS',
      url: '/api/v1/cartoon',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' },
    });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('https://app.example.com');
    const simple = await app.inject({ url: '/api/v1/styles', headers: { origin: 'https://app.example.com' } });
    expect(simple.headers['access-control-expose-headers']).toContain('x-portoon-faces');
    const other = await app.inject({ url: '/api/v1/styles', headers: { origin: 'https://evil.example.net' } });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});
