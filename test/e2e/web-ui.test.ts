/**
 * The web UI in a real browser (Debian's Chromium through playwright-core) against the real server as
 * a process, which serves the built UI from dist/web (`npm run build` first). A user's whole path:
 * choose a photo, see every style previewed on it, pick a style, set the strength with the keyboard,
 * render with progress, compare before/after, download, cancel; what happens with files that are not
 * photos, with the server's own errors, a busy server (503 + Retry-After) and no network; keyboard-only
 * use; an API key prompt; styles whose models are missing; a phone-sized screen; a short screen where
 * the picture must stay put when a render starts.
 * Screenshots land in test-output/screenshots/ (look at them after UI changes).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContextOptions, type Page, type Request } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { describeWithModels, IN_CI, portrait, TEST_MODELS_DIR, TEST_OUTPUT_DIR } from '../helpers/env.js';
import { loadRgb, meanAbsDiff } from '../helpers/images.js';
import { assertWebUiBuilt, CHROMIUM, CHROMIUM_ARGS, FETCH_SPY, js, until } from '../helpers/browser.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';

const SCREENSHOTS = join(TEST_OUTPUT_DIR, 'screenshots');
const DOWNLOADS = join(TEST_OUTPUT_DIR, 'e2e-downloads');
/** A models folder with no models: only the procedural styles are installed there. */
const EMPTY_MODELS = join(TEST_OUTPUT_DIR, 'e2e-empty-models');
const API_KEY = 'e2e-secret-key';

/** Models the served styles (anime, cartoon, cel) and face detection need. */
const MODELS = ['animeganv3-jpface-v1', 'animeganv3-hayao36', 'whitebox-cartoon', 'retinaface-mnet025', 'yunet-face'];

const PHOTO = '01-woman-mask-peace.jpg'; // 512x512 JPEG, one face
const PHONE_PHOTO = '20-woman-curly-hair.png'; // 1024x1024 PNG
const GROUP = '12-group-selfie-cafe.jpeg'; // 1280x960, several faces: a render that takes a while

const DESKTOP: BrowserContextOptions = { viewport: { width: 1280, height: 860 } };
const PHONE: BrowserContextOptions = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
/** A laptop screen shorter than the settings panel: the page scrolls and the picture beside the panel is sticky. */
const SHORT_DESKTOP: BrowserContextOptions = { viewport: { width: 1280, height: 640 } };

assertWebUiBuilt();
const describeBrowser = existsSync(CHROMIUM) || IN_CI ? describeWithModels(MODELS) : describe.skip;

interface Session {
  page: Page;
  /** Uncaught exceptions in the page: there should never be any. */
  errors: string[];
  /** Every request the page made. */
  requests: Request[];
  /** Most preview renders (sample or photo) in flight at once. */
  maxPreviewsInFlight: () => number;
}

function isPreview(request: Request): boolean {
  const { pathname } = new URL(request.url());
  return (request.method() === 'POST' && pathname === '/api/v1/cartoon') || /^\/api\/v1\/styles\/[^/]+\/preview$/.test(pathname);
}

function isWork(request: Request): boolean {
  const { pathname } = new URL(request.url());
  return request.method() === 'POST' && (pathname === '/api/v1/cartoon' || pathname === '/api/v1/jobs');
}

async function screenshot(page: Page, name: string): Promise<void> {
  await js(page, 'window.scrollTo(0, 0)');
  // Transitions finished (a colour-scheme switch fades the cards for 150 ms).
  await page.screenshot({ path: join(SCREENSHOTS, `web-${name}.png`), fullPage: true, animations: 'disabled' });
}

async function noHorizontalOverflow(page: Page): Promise<void> {
  const [scrollWidth, innerWidth] = await js<[number, number]>(page, '[document.scrollingElement.scrollWidth, window.innerWidth]');
  expect(scrollWidth).toBeLessThanOrEqual(innerWidth);
}

/** Waits until every installed style's thumbnail shows the user's photo, decoded. */
async function waitForPhotoThumbnails(page: Page, count: number): Promise<number[]> {
  const expression = `(() => {
    const images = [...document.querySelectorAll('img[data-preview="photo"]')];
    return images.length === ${count} && images.every((i) => i.complete && i.naturalWidth > 0)
      ? images.map((i) => Math.max(i.naturalWidth, i.naturalHeight))
      : null;
  })()`;
  return until<number[]>(page, expression, 90_000);
}

