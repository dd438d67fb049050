/**
 * One request's cost is bounded by the service's defaults: the long side processed (`--max-side`),
 * the faces stylized one by one (`--max-faces`), and the pixels decoded (`--max-pixels`), all
 * reported by /api/v1/info so clients can check before uploading.
 */
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { resolveServerConfig, type RawSettings } from '../../src/server/config.js';
import { createService, type Service } from '../../src/server/service.js';
import { describeWithModels, portrait, TEST_MODELS_DIR } from '../helpers/env.js';
import { multipart } from '../helpers/multipart.js';
import { waitForJobState } from '../helpers/wait.js';

const MODELS = ['whitebox-cartoon', 'retinaface-mnet025', 'yunet-face'];
const GROUP = readFileSync(portrait('12-group-selfie-cafe.jpeg'));

const services: Service[] = [];
async function start(flags: RawSettings = {}): Promise<FastifyInstance> {
  const config = resolveServerConfig({ modelsDir: TEST_MODELS_DIR, styles: 'cartoon,cel', logLevel: 'silent', ...flags }, {});
  const service = await createService(config);
  services.push(service);
  await service.app.ready();
  return service.app;
}
afterAll(async () => {
  await Promise.all(services.map((service) => service.close()));
});

async function post(app: FastifyInstance, fields: Record<string, string>, bytes: Uint8Array, url = '/api/v1/cartoon') {
  const body = await multipart(fields, { bytes, filename: 'in.png' });
  return app.inject({ method: 'POST', url, payload: body.payload, headers: body.headers });
}

describeWithModels(MODELS)('service limits', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await start();
  });

  it('/api/v1/info reports the defaults: 1536 px, 8 faces, 50 MP, 120 s', async () => {
    const info = (await app.inject('/api/v1/info')).json<Record<string, unknown>>();
    expect(info).toMatchObject({
      maxSide: 1536,
      maxFaces: 8,
      maxInputPixels: 50_000_000,
      jobTimeoutSeconds: 120,
      maxUploadBytes: 10 * 1024 * 1024,
    });
  });

  it('a cheap 7000x7000 upload is processed at the service size, not at 49 MP', async () => {
    const zeros = await sharp({ create: { width: 7000, height: 7000, channels: 3, background: '#000' } })
      .png({ compressionLevel: 9 })
      .toBuffer();
    expect(zeros.length).toBeLessThan(300_000);
    const response = await post(app, { style: 'cel', format: 'png' }, zeros);
    expect([response.statusCode, response.headers['x-portoon-width'], response.headers['x-portoon-height']]).toEqual([200, '1536', '1536']);
  });

  it('a request may ask for less than the service size, and is refused (not silently shrunk) when it asks for more', async () => {
    const small = await post(app, { style: 'cel', maxSide: '300' }, GROUP);
    expect([small.statusCode, small.headers['x-portoon-width']]).toEqual([200, '300']);
    const big = await post(app, { style: 'cel', maxSide: '2000' }, GROUP);
    expect(big.statusCode).toBe(400);
    expect(big.json()).toEqual({
      error: {
        code: 'E_BAD_OPTION',
        message: "Expected maxSide of at most 1536 (this service's limit) but received 2000; omit it to get 1536",
      },
    });
  });
});

describeWithModels(MODELS)('--max-faces', () => {
  it('stylizes the largest faces one by one and leaves the rest to the background style', async () => {
    const app = await start({ maxFaces: '2', styles: 'cartoon' });
    const accepted = await post(app, { style: 'cartoon', background: 'keep' }, GROUP, '/api/v1/jobs');
    expect(accepted.statusCode).toBe(202);
    const done = await waitForJobState(app, accepted.json<{ id: string }>().id, ['completed'], { timeoutMs: 120_000 });
    const faces = done.report!.faces;
    expect(faces).toHaveLength(5);
    const widths = faces.map((face) => face.box[2]);
    const stylized = faces.filter((face) => face.stylized).map((face) => face.box[2]);
    const twoWidest = [...widths].sort((a, b) => b - a).slice(0, 2);
    expect([...stylized].sort((a, b) => b - a)).toEqual(twoWidest);
  });
});
