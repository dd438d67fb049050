/**
 * "Process on this device" in the web UI, in real Chromium against the real server: the photo never
 * leaves the browser (no request carries it), the result equals the server's for the same photo and
 * settings (PSNR ≥ 40 dB), it is labelled as AI-generated, and a second visit loads every model from
 * Cache Storage without downloading a byte.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page, type Request } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readProvenance } from '../../src/core/provenance.js';
import { psnr } from '../../src/core/video/metrics.js';
import { extractXmp } from '../../src/core/xmp-embed.js';
import { assertWebUiBuilt, CHROMIUM, CHROMIUM_ARGS, js, until } from '../helpers/browser.js';
import { describeWithModels, IN_CI, portrait, TEST_MODELS_DIR, TEST_OUTPUT_DIR } from '../helpers/env.js';
import { cartoonForm } from '../helpers/http.js';
import { loadRgb } from '../helpers/images.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';

const MODELS = [
  'animeganv3-jpface-v1',
  'animeganv3-hayao36',
  'whitebox-cartoon',
  'retinaface-mnet025',
  'yunet-face',
  'bisenetv2-faceparsing-448',
];
const OUTPUT = join(TEST_OUTPUT_DIR, 'device-mode');
const PHOTO = '01-woman-mask-peace.jpg'; // 512x512, one face
/** Generous: the page shares two cores with the server rendering the same photo. */
const PAGE_TIMEOUT = 120_000;

assertWebUiBuilt();
const describeBrowser = existsSync(CHROMIUM) || IN_CI ? describeWithModels(MODELS) : describe.skip;

/** Requests that carry a body (an upload): in device mode there must be none. */
function carriesBody(request: Request): boolean {
  return request.method() !== 'GET' && request.method() !== 'HEAD';
}

function isModelDownload(request: Request): boolean {
  return new URL(request.url()).pathname.startsWith('/api/v1/models/');
}

describeBrowser('processing on this device (web UI)', () => {
  let server: ServerProcess;
  let browser: Browser;
  let context: BrowserContext;

  beforeAll(async () => {
    mkdirSync(OUTPUT, { recursive: true });
    [server, browser] = await Promise.all([
      startServerProcess(['--models-dir', TEST_MODELS_DIR, '--styles', 'anime,cartoon,cel']),
      chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }),
    ]);
    // One context for the whole suite: its Cache Storage is what a returning visitor has.
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  /** Renders the photo in the page with device mode on, and returns the result's bytes and the requests made. */
  async function renderOnDevice(style: string): Promise<{ bytes: Buffer; requests: Request[]; page: Page }> {
    const page = await context.newPage();
    const requests: Request[] = [];
    const errors: string[] = [];
    page.on('request', (request) => requests.push(request));
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(server.url);
    expect(await js<boolean>(page, 'crossOriginIsolated')).toBe(true);
    await page.check('#on-device');
    await page.waitForSelector(`.style-card[data-style="${style}"]`, { timeout: PAGE_TIMEOUT });
    await page.setInputFiles('#file-input', portrait(PHOTO));
    await page.click(`.style-card[data-style="${style}"]`);
    await page.waitForSelector('#run-button:not([disabled])', { timeout: PAGE_TIMEOUT });
    await page.click('#run-button');
    await until(page, `!document.getElementById('result').hidden || !document.getElementById('error').hidden`, 180_000);
    expect(await page.isHidden('#error'), (await page.textContent('#error')) ?? '').toBe(true);
    expect(await page.textContent('#status')).toMatch(/^Done on this device in [\d.]+ s\. 1 face found\.$/);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    const bytes = readFileSync(await download.path());
    expect(errors).toEqual([]);
    return { bytes, requests, page };
  }

  async function renderOnServer(style: string): Promise<Buffer> {
    const response = await fetch(`${server.url}/api/v1/cartoon`, {
      method: 'POST',
      body: cartoonForm(readFileSync(portrait(PHOTO)), { style, format: 'png' }),
    });
    expect(response.status).toBe(200);
    return Buffer.from(await response.arrayBuffer());
  }

  for (const style of ['cartoon', 'anime']) {
    it(`${style}: the photo is never uploaded and the result equals the server's (PSNR ≥ 40 dB)`, async () => {
      const { bytes, requests, page } = await renderOnDevice(style);
      // Nothing with a body left the page: no upload of the photo, not even a preview of it.
      expect(requests.filter(carriesBody).map((r) => `${r.method()} ${r.url()}`)).toEqual([]);
      expect(requests.some((r) => /\/api\/v1\/(cartoon|jobs)/.test(r.url()))).toBe(false);

      const onServer = await renderOnServer(style);
      await sharp(bytes).toFile(join(OUTPUT, `${style}-device.png`));
      await sharp(onServer).toFile(join(OUTPUT, `${style}-server.png`));
      const [device, reference, original] = await Promise.all([loadRgb(bytes), loadRgb(onServer), loadRgb(portrait(PHOTO))]);
      expect([device.width, device.height]).toEqual([reference.width, reference.height]);
      const measured = psnr(device, reference);
      console.log(`${style}: device vs server PSNR ${measured.toFixed(2)} dB`);
      expect(measured).toBeGreaterThanOrEqual(40);
      // And it is a cartoon, not the photo handed back.
      expect(psnr(device, original)).toBeLessThan(25);

      const xmp = extractXmp(bytes);
      expect(xmp).toBeDefined();
      expect(readProvenance(xmp!)).toMatchObject({ style, digitalSourceType: expect.stringContaining('trainedAlgorithmicMedia') });
      await page.close();
    }, 240_000);
  }

  it('a second visit loads the models from Cache Storage: no model bytes are downloaded', async () => {
    const { requests, page } = await renderOnDevice('cartoon');
    expect(requests.filter(isModelDownload).map((r) => r.url())).toEqual([]);
    const cached = await js<string[]>(
      page,
      `caches.open('portoon-models-v1').then((c) => c.keys()).then((keys) => keys.map((k) => new URL(k.url).pathname))`,
    );
    expect(cached).toEqual(expect.arrayContaining(['/api/v1/models/whitebox-cartoon', '/api/v1/models/yunet-face']));
    await page.close();
  }, 240_000);
});
