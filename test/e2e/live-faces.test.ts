/**
 * Neural face styles on the live camera page, in real Chromium with a fake camera (a talking-head
 * clip) against the real server: the face is redrawn by the style's model on this device and warped
 * onto every frame, the rest of the picture stays as the camera style draws it, and a second visit
 * loads the models from Cache Storage without downloading a byte.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertWebUiBuilt, CHROMIUM, js, until } from '../helpers/browser.js';
import { describeWithModels, IN_CI, TEST_MODELS_DIR, TEST_OUTPUT_DIR } from '../helpers/env.js';
import { launchWithFakeCamera, makeFakeCameraY4m } from '../helpers/fake-camera.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';

const MODELS = ['whitebox-cartoon', 'yunet-face', 'retinaface-mnet025'];
const SCREENSHOTS = join(TEST_OUTPUT_DIR, 'screenshots');
/** Generous: the page, its two engine workers and the server share two cores. */
const LIVE_TIMEOUT = 180_000;

assertWebUiBuilt();
const describeBrowser = existsSync(CHROMIUM) || IN_CI ? describeWithModels(MODELS) : describe.skip;

interface RegionDiffs {
  /** Mean absolute RGB difference between the drawn frame and the camera frame, per region. */
  face: number;
  corners: number;
}

/**
 * In the page: on the next camera frame, after the stylizer has drawn it, copies the camera frame
 * and the drawn canvas into 2D canvases and compares them in the middle of the picture (where the
 * talking head's face is) and in the four corners (background).
 */
const REGION_DIFFS = `new Promise((resolve) => {
  const video = document.getElementById('live-video');
  const canvas = document.getElementById('live-canvas');
  video.requestVideoFrameCallback(() => {
    const w = canvas.width, h = canvas.height;
    const read = (source) => {
      const c = document.createElement('canvas'); c.width = w; c.height = h;
      const g = c.getContext('2d', { willReadFrequently: true }); g.drawImage(source, 0, 0, w, h);
      return g.getImageData(0, 0, w, h).data;
    };
    const drawn = read(canvas), camera = read(video);
    const mean = (x0, y0, x1, y1) => {
      let sum = 0, n = 0;
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) {
        const i = (y * w + x) * 4;
        sum += Math.abs(drawn[i] - camera[i]) + Math.abs(drawn[i + 1] - camera[i + 1]) + Math.abs(drawn[i + 2] - camera[i + 2]);
        n += 3;
      }
      return sum / n;
    };
    const cw = Math.round(w * 0.12), ch = Math.round(h * 0.12);
    const corners = (mean(0, 0, cw, ch) + mean(w - cw, 0, w, ch) + mean(0, h - ch, cw, h) + mean(w - cw, h - ch, w, h)) / 4;
    resolve({ face: mean(Math.round(w * 0.35), Math.round(h * 0.3), Math.round(w * 0.65), Math.round(h * 0.7)), corners });
  });
})`;

describeBrowser('neural face styles on the live page', () => {
  let server: ServerProcess;
  let browser: Browser;
  let context: BrowserContext;

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    const y4m = await makeFakeCameraY4m('03-talking-head-woman.mp4', { seconds: 10 });
    [server, browser] = await Promise.all([
      startServerProcess(['--models-dir', TEST_MODELS_DIR, '--styles', 'cartoon,cel']),
      launchWithFakeCamera(y4m),
    ]);
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  async function openLive(face: string): Promise<{ page: Page; requests: Request[]; errors: string[] }> {
    const page = await context.newPage();
    const requests: Request[] = [];
    const errors: string[] = [];
    page.on('request', (request) => requests.push(request));
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${server.url}/live?autostart=1&style=original&face=${face}`);
    await until(page, `Number(document.getElementById('neural-styles').dataset.refreshRate ?? 0) > 0`, LIVE_TIMEOUT, 250);
    return { page, requests, errors };
  }

  it('redraws the face with the model and leaves the rest of the picture to the camera style', async () => {
    const { page, errors } = await openLive('cartoon');
    expect(await page.isChecked('input[name="face-style"][value="cartoon"]')).toBe(true);
    expect(await js(page, `document.getElementById('neural-styles').dataset.models`)).toBe('yunet-face,whitebox-cartoon');
    const tracking = await until<number>(
      page,
      `Number(document.getElementById('neural-styles').dataset.trackRate ?? 0) || 0`,
      LIVE_TIMEOUT,
    );
    expect(tracking).toBeGreaterThan(0);

    const diffs = await js<RegionDiffs>(page, REGION_DIFFS);
    await page.screenshot({ path: join(SCREENSHOTS, 'live-face-cartoon.png') });
    console.log(`face region differs by ${diffs.face.toFixed(1)}, corners by ${diffs.corners.toFixed(1)} (mean abs RGB)`);
    // The face is the model's drawing; the background is the camera ('original' camera style).
    expect(diffs.face).toBeGreaterThan(12);
    expect(diffs.corners).toBeLessThan(4);
    expect(diffs.face).toBeGreaterThan(diffs.corners * 4);

    // Frames keep coming while the face model works: the display never waits for it.
    const before = Number(await js(page, `document.getElementById('live-stats').dataset.frames`));
    await until(page, `Number(document.getElementById('live-stats').dataset.frames) > ${before + 30}`, LIVE_TIMEOUT);

    // Choosing "None" takes the face off again.
    await page.check('input[name="face-style"][value="none"]');
    await until(page, `document.getElementById('neural-styles').dataset.style === undefined`, 30_000);
    const after = await js<RegionDiffs>(page, REGION_DIFFS);
    expect(after.face).toBeLessThan(4);
    expect(errors).toEqual([]);
    await page.close();
  }, 300_000);

  it('a second visit loads the face models from Cache Storage and downloads no model bytes', async () => {
    const { page, requests } = await openLive('cartoon');
    expect(requests.filter((r) => new URL(r.url()).pathname.startsWith('/api/v1/models/')).map((r) => r.url())).toEqual([]);
    await page.close();
  }, 300_000);
});
