/**
 * The web UI with a video, in a real browser (Debian's Chromium through playwright-core) against the
 * real server as a process, which serves the built UI from dist/web (`npm run build` first). A user's
 * path: choose a short clip with sound, see the styles previewed on a frame of it, pick a style and a
 * size, follow the progress in frames, watch the cartoon beside the original (they play together),
 * download it; then a photo in the same page. Also: cancelling a running video (on a phone-sized
 * screen), files refused before any upload (a text file named .mp4, a video over the limit), and the
 * server's own errors (no ffmpeg on the server; a damaged video whose job fails).
 * The clips are made from the shared test videos into test-output/e2e-video/; screenshots land in
 * test-output/screenshots/ (look at them after UI changes).
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type BrowserContextOptions, type Page, type Request } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PublicJobStatus } from '../../src/core/job.js';
import { describeWithModels, IN_CI, portrait, TEST_MODELS_DIR, TEST_OUTPUT_DIR, video } from '../helpers/env.js';
import { assertWebUiBuilt, CHROMIUM, CHROMIUM_ARGS, FETCH_SPY, js, until } from '../helpers/browser.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';

const run = promisify(execFile);

const SCREENSHOTS = join(TEST_OUTPUT_DIR, 'screenshots');
const WORK = join(TEST_OUTPUT_DIR, 'e2e-video');
/** A models folder with no models: only the procedural styles are installed there. */
const EMPTY_MODELS = join(TEST_OUTPUT_DIR, 'e2e-empty-models');

/** Models the served styles (cartoon, cel) and the face steps need. */
const MODELS = ['whitebox-cartoon', 'retinaface-mnet025', 'yunet-face', 'bisenetv2-faceparsing-448'];

const SOURCE_CLIP = '03-talking-head-woman.mp4'; // 376x352, 15 fps, 29 frames, one face, no sound
const CLIP_FRAMES = 29;
/** "Small" in the size menu. */
const SMALL_SIDE = '360';
/** 376x352 with the long side at 360: 352 × 360/376 = 337.0, and frame sides are even (frameSize in src/node/video/frame-reader.ts). */
const SMALL_SIZE: [number, number] = [360, 336];
const PHOTO = '01-woman-mask-peace.jpg'; // 512x512 JPEG, one face

const DESKTOP: BrowserContextOptions = { viewport: { width: 1280, height: 860 } };
const PHONE: BrowserContextOptions = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

const hasFfmpeg = spawnSync('ffmpeg', ['-version']).status === 0 && spawnSync('ffprobe', ['-version']).status === 0;
assertWebUiBuilt();
const describeBrowser = (existsSync(CHROMIUM) && hasFfmpeg) || IN_CI ? describeWithModels(MODELS) : describe.skip;

interface Session {
  page: Page;
  /** Uncaught exceptions in the page: there should never be any. */
  errors: string[];
  /** Every request the page made. */
  requests: Request[];
  /** Every job status the page received (submits, polls, cancels), in order. */
  jobs: PublicJobStatus[];
}

function isJobRequest(request: Request): boolean {
  return /^\/api\/v1\/jobs(\/[^/]+)?$/.test(new URL(request.url()).pathname);
}

function isJobSubmit(request: Request): boolean {
  return request.method() === 'POST' && new URL(request.url()).pathname === '/api/v1/jobs';
}

async function screenshot(page: Page, name: string): Promise<void> {
  await js(page, 'window.scrollTo(0, 0)');
  await page.screenshot({ path: join(SCREENSHOTS, `web-video-${name}.png`), fullPage: true, animations: 'disabled' });
}

async function noHorizontalOverflow(page: Page): Promise<void> {
  const [scrollWidth, innerWidth] = await js<[number, number]>(page, '[document.scrollingElement.scrollWidth, window.innerWidth]');
  expect(scrollWidth).toBeLessThanOrEqual(innerWidth);
}

