/**
 * The live camera page (/live) in a real browser against the real server as a process (the built UI
 * in dist/web): a fake camera (a talking-head clip as a Y4M file) drawn through WebGL2 on every
 * frame in each shader style, a stylized face overlay warped onto the frame, a lost and restored
 * WebGL context, snapshots labelled as AI-generated (visibly and in their XMP), recordings, an
 * unknown style, a refused and a missing camera, a phone-sized screen.
 *
 * Pixels are compared in the page: a requestVideoFrameCallback registered after the page's own runs
 * in the same batch, right after the frame was drawn, so the camera frame (drawn into a 2D canvas)
 * and the stylized canvas are read for the same frame.
 *
 * Canvas frames per style land in test-output/screenshots/live-<style>.png, the page in
 * live-page.png and live-phone.png: look at them after changing the shaders. The display rate per
 * style is printed, not asserted (it depends on the machine).
 */
import { readWatermark } from '../../src/core/provenance/watermark.js';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readProvenance, TRAINED_ALGORITHMIC_MEDIA } from '../../src/core/provenance.js';
import { extractXmp } from '../../src/core/xmp-embed.js';
import { assertWebUiBuilt, CHROMIUM, js, until } from '../helpers/browser.js';
import { IN_CI, REPO_ROOT, TEST_OUTPUT_DIR, video } from '../helpers/env.js';
import { launchWithFakeCamera, makeFakeCameraY4m } from '../helpers/fake-camera.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';

const CLIP = '03-talking-head-woman.mp4';
const WIDTH = 640;
const HEIGHT = 480;
const STYLES = ['original', 'cel', 'watercolor', 'comic', 'sketch'];
const SCREENSHOTS = join(TEST_OUTPUT_DIR, 'screenshots');
/** The live page needs no models: the server runs with an empty models folder. */
const EMPTY_MODELS = join(TEST_OUTPUT_DIR, 'live-empty-models');
const LIVE_PAGE = join(REPO_ROOT, 'dist/web/live.html');

const DESKTOP: BrowserContextOptions = { viewport: { width: 1280, height: 900 } };
const PHONE: BrowserContextOptions = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

assertWebUiBuilt();
if (!existsSync(LIVE_PAGE)) throw new Error(`${LIVE_PAGE} is missing: build the web UI ("npx vite build") first.`);
const describeBrowser = (existsSync(CHROMIUM) && existsSync(video(CLIP))) || IN_CI ? describe : describe.skip;

/** Keeps what the page hands to the face styles (see main.ts) where the test can reach it. */
const CAPTURE_STYLIZER = `document.addEventListener('portoon:live-camera', (event) => { window.__liveCamera = event.detail; })`;

const FRAMES = `Number(document.getElementById('live-stats').dataset.frames)`;

/** Defines window.__grab(): the next drawn frame, as camera and stylized pixels read in the same batch. */
const GRAB_HELPERS = `(() => {
  const read = (source, width, height) => {
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    const context = canvas.getContext('2d', { willReadFrequently: true });
    context.drawImage(source, 0, 0, width, height);
    return { canvas, data: context.getImageData(0, 0, width, height).data };
  };
  window.__grab = () => new Promise((resolve) => {
    const video = document.getElementById('live-video');
    const stylized = document.getElementById('live-canvas');
    video.requestVideoFrameCallback(() => {
      const width = stylized.width;
      const height = stylized.height;
      const camera = read(video, width, height);
      const styled = read(stylized, width, height);
      let sum = 0;
      for (let i = 0; i < camera.data.length; i += 4) {
        sum += Math.abs(camera.data[i] - styled.data[i]) + Math.abs(camera.data[i + 1] - styled.data[i + 1]) + Math.abs(camera.data[i + 2] - styled.data[i + 2]);
      }
      const pixel = (x, y) => [...styled.data.subarray((y * width + x) * 4, (y * width + x) * 4 + 3)];
      const cameraPixel = (x, y) => [...camera.data.subarray((y * width + x) * 4, (y * width + x) * 4 + 3)];
      window.__lastGrab = { pixel, cameraPixel };
      resolve({ width, height, meanDiff: sum / (width * height * 3), png: styled.canvas.toDataURL('image/png'), style: stylized.dataset.style });
    });
  });
})()`;

