/**
 * End-to-end tests of the `portoon` command: they run the REAL built binary (`node dist/cli/main.js`)
 * in a child process, on real photos from the shared portraits folder, and check exit codes, the
 * one-line stderr messages and the JSON on stdout. Build first (`npm run build`; `npm test` does it).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../src/node/load-catalogue.js';
import { describeWithModels, MODEL_MIRROR, PORTRAITS_DIR, portrait, REPO_ROOT, TEST_MODELS_DIR } from './helpers/env.js';
import { loadRgb, meanAbsDiff, pngBomb } from './helpers/images.js';

const CLI = join(REPO_ROOT, 'dist/cli/main.js');
if (!existsSync(CLI)) {
  throw new Error(
    `${CLI} is missing: the CLI tests run the built binary. Run "npm run build" first ("npm test" builds before running vitest).`,
  );
}

const PKG = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
const DETECTORS = ['retinaface-mnet025', 'yunet-face'];
/** Small photos (all 1 face in SOURCES.md) keep each run around a second on a 2-core machine. */
const HEADSHOT = '04-man-headshot-suit.jpg'; // 512x512
const SMALL = ['04-man-headshot-suit.jpg', '14-face-man-cap-glasses.jpg', '17-face-man-turtleneck.jpg'];

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

interface RunOptions {
  /** Overrides of the child's environment; `undefined` removes a variable. */
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
  cwd?: string;
  /** Close our end of the child's stdout right away (a reader that goes away, like `| head`). */
  closeStdout?: boolean;
}

let TMP = '';

/** Runs `node dist/cli/main.js ...args` with PORTOON_MODELS = the test models and no model mirror. */
function run(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, PORTOON_MODELS: TEST_MODELS_DIR };
  delete env.PORTOON_MODEL_MIRROR;
  delete env.PORTOON_DEBUG;
  delete env.NODE_OPTIONS;
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd ?? TMP, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    if (options.closeStdout) child.stdout.destroy();
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 60_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, timedOut, stdout, stderr });
    });
  });
}

/** A fresh folder under this file's temp root. */
function tempDir(name: string): string {
  const dir = join(TMP, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** stderr is exactly one `portoon: <message> [<code>]` line with no stack trace; returns the line. */
function expectOneLineError(result: RunResult, code: string): string {
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines, `stderr: ${result.stderr}`).toHaveLength(1);
  const line = lines[0]!;
  expect(line).toMatch(/^portoon: \S.* \[E_[A-Z_]+\]$/);
  expect(line).toContain(`[${code}]`);
  expect(result.stderr).not.toMatch(/^\s+at /m);
  return line;
}

/** A commander usage error: the `error: ...` line and the help hint, nothing else. */
function expectUsageError(result: RunResult, ...fragments: string[]): void {
  expect(result.code, result.stderr).toBe(2);
  expect(result.stdout).toBe('');
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines[0]).toMatch(/^error: /);
  for (const fragment of fragments) expect(lines[0]).toContain(fragment);
  expect(lines.slice(1)).toEqual(['(run portoon --help for usage)']);
}