/** Waits until `count` style thumbnails show the user's own picture (a photo, or a frame of the video), decoded. */
async function waitForOwnThumbnails(page: Page, count: number): Promise<void> {
  await until(
    page,
    `(() => {
      const images = [...document.querySelectorAll('img[data-preview="photo"]')];
      return images.length === ${count} && images.every((i) => i.complete && i.naturalWidth > 0);
    })()`,
    90_000,
  );
}

/** The form fields the page sent to the jobs API, the n-th time (recorded by the fetch spy). */
function jobForm(page: Page, n: number): Promise<Array<[string, string]>> {
  return until(page, `window.__portoonForms.filter((f) => f.url === '/api/v1/jobs')[${n}]?.fields`);
}

/** What ffprobe counts in a file: each stream's type and codec, the video's size and its decoded frames. */
async function probe(path: string): Promise<{ video: { width: number; height: number; frames: number }; audio: string[] }> {
  const { stdout } = await run('ffprobe', [
    ...['-v', 'error', '-count_frames', '-of', 'json'],
    ...['-show_entries', 'stream=codec_type,codec_name,width,height,nb_read_frames', path],
  ]);
  const streams = (JSON.parse(stdout) as { streams: Array<Record<string, string | number>> }).streams;
  const picture = streams.find((s) => s.codec_type === 'video');
  if (!picture) throw new Error(`${path} has no video stream`);
  return {
    video: { width: Number(picture.width), height: Number(picture.height), frames: Number(picture.nb_read_frames) },
    audio: streams.filter((s) => s.codec_type === 'audio').map((s) => String(s.codec_name)),
  };
}

/** The shared clip with a 440 Hz tone as its sound track, repeated `loops` times; made once per run. */
async function makeClip(name: string, loops: number): Promise<string> {
  const out = join(WORK, name);
  await run('ffmpeg', [
    ...['-v', 'error', '-y', '-stream_loop', String(loops - 1), '-i', video(SOURCE_CLIP)],
    ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100'],
    ...['-map', '0:v', '-map', '1:a', '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest'],
    // The index first, so a file cut short still opens (the damaged clip below).
    ...['-movflags', '+faststart', out],
  ]);
  return out;
}

