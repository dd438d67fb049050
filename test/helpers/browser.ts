/**
 * What the browser tests of the web UI share: the system Chromium and its flags, and small page
 * helpers (expressions are passed as strings, since tests are type-checked without DOM types).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { REPO_ROOT } from './env.js';

export const CHROMIUM = process.env.PORTOON_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];
export const WEB_INDEX = join(REPO_ROOT, 'dist/web/index.html');

/** The built web UI must exist: the tests drive it as the server serves it. */
export function assertWebUiBuilt(): void {
  if (!existsSync(WEB_INDEX)) throw new Error(`${WEB_INDEX} is missing: these tests drive the built web UI; run "npm run build" first.`);
}

/** Records the text fields (and the file's name) of every multipart form the page sends, in order. */
export const FETCH_SPY = `(() => {
  const forms = (window.__portoonForms = []);
  const fetch = window.fetch;
  window.fetch = (input, init) => {
    if (init && init.body instanceof FormData) {
      const fields = [...init.body.entries()].map(([name, value]) => [name, typeof value === 'string' ? value : 'file:' + value.name]);
      forms.push({ url: String(input), fields });
    }
    return fetch(input, init);
  };
})()`;

/** Evaluates a JavaScript expression in the page. */
export function js<T>(page: Page, expression: string): Promise<T> {
  return page.evaluate(expression) as Promise<T>;
}

/**
 * Evaluates an expression until it is truthy and returns that value. (page.waitForFunction with a
 * string would need 'unsafe-eval', which the server's Content-Security-Policy rightly forbids.)
 */
export async function until<T>(page: Page, expression: string, timeoutMs = 30_000, intervalMs = 40): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await js<T>(page, expression);
    if (value) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${expression}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
