/**
 * `portoon verify` as users run it: the REAL built binary (`node dist/cli/main.js`) in a child process,
 * on a real portrait marked in the test and on the unmarked original. Checks the exit codes (0 every
 * file marked, 4 one readable file without a mark, 3 a file that is not an image), the one line per
 * file, the one-line errors on stderr, `--json`, and the watermark key from the flag and from
 * PORTOON_WATERMARK_KEY. Build first (`npm run build`).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertCliBuilt, expectOneLineError, runCli, type CliResult } from './helpers/cli-process.js';
import { TEST_MODELS_DIR } from './helpers/env.js';
import { unmarkedPhoto, watermarkedJpeg } from './helpers/marked-images.js';

assertCliBuilt();

const PHOTO = '04-man-headshot-suit.jpg'; // 512x512
const ID = '0a1b2c3d4e5f';
const KEY = 'key-of-this-deployment';

let TMP = '';
let MARKED = '';
let UNMARKED = '';
let SECRET = '';
let GARBAGE = '';

/** `text` as a regular expression matching itself. */
function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function run(args: readonly string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  return runCli(['verify', ...args], { modelsDir: TEST_MODELS_DIR, cwd: TMP, env: { PORTOON_WATERMARK_KEY: undefined, ...env } });
}

describe('portoon verify', () => {
  beforeAll(async () => {
    TMP = mkdtempSync(join(tmpdir(), 'portoon-cli-verify-'));
    MARKED = join(TMP, 'marked.jpg');
    UNMARKED = join(TMP, 'unmarked.jpg');
    SECRET = join(TMP, 'secret-key.jpg');
    GARBAGE = join(TMP, 'notes.jpg');
    writeFileSync(MARKED, await watermarkedJpeg(PHOTO, ID));
    writeFileSync(UNMARKED, unmarkedPhoto(PHOTO));
    writeFileSync(SECRET, await watermarkedJpeg(PHOTO, ID, { key: KEY }));
    writeFileSync(GARBAGE, 'these are notes, not a picture\n');
  });

  afterAll(() => {
    if (TMP) rmSync(TMP, { recursive: true, force: true });
  });

  it('exit 0 for a marked file, with one line naming the file and the watermark id', async () => {
    const result = await run([MARKED]);
    expect([result.code, result.stderr]).toEqual([0, '']);
    expect(result.stdout).toMatch(new RegExp(`^${literal(MARKED)}: Portoon watermark ${ID} \\(confidence 0\\.\\d\\d\\)\\n$`));
  });

  it('exit 4 for an unmarked file', async () => {
    const result = await run([UNMARKED]);
    expect([result.code, result.stdout, result.stderr]).toEqual([4, `${UNMARKED}: No Portoon mark found\n`, '']);
  });

  it('exit 4 for a mix of marked and unmarked files, each reported on its own line in order', async () => {
    const result = await run([MARKED, UNMARKED]);
    expect([result.code, result.stderr]).toEqual([4, '']);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`^${literal(MARKED)}: Portoon watermark ${ID} `));
    expect(lines[1]).toBe(`${UNMARKED}: No Portoon mark found`);
  });

  it('exit 3 for a file that is not an image: one error line on stderr', async () => {
    const result = await run([GARBAGE]);
    expect([result.code, result.stdout]).toEqual([3, '']);
    expect(expectOneLineError(result, 'E_UNSUPPORTED_FORMAT')).toMatch(new RegExp(`^portoon: ${literal(GARBAGE)}: `));
  });

  it('exit 3 when one of several files cannot be read; the others are still reported', async () => {
    const missing = join(TMP, 'missing.png');
    const result = await run([MARKED, GARBAGE, missing]);
    expect(result.code).toBe(3);
    expect(result.stdout).toMatch(new RegExp(`^${literal(MARKED)}: Portoon watermark ${ID} \\(confidence 0\\.\\d\\d\\)\\n$`));
    const errors = result.stderr.trimEnd().split('\n');
    expect(errors).toEqual([
      expect.stringMatching(new RegExp(`^portoon: ${literal(GARBAGE)}: .* \\[E_UNSUPPORTED_FORMAT\\]$`)),
      expect.stringMatching(new RegExp(`^portoon: ${literal(missing)}: .* \\[E_INPUT_NOT_FOUND\\]$`)),
    ]);
  });

  it('--json: one report for one file, an array for several, with every field', async () => {
    const one = await run(['--json', MARKED]);
    expect([one.code, one.stderr]).toEqual([0, '']);
    const report = JSON.parse(one.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({
      file: MARKED,
      marked: true,
      format: 'jpeg',
      width: 512,
      height: 512,
      xmp: { present: false },
      c2pa: { present: false, valid: false, status: [], actions: [] },
      watermark: { found: true, id: ID },
      summary: expect.stringMatching(/^Portoon watermark /),
    });

    const several = await run(['--json', MARKED, UNMARKED, GARBAGE]);
    expect(several.code).toBe(3);
    const reports = JSON.parse(several.stdout) as Array<Record<string, unknown>>;
    expect(reports.map((r) => [r.file, r.marked])).toEqual([
      [MARKED, true],
      [UNMARKED, false],
      [GARBAGE, undefined],
    ]);
    expect(reports[2]).toMatchObject({ error: { code: 'E_UNSUPPORTED_FORMAT' } });
    expect(reports[1]).toMatchObject({ watermark: { found: false, confidence: 0 }, summary: 'No Portoon mark found' });
  });

  it('a watermark made with a key of its own is found with --watermark-key or PORTOON_WATERMARK_KEY only', async () => {
    const without = await run([SECRET]);
    const flag = await run(['--watermark-key', KEY, SECRET]);
    const env = await run([SECRET], { PORTOON_WATERMARK_KEY: KEY });
    expect([without.code, flag.code, env.code]).toEqual([4, 0, 0]);
    expect(flag.stdout).toContain(`Portoon watermark ${ID}`);
    expect(env.stdout).toContain(`Portoon watermark ${ID}`);
  });

  it('usage errors exit 2: no file, an empty key', async () => {
    const none = await run([]);
    const emptyKey = await run(['--watermark-key', '', MARKED]);
    expect([none.code, emptyKey.code, none.stdout, emptyKey.stdout]).toEqual([2, 2, '', '']);
    expectOneLineError(none, 'E_BAD_OPTION');
    expectOneLineError(emptyKey, 'E_BAD_OPTION');
  });
});
