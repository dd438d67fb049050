/**
 * What the service hands the in-browser engine: `GET /api/v1/catalogue` (the manifests, where each
 * installed model file is, the version) and `GET /api/v1/models/{id}` (the verified ONNX file, its
 * ETag the catalogue's sha256, 304 on If-None-Match). Against real services through `app.inject()`:
 * the test models folder; a folder of copies where one model is missing and two are damaged (cut
 * short, one byte changed); API keys; a cluster API node on a real Redis. Hostile ids get their
 * documented 4xx, never a 500 and never a file from anywhere. Every response, pages and WebAssembly
 * of the built UI included, is cross-origin isolated (COOP, COEP, CORP) under a CSP that allows
 * compiling WebAssembly but not `eval`.
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_TABLE, type ErrorCode } from '../../src/core/errors.js';
import { Catalogue } from '../../src/core/models/catalogue.js';
import { parseManifest } from '../../src/core/models/manifest.js';
import { loadCatalogue } from '../../src/node/load-catalogue.js';
import { createClusterService, type ClusterService } from '../../src/server/cluster-service.js';
import { resolveServerConfig, type RawSettings } from '../../src/server/config.js';
import { UI_PAGES } from '../../src/server/plugins/web-ui.js';
import { createService, WEB_ROOT, type Service } from '../../src/server/service.js';
import { describeWithModels, REPO_ROOT, TEST_MODELS_DIR, TEST_OUTPUT_DIR } from '../helpers/env.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

/** Models the cases below download, break or look for. */
const MODELS = ['yunet-face', 'whitebox-cartoon', 'retinaface-mnet025', 'animeganv3-hayao36'];
const API_KEY = 'model-files-key-0123456789';
const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
/** A folder of copies of some test models, a few of them damaged on purpose. */
const BROKEN_DIR = join(TEST_OUTPUT_DIR, `model-files-${process.pid}`);

interface CatalogueBody {
  manifests: unknown[];
  modelUrls: Record<string, string>;
  /** The styles the service offers (the manifests may hold more). */
  styles: string[];
  version: string;
}

/** The settings every service here starts with: one worker thread of one thread, no rate limit; nothing is loaded. */
const BASE: RawSettings = { workers: '1', threads: '1', rateLimit: '0', logLevel: 'silent' };

async function startService(settings: RawSettings): Promise<Service> {
  const service = await createService(resolveServerConfig({ ...BASE, ...settings }, {}));
  await service.app.ready();
  return service;
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** The ids of the catalogue's models whose files are in `dir` (present, whatever their state). */
function presentModels(catalogue: Catalogue, dir: string): string[] {
  return catalogue.models.filter((model) => existsSync(join(dir, model.file))).map((model) => model.id);
}

/** The response is the API's error shape with `code`, and the status the error table gives it. */
function expectError(response: LightMyRequestResponse, code: ErrorCode): string {
  expect({ status: response.statusCode, type: response.headers['content-type'] }).toEqual({
    status: ERROR_TABLE[code].status,
    type: 'application/json; charset=utf-8',
  });
  const body = response.json<{ error: { code: string; message: string } }>();
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error.code).toBe(code);
  return body.error.message;
}

/** The directives of a Content-Security-Policy header, each with its sources. */
function parseCsp(header: unknown): Record<string, string[]> {
  expect(typeof header).toBe('string');
  const directives: Record<string, string[]> = {};
  for (const part of String(header).split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (name) directives[name] = sources;
  }
  return directives;
}

/** Cross-origin isolated, under a CSP that lets WebAssembly compile and workers start but never allows eval. */
function expectIsolated(response: LightMyRequestResponse): void {
  expect({
    coop: response.headers['cross-origin-opener-policy'],
    coep: response.headers['cross-origin-embedder-policy'],
    corp: response.headers['cross-origin-resource-policy'],
  }).toEqual({ coop: 'same-origin', coep: 'require-corp', corp: 'same-origin' });
  const csp = parseCsp(response.headers['content-security-policy']);
  expect(csp['script-src']).toContain("'wasm-unsafe-eval'");
  expect(csp['worker-src']).toEqual(expect.arrayContaining(["'self'", 'blob:']));
  // 'wasm-unsafe-eval' allows compiling WebAssembly only; 'unsafe-eval' would allow eval() in every script.
  expect(Object.values(csp).flat()).not.toContain("'unsafe-eval'");
  expect(csp['script-src']).not.toContain("'unsafe-inline'");
}

