/**
 * End-to-end tests of the `portoon` command: they run the REAL built binary (`node dist/cli/main.js`)
 * in a child process, on real photos from the shared portraits folder, and check exit codes, the
 * one-line stderr messages and the JSON on stdout. Build first (`npm run build`; `npm test` does it).
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fsError } from '../src/cli/fs-errors.js';
import { loadCatalogue } from '../src/node/load-catalogue.js';
import { describeWithModels, MODEL_MIRROR, PORTRAITS_DIR, portrait, REPO_ROOT, TEST_MODELS_DIR } from './helpers/env.js';
import { assertCliBuilt, expectOneLineError, expectUsageError, runCli, type CliResult, type CliRunOptions } from './helpers/cli-process.js';
import { loadRgb, meanAbsDiff, pngBomb } from './helpers/images.js';

assertCliBuilt();

const PKG = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
const DETECTORS = ['retinaface-mnet025', 'yunet-face'];
/** Small photos (all 1 face in SOURCES.md) keep each run around a second on a 2-core machine. */
const HEADSHOT = '04-man-headshot-suit.jpg'; // 512x512
const SMALL = ['04-man-headshot-suit.jpg', '14-face-man-cap-glasses.jpg', '17-face-man-turtleneck.jpg'];

type RunOptions = Omit<CliRunOptions, 'modelsDir' | 'cwd'> & { cwd?: string };

let TMP = '';

/** Runs the CLI with the test models, in this file's temp root unless told otherwise. */
function run(args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  return runCli(args, { modelsDir: TEST_MODELS_DIR, ...options, cwd: options.cwd ?? TMP });
}