interface Grab {
  width: number;
  height: number;
  /** Mean absolute difference between camera and stylized frame, per channel value (0..255). */
  meanDiff: number;
  /** The stylized frame as a PNG data URL. */
  png: string;
  style: string;
}

interface Stats {
  fps: number;
  latency: number;
  faceRefresh: number;
  frames: number;
}

/** Each channel of an RGB pixel within `tolerance` of the expected one. */
function expectNear(actual: readonly number[], expected: readonly number[], tolerance = 12): void {
  expect(actual).toHaveLength(3);
  for (let k = 0; k < 3; k++)
    expect(Math.abs(actual[k]! - expected[k]!), `channel ${k} of [${actual.join(', ')}] vs [${expected.join(', ')}]`).toBeLessThanOrEqual(
      tolerance,
    );
}

function dataUrlBytes(url: string): Buffer {
  return Buffer.from(url.slice(url.indexOf(',') + 1), 'base64');
}

/** Downloads what a link offers (as a user's click does) and returns its name and bytes. */
async function download(page: Page, selector: string): Promise<{ name: string; bytes: Buffer }> {
  const [file] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
  const path = await file.path();
  return { name: file.suggestedFilename(), bytes: readFileSync(path) };
}

async function stats(page: Page): Promise<Stats> {
  const data = await js<Record<string, string>>(page, `({ ...document.getElementById('live-stats').dataset })`);
  return { fps: Number(data.fps), latency: Number(data.latency), faceRefresh: Number(data.faceRefresh), frames: Number(data.frames) };
}

/** Waits until `count` more frames have been drawn than now. */
async function framesPass(page: Page, count: number): Promise<void> {
  const from = await js<number>(page, FRAMES);
  await until(page, `${FRAMES} >= ${from + count}`, 90_000);
}

async function selectStyle(page: Page, style: string): Promise<void> {
  await page.click(`label[for="camera-style-${style}"]`);
  expect(await js<boolean>(page, `document.getElementById('camera-style-${style}').checked`)).toBe(true);
  expect(await js<string>(page, `document.getElementById('live-canvas').dataset.style`)).toBe(style);
}

