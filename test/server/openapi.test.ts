/**
 * The OpenAPI document describes the upload form of both upload routes from the one request schema in
 * core: every field the routes accept, with its limits, and nothing else. And the routes accept what
 * the document says: a value from a field's list works, one outside it is refused in the schema's
 * words.
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { resolveServerConfig } from '../../src/server/config.js';
import { createService, type Service } from '../../src/server/service.js';
import { cartoonFormSchema, jobFormSchema } from '../../src/server/upload.js';
import { describeWithModels, portrait, TEST_MODELS_DIR } from '../helpers/env.js';
import { multipart } from '../helpers/multipart.js';

const MODELS = ['retinaface-mnet025', 'yunet-face'];
const PHOTO = readFileSync(portrait('01-woman-mask-peace.jpg'));
const UPLOAD_ROUTES = ['/api/v1/cartoon', '/api/v1/jobs'];
/** Each upload route's form: the synchronous route takes a photo; the job API a photo or a video, with the video options. */
const UPLOAD_FORMS = [
  { path: '/api/v1/cartoon', form: cartoonFormSchema, required: ['image', 'style'] },
  { path: '/api/v1/jobs', form: jobFormSchema, required: ['style'] },
];

interface JsonSchema {
  type?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  [keyword: string]: unknown;
}

interface OpenApiDocument {
  paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: JsonSchema }> }; responses: unknown }>>;
  components: { schemas: Record<string, JsonSchema> };
}

async function post(app: FastifyInstance, url: string, fields: Record<string, string>): Promise<LightMyRequestResponse> {
  const body = await multipart(fields, { bytes: PHOTO, filename: 'me.jpg' });
  return app.inject({ method: 'POST', url, payload: body.payload, headers: body.headers });
}

describeWithModels(MODELS)('the OpenAPI document and the upload form', () => {
  let service: Service;
  let doc: OpenApiDocument;

  beforeAll(async () => {
    const config = resolveServerConfig({ modelsDir: TEST_MODELS_DIR, styles: 'cel', logLevel: 'silent' }, {});
    service = await createService(config);
    await service.app.ready();
    const response = await service.app.inject('/openapi.json');
    expect(response.statusCode).toBe(200);
    doc = response.json<OpenApiDocument>();
  });
  afterAll(async () => {
    await service?.close();
  });

  it.each(UPLOAD_FORMS)(
    'POST $path: the multipart body lists exactly the fields of the core form schema, with their limits',
    ({ path, form, required }) => {
      const body = doc.paths[path]?.post?.requestBody?.content['multipart/form-data']?.schema;
      expect(body).toBeDefined();
      const properties = body!.properties ?? {};
      expect(Object.keys(properties)).toEqual(Object.keys(form.shape));
      // What only the library and the service set is not the client's to send.
      expect(Object.keys(properties).filter((name) => ['minFaceSize', 'maxFaces', 'maxTile'].includes(name))).toEqual([]);
      expect(body).toMatchObject({
        type: 'object',
        required,
        additionalProperties: false,
        properties: {
          image: { type: 'string', format: 'binary' },
          style: { type: 'string', minLength: 1, maxLength: 64 },
          strength: { type: 'number', minimum: 0, maximum: 1 },
          mix: { type: 'string', minLength: 1, maxLength: 64 },
          mixWeight: { type: 'number', minimum: 0, maximum: 1 },
          maxSide: { type: 'integer', minimum: 16, maximum: 100_000 },
          background: { type: 'string', enum: ['stylize', 'keep', 'blur'] },
          detector: { type: 'string', enum: ['both', 'retinaface', 'yunet'] },
          format: { type: 'string', enum: ['png', 'jpeg', 'webp', 'jpg'] },
          quality: { type: 'integer', minimum: 1, maximum: 100 },
          preview: { type: 'boolean' },
        },
      });
      // Every field is explained to the reader of /docs.
      const undescribed = Object.entries(properties).filter(
        ([, field]) => typeof field.description !== 'string' || field.description === '',
      );
      expect(undescribed.map(([name]) => name)).toEqual([]);
    },
  );

  it('POST /api/v1/jobs: the form also takes a video, in the field "video", and the video options with their limits', () => {
    const body = doc.paths['/api/v1/jobs']?.post?.requestBody?.content['multipart/form-data']?.schema;
    expect(body?.properties).toMatchObject({
      video: { type: 'string', format: 'binary' },
      fps: { type: 'number', minimum: 0.1, maximum: 120 },
      start: { type: 'number', minimum: 0 },
      duration: { type: 'number', minimum: 0.01 },
      crf: { type: 'integer', minimum: 0, maximum: 51 },
      audio: { type: 'boolean' },
      videoFormat: { type: 'string', enum: ['mp4', 'webm', 'gif'] },
      temporal: { type: 'boolean' },
      measureFlicker: { type: 'boolean' },
    });
  });

  it('keeps the names of the shared schemas, and /docs reads the same document', async () => {
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(['PortoonError', 'JobStatus']));
    expect(JSON.stringify(doc.paths['/api/v1/jobs']?.post?.responses)).toContain('"#/components/schemas/JobStatus"');
    expect(JSON.stringify(doc.paths['/api/v1/cartoon']?.post?.responses)).toContain('"#/components/schemas/PortoonError"');
    const forDocs = await service.app.inject('/docs/json');
    expect(forDocs.statusCode).toBe(200);
    expect(forDocs.json()).toEqual(doc);
  });

  it('a detector from the documented list works', async () => {
    const response = await post(service.app, '/api/v1/cartoon', { style: 'cel', detector: 'yunet', maxSide: '128' });
    expect([response.statusCode, response.headers['content-type']]).toEqual([200, 'image/jpeg']);
  });

  it.each(UPLOAD_ROUTES)('POST %s: a detector outside the list is a 400 E_BAD_OPTION in the schema’s words', async (path) => {
    const response = await post(service.app, path, { style: 'cel', detector: 'foo' });
    expect([response.statusCode, response.json()]).toEqual([
      400,
      { error: { code: 'E_BAD_OPTION', message: 'Expected both, retinaface or yunet for detector but received foo' } },
    ]);
  });
});
