/**
 * The browser library (`portoon/web`, src/browser) through its own API, in real Chromium (Debian's,
 * through playwright-core) against the real server as a process (`npm run build` first): a
 * cross-origin isolated page of the server, WebAssembly with two threads, models downloaded from the
 * server with progress, verified and kept in Cache Storage (a reload downloads nothing), a damaged
 * download refused and not kept, the same refusals as the server for hostile photos, cancelling and
 * closing.
 *
 * `PortoonWeb` is bundled from src/browser/index.ts with esbuild and handed to the page at a path of
 * the server's own origin (playwright fulfils it), so the page's CSP ('self') and COEP hold. Its
 * engine worker is the one the server ships (dist/web/assets/engine-worker-*.js): onnxruntime-web
 * starts its WebAssembly threads as nested workers from the URL of its own module, and the requests
 * of nested workers cannot be intercepted, so the worker and onnxruntime-web must be files the server
 * really serves. The page's style previews are refused so that the server renders nothing meanwhile.
 * Photos cross between Node and the page as base64. Timings go to test-output/web-library-timing.json.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../src/core/errors.js';
import { readProvenance, TRAINED_ALGORITHMIC_MEDIA } from '../../src/core/provenance.js';
import { psnr } from '../../src/core/video/metrics.js';
import { extractXmp } from '../../src/core/xmp-embed.js';
import { decodeImage } from '../../src/node/codec.js';
import { loadCatalogue } from '../../src/node/load-catalogue.js';
import { assertWebUiBuilt, CHROMIUM, CHROMIUM_ARGS, js, until } from '../helpers/browser.js';
import { describeWithModels, IN_CI, portrait, REPO_ROOT, TEST_MODELS_DIR, TEST_OUTPUT_DIR } from '../helpers/env.js';
import { cartoonForm } from '../helpers/http.js';
import { pngBomb } from '../helpers/images.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';

/** What the cartoon style runs on a portrait: face detection (both detectors), face parsing, the style model. */
const MODELS = ['retinaface-mnet025', 'yunet-face', 'whitebox-cartoon', 'bisenetv2-faceparsing-448'];
const PHOTO = readFileSync(portrait('01-woman-mask-peace.jpg')); // 512x512 JPEG, one face
const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const ASSETS = join(REPO_ROOT, 'dist/web/assets');
const THREADS = 2;
const API_KEY = 'web-library-key-0123456789';
/** The product's bound between the browser's and the server's output for the same photo and request. */
const MIN_PSNR_DB = 40;
/** Longest a single call may take before it counts as a hang (a cold run downloads ~10 MB of models first). */
const CALL_TIMEOUT_MS = 90_000;

assertWebUiBuilt();
const describeBrowser = existsSync(CHROMIUM) || IN_CI ? describeWithModels(MODELS) : describe.skip;

/**
 * The page side: one engine at a time on `globalThis.portoonTest`, taking and giving photos as
 * base64; a failure comes back as its code and message. Every call has a deadline, so a hang fails
 * the test with code TIMEOUT instead of stalling it.
 */