describeBrowser('live camera page in a real browser', () => {
  let server: ServerProcess | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  /** Uncaught exceptions and console errors in the page: there should never be any. */
  const problems: string[] = [];

  async function openPage(options: BrowserContextOptions, path: string, initScripts: string[] = []): Promise<Page> {
    const ctx = await browser!.newContext({ ...options, acceptDownloads: true });
    for (const script of initScripts) await ctx.addInitScript(script);
    const p = await ctx.newPage();
    p.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
    p.on('console', (message) => {
      // Chromium's own GL performance notes (the test reads the WebGL canvas back) are not the page's.
      if (message.type() === 'error' && !message.text().startsWith('[.WebGL-')) problems.push(`console: ${message.text()}`);
    });
    await p.goto(`${server!.url}${path}`);
    return p;
  }

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    mkdirSync(EMPTY_MODELS, { recursive: true });
    const y4m = await makeFakeCameraY4m(CLIP, { seconds: 6, width: WIDTH, height: HEIGHT, fps: 30 });
    [server, browser] = await Promise.all([startServerProcess(['--models-dir', EMPTY_MODELS]), launchWithFakeCamera(y4m)]);
    page = await openPage(DESKTOP, '/live?autostart=1', [CAPTURE_STYLIZER]);
    context = page.context();
    await until(page, `${FRAMES} > 0 || document.getElementById('live-error').textContent`, 60_000);
    expect(await js<string>(page, `document.getElementById('live-error').textContent`)).toBe('');
    await js(page, GRAB_HELPERS);
  });

  beforeEach(() => {
    problems.length = 0;
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await server?.stop();
  });

  it('draws every camera frame once, at the camera size', async () => {
    expect(await js<string>(page, `document.getElementById('live-screen').dataset.state`)).toBe('running');
    expect(
      await js<[number, number]>(page, `[document.getElementById('live-canvas').width, document.getElementById('live-canvas').height]`),
    ).toEqual([WIDTH, HEIGHT]);
    const first = await stats(page);
    await framesPass(page, 30);
    const later = await stats(page);
    expect(later.frames).toBeGreaterThan(first.frames);
    expect(later.fps).toBeGreaterThan(0);
    expect(later.latency).toBeGreaterThan(0);
    expect(await js<string>(page, `document.getElementById('stat-fps').textContent`)).toMatch(/^\d+$/);
    expect(await js<string>(page, `document.getElementById('stat-face').textContent`)).toBe('–');

    // One draw per presented camera frame: over 20 frames seen by a callback of our own (which runs
    // right after the page's for the same frame), the page drew exactly one frame per callback.
    const counted = await js<{ callbacks: number; drawn: number }>(
      page,
      `new Promise((resolve) => {
        const video = document.getElementById('live-video');
        const stylizer = window.__liveCamera.stylizer;
        let callbacks = 0;
        let firstFrames = 0;
        const step = () => {
          callbacks++;
          if (callbacks === 1) firstFrames = stylizer.stats().frames;
          if (callbacks === 21) resolve({ callbacks: callbacks - 1, drawn: stylizer.stats().frames - firstFrames });
          else video.requestVideoFrameCallback(step);
        };
        video.requestVideoFrameCallback(step);
      })`,
    );
    expect(counted.drawn).toBe(counted.callbacks);
    expect(problems).toEqual([]);
  });

  it('draws each shader style: original like the camera, the others clearly different', async () => {
    const measured: string[] = [];
    const diffs: Record<string, number> = {};
    for (const style of STYLES) {
      await selectStyle(page, style);
      // Two and a half seconds of frames: the rate is measured over the last two.
      await framesPass(page, 75);
      const { fps, latency } = await stats(page);
      const grab = await js<Grab>(page, 'window.__grab()');
      expect(grab.style).toBe(style);
      expect([grab.width, grab.height]).toEqual([WIDTH, HEIGHT]);
      writeFileSync(join(SCREENSHOTS, `live-${style}.png`), dataUrlBytes(grab.png));
      diffs[style] = grab.meanDiff;
      measured.push(
        `${style}: ${fps.toFixed(1)} fps, ${latency.toFixed(1)} ms latency, mean difference from the camera ${grab.meanDiff.toFixed(1)}`,
      );
    }
    console.log(`[live display ${WIDTH}x${HEIGHT}]\n  ${measured.join('\n  ')}`);
    expect(diffs.original).toBeLessThan(4);
    for (const style of STYLES.filter((s) => s !== 'original')) expect(diffs[style], style).toBeGreaterThan(8);
    await page.screenshot({ path: join(SCREENSHOTS, 'live-page.png'), animations: 'disabled' });
    expect(problems).toEqual([]);
  });

  it('rejects an unknown style with a RangeError and keeps drawing', async () => {
    const thrown = await js<string>(
      page,
      `(() => {
        try {
          window.__liveCamera.stylizer.setShaderStyle('no-such-style');
          return 'nothing thrown';
        } catch (error) {
          return error.name + ': ' + error.message;
        }
      })()`,
    );
    expect(thrown).toMatch(/^RangeError: .*no-such-style/);
    await framesPass(page, 5);
    expect(problems).toEqual([]);
  });

  it('warps a face overlay onto every frame, re-uploading it when its version changes', async () => {
    await selectStyle(page, 'original');
    // A 128 px crop covering the frame square (100, 50)-(356, 306): u = x/2 - 50, v = y/2 - 25. A disk
    // of radius 48 around the crop's centre lands on (228, 178), radius 96, in the frame.
    await js(
      page,
      `(async () => {
        const disk = async (colour) => {
          const canvas = new OffscreenCanvas(128, 128);
          const context = canvas.getContext('2d');
          context.fillStyle = colour;
          context.beginPath();
          context.arc(64, 64, 48, 0, Math.PI * 2);
          context.fill();
          return createImageBitmap(canvas, { premultiplyAlpha: 'none' });
        };
        const magenta = await disk('#ff00ff');
        const green = await disk('#00ff00');
        const source = {
          overlay: { image: magenta, frameToCrop: [0.5, 0, -50, 0, 0.5, -25], version: 1 },
          calls: 0,
          times: [],
          overlays(frameTimeMs) {
            this.calls++;
            this.times.push(frameTimeMs);
            return [this.overlay];
          },
          refreshRate() {
            return 7.5;
          },
        };
        window.__faces = { source, green };
        const stylizer = window.__liveCamera.stylizer;
        window.__facesFrom = stylizer.stats().frames;
        stylizer.setFaces(source);
      })()`,
    );
    await framesPass(page, 3);
    await js(page, 'window.__grab()');
    const inside = await js<number[]>(page, 'window.__lastGrab.pixel(228, 178)');
    const rim = await js<number[]>(page, 'window.__lastGrab.pixel(228, 178 - 80)');
    const corner = await js<[number[], number[]]>(page, '[window.__lastGrab.pixel(110, 60), window.__lastGrab.cameraPixel(110, 60)]');
    const outside = await js<[number[], number[]]>(page, '[window.__lastGrab.pixel(500, 400), window.__lastGrab.cameraPixel(500, 400)]');
    expectNear(inside, [255, 0, 255]);
    expect(rim[0]! - rim[1]!).toBeGreaterThan(150); // still inside the disk, 80 px above its centre
    // Inside the crop's square but outside the disk (alpha 0), and outside the square: the camera.
    for (const [drawn, camera] of [corner, outside]) expectNear(drawn, camera);

    // Called once per drawn frame, with the frame's time in performance.now() milliseconds.
    const calls = await js<{ calls: number; drawn: number; times: number[]; now: number }>(
      page,
      `({ calls: window.__faces.source.calls, drawn: window.__liveCamera.stylizer.stats().frames - window.__facesFrom, times: window.__faces.source.times.slice(-5), now: performance.now() })`,
    );
    expect(calls.calls).toBe(calls.drawn);
    for (const time of calls.times) {
      expect(time).toBeGreaterThan(0);
      expect(time).toBeLessThanOrEqual(calls.now);
    }
    expect(await js<number>(page, 'window.__liveCamera.stylizer.stats().faceRefreshPerSecond')).toBe(7.5);
    await until(page, `document.getElementById('live-stats').dataset.faceRefresh === '7.5'`);
    expect(await js<string>(page, `document.getElementById('stat-face').textContent`)).toBe('7.5/s');

    // A new image with a new version replaces the texture.
    await js(page, `window.__faces.source.overlay = { ...window.__faces.source.overlay, image: window.__faces.green, version: 2 }`);
    await framesPass(page, 3);
    await js(page, 'window.__grab()');
    expectNear(await js<number[]>(page, 'window.__lastGrab.pixel(228, 178)'), [0, 255, 0]);

    await js(page, 'window.__liveCamera.stylizer.setFaces(undefined)');
    await framesPass(page, 3);
    await js(page, 'window.__grab()');
    const [after, camera] = await js<[number[], number[]]>(
      page,
      '[window.__lastGrab.pixel(228, 178), window.__lastGrab.cameraPixel(228, 178)]',
    );
    expectNear(after, camera);
    await until(page, `document.getElementById('stat-face').textContent === '–'`);
    expect(problems).toEqual([]);
  });

  it('survives a lost WebGL context: drawing pauses, then resumes when the context is restored', async () => {
    await selectStyle(page, 'cel');
    await framesPass(page, 3);
    await js(page, `window.__loseContext = document.getElementById('live-canvas').getContext('webgl2').getExtension('WEBGL_lose_context')`);
    // While lost, camera frames keep coming but none is drawn.
    const whileLost = await js<{ callbacks: number; drawn: number }>(
      page,
      `new Promise((resolve) => {
        const video = document.getElementById('live-video');
        const stylizer = window.__liveCamera.stylizer;
        window.__loseContext.loseContext();
        const from = stylizer.stats().frames;
        let callbacks = 0;
        const step = () => {
          if (++callbacks === 10) resolve({ callbacks, drawn: stylizer.stats().frames - from });
          else video.requestVideoFrameCallback(step);
        };
        video.requestVideoFrameCallback(step);
      })`,
    );
    // Restored before the check, so a failure here does not leave the page without a context for the next tests.
    await js(page, 'window.__loseContext.restoreContext()');
    expect(whileLost).toEqual({ callbacks: 10, drawn: 0 });
    await framesPass(page, 5);
    const grab = await js<Grab>(page, 'window.__grab()');
    expect(grab.style).toBe('cel');
    expect(grab.meanDiff).toBeGreaterThan(8);
    await selectStyle(page, 'original');
    await framesPass(page, 3);
    expect((await js<Grab>(page, 'window.__grab()')).meanDiff).toBeLessThan(4);
    expect(problems).toEqual([]);
  });

  it('takes a snapshot labelled as AI-generated, in its pixels and its XMP', async () => {
    await selectStyle(page, 'cel');
    await framesPass(page, 3);
    // The click asks for the next drawn frame; our callback, registered just after, reads that same
    // frame without the label.
    const unlabelled = await js<string>(
      page,
      `new Promise((resolve) => {
        document.getElementById('snapshot-button').click();
        document.getElementById('live-video').requestVideoFrameCallback(() => {
          const source = document.getElementById('live-canvas');
          const canvas = document.createElement('canvas');
          canvas.width = source.width;
          canvas.height = source.height;
          canvas.getContext('2d').drawImage(source, 0, 0);
          resolve(canvas.toDataURL('image/png'));
        });
      })`,
    );
    await until(
      page,
      `!document.getElementById('snapshot-link').hidden && document.getElementById('snapshot-link').href.startsWith('blob:')`,
    );
    const name = await js<string>(page, `document.getElementById('snapshot-link').download`);
    expect(name).toMatch(/^portoon-live-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.png$/);
    const { name: downloadedName, bytes: png } = await download(page, '#snapshot-link');
    expect(downloadedName).toBe(name);
    writeFileSync(join(SCREENSHOTS, 'live-snapshot.png'), png);

    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(png.toString('latin1')).toContain('trainedAlgorithmicMedia');
    const xmp = extractXmp(new Uint8Array(png));
    expect(xmp).toBeDefined();
    const provenance = readProvenance(xmp!);
    expect(provenance.digitalSourceType).toBe(TRAINED_ALGORITHMIC_MEDIA);
    expect(provenance.software).toBe('Portoon');
    expect(provenance.style).toBe('cel');
    expect(provenance.version).toMatch(/^\d+\.\d+\.\d+/);

    // The snapshot is that frame plus the marks: the label, a small box in the bottom-right corner
    // where they differ a lot (dark badge, white text), and the invisible watermark, which changes the
    // rest by a level or two and reads back with the id the XMP names.
    const decode = async (bytes: Buffer) => (await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true })).data;
    const [labelled, plain] = await Promise.all([decode(png), decode(dataUrlBytes(unlabelled))]);
    expect(labelled.length).toBe(WIDTH * HEIGHT * 3);
    let changed = 0;
    let minX = WIDTH;
    let minY = HEIGHT;
    let sumOutside = 0;
    let countOutside = 0;
    const box = { x: WIDTH - 160, y: HEIGHT - 60 };
    for (let y = 0; y < HEIGHT; y++) {
      for (let x = 0; x < WIDTH; x++) {
        const i = (y * WIDTH + x) * 3;
        const d =
          Math.abs(labelled[i]! - plain[i]!) + Math.abs(labelled[i + 1]! - plain[i + 1]!) + Math.abs(labelled[i + 2]! - plain[i + 2]!);
        const inBox = x >= box.x && y >= box.y;
        if (!inBox) {
          sumOutside += d / 3;
          countOutside++;
        }
        if (d > 60) {
          changed++;
          minX = Math.min(minX, x);
          minY = Math.min(minY, y);
        }
      }
    }
    expect(sumOutside / countOutside).toBeLessThan(2);
    expect(changed).toBeGreaterThan(400);
    const watermark = readWatermark({ width: WIDTH, height: HEIGHT, channels: 3, data: new Uint8Array(labelled) });
    expect(provenance.id).toMatch(/^[0-9a-f]{12}$/);
    expect(watermark).toMatchObject({ found: true, id: provenance.id });
    expect(minX).toBeGreaterThanOrEqual(box.x);
    expect(minY).toBeGreaterThanOrEqual(box.y);

    expect(problems).toEqual([]);
  });

  it('records the live picture to WebM', async () => {
    await page.click('#record-button');
    expect(await js<string>(page, `document.getElementById('record-button').getAttribute('aria-pressed')`)).toBe('true');
    expect(await js<boolean>(page, `document.getElementById('record-time').hidden`)).toBe(false);
    await framesPass(page, 45);
    await until(page, `document.getElementById('record-time').textContent !== '0:00'`);
    await page.click('#record-button');
    await until(
      page,
      `!document.getElementById('recording-link').hidden && document.getElementById('recording-link').href.startsWith('blob:')`,
    );
    expect(await js<string>(page, `document.getElementById('recording-link').download`)).toMatch(/^portoon-live-.*\.webm$/);
    const { name, bytes: webm } = await download(page, '#recording-link');
    expect(name).toMatch(/^portoon-live-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.webm$/);
    expect(webm.length).toBeGreaterThan(10_000);
    expect(webm.readUInt32BE(0)).toBe(0x1a45dfa3); // EBML magic
    expect(await js<string>(page, `document.getElementById('record-button').getAttribute('aria-pressed')`)).toBe('false');
    expect(problems).toEqual([]);
  });

  it('stops and restarts the camera', async () => {
    await page.click('#start-button');
    await until(page, `document.getElementById('live-screen').dataset.state === 'idle'`);
    expect(await js<boolean>(page, `document.getElementById('snapshot-button').disabled`)).toBe(true);
    expect(await js<string>(page, `document.getElementById('start-button').textContent`)).toBe('Start camera');
    const stoppedAt = await js<number>(page, FRAMES);
    await page.click('#start-button');
    await until(page, `document.getElementById('live-screen').dataset.state === 'running'`);
    // A new stylizer counts from 1 again.
    await until(page, `${FRAMES} > 10 && ${FRAMES} !== ${stoppedAt}`);
    expect(problems).toEqual([]);
  });

  it('says clearly when the camera is refused or missing', async () => {
    for (const [errorName, message] of [
      ['NotAllowedError', /denied/],
      ['NotFoundError', /No camera was found/],
    ] as const) {
      const refuse = `navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('refused by the test', '${errorName}'))`;
      const denied = await openPage(DESKTOP, '/live', [refuse]);
      await denied.click('#start-button');
      await until(denied, `!document.getElementById('live-error').hidden`);
      expect(await js<string>(denied, `document.getElementById('live-error').textContent`)).toMatch(message);
      expect(await js<string>(denied, `document.getElementById('live-screen').dataset.state`)).toBe('idle');
      expect(await js<boolean>(denied, `document.getElementById('snapshot-button').disabled`)).toBe(true);
      expect(await js<string>(denied, `document.getElementById('start-button').textContent`)).toBe('Start camera');
      await denied.context().close();
    }
    expect(problems).toEqual([]);
  });

  it('fits a phone-sized screen', async () => {
    // The desktop page is done: one camera page at a time.
    await context?.close();
    context = undefined;
    const phone = await openPage(PHONE, '/live?autostart=1&style=watercolor');
    await until(phone, `${FRAMES} > 20`, 60_000);
    const [scrollWidth, innerWidth] = await js<[number, number]>(phone, '[document.scrollingElement.scrollWidth, window.innerWidth]');
    expect(scrollWidth).toBeLessThanOrEqual(innerWidth);
    expect(await js<boolean>(phone, `document.getElementById('camera-style-watercolor').checked`)).toBe(true);
    const canvasBox = await phone.locator('#live-canvas').boundingBox();
    expect(canvasBox!.width).toBeGreaterThan(300);
    await phone.screenshot({ path: join(SCREENSHOTS, 'live-phone.png'), fullPage: true, animations: 'disabled' });
    await phone.context().close();
    expect(problems).toEqual([]);
  });
});