function jsonLines(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The `faces` column (faces visible by eye) of a photo in the portraits' SOURCES.md. */
function facesInSources(name: string): number {
  const rows = readFileSync(join(PORTRAITS_DIR, 'SOURCES.md'), 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
  const column = rows[0]!.indexOf('faces');
  const row = rows.find((r) => r[0] === name);
  if (column < 0 || !row) throw new Error(`SOURCES.md has no faces count for ${name}`);
  return Number(row[column]);
}

async function size(path: string | Buffer): Promise<{ width: number; height: number; format: string }> {
  const meta = await sharp(path).metadata();
  return { width: meta.width ?? 0, height: meta.height ?? 0, format: meta.format ?? '' };
}

beforeAll(() => {
  TMP = mkdtempSync(join(tmpdir(), 'portoon-cli-'));
});

afterAll(() => {
  if (TMP) rmSync(TMP, { recursive: true, force: true });
});

describe('portoon: help, version, usage errors (exit 2)', () => {
  it('--version prints the package version', async () => {
    const r = await run(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(PKG.version);
    expect(r.stderr).toBe('');
  });

  it('--help prints usage with the subcommands', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: portoon');
    expect(r.stdout).toMatch(/^\s+styles\b/m);
    expect(r.stdout).toMatch(/^\s+models\b/m);
    expect(r.stdout).toContain('--strength');
    expect(r.stderr).toBe('');
  });

  it('no inputs at all: usage on stderr, exit 2', async () => {
    const r = await run([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('Usage: portoon');
  });

  it('unknown option', async () => {
    const out = join(tempDir('usage'), 'unknown-option.png');
    expectUsageError(await run([portrait(HEADSHOT), '-s', 'cel', '-o', out, '--bogus']), "unknown option '--bogus'");
    expect(existsSync(out)).toBe(false);
  });

  it('--strength 2 is out of range', async () => {
    const out = join(tempDir('usage'), 'strength.png');
    expectUsageError(
      await run([portrait(HEADSHOT), '-s', 'cel', '-o', out, '--strength', '2']),
      '--strength',
      'expected a number between 0 and 1',
      '"2"',
    );
    expect(existsSync(out)).toBe(false);
  });

  it('--mix nonsense:: is not <style>:<weight>', async () => {
    const out = join(tempDir('usage'), 'mix.png');
    expectUsageError(await run([portrait(HEADSHOT), '-s', 'cel', '-o', out, '--mix', 'nonsense::']), '--mix', 'nonsense::');
    expect(existsSync(out)).toBe(false);
  });

  it('unknown style -s vaporwave: E_UNKNOWN_STYLE, exit 2, lists the styles', async () => {
    const out = join(tempDir('usage'), 'vaporwave.png');
    const r = await run([portrait(HEADSHOT), '-s', 'vaporwave', '-o', out]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const line = expectOneLineError(r, 'E_UNKNOWN_STYLE');
    expect(line).toContain('"vaporwave"');
    expect(line).toMatch(/\bcel\b/);
    expect(existsSync(out)).toBe(false);
  });
});

describe('portoon styles', () => {
  it('text: every style with its state; cel needs no model', async () => {
    const r = await run(['styles']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    for (const id of ['anime', 'cartoon', 'cel']) expect(r.stdout).toMatch(new RegExp(`^${id}\\s`, 'm'));
    expect(r.stdout).toContain('no model needed');
  });

  it('--json: one JSON array with anime, cartoon and cel', async () => {
    const r = await run(['styles', '--json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(1);
    const styles = JSON.parse(r.stdout) as Array<{
      id: string;
      models: string[];
      installed: boolean;
      licenses: string[];
      commercialUse: boolean;
    }>;
    expect(styles.map((s) => s.id)).toEqual(expect.arrayContaining(['anime', 'cartoon', 'cel']));
    const cel = styles.find((s) => s.id === 'cel')!;
    expect(cel.models).toEqual([]);
    expect(cel.installed).toBe(true);
    expect(cel.commercialUse).toBe(true);
    expect(styles.find((s) => s.id === 'cartoon')!.models).toEqual(['whitebox-cartoon']);
  });

  it('--json --models-dir after the subcommand is honoured (empty folder: model styles missing)', async () => {
    const empty = tempDir('styles-empty-models');
    const r = await run(['styles', '--json', '--models-dir', empty]);
    expect(r.code).toBe(0);
    const styles = JSON.parse(r.stdout) as Array<{ id: string; installed: boolean }>;
    expect(styles.find((s) => s.id === 'anime')!.installed).toBe(false);
    expect(styles.find((s) => s.id === 'cel')!.installed).toBe(true);
  });

  it('a reader that closes stdout early (| head) ends quietly, without an EPIPE stack trace', async () => {
    const r = await run(['styles'], { closeStdout: true, timeoutMs: 20_000 });
    expect(r.timedOut).toBe(false);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
  });
});

describe('missing inputs and models (no models needed)', () => {
  it('a missing file: E_INPUT_NOT_FOUND, exit 3, names the path', async () => {
    const missing = join(tempDir('missing'), 'no-such-photo.jpg');
    const r = await run([missing, '-s', 'cel', '-o', join(TMP, 'missing', 'out.png')]);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(expectOneLineError(r, 'E_INPUT_NOT_FOUND')).toContain(missing);
    expect(existsSync(join(TMP, 'missing', 'out.png'))).toBe(false);
  });

  it('-s anime with an empty models folder: E_MODEL_MISSING, exit 1, tells how to pull', async () => {
    const empty = tempDir('no-models');
    const out = join(tempDir('no-models-out'), 'anime.png');
    const r = await run([portrait(HEADSHOT), '-s', 'anime', '-o', out], { env: { PORTOON_MODELS: empty } });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const line = expectOneLineError(r, 'E_MODEL_MISSING');
    expect(line).toContain('portoon models pull');
    expect(line).toContain('animeganv3-jpface-v1');
    expect(existsSync(out)).toBe(false);
  });

  it('-s cel and -s watercolor work before any model is installed', async () => {
    const empty = tempDir('no-models-cel');
    for (const style of ['cel', 'watercolor']) {
      const out = join(tempDir(`no-models-${style}-out`), `${style}.png`);
      const r = await run([portrait(HEADSHOT), '-s', style, '-o', out, '--json'], { env: { PORTOON_MODELS: empty } });
      expect(r.code).toBe(0);
      const report = JSON.parse(r.stdout) as { detected: boolean; faces: unknown[]; models: string[] };
      expect(report).toMatchObject({ detected: false, faces: [], models: [] });
      expect(existsSync(out)).toBe(true);
    }
  });

  it('models pull with no mirror configured fails fast with E_MODEL_SOURCE and the --from hint', async () => {
    const store = tempDir('pull-no-mirror');
    const r = await run(['models', 'pull', 'yunet-face'], { env: { PORTOON_MODELS: store }, timeoutMs: 30_000 });
    expect(r.timedOut).toBe(false);
    expect(r.code).not.toBe(0);
    expect(r.code).toBe(1);
    const line = expectOneLineError(r, 'E_MODEL_SOURCE');
    expect(line).toContain('portoon models pull --from');
    expect(existsSync(join(store, 'yunet-face.onnx'))).toBe(false);
  });

  it('models list --json --models-dir <empty>: the subcommand option is honoured, everything missing', async () => {
    const empty = tempDir('list-empty');
    const r = await run(['models', 'list', '--json', '--models-dir', empty]);
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout) as { dir: string; models: Array<{ id: string; state: string }> };
    expect(list.dir).toBe(empty);
    expect(list.models.length).toBeGreaterThan(0);
    expect(list.models.every((m) => m.state === 'missing')).toBe(true);
  });
});

describeWithModels(DETECTORS)('bad input files: exit 3, one clear line (needs the detectors)', () => {
  let dir = '';
  beforeAll(() => {
    dir = tempDir('bad-inputs');
    writeFileSync(join(dir, 'empty.jpg'), Buffer.alloc(0));
    const jpeg = readFileSync(portrait(HEADSHOT));
    writeFileSync(join(dir, 'truncated.jpg'), jpeg.subarray(0, Math.floor(jpeg.length / 2)));
    writeFileSync(join(dir, 'text.jpg'), 'This is a text file that was renamed to .jpg, not a photo.\n');
    writeFileSync(join(dir, 'bomb.png'), pngBomb(30_000, 30_000));
  });

  it.each([
    ['empty.jpg', 'E_EMPTY_INPUT', /empty/i],
    ['truncated.jpg', 'E_DECODE_FAILED', /damaged or truncated/i],
    ['text.jpg', 'E_UNSUPPORTED_FORMAT', /not an image/i],
    ['bomb.png', 'E_IMAGE_TOO_LARGE', /30000x30000/],
  ])('%s -> %s', async (file, code, message) => {
    const out = join(dir, `${file}.out.png`);
    const r = await run([join(dir, file), '-s', 'cel', '-o', out]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toBe('');
    expect(expectOneLineError(r, code)).toMatch(message);
    expect(existsSync(out)).toBe(false);
  });
});

describeWithModels([...DETECTORS, 'whitebox-cartoon'])('portoon <photo> (real models)', () => {
  it('-s cartoon -o out.png --json: one JSON report line, output at the input size', async () => {
    const dir = tempDir('single');
    const out = join(dir, 'out.png');
    const input = await size(portrait(HEADSHOT));
    const r = await run([portrait(HEADSHOT), '-s', 'cartoon', '-o', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const lines = jsonLines(r.stdout);
    expect(lines).toHaveLength(1);
    const report = lines[0]!;
    expect(report).toMatchObject({
      input: portrait(HEADSHOT),
      output: out,
      width: input.width,
      height: input.height,
      style: 'cartoon',
      format: 'png',
    });
    expect(report.faces).toHaveLength(facesInSources(HEADSHOT));
    const timings = report.timings as Record<string, number>;
    for (const stage of ['decode', 'detect', 'background', 'encode']) expect(timings[stage]).toBeGreaterThan(0);
    expect(report.models).toEqual(expect.arrayContaining(['whitebox-cartoon', ...DETECTORS]));
    expect(await size(out)).toEqual({ width: input.width, height: input.height, format: 'png' });
    expect(readdirSync(dir)).toEqual(['out.png']); // no leftover .part file
  });
});

describeWithModels(DETECTORS)('portoon with style cel (detectors only)', () => {
  it('batch: a folder of 3 photos and a fake .jpg -> 4 JSON lines, 3 outputs, exit 3, summary', async () => {
    const inDir = tempDir('batch-in');
    const outDir = join(TMP, 'batch-out');
    // Two symbolic links to the shared photos, one copy in a subfolder, one text file named .jpg.
    symlinkSync(portrait(SMALL[0]!), join(inDir, SMALL[0]!));
    symlinkSync(portrait(SMALL[1]!), join(inDir, SMALL[1]!));
    mkdirSync(join(inDir, 'sub'));
    copyFileSync(portrait(SMALL[2]!), join(inDir, 'sub', SMALL[2]!));
    writeFileSync(join(inDir, 'notes.jpg'), 'meeting notes, not a photo\n');
    const good = [SMALL[0]!, SMALL[1]!, join('sub', SMALL[2]!)];

    const r = await run([inDir, '-s', 'cel', '-o', outDir, '--json']);
    expect(r.code, r.stderr).toBe(3);

    const lines = jsonLines(r.stdout);
    expect(lines).toHaveLength(4);
    const byInput = new Map(lines.map((l) => [relative(inDir, l.input as string), l]));
    expect([...byInput.keys()].sort()).toEqual([...good, 'notes.jpg'].sort());
    const bad = byInput.get('notes.jpg')!;
    expect(bad.output).toBeUndefined();
    expect(bad.error).toMatchObject({ code: 'E_UNSUPPORTED_FORMAT', message: expect.stringMatching(/not an image/) });
    const badMessage = (bad.error as { message: string }).message;

    let faces = 0;
    for (const rel of good) {
      const report = byInput.get(rel)!;
      expect(report.error).toBeUndefined();
      expect(report.style).toBe('cel');
      expect(report.output).toBe(join(outDir, rel)); // names (and subfolders) are preserved
      const input = await size(portrait(basename(rel)));
      expect(await size(join(outDir, rel))).toEqual({ ...input, format: 'jpeg' });
      expect(report).toMatchObject({ width: input.width, height: input.height });
      expect(report.faces).toHaveLength(facesInSources(basename(rel)));
      faces += facesInSources(basename(rel));
    }
    expect(existsSync(join(outDir, 'notes.jpg'))).toBe(false);
    expect(readdirSync(outDir).sort()).toEqual([SMALL[0]!, SMALL[1]!, 'sub'].sort());

    const errLines = r.stderr.trimEnd().split('\n');
    expect(errLines).toHaveLength(2);
    expect(errLines[0]).toBe(`portoon: ${join(inDir, 'notes.jpg')}: ${badMessage} [E_UNSUPPORTED_FORMAT]`);
    expect(errLines[1]).toMatch(new RegExp(`^3 of 4 images done in [0-9.]+ s, ${faces} faces found, 1 failed$`));
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it('--strength 0 --format png: the output is the input (mean abs diff < 1)', async () => {
    const dir = tempDir('strength0');
    // A folder as -o: the name comes from the input and the extension from --format.
    const r = await run([portrait(HEADSHOT), '-s', 'cel', '--strength', '0', '--format', 'png', '-o', `${dir}/`, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = join(dir, '04-man-headshot-suit-cel.png');
    expect(jsonLines(r.stdout)[0]).toMatchObject({ output: out, format: 'png' });
    expect((await size(out)).format).toBe('png');
    const diff = meanAbsDiff(await loadRgb(portrait(HEADSHOT)), await loadRgb(out));
    expect(diff).toBeLessThan(1);
  });

  it('--max-side 256 shrinks the long side to 256 px', async () => {
    const name = '14-face-man-cap-glasses.jpg'; // 350x387
    const out = join(tempDir('max-side'), 'small.png');
    const r = await run([portrait(name), '-s', 'cel', '--max-side', '256', '-o', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const written = await size(out);
    expect(Math.max(written.width, written.height)).toBe(256);
    expect(written.height).toBe(256);
    expect(written.width).toBe(Math.round((350 * 256) / 387));
    expect(jsonLines(r.stdout)[0]).toMatchObject({ width: written.width, height: written.height });
  });

  it('without --json: the output path and face count on stderr, nothing on stdout', async () => {
    const out = join(tempDir('plain'), 'plain.png');
    const r = await run([portrait(HEADSHOT), '-s', 'cel', '-o', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`^${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} {2}\\(1 face, \\d+ ms\\)\\n$`));
    expect(existsSync(out)).toBe(true);
  });
});

describeWithModels(['yunet-face'])('portoon models (real mirror)', () => {
  it('models list --json shows the test models as installed', async () => {
    const r = await run(['models', 'list', '--json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const list = JSON.parse(r.stdout) as { dir: string; models: Array<{ id: string; state: string; default: boolean; path: string }> };
    expect(list.dir).toBe(TEST_MODELS_DIR);
    const yunet = list.models.find((m) => m.id === 'yunet-face');
    expect(yunet).toMatchObject({ state: 'installed', path: join(TEST_MODELS_DIR, 'yunet-face.onnx') });
  });

  it('pull --from <mirror>, verify, then verify a file with one flipped byte -> exit 1 naming the file', async () => {
    const store = tempDir('store');
    const env = { PORTOON_MODELS: store };
    const file = join(store, 'yunet-face.onnx');
    const expected = loadCatalogue().model('yunet-face');

    const pulled = await run(['models', 'pull', 'yunet-face', '--from', MODEL_MIRROR, '--json'], { env, timeoutMs: 60_000 });
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(JSON.parse(pulled.stdout)).toEqual({ dir: store, results: [{ model: 'yunet-face', action: 'installed', path: file }] });
    const bytes = readFileSync(file);
    expect(bytes.length).toBe(expected.bytes);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(expected.sha256);
    expect(readdirSync(store)).toEqual(['yunet-face.onnx']); // no temporary .part left behind

    const ok = await run(['models', 'verify'], { env });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^ok\s+yunet-face$/m);

    const middle = bytes.length >> 1;
    bytes[middle] = bytes[middle]! ^ 0xff;
    writeFileSync(file, bytes);
    const bad = await run(['models', 'verify'], { env });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain(`CORRUPT  yunet-face: ${file}`);
    const line = expectOneLineError(bad, 'E_MODEL_CORRUPT');
    expect(line).toContain(file);
    expect(line).toContain('portoon models pull yunet-face --force');
  });
});
