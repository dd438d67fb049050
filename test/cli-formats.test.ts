/**
 * The built `portoon` command refuses vector and document files from their first bytes, like the
 * library and the service: exit 3 and one `[E_UNSUPPORTED_FORMAT]` line, no output file. Build first
 * (`npm run build`; `npm test` does it).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { REPO_ROOT, TEST_MODELS_DIR } from './helpers/env.js';

const CLI = join(REPO_ROOT, 'dist/cli/main.js');
if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first ("npm test" builds before running vitest).`);

const TMP = mkdtempSync(join(tmpdir(), 'portoon-cli-formats-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

function run(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, PORTOON_MODELS: TEST_MODELS_DIR };
  delete env.PORTOON_MODEL_MIRROR;
  delete env.NODE_OPTIONS;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: TMP, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

it('an SVG and a PDF: exit 3, one [E_UNSUPPORTED_FORMAT] line, nothing written', async () => {
  const files = {
    'logo.svg': '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64" fill="#c84"/></svg>',
    'scan.pdf': '%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n',
  };
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(join(TMP, name), content);
    const out = join(TMP, `${name}.png`);
    const result = await run([join(TMP, name), '-s', 'cel', '-o', out]);
    expect({ name, code: result.code, stdout: result.stdout }).toEqual({ name, code: 3, stdout: '' });
    expect(result.stderr).toMatch(/^portoon: [^\n]*not an image[^\n]* \[E_UNSUPPORTED_FORMAT\]\n$/);
    expect(existsSync(out)).toBe(false);
  }
});