const PAGE_ENTRY = `
import { PortoonWeb } from './src/browser/index.ts';

const fromBase64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
const toBase64 = (bytes) => {
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
};
const failure = (error) => ({ ok: false, code: error && error.code ? error.code : null, message: String(error && error.message ? error.message : error) });
const deadline = (promise, ms, what) =>
  Promise.race([
    promise,
    new Promise((_, reject) => setTimeout(() => reject({ code: 'TIMEOUT', message: what + ' did not settle within ' + ms + ' ms' }), ms)),
  ]);

let engine;
const downloads = [];

globalThis.portoonTest = {
  downloads,
  async create({ workerUrl, timeoutMs, ...options }) {
    try {
      engine = await deadline(
        PortoonWeb.create({
          ...options,
          onDownload: (download) => downloads.push({ ...download }),
          createWorker: () => new Worker(workerUrl, { type: 'module', name: 'portoon-engine' }),
        }),
        timeoutMs,
        'PortoonWeb.create',
      );
      return { ok: true, backend: engine.backend };
    } catch (error) {
      return failure(error);
    }
  },
  /** abort: 'before' (an aborted signal), 'progress' (abort at the first progress), 'close' (close the engine then). */
  async cartoonize(photo, params, { timeoutMs, abort } = {}) {
    const controller = new AbortController();
    if (abort === 'before') controller.abort();
    const stages = [];
    const onProgress = (progress) => {
      stages.push(progress.stage);
      if (stages.length === 1 && abort === 'progress') controller.abort();
      if (stages.length === 1 && abort === 'close') engine.close();
    };
    const started = performance.now();
    try {
      const { image, report } = await deadline(
        engine.cartoonize(fromBase64(photo), { ...params, onProgress, signal: controller.signal }),
        timeoutMs,
        'cartoonize',
      );
      const ms = performance.now() - started;
      return { ok: true, ms, type: image.type, bytes: toBase64(new Uint8Array(await image.arrayBuffer())), report, stages };
    } catch (error) {
      return { ...failure(error), ms: performance.now() - started, stages };
    }
  },
  async preload(models, timeoutMs) {
    try {
      await deadline(engine.preload(models), timeoutMs, 'preload');
      return { ok: true };
    } catch (error) {
      return failure(error);
    }
  },
  close() {
    engine.close();
  },
  /** The model ids Cache Storage holds in the bucket. */
  async cached(bucket) {
    const keys = await (await caches.open(bucket)).keys();
    return keys.map((request) => decodeURIComponent(new URL(request.url).pathname.replace('/api/v1/models/', ''))).sort();
  },
  /** Replaces the cached copy of a model with other bytes (any script of the origin can). */
  async tamper(bucket, model) {
    const cache = await caches.open(bucket);
    const key = (await cache.keys()).find((request) => new URL(request.url).pathname === '/api/v1/models/' + model);
    if (!key) return false;
    await cache.put(key, new Response(new Uint8Array(1024)));
    return true;
  },
};
`;

interface Failure {
  ok: false;
  code: string | null;
  message: string;
}
interface Download {
  model: string;
  loaded: number;
  total: number;
  cached: boolean;
}
interface Report {
  width: number;
  height: number;
  style: string;
  format: string;
  models: string[];
  faces: unknown[];
  timings: Record<string, number>;
}
type Created = { ok: true; backend: { device: string; threads: number; isolated: boolean } } | Failure;
type Cartoonized = ({ ok: true; type: string; bytes: string; report: Report } | Failure) & { ms: number; stages: string[] };

interface Session {
  page: Page;
  /** Paths of every request the page and its workers made (reset by `reload`). */
  requests: string[];
  /** Uncaught exceptions in the page. */
  errors: string[];
}

const base64Of = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

/** The built engine worker the server serves (looked up each time: a rebuild renames it). */
function engineWorkerUrl(): string {
  const workers = existsSync(ASSETS) ? readdirSync(ASSETS).filter((name) => /^engine-worker-[\w-]+\.js$/.test(name)) : [];
  if (workers.length !== 1)
    throw new Error(`expected one engine-worker-*.js in ${ASSETS}, found ${workers.length}: run "npm run build" first`);
  return `/assets/${workers[0]!}`;
}

