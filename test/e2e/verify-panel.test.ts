/**
 * "Check an image" in the web UI, in real Chromium against the real server as a process (serving the
 * built UI from dist/web: `npm run build` first), with API keys configured: the page asks for the key,
 * then a portrait marked in the test (chosen from the keyboard) is reported as made with Portoon with
 * its watermark id, the unmarked original (dropped on the panel) as carrying no mark, and a file that
 * is not an image gets the server's reason in words. The page must not overflow a phone's width.
 * Screenshots land in test-output/screenshots/.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertWebUiBuilt, CHROMIUM, CHROMIUM_ARGS, js, until } from '../helpers/browser.js';
import { IN_CI, TEST_OUTPUT_DIR } from '../helpers/env.js';
import { unmarkedPhoto, watermarkedJpeg } from '../helpers/marked-images.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';

const SCREENSHOTS = join(TEST_OUTPUT_DIR, 'screenshots');
/** No models: the check needs none (only procedural styles are offered). */
const EMPTY_MODELS = join(TEST_OUTPUT_DIR, 'e2e-verify-empty-models');
const API_KEY = 'e2e-verify-key';
const PHOTO = '04-man-headshot-suit.jpg'; // 512x512
const ID = '7a11ce0ddba1';
const PAGE_TIMEOUT = 60_000;

assertWebUiBuilt();
const describeBrowser = existsSync(CHROMIUM) || IN_CI ? describe : describe.skip;

/** The verdict once the check has ended (not while it says "Checking…"). */
const VERDICT_DONE = `(() => {
  const verdict = document.getElementById('verify-verdict');
  const error = document.getElementById('verify-error');
  if (!error.hidden) return 'error: ' + error.textContent;
  const state = verdict.dataset.state;
  return state === 'marked' || state === 'unmarked' ? state : null;
})()`;

/** The findings as [term, text] pairs. */
const FINDINGS = `[...document.querySelectorAll('#verify-findings dt')].map((dt) => [dt.textContent, dt.nextElementSibling.textContent])`;

describeBrowser('Check an image (web UI)', () => {
  let server: ServerProcess;
  let browser: Browser;
  let page: Page;
  let marked: Buffer;
  const errors: string[] = [];

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    mkdirSync(EMPTY_MODELS, { recursive: true });
    [server, browser, marked] = await Promise.all([
      startServerProcess(['--models-dir', EMPTY_MODELS, '--api-keys', API_KEY, '--workers', '1']),
      chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }),
      watermarkedJpeg(PHOTO, ID),
    ]);
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(server.url);
    // The page asks for the key the service needs; the check then sends it.
    await page.waitForSelector('#auth', { state: 'visible', timeout: PAGE_TIMEOUT });
    await page.fill('#api-key', API_KEY);
    await page.click('#auth-form button[type="submit"]');
    await page.waitForSelector('#auth', { state: 'hidden', timeout: PAGE_TIMEOUT });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('a marked portrait: "Made with Portoon — AI-generated", with the watermark id', async () => {
    expect(await page.getAttribute('#verify-verdict', 'aria-live')).toBe('polite');
    // From the keyboard: the visible button opens the file chooser. (Listen first: Playwright
    // intercepts file choosers only once someone listens.)
    const choosing = page.waitForEvent('filechooser');
    await page.focus('#verify-pick');
    await page.keyboard.press('Enter');
    await (await choosing).setFiles({ name: 'shared-picture.jpg', mimeType: 'image/jpeg', buffer: marked });
    expect(await until(page, VERDICT_DONE, PAGE_TIMEOUT)).toBe('marked');
    expect(await page.textContent('#verify-verdict .verify-verdict-title')).toBe('Made with Portoon — AI-generated');
    const findings = await js<Array<[string, string]>>(page, FINDINGS);
    expect(findings).toEqual([
      ['Invisible watermark', expect.stringMatching(new RegExp(`^Found: id ${ID}, confidence \\d+%$`))],
      ['Content Credentials (C2PA)', 'None'],
      ['Metadata label (XMP)', 'None'],
    ]);
    expect(await page.isHidden('#verify-error')).toBe(true);
    await page.locator('#verify').screenshot({ path: join(SCREENSHOTS, 'verify-marked.png'), animations: 'disabled' });
  });

  it('the unmarked original, dropped on the panel: "No Portoon mark found"', async () => {
    const base64 = unmarkedPhoto(PHOTO).toString('base64');
    const transfer = await page.evaluateHandle(`(() => {
      const bytes = Uint8Array.from(atob(${JSON.stringify(base64)}), (c) => c.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], 'original.jpg', { type: 'image/jpeg' }));
      return transfer;
    })()`);
    await page.dispatchEvent('#verify-drop', 'drop', { dataTransfer: transfer });
    expect(await until(page, VERDICT_DONE, PAGE_TIMEOUT)).toBe('unmarked');
    expect(await page.textContent('#verify-verdict .verify-verdict-title')).toBe('No Portoon mark found');
    const findings = await js<Array<[string, string]>>(page, FINDINGS);
    expect(findings).toEqual([
      ['Invisible watermark', 'Not found'],
      ['Content Credentials (C2PA)', 'None'],
      ['Metadata label (XMP)', 'None'],
    ]);
    // The photo to cartoonize is still the empty drop zone: the dropped file went to the check only.
    expect(await page.isVisible('#dropzone')).toBe(true);
    await page.locator('#verify').screenshot({ path: join(SCREENSHOTS, 'verify-unmarked.png'), animations: 'disabled' });
  });

  it('a file that is not an image: the server’s reason, in words, as an alert', async () => {
    await page.setInputFiles('#verify-input', { name: 'notes.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('these are notes\n') });
    expect(await until(page, VERDICT_DONE, PAGE_TIMEOUT)).toMatch(/^error: The input is not an image in a supported format/);
    expect([await page.getAttribute('#verify-error', 'role'), await page.getAttribute('#verify-error', 'data-code')]).toEqual([
      'alert',
      'E_UNSUPPORTED_FORMAT',
    ]);
    expect(await page.isHidden('#verify-findings')).toBe(true);
  });

  it('fits a phone’s width, and no script error happened on the way', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.setInputFiles('#verify-input', { name: 'shared-picture.jpg', mimeType: 'image/jpeg', buffer: marked });
    expect(await until(page, VERDICT_DONE, PAGE_TIMEOUT)).toBe('marked');
    const [scrollWidth, innerWidth] = await js<[number, number]>(page, '[document.scrollingElement.scrollWidth, window.innerWidth]');
    expect(scrollWidth).toBeLessThanOrEqual(innerWidth);
    await page.locator('#verify').screenshot({ path: join(SCREENSHOTS, 'verify-phone.png'), animations: 'disabled' });
    expect(errors).toEqual([]);
  });
});