async function catalogueOf(app: FastifyInstance, headers: Record<string, string> = {}): Promise<CatalogueBody> {
  const response = await app.inject({ url: '/api/v1/catalogue', headers });
  expect([response.statusCode, response.headers['content-type']]).toEqual([200, 'application/json; charset=utf-8']);
  return response.json<CatalogueBody>();
}

/** Downloads a model through the URL the catalogue gives and checks it is exactly the catalogued file. */
async function expectModelFile(app: FastifyInstance, catalogue: Catalogue, url: string, id: string): Promise<void> {
  const entry = catalogue.model(id);
  const response = await app.inject(url);
  expect(response.statusCode).toBe(200);
  expect(response.headers).toMatchObject({
    'content-type': 'application/octet-stream',
    'content-length': String(entry.bytes),
    etag: `"${entry.sha256}"`,
    'cache-control': 'no-cache',
    'content-disposition': `attachment; filename="${entry.file}"`,
  });
  expect(response.rawPayload.length).toBe(entry.bytes);
  expect(sha256(response.rawPayload)).toBe(entry.sha256);
}

describeWithModels(MODELS)('model files for the browser engine', () => {
  const catalogue = loadCatalogue(TEST_MODELS_DIR);
  let service: Service;
  let app: FastifyInstance;

  beforeAll(async () => {
    // Every style (no --styles), so that /api/v1/styles lists all of them.
    service = await startService({ modelsDir: TEST_MODELS_DIR });
    app = service.app;
  });
  afterAll(async () => {
    await service?.close();
  });

  describe('GET /api/v1/catalogue', () => {
    it('holds the manifests of every served style, a URL for exactly the installed models, and the package version', async () => {
      const body = await catalogueOf(app);
      expect(Object.keys(body).sort()).toEqual(['manifests', 'modelUrls', 'styles', 'version']);
      expect(body.version).toBe(VERSION);

      // The manifests are the catalogue's own, and the browser rebuilds the same catalogue from them.
      expect(body.manifests).toEqual(JSON.parse(JSON.stringify(catalogue.sources.map((source) => source.manifest))));
      const rebuilt = new Catalogue(
        body.manifests.map((json, i) => ({ source: `manifest ${i}`, manifest: parseManifest(json, `manifest ${i}`) })),
      );
      expect(rebuilt.styles.map((style) => style.id)).toEqual(catalogue.styles.map((style) => style.id));
      expect(rebuilt.models.map((model) => [model.id, model.sha256, model.bytes])).toEqual(
        catalogue.models.map((model) => [model.id, model.sha256, model.bytes]),
      );

      const { styles } = (await app.inject('/api/v1/styles')).json<{ styles: Array<{ id: string; models: string[] }> }>();
      expect(styles.length).toBeGreaterThanOrEqual(5);
      for (const style of styles) expect(rebuilt.styles.map((s) => s.id)).toContain(style.id);
      expect(body.styles).toEqual(styles.map((style) => style.id));

      const installed = presentModels(catalogue, TEST_MODELS_DIR);
      expect(installed).toEqual(expect.arrayContaining(MODELS));
      expect(Object.keys(body.modelUrls).sort()).toEqual([...installed].sort());
      for (const [id, url] of Object.entries(body.modelUrls)) expect(url).toBe(`/api/v1/models/${encodeURIComponent(id)}`);
      // Every model a served style needs can be downloaded.
      for (const style of styles) for (const id of style.models) expect(body.modelUrls[id]).toBeDefined();
    });
  });

  describe('GET /api/v1/models/{id}', () => {
    it('serves every installed model byte for byte: its sha256, content-length and ETag are the catalogue’s', async () => {
      const { modelUrls } = await catalogueOf(app);
      expect(Object.keys(modelUrls).length).toBeGreaterThanOrEqual(MODELS.length);
      for (const [id, url] of Object.entries(modelUrls)) await expectModelFile(app, catalogue, url, id);
    });

    it('HEAD gives the headers of the file and no body', async () => {
      const entry = catalogue.model('yunet-face');
      const response = await app.inject({ method: 'HEAD', url: '/api/v1/models/yunet-face' });
      expect(response.statusCode).toBe(200);
      expect(response.headers).toMatchObject({ 'content-length': String(entry.bytes), etag: `"${entry.sha256}"` });
      expect(response.rawPayload.length).toBe(0);
    });

    it('answers If-None-Match with the ETag with 304 and an empty body; another ETag gets the file', async () => {
      const entry = catalogue.model('whitebox-cartoon');
      const etag = `"${entry.sha256}"`;
      const notModified = await app.inject({ url: '/api/v1/models/whitebox-cartoon', headers: { 'if-none-match': etag } });
      expect(notModified.statusCode).toBe(304);
      expect(notModified.rawPayload.length).toBe(0);
      expect(notModified.headers.etag).toBe(etag);
      expect(notModified.headers['content-type']).toBeUndefined();
      expectIsolated(notModified);

      const other = await app.inject({ url: '/api/v1/models/whitebox-cartoon', headers: { 'if-none-match': `"${'0'.repeat(64)}"` } });
      expect(other.statusCode).toBe(200);
      expect(sha256(other.rawPayload)).toBe(entry.sha256);
    });

    // RFC 9110 §13.1.2: If-None-Match is a list, compared weakly, and "*" matches any current file.
    it.each([
      ['a list holding the ETag', (sha: string) => `"${'1'.repeat(64)}", "${sha}"`],
      ['the weak form of the ETag', (sha: string) => `W/"${sha}"`],
      ['*', () => '*'],
    ])('answers If-None-Match with %s with 304', async (_name, header) => {
      const entry = catalogue.model('yunet-face');
      const response = await app.inject({ url: '/api/v1/models/yunet-face', headers: { 'if-none-match': header(entry.sha256) } });
      expect(response.statusCode).toBe(304);
      expect(response.rawPayload.length).toBe(0);
    });

    it('an id the catalogue does not have is 404 E_NOT_FOUND', async () => {
      expectError(await app.inject('/api/v1/models/no-such-model'), 'E_NOT_FOUND');
    });

    /** Ids as they are written in the request target (already percent-encoded where they need it). */
    const HOSTILE: Array<[name: string, id: string, code: ErrorCode]> = [
      ['traversal with encoded slashes', '..%2F..%2Fpackage.json', 'E_NOT_FOUND'],
      ['traversal with encoded dots and slashes', '%2e%2e%2f%2e%2e%2fpackage.json', 'E_NOT_FOUND'],
      ['traversal into the models folder', '..%2Fmodels%2Fyunet-face.onnx', 'E_NOT_FOUND'],
      ['traversal with backslashes', '..%5C..%5Cpackage.json', 'E_NOT_FOUND'],
      ['double-encoded traversal', '%252e%252e%252fpackage.json', 'E_NOT_FOUND'],
      ['an absolute path', '%2Fetc%2Fpasswd', 'E_NOT_FOUND'],
      ['an encoded slash', 'a%2Fb', 'E_NOT_FOUND'],
      ['NUL', '%00', 'E_NOT_FOUND'],
      ['a real id and NUL', 'yunet-face%00', 'E_NOT_FOUND'],
      ['NUL and traversal', '%00..%2F..%2Fpackage.json', 'E_NOT_FOUND'],
      ['a 10 KB id', 'x'.repeat(10 * 1024), 'E_BAD_REQUEST'],
      ['129 characters', 'y'.repeat(129), 'E_BAD_REQUEST'],
      ['unicode', encodeURIComponent('模型-😀'), 'E_NOT_FOUND'],
      ['a look-alike of a real id (Cyrillic а)', encodeURIComponent('yunet-fаce'), 'E_NOT_FOUND'],
      ['a nested path "models/"', 'models/', 'E_NOT_FOUND'],
      ['a real id and a trailing slash', 'yunet-face/', 'E_NOT_FOUND'],
      ['the file name of a real model', 'yunet-face.onnx', 'E_NOT_FOUND'],
      ['a real id in upper case', 'YUNET-FACE', 'E_NOT_FOUND'],
      ['__proto__', '__proto__', 'E_NOT_FOUND'],
      ['constructor', 'constructor', 'E_NOT_FOUND'],
      ['a malformed escape', '%E0%A4%A', 'E_BAD_REQUEST'],
      ['a stray percent sign', '%ZZ', 'E_BAD_REQUEST'],
    ];

    it('answers hostile ids with their documented 4xx, never a 500, never a file', async () => {
      const documented = (await app.inject('/openapi.json')).json<{
        paths: Record<string, { get: { responses: Record<string, unknown> } }>;
      }>().paths['/api/v1/models/{id}']!.get.responses;
      const packageJson = readFileSync(join(REPO_ROOT, 'package.json'), 'utf8');
      const actual: Record<string, unknown> = {};
      const expected: Record<string, unknown> = {};
      for (const [name, id, code] of HOSTILE) {
        const response = await app.inject(`/api/v1/models/${id}`);
        const body = response.body;
        actual[name] = {
          status: response.statusCode,
          type: response.headers['content-type'],
          code: /^\{"error":\{"code":"(E_\w+)"/.exec(body)?.[1],
          documented: Object.hasOwn(documented, String(response.statusCode)),
          leaks: body.includes(packageJson.slice(0, 40)) || body.length > 2000,
        };
        expected[name] = {
          status: ERROR_TABLE[code].status,
          type: 'application/json; charset=utf-8',
          code,
          documented: true,
          leaks: false,
        };
      }
      expect(actual).toEqual(expected);
    });

    // Those the router refuses (a malformed escape, a parameter over its length limit) are answered
    // before any hook runs, by the framework error handler.
    it('answers hostile ids with the isolation headers too', async () => {
      const bare: string[] = [];
      for (const [name, id] of HOSTILE) {
        const response = await app.inject(`/api/v1/models/${id}`);
        const headers = [
          response.headers['cross-origin-opener-policy'],
          response.headers['cross-origin-embedder-policy'],
          response.headers['cross-origin-resource-policy'],
        ];
        if (headers.join() !== 'same-origin,require-corp,same-origin' || !response.headers['content-security-policy']) bare.push(name);
      }
      expect(bare).toEqual([]);
    });
  });

  describe('cross-origin isolation', () => {
    const pages: Array<[string, string]> = [['/', 'index.html'], ...Object.entries(UI_PAGES)];

    it.each(pages)('the page %s is isolated', async (path, file) => {
      expect(existsSync(join(WEB_ROOT, file)), `${join(WEB_ROOT, file)} is missing: build the web UI first ("npm run build")`).toBe(true);
      const response = await app.inject(path);
      expect([response.statusCode, response.headers['content-type']]).toEqual([200, 'text/html; charset=utf-8']);
      expectIsolated(response);
    });

    it('the catalogue, a model file and an error are isolated', async () => {
      const catalogueResponse = await app.inject('/api/v1/catalogue');
      const model = await app.inject('/api/v1/models/yunet-face');
      const missing = await app.inject('/api/v1/models/no-such-model');
      expect([catalogueResponse.statusCode, model.statusCode, missing.statusCode]).toEqual([200, 200, 404]);
      for (const response of [catalogueResponse, model, missing]) expectIsolated(response);
    });

    it('the built UI’s WebAssembly is served as application/wasm, isolated', async () => {
      const assets = join(WEB_ROOT, 'assets');
      expect(existsSync(assets), `${assets} is missing: build the web UI first ("npm run build")`).toBe(true);
      const wasm = readdirSync(assets).filter((name) => name.endsWith('.wasm'));
      expect(wasm.length, `no .wasm file in ${assets}: the web UI build should include onnxruntime-web's`).toBeGreaterThan(0);
      const response = await app.inject(`/assets/${wasm[0]!}`);
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toBe('application/wasm');
      expect(Number(response.headers['content-length'])).toBe(statSync(join(assets, wasm[0]!)).size);
      // The first bytes of every WebAssembly module: "\0asm".
      expect([...response.rawPayload.subarray(0, 4)]).toEqual([0x00, 0x61, 0x73, 0x6d]);
      expectIsolated(response);
    });
  });

  describe('a models folder with a missing file and damaged files', () => {
    let broken: Service;
    const damaged = { cut: 'whitebox-cartoon', flipped: 'retinaface-mnet025' } as const;
    const intact = 'animeganv3-hayao36';
    const missing = 'yunet-face';

    beforeAll(async () => {
      rmSync(BROKEN_DIR, { recursive: true, force: true });
      mkdirSync(BROKEN_DIR, { recursive: true });
      for (const id of [damaged.cut, damaged.flipped, intact]) {
        const file = catalogue.model(id).file;
        cpSync(join(TEST_MODELS_DIR, file), join(BROKEN_DIR, file));
      }
      // Cut short (a half-copied file) and one byte changed (same size, wrong sha256).
      const cutPath = join(BROKEN_DIR, catalogue.model(damaged.cut).file);
      writeFileSync(cutPath, readFileSync(cutPath).subarray(0, 1000));
      const flippedPath = join(BROKEN_DIR, catalogue.model(damaged.flipped).file);
      const bytes = readFileSync(flippedPath);
      const middle = bytes.length >> 1;
      bytes.writeUInt8(bytes.readUInt8(middle) ^ 0xff, middle);
      writeFileSync(flippedPath, bytes);
      broken = await startService({ modelsDir: BROKEN_DIR, styles: 'cel' });
    });
    afterAll(async () => {
      await broken?.close();
      rmSync(BROKEN_DIR, { recursive: true, force: true });
    });

    it('the catalogue lists the files that are there, damaged ones too (presence only, no hashing)', async () => {
      const { modelUrls } = await catalogueOf(broken.app);
      expect(Object.keys(modelUrls).sort()).toEqual([damaged.cut, damaged.flipped, intact].sort());
    });

    it('a model whose file is missing is 503 E_MODEL_MISSING with Retry-After', async () => {
      const response = await broken.app.inject(`/api/v1/models/${missing}`);
      expectError(response, 'E_MODEL_MISSING');
      expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
    });

    it.each([
      ['cut short', damaged.cut],
      ['with one byte changed', damaged.flipped],
    ])('a model file %s is 500 E_MODEL_CORRUPT, and the answer names no path', async (_name, id) => {
      const message = expectError(await broken.app.inject(`/api/v1/models/${id}`), 'E_MODEL_CORRUPT');
      expect(message).not.toContain(BROKEN_DIR);
      expect(message).not.toContain('.onnx');
    });

    it('an intact model in the same folder is served; once its file is deleted it is 503 and leaves the catalogue', async () => {
      await expectModelFile(broken.app, catalogue, `/api/v1/models/${intact}`, intact);
      rmSync(join(BROKEN_DIR, catalogue.model(intact).file));
      expectError(await broken.app.inject(`/api/v1/models/${intact}`), 'E_MODEL_MISSING');
      const { modelUrls } = await catalogueOf(broken.app);
      expect(Object.keys(modelUrls).sort()).toEqual([damaged.cut, damaged.flipped].sort());
    });
  });

  describe('with API keys', () => {
    let keyed: Service;
    beforeAll(async () => {
      keyed = await startService({ modelsDir: TEST_MODELS_DIR, styles: 'cel', apiKeys: API_KEY });
    });
    afterAll(async () => {
      await keyed?.close();
    });

    it.each([
      ['the catalogue', '/api/v1/catalogue'],
      ['a model file', '/api/v1/models/yunet-face'],
      ['an unknown model', '/api/v1/models/no-such-model'],
    ])('%s needs the key: 401 E_UNAUTHORIZED without it or with a wrong one', async (_name, url) => {
      expectError(await keyed.app.inject(url), 'E_UNAUTHORIZED');
      expectError(await keyed.app.inject({ url, headers: { 'x-api-key': `${API_KEY}-not` } }), 'E_UNAUTHORIZED');
    });

    it('with X-API-Key the catalogue and the model file are served', async () => {
      const body = await catalogueOf(keyed.app, { 'x-api-key': API_KEY });
      expect(Object.keys(body.modelUrls).sort()).toEqual(presentModels(catalogue, TEST_MODELS_DIR).sort());
      // Only the styles it serves (--styles), though the manifests hold all of them.
      expect(body.styles).toEqual(['cel']);
      expect(body.manifests).toEqual((await catalogueOf(app)).manifests);
      const entry = catalogue.model('yunet-face');
      const response = await keyed.app.inject({ url: body.modelUrls['yunet-face']!, headers: { 'x-api-key': API_KEY } });
      expect([response.statusCode, response.headers.etag]).toEqual([200, `"${entry.sha256}"`]);
      expect(sha256(response.rawPayload)).toBe(entry.sha256);
      const bearer = await keyed.app.inject({ url: '/api/v1/catalogue', headers: { authorization: `Bearer ${API_KEY}` } });
      expect(bearer.statusCode).toBe(200);
    });
  });

  describe('a cluster API node', () => {
    let redis: RedisServer | undefined;
    let node: ClusterService | undefined;
    beforeAll(async () => {
      redis = await startRedisServer();
      node = await createClusterService(
        resolveServerConfig({ ...BASE, modelsDir: TEST_MODELS_DIR, queue: redis.url, blobStore: join(redis.dir, 'blobs') }, {}),
      );
      await node.warmUp();
    });
    afterAll(async () => {
      await node?.close();
      await redis?.destroy();
    });

    it('serves the same catalogue as one process, and the model files from its own models folder', async () => {
      const body = await catalogueOf(node!.app);
      expect(body).toEqual(await catalogueOf(app));
      await expectModelFile(node!.app, catalogue, body.modelUrls['whitebox-cartoon']!, 'whitebox-cartoon');
      const etag = `"${catalogue.model('whitebox-cartoon').sha256}"`;
      const notModified = await node!.app.inject({ url: body.modelUrls['whitebox-cartoon']!, headers: { 'if-none-match': etag } });
      expect([notModified.statusCode, notModified.rawPayload.length]).toEqual([304, 0]);
      expectError(await node!.app.inject('/api/v1/models/..%2F..%2Fpackage.json'), 'E_NOT_FOUND');
      expectIsolated(await node!.app.inject('/api/v1/catalogue'));
    });
  });
});