describeBrowser('web UI with a video, in a real browser', () => {
  let server: ServerProcess | undefined;
  let bareServer: ServerProcess | undefined;
  let browser: Browser | undefined;
  const sessions: Page[] = [];
  let clip = '';
  let longClip = '';
  let damagedClip = '';

  async function open(base: string, options: BrowserContextOptions): Promise<Session> {
    const context = await browser!.newContext({ ...options, acceptDownloads: true });
    await context.addInitScript(FETCH_SPY);
    const page = await context.newPage();
    sessions.push(page);
    const errors: string[] = [];
    const requests: Request[] = [];
    const jobs: PublicJobStatus[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('request', (request) => requests.push(request));
    page.on('response', (response) => {
      if (!isJobRequest(response.request()) || !response.ok()) return;
      response
        .json()
        .then((body: PublicJobStatus) => jobs.push(body))
        .catch(() => undefined);
    });
    await page.goto(base);
    await page.waitForSelector('.style-card input:checked');
    return { page, errors, requests, jobs };
  }

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    mkdirSync(WORK, { recursive: true });
    mkdirSync(EMPTY_MODELS, { recursive: true });
    [clip, longClip] = await Promise.all([makeClip('clip.mp4', 1), makeClip('long-clip.mp4', 4)]);
    // The index and the first frames, but not the rest: it opens, and its frames run out part-way.
    damagedClip = join(WORK, 'damaged.mp4');
    const whole = readFileSync(clip);
    writeFileSync(damagedClip, whole.subarray(0, Math.round(whole.length * 0.3)));
    [server, bareServer, browser] = await Promise.all([
      startServerProcess(['--models-dir', TEST_MODELS_DIR, '--styles', 'cartoon,cel', '--workers', '1']),
      // A server without ffmpeg (the variables point nowhere) and with a 1 MB limit for videos.
      startServerProcess(['--models-dir', EMPTY_MODELS, '--workers', '1', '--max-video-upload-mb', '1'], {
        PORTOON_FFMPEG: join(WORK, 'no-such-ffmpeg'),
        PORTOON_FFPROBE: join(WORK, 'no-such-ffprobe'),
      }),
      chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }),
    ]);
  });

  afterEach(async () => {
    // Each test's page is closed when it ends, so only one page at a time uses the CPU.
    await Promise.all(sessions.splice(0).map(async (page) => page.context().close()));
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all([server?.stop(), bareServer?.stop()]);
  });

  it('the test clip has every frame and a sound track', async () => {
    const facts = await probe(clip);
    expect(facts.video).toEqual({ width: 376, height: 352, frames: CLIP_FRAMES });
    expect(facts.audio).toEqual(['aac']);
  });

  it('video → previews on a frame → progress in frames → side by side with sound → download; then a photo', async () => {
    const { page, errors, requests, jobs } = await open(server!.url, DESKTOP);
    await page.setInputFiles('#file-input', clip);
    // The original plays in the page, muted; the settings are a video's.
    await until(page, `document.getElementById('before-video').videoWidth === 376`);
    expect(await page.isVisible('#video-view')).toBe(true);
    expect(await page.isHidden('#compare')).toBe(true);
    expect(await js<boolean>(page, `document.getElementById('before-video').muted`)).toBe(true);
    expect(await page.textContent('#photo-meta')).toMatch(/^clip\.mp4 · 376 × 352 · \d\.\d s · \d+ KB$/);
    expect(await js<boolean>(page, `document.getElementById('format').closest('.field').hidden`)).toBe(true);
    expect(await page.isVisible('#video-audio')).toBe(true);
    expect(await page.isChecked('#video-audio')).toBe(true);
    expect(await page.textContent('#change-button')).toBe('Change video');
    // Each style previewed on a still of the video.
    await waitForOwnThumbnails(page, 2);
    expect(await page.textContent('#gallery-hint')).toBe('Each preview shows a frame of your video in that style.');
    await screenshot(page, 'desktop-chosen');

    await page.click('.style-card[data-style="cel"]');
    await page.selectOption('#video-max-side', SMALL_SIDE);
    const strength = await page.inputValue('#strength');
    // The frame counter, the bar part-way, and the live region, read in one go.
    const sawFrames = until<[string, string, string]>(
      page,
      `(() => {
        const stage = document.getElementById('progress-stage').textContent;
        return !document.getElementById('progress').hidden && /^Frame [1-9]\\d* of ${CLIP_FRAMES}/.test(stage) &&
          [stage, document.getElementById('progress-bar').getAttribute('aria-valuetext'), document.getElementById('progress-announce').textContent];
      })()`,
      120_000,
      20,
    );
    await page.click('#run-button');
    expect(await jobForm(page, 0)).toEqual([
      ['style', 'cel'],
      ['strength', strength],
      ['maxSide', SMALL_SIDE],
      ['audio', 'true'],
      ['video', 'file:clip.mp4'],
    ]);
    const [stage, valueText, announced] = await sawFrames;
    expect(stage).toMatch(new RegExp(`^Frame \\d+ of ${CLIP_FRAMES}( · \\d+\\.\\d+ fps( · about \\d+ (s|min) left)?)?$`));
    expect(valueText).toMatch(new RegExp(`^Frame \\d+ of ${CLIP_FRAMES}.*, \\d+%$`));
    expect(announced).toMatch(new RegExp(`^Frame \\d+ of ${CLIP_FRAMES}.*, \\d+% done$`));
    await screenshot(page, 'desktop-working');

    await page.waitForSelector('#result', { state: 'visible', timeout: 300_000 });
    expect(await page.isHidden('#progress')).toBe(true);
    expect(await page.isHidden('#error')).toBe(true);
    await expect.poll(() => jobs.at(-1)?.state).toBe('completed');
    const done = jobs.at(-1)!;
    expect(done.kind).toBe('video');
    expect(jobs.some((s) => s.state === 'running' && s.frames !== undefined && s.frames.done > 0)).toBe(true);
    expect(done.video).toMatchObject({ frames: CLIP_FRAMES, width: SMALL_SIZE[0], height: SMALL_SIZE[1], audio: 'copied' });
    expect(done.video!.tracks).toHaveLength(1);

    // The cartoon plays beside the original, at its own size, tagged with its style.
    const result = await js<[number, number, number]>(
      page,
      `(() => { const v = document.getElementById('after-video'); return [v.readyState, v.videoWidth, v.videoHeight]; })()`,
    );
    expect(result[0]).toBeGreaterThanOrEqual(2);
    expect(result.slice(1)).toEqual(SMALL_SIZE);
    expect(await page.getAttribute('#video-view', 'data-mode')).toBe('compare');
    expect(await page.isVisible('#before-video')).toBe(true);
    expect(await page.textContent('#after-video-tag')).toBe('Cel-shaded');
    expect(await page.getAttribute('#after-video', 'aria-label')).toBe('Cel-shaded version of your video');
    expect(await page.textContent('#result')).toContain('AI-generated');
    expect(await page.locator('#video-facts li').allTextContents()).toEqual([
      `${CLIP_FRAMES} frames at 15 fps · 1.9 s`,
      `${SMALL_SIZE[0]} × ${SMALL_SIZE[1]}`,
      '1 face tracked',
      'Sound kept as it was',
    ]);
    expect(await page.textContent('#status')).toMatch(
      new RegExp(`^Done in \\d+(\\.\\d)? s\\. ${CLIP_FRAMES} frames, 1 face tracked, sound copied\\.$`),
    );

    // Playing or pausing one plays or pauses the other.
    await js(page, `document.getElementById('after-video').play()`);
    await until(page, `!document.getElementById('before-video').paused`);
    await js(page, `document.getElementById('after-video').pause()`);
    await until(page, `document.getElementById('before-video').paused`);
    await js(page, `document.getElementById('after-video').currentTime = 0`);
    await screenshot(page, 'desktop-result');
    await page.emulateMedia({ colorScheme: 'dark' });
    await screenshot(page, 'desktop-result-dark');
    await page.emulateMedia({ colorScheme: 'light' });

    // The download is the cartoon video: every frame, and the sound.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    expect(download.suggestedFilename()).toBe('clip-cel.mp4');
    const saved = join(WORK, download.suggestedFilename());
    await download.saveAs(saved);
    expect(await probe(saved)).toEqual({ video: { width: SMALL_SIZE[0], height: SMALL_SIZE[1], frames: CLIP_FRAMES }, audio: ['aac'] });

    // A photo in the same page: the photo viewer and settings come back, and it renders as before.
    await page.setInputFiles('#file-input', portrait(PHOTO));
    await page.waitForSelector('#before-img', { state: 'visible' });
    expect(await page.isHidden('#video-view')).toBe(true);
    expect(await page.isHidden('#video-facts')).toBe(true);
    expect(await js<boolean>(page, `document.querySelector('.video-options').hidden`)).toBe(true);
    expect(await js<boolean>(page, `document.getElementById('format').closest('.field').hidden`)).toBe(false);
    expect(await js<boolean>(page, `document.getElementById('after-video').hasAttribute('src')`)).toBe(false);
    expect(await page.textContent('#change-button')).toBe('Change photo');
    await waitForOwnThumbnails(page, 2);
    await page.click('#run-button');
    expect(await jobForm(page, 1)).toEqual([
      ['style', 'cel'],
      ['strength', strength],
      ['format', 'png'],
      ['image', `file:${PHOTO}`],
    ]);
    await page.waitForSelector('#result', { state: 'visible', timeout: 120_000 });
    expect(
      await until<[number, number]>(
        page,
        `(() => { const i = document.getElementById('after-img'); return i.complete && i.naturalWidth > 0 ? [i.naturalWidth, i.naturalHeight] : null; })()`,
      ),
    ).toEqual([512, 512]);
    expect(await page.textContent('#status')).toMatch(/^Done in \d+(\.\d)? s\. 1 face found\.$/);
    expect(await page.getAttribute('#download', 'download')).toBe('01-woman-mask-peace-cel.png');
    expect(requests.filter(isJobSubmit)).toHaveLength(2);
    expect(errors).toEqual([]);
  }, 300_000);

  it('refuses a text file named clip.mp4, and a video over the limit, before uploading anything', async () => {
    const { page, errors, requests } = await open(bareServer!.url, DESKTOP);
    // This server's limit for videos is 1 MB, and the page says so.
    await until(page, `document.getElementById('video-hint').textContent.endsWith('up to 1 MB')`);
    const cases = [
      {
        name: 'clip.mp4',
        mimeType: 'video/mp4',
        buffer: Buffer.from('Not a video, just some text.\n'),
        message: /^“clip\.mp4” does not contain a video, even though its name says so\. Please choose a video file\.$/,
      },
      {
        name: 'big.mov',
        mimeType: 'video/quicktime',
        // A real video's first bytes, then padding to 1.5 MB.
        buffer: Buffer.concat([readFileSync(clip).subarray(0, 4096), Buffer.alloc(1536 * 1024 - 4096)]),
        message: /^“big\.mov” is 1\.5 MB; the limit for videos is 1 MB\. Please choose a shorter or smaller video\.$/,
      },
      {
        name: 'notes.txt',
        mimeType: 'text/plain',
        buffer: Buffer.from('Just some notes.\n'),
        message: /^“notes\.txt” is not a supported photo\. Please choose a JPEG, .* image, or a video \(MP4, MOV, MKV, WebM or AVI\)\.$/,
      },
    ];
    for (const { message, ...file } of cases) {
      await page.setInputFiles('#file-input', file);
      await expect.poll(() => page.textContent('#error')).toMatch(message);
      expect(await page.getAttribute('#error', 'data-code')).toBe('E_CLIENT_CHECK');
      expect(await page.isVisible('#dropzone')).toBe(true);
      expect(await page.isDisabled('#run-button')).toBe(true);
    }
    expect(requests.filter((r) => r.method() === 'POST')).toEqual([]);
    expect(errors).toEqual([]);
  });

  it("shows the server's own errors: no ffmpeg on the server (503, not retried), a damaged video (the job fails)", async () => {
    const bare = await open(bareServer!.url, DESKTOP);
    await bare.page.setInputFiles('#file-input', clip);
    await until(bare.page, `document.getElementById('before-video').videoWidth > 0`);
    const refused = bare.page.waitForResponse((response) => isJobSubmit(response.request()));
    await bare.page.click('#run-button');
    const response = await refused;
    expect(response.status()).toBe(503);
    const { error } = (await response.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe('E_FFMPEG_MISSING');
    await bare.page.waitForSelector('#error', { state: 'visible' });
    expect(await bare.page.textContent('#error')).toBe(error.message);
    expect(await bare.page.getAttribute('#error', 'data-code')).toBe('E_FFMPEG_MISSING');
    await until(bare.page, `!document.getElementById('run-button').disabled`);
    // Waiting does not install ffmpeg: the page asked once.
    expect(bare.requests.filter(isJobSubmit)).toHaveLength(1);
    expect(bare.errors).toEqual([]);

    const { page, errors, jobs } = await open(server!.url, DESKTOP);
    await page.setInputFiles('#file-input', damagedClip);
    await until(page, `document.getElementById('before-video').videoWidth > 0 || !document.getElementById('video-missing').hidden`);
    await page.click('.style-card[data-style="cel"]');
    await page.selectOption('#video-max-side', SMALL_SIDE);
    await page.click('#run-button');
    await page.waitForSelector('#error', { state: 'visible', timeout: 300_000 });
    await expect.poll(() => jobs.at(-1)?.state).toBe('failed');
    const failed = jobs.at(-1)!;
    expect(failed.error?.code).toBe('E_DECODE_FAILED');
    expect(await page.textContent('#error')).toBe(failed.error!.message);
    expect(await page.getAttribute('#error', 'data-code')).toBe('E_DECODE_FAILED');
    expect(await page.isHidden('#result')).toBe(true);
    expect(await page.isHidden('#progress')).toBe(true);
    expect(await page.isEnabled('#run-button')).toBe(true);
    await screenshot(page, 'desktop-failed');
    expect(errors).toEqual([]);
  }, 300_000);

  it('a running video can be cancelled (on a phone-sized screen): the job ends cancelled, and the next one runs', async () => {
    const { page, errors, requests, jobs } = await open(server!.url, PHONE);
    await page.setInputFiles('#file-input', longClip);
    await until(page, `document.getElementById('before-video').videoWidth > 0`);
    await page.tap('.style-card[data-style="cel"]');
    await page.selectOption('#video-max-side', SMALL_SIDE);
    await page.tap('#run-button');
    const total = CLIP_FRAMES * 4;
    await until(
      page,
      `!document.getElementById('cancel-button').hidden && /^Frame [1-9]\\d* of ${total}/.test(document.getElementById('progress-stage').textContent)`,
      120_000,
      20,
    );
    await noHorizontalOverflow(page);
    await screenshot(page, 'phone-working');
    await page.tap('#cancel-button');
    await expect.poll(() => page.textContent('#status')).toBe('Cancelled.');
    expect(await page.isHidden('#progress')).toBe(true);
    expect(await page.isHidden('#cancel-button')).toBe(true);
    expect(await page.isEnabled('#run-button')).toBe(true);
    expect(await page.isHidden('#result')).toBe(true);
    expect(await page.isHidden('#error')).toBe(true);

    // The server was told, and the job ended there as cancelled, part-way through.
    const deleted = requests.find((r) => r.method() === 'DELETE' && isJobRequest(r));
    expect(deleted).toBeDefined();
    expect((await deleted!.response())?.status()).toBe(200);
    const cancelled = jobs.find((s) => s.kind === 'video')!;
    const status = (await (await fetch(new URL(cancelled.statusUrl, server!.url))).json()) as PublicJobStatus;
    expect(status.state).toBe('cancelled');
    expect(status.frames!.done).toBeLessThan(total);

    // Start again with a part of the clip: the cancelled job no longer holds the worker.
    await page.fill('#video-start', '2');
    await page.fill('#video-duration', '0.4');
    await page.tap('#run-button');
    expect(await jobForm(page, 1)).toEqual([
      ['style', 'cel'],
      ['strength', await page.inputValue('#strength')],
      ['maxSide', SMALL_SIDE],
      ['audio', 'true'],
      ['start', '2'],
      ['duration', '0.4'],
      ['video', 'file:long-clip.mp4'],
    ]);
    await page.waitForSelector('#result', { state: 'visible', timeout: 120_000 });
    await expect.poll(() => jobs.at(-1)?.state).toBe('completed');
    expect(jobs.at(-1)!.video).toMatchObject({ frames: 6, width: SMALL_SIZE[0], height: SMALL_SIZE[1] });
    expect(await js<number>(page, `document.getElementById('after-video').readyState`)).toBeGreaterThanOrEqual(2);
    // The original waits at the start of the part that was cartoonized, so both show the same moment.
    expect(await js<number>(page, `document.getElementById('before-video').currentTime`)).toBeCloseTo(2, 1);
    await noHorizontalOverflow(page);
    await screenshot(page, 'phone-result');
    expect(errors).toEqual([]);
  }, 300_000);
});