/** A fresh folder under this file's temp root. */
function tempDir(name: string): string {
  const dir = join(TMP, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** A system error code as Node words it ("EEXIST: file already exists, mkdir …"), which users must never see. */
const RAW_SYSTEM_ERROR = /\bE[A-Z]{3,}: /;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
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

  it('npx portoon --version from the checkout: the version and not a single npm warning', async () => {
    const r = await run(['--version'], { command: ['npx', '--no-install', 'portoon'], cwd: REPO_ROOT, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(PKG.version);
    expect(r.stderr).toBe('');
  });

  it('install scripts that download binaries stay off: onnxruntime-node (CUDA) and c2pa-node (prebuilt or Rust build), denied for npm 11, skipped by `npm run setup` for npm 10', () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      allowScripts?: Record<string, boolean>;
      scripts: Record<string, string>;
    };
    expect(pkg.allowScripts?.['onnxruntime-node']).toBe(false);
    expect(pkg.allowScripts?.['@contentauth/c2pa-node']).toBe(false);
    expect(pkg.scripts.setup).toMatch(/^ONNXRUNTIME_NODE_INSTALL=skip SKIP_RUST_BUILD=1 SKIP_BINARY_DOWNLOAD=1 npm install /);
    // npm 11 warns about every unknown key in .npmrc ("Unknown project config"), so the setting may not live there.
    const npmrc = join(REPO_ROOT, '.npmrc');
    expect(existsSync(npmrc) ? readFileSync(npmrc, 'utf8') : '').not.toMatch(/onnxruntime/);
  });

  it('--help prints usage with the subcommands', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: portoon');
    expect(r.stdout).toMatch(/^\s+styles\b/m);
    expect(r.stdout).toMatch(/^\s+models\b/m);
    expect(r.stdout).toContain('--strength');
    expect(r.stdout).toContain('--overwrite');
    expect(r.stderr).toBe('');
  });

  it.each(['models', 'models pull', 'serve', 'styles'])('portoon %s --help prints that help on stdout, exit 0', async (command) => {
    const r = await run([...command.split(' '), '--help']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(`Usage: portoon ${command} [options]`);
  });

  it('--threads: help and README give the real default (the cores divided among the workers)', async () => {
    const help = (await run(['--help'])).stdout.replace(/\s+/g, ' ');
    expect(help).toContain('--threads <n> inference threads per worker (default: the cores divided among the workers)');
    expect(help).not.toContain('all cores');
    const row = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8')
      .split('\n')
      .find((line) => line.startsWith('| `--threads'));
    expect(row).toContain('the cores divided among the workers');
  });

  // Every misuse, whether an option parser or commander itself finds it, and in any subcommand,
  // ends the same way: one `portoon: <message> [E_BAD_OPTION]` line saying what was expected and
  // what arrived, exit code 2, and no output file.
  it.each([
    [['--strength', '2'], 'Expected a number between 0 and 1 for --strength but received 2'],
    [['--strength', 'abc'], 'Expected a number between 0 and 1 for --strength but received abc'],
    [['--strength'], 'Expected a value for --strength but received none'],
    [['--bogus'], 'Expected an option listed by "portoon --help" but received --bogus'],
    [['--stylee', 'cel'], 'Expected an option listed by "portoon --help" but received --stylee (did you mean --style?)'],
    [['--format', 'gif'], 'Expected png, jpeg or webp for --format but received gif'],
    [['--quality', '0'], 'Expected a whole number between 1 and 100 for --quality but received 0'],
    [['--quality', '101'], 'Expected a whole number between 1 and 100 for --quality but received 101'],
    [['--max-side', '0'], 'Expected a whole number between 16 and 100000 for --max-side but received 0'],
    [['--mix', 'watercolor:2'], 'Expected a number between 0 and 1 for the weight of --mix (e.g. sketch:0.3) but received 2'],
    [['--mix', 'nonsense::'], 'Expected a number between 0 and 1 for the weight of --mix (e.g. sketch:0.3) but received an empty value'],
    [['--workers', '0'], 'Expected a positive whole number for --workers but received 0'],
    [['--threads', '1.5'], 'Expected a positive whole number for --threads but received 1.5'],
    [['--detector', 'foo'], 'Expected both, retinaface or yunet for --detector but received foo'],
    [['--background', 'foo'], 'Expected stylize, keep or blur for --background but received foo'],
    [['--device', 'foo'], 'Expected cpu or cuda for --device but received foo'],
  ])('portoon <photo> %j: %s', async (args, message) => {
    const out = join(tempDir('usage'), 'out.png');
    expectUsageError(await run([portrait(HEADSHOT), '-s', 'cel', '-o', out, ...args]), message);
    expect(existsSync(out)).toBe(false);
  });

  it.each([
    [[], 'Expected an image file, a folder or a command (styles, verify, serve, worker or models) but received none; see portoon --help'],
    [
      ['modles', 'list'],
      'Expected an image file, a folder or a command (styles, verify, serve, worker or models) but received modles, which names none of them; see portoon --help',
    ],
    [['help', 'foo'], 'Expected a command of portoon (styles, verify, serve, worker or models) but received foo'],
    [['models'], 'Expected a command of portoon models (list, pull or verify) but received none'],
    [['models', 'lst'], 'Expected a command of portoon models (list, pull or verify) but received lst (did you mean list?)'],
    [['models', 'pull', '--bogus'], 'Expected an option listed by "portoon models pull --help" but received --bogus'],
    [['models', 'list', '--from'], 'Expected an option listed by "portoon models list --help" but received --from'],
    [['models', 'list', 'extra'], 'Expected no arguments for portoon models list but received extra'],
    [['styles', 'extra'], 'Expected no arguments for portoon styles but received extra'],
    [['styles', '--bogus'], 'Expected an option listed by "portoon styles --help" but received --bogus'],
    [['serve', '--bogus'], 'Expected an option listed by "portoon serve --help" but received --bogus'],
    [['serve', '--port'], 'Expected a value for --port but received none'],
  ])('portoon %j: %s', async (args, message) => {
    expectUsageError(await run(args, { timeoutMs: 20_000 }), message);
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
    expect(expectOneLineError(r, 'E_INPUT_NOT_FOUND')).toBe(`portoon: Input ${missing} does not exist [E_INPUT_NOT_FOUND]`);
    expect(existsSync(join(TMP, 'missing', 'out.png'))).toBe(false);
  });

  it('-s anime with an empty models folder: E_MODEL_MISSING, exit 1, one npx command installing every missing model', async () => {
    const empty = tempDir('no-models');
    const out = join(tempDir('no-models-out'), 'anime.png');
    const r = await run([portrait(HEADSHOT), '-s', 'anime', '-o', out], { env: { PORTOON_MODELS: empty } });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const line = expectOneLineError(r, 'E_MODEL_MISSING');
    const catalogue = loadCatalogue();
    const needed = [...catalogue.modelsOf(catalogue.style('anime')), ...DETECTORS];
    const command = /Install with: npx portoon models pull (.+?) --from <mirror folder or https URL> \(or set PORTOON_MODEL_MIRROR/.exec(
      line,
    );
    expect(command, line).not.toBeNull();
    expect(command![1]!.split(' ').sort()).toEqual([...new Set(needed)].sort());
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

  it('models pull with no mirror configured fails fast with E_MODEL_SOURCE, naming every missing model in an npx command', async () => {
    const store = tempDir('pull-no-mirror');
    const r = await run(['models', 'pull'], { env: { PORTOON_MODELS: store }, timeoutMs: 30_000 });
    expect(r.timedOut).toBe(false);
    expect(r.code).toBe(1);
    const defaults = loadCatalogue()
      .models.filter((m) => m.default)
      .map((m) => m.id);
    expect(defaults.length).toBeGreaterThan(1);
    expect(expectOneLineError(r, 'E_MODEL_SOURCE')).toBe(
      `portoon: Models ${defaults.join(', ')} need installing, but no model source is configured. ` +
        `Run: npx portoon models pull ${defaults.join(' ')} --from <mirror folder or https URL> ` +
        '(or set PORTOON_MODEL_MIRROR to the mirror and leave out --from) [E_MODEL_SOURCE]',
    );
    expect(readdirSync(store)).toEqual([]);
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

// The cel style needs no model: with an empty models folder these run anywhere, and fast.
describe('existing outputs and file-system errors in words (style cel, no models)', () => {
  let empty = '';
  let aFile = '';
  beforeAll(() => {
    empty = tempDir('fs-no-models');
    aFile = join(tempDir('fs'), 'a-file');
    writeFileSync(aFile, 'not a folder\n');
  });
  const runCel = (args: readonly string[], options: RunOptions = {}): Promise<CliResult> =>
    run([...args, '-s', 'cel'], { ...options, env: { PORTOON_MODELS: empty, ...options.env } });

  it('single image, -o names an existing file: refused with E_OUTPUT_EXISTS (exit 2) naming the file and --overwrite; kept', async () => {
    const out = join(tempDir('exists-single'), 'out.png');
    writeFileSync(out, 'an earlier result');
    const r = await runCel([portrait(HEADSHOT), '-o', out]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `portoon: ${out} already exists; pass --overwrite to replace it, or choose another name with -o [E_OUTPUT_EXISTS]\n`,
    );
    expect(readFileSync(out, 'utf8')).toBe('an earlier result');

    const replaced = await runCel([portrait(HEADSHOT), '-o', out, '--overwrite', '--json']);
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(jsonLines(replaced.stdout)[0]).toMatchObject({ output: out, format: 'png' });
    expect((await size(out)).format).toBe('png');
  });

  it('single image, the default output name exists: refused the same way', async () => {
    const cwd = tempDir('exists-default');
    const out = join(cwd, '04-man-headshot-suit-cel.jpg');
    writeFileSync(out, 'an earlier result');
    const r = await runCel([portrait(HEADSHOT)], { cwd });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toBe(
      `portoon: ${out} already exists; pass --overwrite to replace it, or choose another name with -o [E_OUTPUT_EXISTS]\n`,
    );
    expect(readFileSync(out, 'utf8')).toBe('an earlier result');
  });

  it('a batch re-run on "." skips what it wrote and does not take ./portoon-out as new input', async () => {
    const cwd = tempDir('rerun-dot');
    copyFileSync(portrait(HEADSHOT), join(cwd, HEADSHOT));
    const out = join(cwd, 'portoon-out', HEADSHOT);
    const first = await runCel(['.', '--json'], { cwd });
    expect(first.code, first.stderr).toBe(0);
    expect(jsonLines(first.stdout)).toEqual([expect.objectContaining({ input: HEADSHOT, output: join('portoon-out', HEADSHOT) })]);
    const again = await runCel(['.', '--json'], { cwd });
    expect(again.code, again.stderr).toBe(0);
    expect(jsonLines(again.stdout)).toEqual([
      {
        input: HEADSHOT,
        output: join('portoon-out', HEADSHOT),
        skipped: true,
        note: 'the output already exists; pass --overwrite to replace it',
      },
    ]);
    expect(readdirSync(join(cwd, 'portoon-out'))).toEqual([HEADSHOT]);
    expect(existsSync(out)).toBe(true);
  });

  it('-o <existing file>/x.png: the output folder cannot be created, said in words (no "EEXIST:"), exit 1', async () => {
    const r = await runCel([portrait(HEADSHOT), '-o', join(aFile, 'x.png')]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toBe(`portoon: Cannot create the output folder ${aFile}: a file with that name exists [E_OUTPUT_FAILED]\n`);
    expect(r.stderr).not.toMatch(RAW_SYSTEM_ERROR);
  });

  it('a batch with -o <existing file>: the same words for the output folder', async () => {
    const inDir = tempDir('fs-batch-in');
    copyFileSync(portrait(HEADSHOT), join(inDir, HEADSHOT));
    const r = await runCel([inDir, '-o', aFile]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toBe(`portoon: Cannot create the output folder ${aFile}: a file with that name exists [E_OUTPUT_FAILED]\n`);
  });

  it('-o <existing file>/sub/x.png: names the file that stands where a folder should be (no "ENOTDIR:")', async () => {
    const r = await runCel([portrait(HEADSHOT), '-o', join(aFile, 'sub', 'x.png')]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toBe(
      `portoon: Cannot create the output folder ${join(aFile, 'sub')}: ${aFile} is a file, not a folder [E_OUTPUT_FAILED]\n`,
    );
  });

  it('--overwrite onto a folder of the output name: "a folder with that name exists" (no "EISDIR:")', async () => {
    const cwd = tempDir('fs-isdir');
    const out = join(cwd, '04-man-headshot-suit-cel.png');
    mkdirSync(out);
    const r = await runCel([portrait(HEADSHOT), '--format', 'png', '--overwrite'], { cwd });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toBe(`portoon: Cannot write ${out}: a folder with that name exists [E_OUTPUT_FAILED]\n`);
  });

  it('an input below a file (<file>/photo.jpg): cannot be read, said in words (no "ENOTDIR:"), exit 3', async () => {
    const input = join(aFile, 'photo.jpg');
    const r = await runCel([input, '-o', join(tempDir('fs-out'), 'x.png')]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toBe(`portoon: Cannot read the input ${input}: ${aFile} is a file, not a folder [E_INPUT_NOT_FOUND]\n`);
  });

  it("fsError keeps Node's error as the cause", () => {
    let original: unknown;
    try {
      mkdirSync(aFile);
    } catch (error) {
      original = error;
    }
    expect((original as NodeJS.ErrnoException).code).toBe('EEXIST');
    const error = fsError('E_OUTPUT_FAILED', `Cannot create the output folder ${aFile}`, aFile, original);
    expect(error.message).toBe(`Cannot create the output folder ${aFile}: a file with that name exists`);
    expect(error.cause).toBe(original);
    expect(error.details).toEqual({ path: aFile, errno: 'EEXIST' });
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
    expect(errLines[1]).toMatch(
      new RegExp(
        `^3 written, 0 skipped, 1 failed of 4 images in [0-9.]+ s \\(${faces} faces found\\); output folder: ${escapeRegExp(outDir)}$`,
      ),
    );
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it('batch re-run: existing outputs are skipped (stderr and --json say so), --overwrite replaces them', async () => {
    const inDir = tempDir('rerun-in');
    const outDir = join(TMP, 'rerun-out');
    for (const name of SMALL.slice(0, 2)) symlinkSync(portrait(name), join(inDir, name));
    const [kept, removed] = SMALL.slice(0, 2).map((name) => join(outDir, name)) as [string, string];
    const summary = (written: number, skipped: number, faces: number): RegExp =>
      new RegExp(
        `^${written} written, ${skipped} skipped, 0 failed of 2 images in [0-9.]+ s \\(${faces} faces? found\\); output folder: ${escapeRegExp(outDir)}$`,
      );

    const first = await run([inDir, '-s', 'cel', '-o', outDir]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(summary(2, 0, 2))]);

    // One output changed by hand since, one deleted: only the deleted one is made again.
    writeFileSync(kept, 'edited by hand');
    rmSync(removed);
    const again = await run([inDir, '-s', 'cel', '-o', outDir, '--json']);
    expect(again.code, again.stderr).toBe(0);
    const lines = jsonLines(again.stdout);
    expect(lines).toHaveLength(2);
    expect(lines.find((l) => l.output === kept)).toEqual({
      input: join(inDir, SMALL[0]!),
      output: kept,
      skipped: true,
      note: 'the output already exists; pass --overwrite to replace it',
    });
    expect(lines.find((l) => l.output === removed)).toMatchObject({ input: join(inDir, SMALL[1]!), style: 'cel' });
    expect(readFileSync(kept, 'utf8')).toBe('edited by hand');
    expect((await size(removed)).format).toBe('jpeg');
    expect(again.stderr.trimEnd().split('\n')).toEqual([
      `skipped ${kept}: the output already exists; pass --overwrite to replace it`,
      expect.stringMatching(summary(1, 1, 1)),
    ]);

    const replaced = await run([inDir, '-s', 'cel', '-o', outDir, '--overwrite', '--json']);
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(jsonLines(replaced.stdout).map((l) => l.skipped)).toEqual([undefined, undefined]);
    expect((await size(kept)).format).toBe('jpeg');
    expect(replaced.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(summary(2, 0, 2))]);
    expect(readdirSync(outDir).sort()).toEqual(SMALL.slice(0, 2).sort()); // no .part files left behind
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
    expect(line).toContain('npx portoon models pull yunet-face --force');
  });

  it('with no mirror, the error names every missing model in a command that works as printed from the checkout', async () => {
    const store = tempDir('store-printed-command');
    const ids = ['yunet-face', 'retinaface-mnet025'];
    const failed = await run(['models', 'pull', ...ids, '--models-dir', store]);
    expect(failed.code).toBe(1);
    const line = expectOneLineError(failed, 'E_MODEL_SOURCE');
    const printed = /Run: (npx portoon models pull .+?) \(or set PORTOON_MODEL_MIRROR/.exec(line)?.[1];
    expect(printed).toBe(`npx portoon models pull ${ids.join(' ')} --from <mirror folder or https URL> --models-dir ${store}`);

    // Fill in the mirror and run the command exactly as printed, through npx, from the repository.
    const [npx, ...args] = printed!.replace('<mirror folder or https URL>', MODEL_MIRROR).split(' ');
    const pulled = await run([], { command: [npx!, ...args], cwd: REPO_ROOT, timeoutMs: 120_000 });
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(readdirSync(store).sort()).toEqual(ids.map((id) => `${id}.onnx`).sort());
  });
});