/** The result image's natural size, once it has loaded. */
async function resultSize(page: Page): Promise<[number, number]> {
  return until<[number, number]>(
    page,
    `(() => { const i = document.getElementById('after-img'); return i.complete && i.naturalWidth > 0 ? [i.naturalWidth, i.naturalHeight] : null; })()`,
  );
}

describeBrowser('web UI in a real browser', () => {
  let server: ServerProcess | undefined;
  let keyServer: ServerProcess | undefined;
  let browser: Browser | undefined;
  const sessions: Page[] = [];

  async function open(base: string, options: BrowserContextOptions, apiKey?: string): Promise<Session> {
    const context = await browser!.newContext({ ...options, acceptDownloads: true });
    await context.addInitScript(FETCH_SPY);
    if (apiKey) await context.addInitScript(`sessionStorage.setItem('portoon.apiKey', ${JSON.stringify(apiKey)})`);
    const page = await context.newPage();
    sessions.push(page);
    const errors: string[] = [];
    const requests: Request[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('request', (request) => {
      requests.push(request);
      if (isPreview(request)) maxInFlight = Math.max(maxInFlight, ++inFlight);
    });
    const settled = (request: Request): void => {
      if (isPreview(request)) inFlight--;
    };
    page.on('requestfinished', settled);
    page.on('requestfailed', settled);
    await page.goto(base);
    return { page, errors, requests, maxPreviewsInFlight: () => maxInFlight };
  }

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    mkdirSync(DOWNLOADS, { recursive: true });
    mkdirSync(EMPTY_MODELS, { recursive: true });
    // The main server keeps its default rate limit (60 image requests a minute per client); the whole
    // suite stays under it, counting the gallery's sample and photo previews.
    [server, keyServer, browser] = await Promise.all([
      startServerProcess(['--models-dir', TEST_MODELS_DIR, '--styles', 'anime,cartoon,cel']),
      // One image at a time and no waiting room: a second image is refused with 503 at once.
      startServerProcess(['--models-dir', EMPTY_MODELS, '--api-keys', API_KEY, '--max-queue', '0', '--workers', '1']),
      chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }),
    ]);
  });

  afterEach(async () => {
    // Each test's page is closed when it ends, so only one page at a time uses the CPU.
    await Promise.all(sessions.splice(0).map(async (page) => page.context().close()));
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all([server?.stop(), keyServer?.stop()]);
  });

  it('photo → style previews → strength → render with progress → compare → download', async () => {
    const { page, errors, requests, maxPreviewsInFlight } = await open(server!.url, DESKTOP);
    await page.waitForSelector('.style-card input:checked');
    expect(await page.locator('.style-card').count()).toBe(3);
    expect(await page.locator('.style-card input:disabled').count()).toBe(0);
    await screenshot(page, 'desktop-empty');

    await page.setInputFiles('#file-input', portrait(PHOTO));
    const sides = await waitForPhotoThumbnails(page, 3);
    // Previews are small renders (the server caps them at 256 px), fetched one at a time.
    for (const side of sides) expect(side).toBeLessThanOrEqual(256);
    expect(maxPreviewsInFlight()).toBe(1);
    expect(await page.isVisible('#before-img')).toBe(true);
    await screenshot(page, 'desktop-photo');

    // Choose a style with the mouse, then go back to anime with the keyboard (a radio group).
    await page.click('.style-card[data-style="cartoon"]');
    expect(await page.isChecked('input[name="style"][value="cartoon"]')).toBe(true);
    await page.keyboard.press('ArrowLeft');
    expect(await page.isChecked('input[name="style"][value="anime"]')).toBe(true);

    await page.focus('#strength');
    for (let i = 0; i < 4; i++) await page.keyboard.press('ArrowLeft');
    expect(await page.inputValue('#strength')).toBe('0.8');
    expect(await page.textContent('#strength-value')).toBe('80%');

    const jobStatuses: Array<{ state: string; stage?: string; overall: number }> = [];
    page.on('response', (response) => {
      if (/^\/api\/v1\/jobs\/[^/]+$/.test(new URL(response.url()).pathname) && response.request().method() === 'GET') {
        response
          .json()
          .then((body: { state: string; stage?: string; overall: number }) => jobStatuses.push(body))
          .catch(() => undefined);
      }
    });
    // A stage of the pipeline, named in words, with the bar part-way.
    const sawStage = until<[string, string]>(
      page,
      `!document.getElementById('progress').hidden &&
        /Finding faces|Lining up|Drawing the faces|Painting the picture|Blending/.test(document.getElementById('progress-stage').textContent) &&
        [document.getElementById('progress-stage').textContent, document.getElementById('progress-bar').getAttribute('aria-valuenow')]`,
      90_000,
      20,
    );
    await page.click('#run-button');
    // The form the page sent (recorded by the fetch spy: CDP does not expose multipart bodies with files).
    const form = await until<Array<[string, string]>>(page, `window.__portoonForms.find((f) => f.url === '/api/v1/jobs')?.fields`);
    expect(form).toEqual([
      ['style', 'anime'],
      ['strength', '0.8'],
      ['format', 'png'],
      ['image', `file:${PHOTO}`],
    ]);
    const [, percent] = await sawStage;
    expect(Number(percent)).toBeGreaterThan(0);
    expect(Number(percent)).toBeLessThan(100);

    await page.waitForSelector('#result', { state: 'visible', timeout: 120_000 });
    expect(await page.isHidden('#progress')).toBe(true);
    expect(jobStatuses.some((s) => s.state === 'running' && s.stage !== undefined)).toBe(true);
    expect(jobStatuses.at(-1)?.state).toBe('completed');
    const input = await sharp(portrait(PHOTO)).metadata();
    expect(await resultSize(page)).toEqual([input.width, input.height]);
    expect(await page.isVisible('#ai-badge')).toBe(true);
    expect(await page.textContent('#ai-badge')).toBe('AI-generated');
    // The result is tagged with the style it was made in, not a generic word.
    expect(await page.textContent('.compare-tag-after')).toBe('Anime');
    expect(await page.getAttribute('#after-img', 'alt')).toBe('Anime version of your photo');
    expect(await page.textContent('#result')).toContain('AI-generated');
    expect(await page.textContent('#status')).toMatch(/^Done in \d+(\.\d)? s\./);

    // The before/after divider is a keyboard slider and can be dragged.
    const handle = page.locator('#compare-handle');
    expect(await handle.getAttribute('role')).toBe('slider');
    expect(await handle.getAttribute('aria-valuenow')).toBe('50');
    await handle.focus();
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('ArrowLeft');
    expect(await handle.getAttribute('aria-valuenow')).toBe('40');
    await page.keyboard.press('End');
    expect(await handle.getAttribute('aria-valuenow')).toBe('100');
    const box = (await page.locator('#compare').boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.9, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.25, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    expect(Math.abs(Number(await handle.getAttribute('aria-valuenow')) - 25)).toBeLessThanOrEqual(2);
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.up();
    await screenshot(page, 'desktop-result');
    await page.emulateMedia({ colorScheme: 'dark' });
    await screenshot(page, 'desktop-result-dark');
    await page.emulateMedia({ colorScheme: 'light' });

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    expect(download.suggestedFilename()).toBe('01-woman-mask-peace-anime.png');
    const saved = join(DOWNLOADS, download.suggestedFilename());
    await download.saveAs(saved);
    const meta = await sharp(saved).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', input.width, input.height]);
    // It is the cartoon, not the photo handed back.
    expect(meanAbsDiff(await loadRgb(saved), await loadRgb(portrait(PHOTO)))).toBeGreaterThan(4);

    // Everything came from the server itself: no CDN, no web fonts.
    const origin = new URL(server!.url).origin;
    for (const request of requests)
      expect(['blob:', origin]).toContain(request.url().startsWith('blob:') ? 'blob:' : new URL(request.url()).origin);
    expect(errors).toEqual([]);
  });

  it('nothing around the picture moves when a render starts; the result is tagged with both styles of a mix', async () => {
    const { page, errors } = await open(server!.url, SHORT_DESKTOP);
    await page.waitForSelector('.style-card input:checked');
    await page.setInputFiles('#file-input', portrait(PHOTO));
    await waitForPhotoThumbnails(page, 3);
    await page.click('.style-card[data-style="cel"]');
    await page.selectOption('#mix-style', 'cartoon');
    // Scrolled to the end, where a taller panel would push the sticky picture down.
    await js(page, 'window.scrollTo(0, document.scrollingElement.scrollHeight)');
    const scrollY = await js<number>(page, 'window.scrollY');
    expect(scrollY).toBeGreaterThan(0);

    // Measured in the page, in the same task that sees the progress (a quick render could end before a second call).
    const boxes = `['stage-title', 'compare'].map((id) => { const r = document.getElementById(id).getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; })`;
    const before = await js<number[][]>(page, boxes);
    await page.click('#run-button');
    const during = await until<number[][]>(page, `!document.getElementById('progress').hidden && ${boxes}`, 30_000, 10);
    expect(await js<number>(page, 'window.scrollY')).toBe(scrollY);
    for (const [i, name] of ['heading', 'photo'].entries()) {
      for (const [k, side] of ['x', 'y', 'width', 'height'].entries()) {
        expect(Math.abs(during[i]![k]! - before[i]![k]!), `${name} ${side}: ${before[i]![k]} → ${during[i]![k]}`).toBeLessThanOrEqual(2);
      }
    }
    await screenshot(page, 'desktop-short-working');

    await page.waitForSelector('#result', { state: 'visible', timeout: 120_000 });
    expect(await page.textContent('.compare-tag-after')).toBe('Cel-shaded + 50% Cartoon');
    expect(await page.getAttribute('#after-img', 'alt')).toBe('Cel-shaded + 50% Cartoon version of your photo');
    expect(await page.getAttribute('#compare-handle', 'aria-valuetext')).toBe('50% original, 50% Cel-shaded + 50% Cartoon');
    expect(await page.isVisible('.compare-tag-after')).toBe(true);
    await screenshot(page, 'desktop-short-result');
    expect(errors).toEqual([]);
  });

  it('a running render can be cancelled', async () => {
    const { page, errors, requests } = await open(server!.url, DESKTOP);
    await page.waitForSelector('.style-card input:checked');
    await page.setInputFiles('#file-input', portrait(GROUP));
    await page.click('#run-button');
    await until(
      page,
      `!document.getElementById('cancel-button').hidden && /Finding faces|Lining up|Drawing|Painting|Tracing/.test(document.getElementById('progress-stage').textContent)`,
      60_000,
      20,
    );
    await page.click('#cancel-button');
    await expect.poll(() => page.textContent('#status')).toBe('Cancelled.');
    expect(await page.isHidden('#progress')).toBe(true);
    expect(await page.isHidden('#cancel-button')).toBe(true);
    expect(await page.isEnabled('#run-button')).toBe(true);
    expect(await page.isHidden('#result')).toBe(true);
    expect(await page.isHidden('#error')).toBe(true);
    // The server was told, so the job stops using a worker.
    const deleted = requests.find((r) => r.method() === 'DELETE' && /\/api\/v1\/jobs\/[^/]+$/.test(r.url()));
    expect(deleted).toBeDefined();
    expect((await deleted!.response())?.status()).toBe(200);
    expect(errors).toEqual([]);
  });

  it('refuses files that are not photos, or too large, before uploading anything', async () => {
    const { page, errors, requests } = await open(server!.url, DESKTOP);
    await page.waitForSelector('.style-card input:checked');
    const cases = [
      {
        name: 'notes.txt',
        mimeType: 'text/plain',
        buffer: Buffer.from('Just some notes.\n'),
        message: /“notes\.txt” is not a supported photo\. Please choose a JPEG, PNG/,
      },
      {
        name: 'holiday.jpg',
        mimeType: 'image/jpeg',
        buffer: Buffer.from('This is text, renamed to .jpg.\n'),
        message: /“holiday\.jpg” does not contain an image/,
      },
      {
        name: 'huge.jpg',
        mimeType: 'image/jpeg',
        buffer: Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(11 * 1024 * 1024)]),
        message: /“huge\.jpg” is 11 MB; the limit is 10 MB/,
      },
    ];
    for (const { message, ...file } of cases) {
      await page.setInputFiles('#file-input', file);
      await expect.poll(() => page.textContent('#error')).toMatch(message);
      expect(await page.isVisible('#error')).toBe(true);
      expect(await page.isVisible('#dropzone')).toBe(true);
      expect(await page.isDisabled('#run-button')).toBe(true);
    }
    expect(requests.filter(isWork)).toEqual([]);
    expect(errors).toEqual([]);
  });

  it("shows the server's own error message for a photo it cannot read", async () => {
    const { page, errors } = await open(server!.url, DESKTOP);
    await page.waitForSelector('.style-card input:checked');
    // Passes every check the browser can make (name, type, JPEG signature) but is not a picture.
    const broken = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]), Buffer.from('JFIF\0'), Buffer.alloc(2000, 0x5a)]);
    const refused = page.waitForResponse((response) => isWork(response.request()) && response.status() >= 400);
    await page.setInputFiles('#file-input', { name: 'broken.jpg', mimeType: 'image/jpeg', buffer: broken });
    const response = await refused;
    const { error } = (await response.json()) as { error: { code: string; message: string } };
    expect([415, 422]).toContain(response.status());
    await page.waitForSelector('#error', { state: 'visible' });
    expect(await page.textContent('#error')).toBe(error.message);
    expect(await page.getAttribute('#error', 'data-code')).toBe(error.code);
    // The photo is dropped, so nobody waits for a render that cannot work.
    expect(await page.isVisible('#dropzone')).toBe(true);
    expect(errors).toEqual([]);
  });

  it('says so when the server cannot be reached', async () => {
    const { page, errors } = await open(server!.url, DESKTOP);
    await page.waitForSelector('.style-card input:checked');
    await page.route(/\/api\/v1\/(cartoon|jobs)$/, (route) => route.abort('connectionrefused'));
    await page.setInputFiles('#file-input', portrait(PHOTO));
    await until(page, `document.querySelectorAll('.style-card[data-state="failed"]').length === 3`);
    await page.click('#run-button');
    await page.waitForSelector('#error', { state: 'visible' });
    expect(await page.textContent('#error')).toBe('Could not reach the Portoon server. Check your connection and try again.');
    expect(await page.isEnabled('#run-button')).toBe(true);
    expect(errors).toEqual([]);
  });

  it('every control is reachable with Tab, with a visible focus ring', async () => {
    const { page, errors } = await open(server!.url, DESKTOP);
    await page.waitForSelector('.style-card input:checked');
    const describeFocus = `(() => {
      const el = document.activeElement;
      const ring = el.type === 'radio' ? getComputedStyle(el.closest('label')) : getComputedStyle(el);
      return [el.id || (el.name ? el.name + '=' + el.value : el.tagName.toLowerCase() + ':' + el.textContent.trim()), ring.outlineStyle !== 'none' && parseFloat(ring.outlineWidth) >= 2];
    })()`;
    // Tab through the page until focus leaves it (or comes round again).
    const stops: string[] = [];
    for (let i = 0; i < 20; i++) {
      await page.keyboard.press('Tab');
      if (await js<boolean>(page, 'document.activeElement === document.body')) break;
      const [name, ringVisible] = await js<[string, boolean]>(page, describeFocus);
      if (stops.includes(name)) break;
      stops.push(name);
      expect(ringVisible, `focus ring on ${name}`).toBe(true);
    }
    for (const expected of ['a:API docs', 'pick-button', 'style=anime', 'strength', 'mix-style', 'summary:More options']) {
      expect(stops).toContain(expected);
    }

    // The visible button opens the file chooser from the keyboard.
    // (Listen first: Playwright starts intercepting file choosers only once someone listens.)
    const choosing = page.waitForEvent('filechooser');
    await page.focus('#pick-button');
    await page.keyboard.press('Enter');
    const chooser = await choosing;
    await chooser.setFiles(portrait(PHOTO));
    await page.waitForSelector('#viewer', { state: 'visible' });
    await page.focus('#run-button');
    expect(await js<string>(page, 'document.activeElement.id')).toBe('run-button');
    await page.keyboard.press('Tab');
    expect(await js<string>(page, 'document.activeElement.id')).not.toBe('run-button');
    expect(errors).toEqual([]);
  });

  it('on a phone-sized screen nothing overflows, before or after a result', async () => {
    const { page, errors } = await open(server!.url, PHONE);
    await page.waitForSelector('.style-card input:checked');
    await noHorizontalOverflow(page);
    await screenshot(page, 'phone-empty');

    await page.setInputFiles('#file-input', portrait(PHONE_PHOTO));
    await page.tap('.style-card[data-style="cel"]');
    await waitForPhotoThumbnails(page, 3);
    await noHorizontalOverflow(page);
    await screenshot(page, 'phone-photo');

    await page.tap('#run-button');
    await page.waitForSelector('#result', { state: 'visible', timeout: 120_000 });
    const input = await sharp(portrait(PHONE_PHOTO)).metadata();
    expect(await resultSize(page)).toEqual([input.width, input.height]);
    // The picture sits above the controls: it is scrolled into view when the render ends.
    await until(
      page,
      `(() => { const top = document.getElementById('compare').getBoundingClientRect().top; return top >= 0 && top < innerHeight / 2; })()`,
    );
    await noHorizontalOverflow(page);
    await screenshot(page, 'phone-result');
    expect(errors).toEqual([]);
  });

  it('asks for an API key when the server needs one, and marks styles whose models are missing', async () => {
    const { page, errors, requests } = await open(keyServer!.url, DESKTOP);
    await page.waitForSelector('#auth', { state: 'visible' });
    expect(await page.textContent('#auth-note')).toBe('This server needs an API key.');
    await page.fill('#api-key', 'wrong-key');
    await page.press('#api-key', 'Enter');
    await until(page, `document.getElementById('auth-note').textContent === 'That API key was not accepted. Check it and try again.'`);
    expect(await page.isVisible('#auth')).toBe(true);
    await screenshot(page, 'desktop-api-key');

    await page.fill('#api-key', API_KEY);
    await page.click('#auth-form button[type="submit"]');
    await page.waitForSelector('.style-card input:checked');
    expect(await page.isHidden('#auth')).toBe(true);
    expect(await js<string | null>(page, `sessionStorage.getItem('portoon.apiKey')`)).toBe(API_KEY);
    const styles = requests.filter((r) => r.url().endsWith('/api/v1/styles'));
    expect(styles.at(-1)?.headers().authorization).toBe(`Bearer ${API_KEY}`);

    // No models in this server's folder: only the procedural styles can be chosen.
    const enabled = await page
      .locator('.style-card input:enabled')
      .evaluateAll((inputs) => inputs.map((i) => (i as { value: string }).value));
    expect(enabled.sort()).toEqual(['cel', 'watercolor']);
    const anime = page.locator('.style-card[data-style="anime"]');
    expect(await anime.locator('input').isDisabled()).toBe(true);
    expect(await anime.locator('.style-status').textContent()).toBe('Not installed');
    expect(await page.isChecked('input[name="style"][value="cel"]')).toBe(true);
    await screenshot(page, 'desktop-not-installed');
    expect(errors).toEqual([]);
  });
  it('when the server is busy (503), waits for Retry-After and tries again', async () => {
    const { page, errors, requests } = await open(keyServer!.url, DESKTOP, API_KEY);
    await page.waitForSelector('.style-card input:checked');
    expect(await page.isHidden('#auth')).toBe(true);
    await page.setInputFiles('#file-input', portrait(PHOTO));
    await waitForPhotoThumbnails(page, 2);

    // Another client takes the only worker with a big image (cel on 1600x1600 takes a second or two).
    const big = await sharp(portrait(PHOTO)).resize(1600, 1600).jpeg().toBuffer();
    const form = new FormData();
    form.append('style', 'cel');
    form.append('image', new Blob([new Uint8Array(big)], { type: 'image/jpeg' }), 'big.jpg');
    const other = await fetch(`${keyServer!.url}/api/v1/jobs`, {
      method: 'POST',
      body: form,
      headers: { authorization: `Bearer ${API_KEY}` },
    });
    expect(other.status).toBe(202);

    const refused = page.waitForResponse((response) => response.url().endsWith('/api/v1/jobs') && response.status() === 503);
    await page.click('#run-button');
    const busy = await refused;
    expect(((await busy.json()) as { error: { code: string } }).error.code).toBe('E_QUEUE_FULL');
    const retryAfter = Number(busy.headers()['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    await until(
      page,
      `/^The server is busy; trying again in \\d+ s$/.test(document.getElementById('progress-stage').textContent)`,
      10_000,
      20,
    );

    await page.waitForSelector('#result', { state: 'visible', timeout: 120_000 });
    expect(await page.isVisible('#error')).toBe(false);
    // The retry came no sooner than the server asked.
    const submits = requests.filter((r) => r.method() === 'POST' && r.url().endsWith('/api/v1/jobs'));
    expect(submits.length).toBeGreaterThanOrEqual(2);
    const [first, second] = submits.map((r) => r.timing().startTime);
    expect(second! - first!).toBeGreaterThanOrEqual(retryAfter * 1000 - 100);
    expect(errors).toEqual([]);
  });
});