/** A seeded generator: a failure names the same bytes on every run. */
function noise(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let s = seed >>> 0;
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

/** The result of a run that must have succeeded (the test fails with the run's error otherwise). */
function succeeded(result: Cartoonized): Extract<Cartoonized, { ok: true }> {
  expect(result).toMatchObject({ ok: true });
  return result as Extract<Cartoonized, { ok: true }>;
}

function expectFailure(result: Cartoonized | Created | { ok: boolean; code?: string | null }, code: ErrorCode): void {
  expect(result).toMatchObject({ ok: false, code });
}

describeBrowser('portoon/web in a real browser', () => {
  const catalogue = loadCatalogue(TEST_MODELS_DIR);
  let server: ServerProcess | undefined;
  /** A server that needs an API key, started by the test that uses it. */
  let keyServer: ServerProcess | undefined;
  let browser: Browser | undefined;
  let library = '';
  const contexts: BrowserContext[] = [];
  const timing: Record<string, number | string> = {};

  beforeAll(async () => {
    const bundle = build({
      stdin: { contents: PAGE_ENTRY, resolveDir: REPO_ROOT, loader: 'ts', sourcefile: 'web-library-page.ts' },
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'chrome120',
      write: false,
      logLevel: 'silent',
    });
    [server, browser] = await Promise.all([
      startServerProcess([
        '--models-dir',
        TEST_MODELS_DIR,
        '--styles',
        'cartoon,anime',
        '--rate-limit',
        '0',
        '--workers',
        '1',
        '--threads',
        '1',
      ]),
      chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }),
    ]);
    library = (await bundle).outputFiles[0]!.text;
  });

  afterEach(async () => {
    // Each test's pages are closed when it ends, so only one engine at a time uses the CPU.
    await Promise.all(contexts.splice(0).map((context) => context.close()));
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all([server?.stop(), keyServer?.stop()]);
    mkdirSync(TEST_OUTPUT_DIR, { recursive: true });
    writeFileSync(join(TEST_OUTPUT_DIR, 'web-library-timing.json'), `${JSON.stringify(timing, null, 2)}\n`);
  });

  /** A fresh browser profile on the server's page `/`, with the library loaded into it. */
  async function open(base = server!.url): Promise<Session> {
    const context = await browser!.newContext();
    contexts.push(context);
    await context.route('**/test-portoon-web.js', (route) =>
      route.fulfill({
        status: 200,
        headers: { 'content-type': 'text/javascript', 'cross-origin-resource-policy': 'same-origin' },
        body: library,
      }),
    );
    await context.route(/\/api\/v1\/styles\/[^/]+\/preview$/, (route) => route.abort());
    const page = await context.newPage();
    const session: Session = { page, requests: [], errors: [] };
    page.on('request', (request) => session.requests.push(new URL(request.url()).pathname));
    page.on('pageerror', (error) => session.errors.push(error.message));
    await page.goto(`${base}/`);
    await loadLibrary(page);
    return session;
  }

  async function loadLibrary(page: Page): Promise<void> {
    await page.addScriptTag({ url: '/test-portoon-web.js', type: 'module' });
    await until(page, `'portoonTest' in globalThis`, 10_000);
  }

  /** Reloads the page (same profile, so the same Cache Storage) and loads the library again. */
  async function reload(session: Session): Promise<void> {
    session.requests.splice(0);
    await session.page.reload();
    await loadLibrary(session.page);
  }

  function create(page: Page, cache: string | false, apiKey?: string): Promise<Created> {
    const options = { workerUrl: engineWorkerUrl(), timeoutMs: CALL_TIMEOUT_MS, threads: THREADS, device: 'wasm', cache, apiKey };
    return page.evaluate((o) => (globalThis as unknown as PageApi).portoonTest.create(o), options);
  }

  function cartoonize(
    page: Page,
    photo: Uint8Array,
    params: Record<string, unknown>,
    options: { abort?: 'before' | 'progress' | 'close'; timeoutMs?: number } = {},
  ): Promise<Cartoonized> {
    const args = [base64Of(photo), params, { timeoutMs: CALL_TIMEOUT_MS, ...options }] as const;
    return page.evaluate(([p, q, o]) => (globalThis as unknown as PageApi).portoonTest.cartoonize(p, q, o), args);
  }

  function preload(page: Page, models: string[]): Promise<{ ok: true } | Failure> {
    return page.evaluate(([m, t]) => (globalThis as unknown as PageApi).portoonTest.preload(m, t), [models, CALL_TIMEOUT_MS] as const);
  }

  function downloads(page: Page): Promise<Download[]> {
    return js<Download[]>(page, 'portoonTest.downloads');
  }

  function cachedModels(page: Page, bucket: string): Promise<string[]> {
    return page.evaluate((b) => (globalThis as unknown as PageApi).portoonTest.cached(b), bucket);
  }

  async function started(page: Page, cache: string | false, apiKey?: string): Promise<void> {
    expect(await create(page, cache, apiKey)).toMatchObject({ ok: true });
  }

  /** What the server answers for the same bytes in POST /api/v1/cartoon: its error code, or 'ok'. */
  async function serverAnswer(bytes: Uint8Array, style = 'cartoon'): Promise<string> {
    const response = await fetch(`${server!.url}/api/v1/cartoon`, { method: 'POST', body: cartoonForm(Buffer.from(bytes), { style }) });
    if (response.ok) return 'ok';
    return ((await response.json()) as { error: { code: string } }).error.code;
  }

  it('runs in a cross-origin isolated page on WebAssembly with 2 threads; a portrait becomes a labelled PNG', async () => {
    const { page, errors } = await open();
    expect(await js<boolean>(page, 'crossOriginIsolated')).toBe(true);
    const created = await create(page, 'web-library-first');
    expect(created).toEqual({ ok: true, backend: { device: 'wasm', threads: THREADS, isolated: true } });

    const cold = succeeded(await cartoonize(page, PHOTO, { style: 'cartoon', format: 'png' }));
    expect(cold.type).toBe('image/png');
    const bytes = Buffer.from(cold.bytes, 'base64');
    const meta = await sharp(bytes).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 512, 512]);
    expect(cold.report).toMatchObject({ width: 512, height: 512, style: 'cartoon', format: 'png' });
    expect(cold.report.faces.length).toBe(1);
    expect([...cold.report.models].sort()).toEqual([...MODELS].sort());
    expect(cold.stages).toEqual(expect.arrayContaining(['decode', 'encode']));

    // The AI-generated label, as the server writes it.
    const xmp = extractXmp(bytes);
    expect(xmp).toContain('trainedAlgorithmicMedia');
    expect(readProvenance(xmp!)).toMatchObject({
      software: 'Portoon',
      version: VERSION,
      style: 'cartoon',
      models: cold.report.models,
      digitalSourceType: TRAINED_ALGORITHMIC_MEDIA,
    });

    // The server's answer to the same request: the same size and faces, and nearly the same pixels.
    const response = await fetch(`${server!.url}/api/v1/cartoon`, {
      method: 'POST',
      body: cartoonForm(PHOTO, { style: 'cartoon', format: 'png' }),
    });
    expect(response.status).toBe(200);
    const [ours, theirs] = await Promise.all([decodeImage(bytes), decodeImage(new Uint8Array(await response.arrayBuffer()))]);
    expect([theirs.image.width, theirs.image.height]).toEqual([512, 512]);
    expect(response.headers.get('x-portoon-faces')).toBe(String(cold.report.faces.length));
    const db = psnr(ours.image, theirs.image);
    timing['PSNR against the server, dB'] = Number.isFinite(db) ? Number(db.toFixed(2)) : 'identical';
    // The product's bound between the browser's and the server's result for the same photo.
    expect(db).toBeGreaterThanOrEqual(MIN_PSNR_DB);

    // Again, with every model loaded: the time of the work itself.
    const warm = succeeded(await cartoonize(page, PHOTO, { style: 'cartoon', format: 'png' }));
    timing.threads = THREADS;
    timing['512x512 cartoon, first run (downloads and loads the models), ms'] = Math.round(cold.ms);
    timing['512x512 cartoon, models loaded, ms'] = Math.round(warm.ms);
    for (const [stage, ms] of Object.entries(warm.report.timings)) timing[`models loaded, stage ${stage}, ms`] = Math.round(ms);
    console.info(`portoon/web: 512x512 cartoon with ${THREADS} threads: ${Math.round(cold.ms)} ms cold, ${Math.round(warm.ms)} ms warm`);
    expect(errors).toEqual([]);
  });

  it('reports the download of every model, then after a reload reads them from Cache Storage without a request', async () => {
    const session = await open();
    const { page } = session;
    const bucket = 'web-library-cache';
    await started(page, bucket);
    expect(await cartoonize(page, PHOTO, { style: 'cartoon' })).toMatchObject({ ok: true });

    const first = await downloads(page);
    expect([...new Set(first.map((d) => d.model))].sort()).toEqual([...MODELS].sort());
    for (const model of MODELS) {
      const events = first.filter((d) => d.model === model);
      const total = catalogue.model(model).bytes;
      expect(events.every((d) => !d.cached && d.total === total)).toBe(true);
      // Progress only grows, and ends with the whole file.
      const loaded = events.map((d) => d.loaded);
      expect(loaded).toEqual([...loaded].sort((a, b) => a - b));
      expect(loaded.at(-1)).toBe(total);
    }
    const modelRequests = session.requests.filter((path) => path.startsWith('/api/v1/models/'));
    expect(modelRequests.sort()).toEqual(MODELS.map((id) => `/api/v1/models/${id}`).sort());
    expect(await cachedModels(page, bucket)).toEqual([...MODELS].sort());

    await reload(session);
    await started(page, bucket);
    expect(await cartoonize(page, PHOTO, { style: 'cartoon' })).toMatchObject({ ok: true });
    const second = await downloads(page);
    expect(second.sort((a, b) => a.model.localeCompare(b.model))).toEqual(
      [...MODELS]
        .sort()
        .map((model) => ({ model, loaded: catalogue.model(model).bytes, total: catalogue.model(model).bytes, cached: true })),
    );
    expect(session.requests.filter((path) => path.startsWith('/api/v1/models/'))).toEqual([]);
  });

  describe('a damaged model', () => {
    it('a download whose bytes were altered is refused with E_MODEL_CORRUPT and not cached; the real file then loads', async () => {
      const session = await open();
      const { page } = session;
      const bucket = 'web-library-corrupt';
      const model = 'whitebox-cartoon';
      const altered: string[] = [];
      const target = (url: URL): boolean => url.pathname === `/api/v1/models/${model}`;
      await page.context().route(target, async (route) => {
        const response = await route.fetch();
        const body = await response.body();
        body.writeUInt8(body.readUInt8(body.length >> 1) ^ 0x01, body.length >> 1);
        altered.push(route.request().url());
        await route.fulfill({ response, body });
      });
      await started(page, bucket);
      expectFailure(await preload(page, [model]), 'E_MODEL_CORRUPT');
      expect(altered.length).toBe(1);
      expect(await cachedModels(page, bucket)).toEqual([]);
      // A run that needs it fails the same way, and downloads it again rather than remembering the failure.
      expectFailure(await cartoonize(page, PHOTO, { style: 'cartoon' }), 'E_MODEL_CORRUPT');
      expect(altered.length).toBe(2);
      expect(await cachedModels(page, bucket)).not.toContain(model);

      await page.context().unroute(target);
      expect(await preload(page, [model])).toEqual({ ok: true });
      expect(await cachedModels(page, bucket)).toContain(model);
      expect(altered.length).toBe(2);
    });

    it('a cached copy that was tampered with is downloaded again', async () => {
      const session = await open();
      const { page } = session;
      const bucket = 'web-library-tampered';
      const model = 'yunet-face';
      await started(page, bucket);
      expect(await preload(page, [model])).toEqual({ ok: true });
      expect(await page.evaluate(([b, m]) => (globalThis as unknown as PageApi).portoonTest.tamper(b, m), [bucket, model] as const)).toBe(
        true,
      );

      await reload(session);
      await started(page, bucket);
      expect(await preload(page, [model])).toEqual({ ok: true });
      const events = await downloads(page);
      expect(events.length).toBeGreaterThan(0);
      expect(events.every((d) => d.model === model && !d.cached)).toBe(true);
      expect(events.at(-1)).toMatchObject({ loaded: catalogue.model(model).bytes });
      expect(session.requests.filter((path) => path.startsWith('/api/v1/models/'))).toEqual([`/api/v1/models/${model}`]);
    });
  });

  it('refuses hostile photos with the codes the server gives the same bytes, never hangs, and works afterwards', async () => {
    const { page } = await open();
    await started(page, 'web-library-hostile');
    const small = await sharp(PHOTO).resize(96, 128).jpeg().toBuffer();
    const inputs: Array<[string, Uint8Array, ErrorCode]> = [
      ['empty', new Uint8Array(0), 'E_EMPTY_INPUT'],
      ['random bytes', noise(4096, 7), 'E_UNSUPPORTED_FORMAT'],
      ['a JPEG cut in half', PHOTO.subarray(0, PHOTO.length >> 1), 'E_DECODE_FAILED'],
      ['a PNG declaring 100000x100000', pngBomb(100_000, 100_000), 'E_IMAGE_TOO_LARGE'],
      [
        'an SVG',
        Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64" fill="red"/></svg>'),
        'E_UNSUPPORTED_FORMAT',
      ],
      ['text', Buffer.from('This is a letter, not a photo.\n'.repeat(20)), 'E_UNSUPPORTED_FORMAT'],
    ];
    const browserCodes: Record<string, unknown> = {};
    const serverCodes: Record<string, unknown> = {};
    const expected: Record<string, unknown> = {};
    for (const [name, bytes, code] of inputs) {
      const result = await cartoonize(page, bytes, { style: 'cartoon' }, { timeoutMs: 30_000 });
      browserCodes[name] = result.ok ? 'ok' : result.code;
      serverCodes[name] = await serverAnswer(bytes);
      expected[name] = code;
    }
    expect(browserCodes).toEqual(expected);
    expect(serverCodes).toEqual(expected);

    const after = await cartoonize(page, small, { style: 'cartoon', format: 'png' });
    expect(after).toMatchObject({ ok: true, report: { width: 96, height: 128 } });
  });

  it('refuses an unknown style (E_UNKNOWN_STYLE) and a bad option (E_BAD_OPTION), as the server does', async () => {
    const { page } = await open();
    await started(page, 'web-library-options');
    expectFailure(await cartoonize(page, PHOTO, { style: 'vaporwave' }), 'E_UNKNOWN_STYLE');
    expect(await serverAnswer(PHOTO, 'vaporwave')).toBe('E_UNKNOWN_STYLE');
    expectFailure(await cartoonize(page, PHOTO, { style: 'cartoon', strength: 7 }), 'E_BAD_OPTION');
  });

  it('an aborted signal stops the run with E_CLOSED, before it starts or once it has started; the engine goes on', async () => {
    const { page } = await open();
    await started(page, 'web-library-abort');
    const before = await cartoonize(page, PHOTO, { style: 'cartoon' }, { abort: 'before' });
    expectFailure(before, 'E_CLOSED');
    expect(before.stages).toEqual([]);
    const during = await cartoonize(page, PHOTO, { style: 'cartoon' }, { abort: 'progress' });
    expectFailure(during, 'E_CLOSED');
    expect(during.stages.length).toBeGreaterThan(0);
    expect(during.stages).not.toContain('encode');
    expect(await cartoonize(page, PHOTO, { style: 'cartoon' })).toMatchObject({ ok: true });
  });

  it('a server that needs a key: E_UNAUTHORIZED without it or with a wrong one; with it the models download', async () => {
    // Serves a model-free style, so it loads no model at start-up.
    keyServer = await startServerProcess(['--models-dir', TEST_MODELS_DIR, '--styles', 'cel', '--api-keys', API_KEY, '--workers', '1']);
    const session = await open(keyServer.url);
    const { page } = session;
    expectFailure(await create(page, false), 'E_UNAUTHORIZED');
    expectFailure(await create(page, false, `${API_KEY}-wrong`), 'E_UNAUTHORIZED');
    await started(page, false, API_KEY);
    expect(await preload(page, ['yunet-face'])).toEqual({ ok: true });
    expect(session.requests.filter((path) => path.startsWith('/api/v1/models/'))).toEqual(['/api/v1/models/yunet-face']);
  });

  it('close() fails the run under way and every later call with E_CLOSED', async () => {
    const { page } = await open();
    await started(page, 'web-library-close');
    const during = await cartoonize(page, PHOTO, { style: 'cartoon' }, { abort: 'close' });
    expectFailure(during, 'E_CLOSED');
    expect(during.stages.length).toBeGreaterThan(0);
    expectFailure(await cartoonize(page, PHOTO, { style: 'cartoon' }, { timeoutMs: 5_000 }), 'E_CLOSED');
    expectFailure(await preload(page, ['yunet-face']), 'E_CLOSED');
    // Closing twice is harmless.
    await page.evaluate(() => (globalThis as unknown as PageApi).portoonTest.close());
    expectFailure(await cartoonize(page, PHOTO, { style: 'cartoon' }, { timeoutMs: 5_000 }), 'E_CLOSED');
  });
});

/** The page API of PAGE_ENTRY, for typing the evaluated functions. */
interface PageApi {
  portoonTest: {
    downloads: Download[];
    create(options: Record<string, unknown>): Promise<Created>;
    cartoonize(photo: string, params: Record<string, unknown>, options: Record<string, unknown>): Promise<Cartoonized>;
    preload(models: string[], timeoutMs: number): Promise<{ ok: true } | Failure>;
    close(): void;
    cached(bucket: string): Promise<string[]>;
    tamper(bucket: string, model: string): Promise<boolean>;
  };
}
