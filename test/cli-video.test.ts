/**
 * End-to-end tests of `portoon <video>`: they run the REAL built binary (`node dist/cli/main.js`) in
 * a child process on the real clips of the shared videos folder (never copied into the repository),
 * and check the files it writes with ffprobe. Every run is short (a small --max-side, a second of the
 * clip, the model-free `cel` style) except one with a neural style. Outputs go to
 * test-output/cli-video. Build first (`npm run build`; `npm test` does it).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, watch, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertCliBuilt, expectOneLineError, expectUsageError, runCli, type CliResult, type CliRunOptions } from './helpers/cli-process.js';
import { describeWithModels, portrait, TEST_MODELS_DIR, TEST_OUTPUT_DIR, video } from './helpers/env.js';

assertCliBuilt();

/** The clips of ../shared/videos/SOURCES.md. */
const BOY = video('01-boy-chalkboard-720p.mp4'); // 1280x720, 25 fps, 126 frames, no sound
const RAILWAY = video('02-railway-people-audio.mp4'); // 540x960, 30 fps, AAC sound
const WOMAN = video('03-talking-head-woman.mp4'); // 376x352, 15 fps, 29 frames
const MAN = video('04-talking-head-man.mp4'); // 392x360, 15 fps, 39 frames
const PHOTO = portrait('04-man-headshot-suit.jpg');
const DETECTORS = ['retinaface-mnet025', 'yunet-face'];

const ROOT = join(TEST_OUTPUT_DIR, 'cli-video');
/** An empty models folder: `cel` then runs without face detection, which keeps these runs short. */
const NO_MODELS = join(ROOT, 'no-models');
/** Where any work would need ffmpeg: a run that answers anything but E_FFMPEG_MISSING did none. */
const NO_FFMPEG = { PORTOON_FFMPEG: '/nonexistent', PORTOON_FFPROBE: '/nonexistent' };
const SHORT = ['-s', 'cel', '--max-side', '128', '--duration', '1'];

type RunOptions = Omit<CliRunOptions, 'modelsDir' | 'cwd' | 'env'> & { cwd?: string; env?: Record<string, string> };

/** Runs the CLI with an empty models folder (default), in test-output/cli-video, for at most 2 min. */
function run(args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  return runCli(args, { modelsDir: NO_MODELS, timeoutMs: 120_000, ...options, cwd: options.cwd ?? ROOT });
}

/** A fresh, empty folder under test-output/cli-video. */
function freshDir(name: string): string {
  const dir = join(ROOT, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

function jsonLine(stdout: string): Record<string, unknown> {
  const lines = stdout.trimEnd().split('\n');
  expect(lines, stdout).toHaveLength(1);
  return JSON.parse(lines[0]!) as Record<string, unknown>;
}

interface ProbedStream {
  codec_type: string;
  codec_name: string;
  width?: number;
  height?: number;
  r_frame_rate?: string;
  sample_rate?: string;
  nb_read_frames?: string;
}

interface Probed {
  streams: ProbedStream[];
  format: { format_name: string; duration: string };
}

/** ffprobe's view of a file, every frame counted. */
function probe(path: string): Probed {
  const result = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-show_streams', '-show_format', '-of', 'json', path], {
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`ffprobe ${path} failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as Probed;
}

function streamsOf(probed: Probed, type: 'video' | 'audio'): ProbedStream[] {
  return probed.streams.filter((s) => s.codec_type === type);
}

function framesOf(path: string): number {
  const [stream] = streamsOf(probe(path), 'video');
  return Number(stream!.nb_read_frames);
}

/** Frames of the input's video whose time falls in [start, start + duration), counted by ffprobe. */
function framesInRange(path: string, start: number, duration: number): number {
  const result = spawnSync(
    'ffprobe',
    ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', path],
    { encoding: 'utf8' },
  );
  if (result.status !== 0) throw new Error(`ffprobe ${path} failed: ${result.stderr}`);
  const times = result.stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map(Number);
  const epsilon = 1e-6;
  return times.filter((t) => t >= start - epsilon && t < start + duration - epsilon).length;
}

/** The first frame of a clip as RGB bytes at the given size. */
function firstFrame(path: string, width: number, height: number): Buffer {
  const result = spawnSync(
    'ffmpeg',
    ['-v', 'error', '-i', path, '-frames:v', '1', '-vf', `scale=${width}:${height}`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  if (result.status !== 0) throw new Error(`ffmpeg ${path} failed: ${result.stderr.toString()}`);
  return result.stdout;
}

function meanAbsDiff(a: Buffer, b: Buffer): number {
  expect(a.length).toBe(b.length);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

beforeAll(() => {
  rmSync(ROOT, { recursive: true, force: true });
  mkdirSync(NO_MODELS, { recursive: true });
});

describe('portoon <video>: flags checked before any work (exit 2)', () => {
  const dir = join(ROOT, 'usage');
  const out = join(dir, 'out.mp4');

  it('--help lists the video flags', async () => {
    const r = await run(['--help']);
    expect(r.code, r.stderr).toBe(0);
    for (const flag of [
      '--fps <n>',
      '--start <seconds>',
      '--duration <seconds>',
      '--crf <n>',
      '--no-audio',
      '--video-format <fmt>',
      '--no-temporal',
      '--flicker',
    ])
      expect(r.stdout).toContain(flag);
  });

  it.each([
    [['--fps', '0'], 'Expected a number between 0.1 and 120 for --fps but received 0'],
    [['--fps', 'fast'], 'Expected a number between 0.1 and 120 for --fps but received fast'],
    [['--crf', '52'], 'Expected a whole number between 0 and 51 for --crf but received 52'],
    [['--crf', '20.5'], 'Expected a whole number between 0 and 51 for --crf but received 20.5'],
    [['--start', 'soon'], 'Expected a number of at least 0 for --start but received soon'],
    [['--duration', '0'], 'Expected a number of at least 0.01 for --duration but received 0'],
    [['--video-format', 'avi'], 'Expected mp4, webm or gif for --video-format but received avi'],
    [
      ['--format', 'png'],
      "Expected a photo among the inputs for --format but received videos only; a video's container comes from the -o name or --video-format",
    ],
    [['--quality', '80'], "Expected a photo among the inputs for --quality but received videos only; a video's quality is set with --crf"],
    [['--preview'], 'Expected a photo among the inputs for --preview but received videos only; a video is made smaller with --max-side'],
    [
      ['-o', join(dir, 'out.png')],
      `Expected a video's name (.mp4, .webm or .gif) for -o but received ${join(dir, 'out.png')}, a photo's name`,
    ],
    [['--video-format', 'webm'], `Expected a name ending in .webm for -o (as --video-format webm asks) but received ${out}`],
  ])('a video with %j: %s', async (args, message) => {
    expectUsageError(await run([WOMAN, '-s', 'cel', '-o', out, ...args], { env: NO_FFMPEG }), message);
    expect(existsSync(dir)).toBe(false);
  });

  it.each(['--fps 10', '--start 1', '--duration 1', '--crf 20', '--no-audio', '--video-format webm', '--no-temporal', '--flicker'])(
    'a photo with the video flag %s: refused, naming the flag',
    async (flags) => {
      const args = flags.split(' ');
      expectUsageError(
        await run([PHOTO, '-s', 'cel', '-o', join(dir, 'photo.jpg'), ...args]),
        `Expected a video among the inputs for ${args[0]!} but received photos only`,
      );
      expect(existsSync(dir)).toBe(false);
    },
  );
});

describe('portoon <video>: outputs that exist, missing ffmpeg', () => {
  it('-o names an existing file: E_OUTPUT_EXISTS, exit 2, before any work; the file is kept', async () => {
    const dir = freshDir('exists');
    const out = join(dir, 'clip.mp4');
    writeFileSync(out, 'an earlier result');
    // Without ffmpeg: had the command started on the clip, it would have ended with E_FFMPEG_MISSING.
    const r = await run([WOMAN, ...SHORT, '-o', out], { env: NO_FFMPEG });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `portoon: ${out} already exists; pass --overwrite to replace it, or choose another name with -o [E_OUTPUT_EXISTS]\n`,
    );
    expect(readFileSync(out, 'utf8')).toBe('an earlier result');
    expect(readdirSync(dir)).toEqual(['clip.mp4']);
  });

  it('the default name <name>-<style>.mp4 in the current folder exists: refused the same way', async () => {
    const cwd = freshDir('exists-default');
    const out = join(cwd, '03-talking-head-woman-cel.mp4');
    writeFileSync(out, 'an earlier result');
    const r = await run([WOMAN, ...SHORT], { cwd, env: NO_FFMPEG });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toBe(
      `portoon: ${out} already exists; pass --overwrite to replace it, or choose another name with -o [E_OUTPUT_EXISTS]\n`,
    );
    expect(readFileSync(out, 'utf8')).toBe('an earlier result');
  });

  it('PORTOON_FFMPEG=/nonexistent: E_FFMPEG_MISSING, exit 1, says what to install; nothing written', async () => {
    const dir = freshDir('no-ffmpeg');
    const r = await run([WOMAN, ...SHORT, '-o', join(dir, 'clip.mp4')], { env: { PORTOON_FFMPEG: '/nonexistent' } });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toBe('');
    const line = expectOneLineError(r, 'E_FFMPEG_MISSING');
    expect(line).toContain('PORTOON_FFMPEG=/nonexistent');
    expect(line).toContain('Install ffmpeg');
    expect(line).toContain('apt-get install ffmpeg');
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('portoon <damaged video>: E_DECODE_FAILED, exit 3, no output and no temporary file', () => {
  const inputs = join(ROOT, 'damaged-inputs');
  beforeAll(() => {
    mkdirSync(inputs, { recursive: true });
    writeFileSync(join(inputs, 'random.mp4'), randomBytes(200_000));
    // The clips keep their index (moov) at the end: cut, they cannot even be opened.
    const boy = readFileSync(BOY);
    writeFileSync(join(inputs, 'truncated.mp4'), boy.subarray(0, Math.floor(boy.length * 0.6)));
    // With the index moved to the front, the same cut is found only while decoding, frames already written.
    const faststart = join(inputs, 'faststart.mp4');
    const remux = spawnSync('ffmpeg', ['-v', 'error', '-y', '-i', BOY, '-c', 'copy', '-movflags', '+faststart', faststart]);
    expect(remux.status, remux.stderr.toString()).toBe(0);
    const whole = readFileSync(faststart);
    writeFileSync(join(inputs, 'truncated-faststart.mp4'), whole.subarray(0, Math.floor(whole.length * 0.6)));
  });

  it.each(['random.mp4', 'truncated.mp4', 'truncated-faststart.mp4'])('%s', async (name) => {
    const dir = freshDir(`damaged-out-${name}`);
    const r = await run([join(inputs, name), '-s', 'cel', '--max-side', '64', '-o', join(dir, 'out.mp4')]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toBe('');
    expect(expectOneLineError(r, 'E_DECODE_FAILED')).toMatch(/damaged/);
    // Neither the output nor a .part/.partial file of it.
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('portoon <video> -s cel (no model needed)', () => {
  it('MP4 in, MP4 out: the frames of the range, the size of --max-side, stylized pixels, a JSON report', async () => {
    const dir = freshDir('boy');
    const out = join(dir, 'boy-cel.mp4');
    const r = await run([BOY, ...SHORT, '-o', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const expected = framesInRange(BOY, 0, 1);
    expect(expected).toBe(25);
    const report = jsonLine(r.stdout);
    expect(report).toMatchObject({
      input: BOY,
      output: out,
      kind: 'video',
      format: 'mp4',
      style: 'cel',
      width: 128,
      height: 72,
      frames: expected,
      fps: 25,
      audio: 'none',
      temporal: true,
    });
    expect((report.timings as Record<string, number>).total).toBeGreaterThan(0);
    expect(report.warpError).toBeUndefined();

    const probed = probe(out);
    const [stream, ...others] = streamsOf(probed, 'video');
    expect(others).toEqual([]);
    expect(stream).toMatchObject({ codec_name: 'h264', width: 128, height: 72, r_frame_rate: '25/1' });
    expect(Number(stream!.nb_read_frames)).toBe(expected);
    expect(Math.abs(Number(probed.format.duration) - expected / 25)).toBeLessThanOrEqual(1 / 25);
    expect(streamsOf(probed, 'audio')).toEqual([]);
    // A re-encode alone differs from the input by about 3 grey levels; the cel style by far more.
    expect(meanAbsDiff(firstFrame(out, 128, 72), firstFrame(BOY, 128, 72))).toBeGreaterThan(8);
    expect(readdirSync(dir)).toEqual(['boy-cel.mp4']);
  });

  it('a clip with sound: the AAC track is copied (same codec and rate); --no-audio leaves it out', async () => {
    const dir = freshDir('railway');
    const [inputAudio] = streamsOf(probe(RAILWAY), 'audio');
    expect(inputAudio).toMatchObject({ codec_name: 'aac', sample_rate: '44100' });
    const expected = framesInRange(RAILWAY, 0, 1);
    expect(expected).toBe(30);

    const withSound = join(dir, 'sound.mp4');
    const r = await run([RAILWAY, ...SHORT, '-o', withSound, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(jsonLine(r.stdout)).toMatchObject({ frames: expected, width: 72, height: 128, audio: 'copied', audioCodec: 'aac' });
    const probed = probe(withSound);
    expect(Number(streamsOf(probed, 'video')[0]!.nb_read_frames)).toBe(expected);
    const audio = streamsOf(probed, 'audio');
    expect(audio).toHaveLength(1);
    expect(audio[0]).toMatchObject({ codec_name: inputAudio!.codec_name, sample_rate: inputAudio!.sample_rate });

    // Without --json: one line on stderr saying what was written, nothing on stdout (no bar off a terminal).
    const silent = join(dir, 'silent.mp4');
    const quiet = await run([RAILWAY, ...SHORT, '-o', silent, '--no-audio']);
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stdout).toBe('');
    expect(quiet.stderr).toMatch(
      new RegExp(
        `^${silent.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} {2}\\(30 frames at 30 fps, 0 face tracks, sound left out, [0-9.]+ s\\)\\n$`,
      ),
    );
    expect(streamsOf(probe(silent), 'audio')).toEqual([]);
    expect(framesOf(silent)).toBe(expected);
  });

  it('WebM by --video-format (default name here), GIF by the -o name; an animated GIF input is a video', async () => {
    const cwd = freshDir('containers');
    const expected = framesInRange(WOMAN, 0, 1);
    expect(expected).toBe(15);

    const webm = await run([WOMAN, ...SHORT, '--video-format', 'webm', '--json'], { cwd });
    expect(webm.code, webm.stderr).toBe(0);
    const webmOut = join(cwd, '03-talking-head-woman-cel.webm');
    expect(jsonLine(webm.stdout)).toMatchObject({ output: webmOut, format: 'webm', frames: expected });
    const webmProbed = probe(webmOut);
    expect(webmProbed.format.format_name).toContain('webm');
    expect(streamsOf(webmProbed, 'video')[0]).toMatchObject({ codec_name: 'vp9', nb_read_frames: String(expected) });

    const gifOut = join(cwd, 'woman.gif');
    const gif = await run([WOMAN, ...SHORT, '-o', gifOut, '--json'], { cwd });
    expect(gif.code, gif.stderr).toBe(0);
    expect(jsonLine(gif.stdout)).toMatchObject({ output: gifOut, format: 'gif', frames: expected });
    const gifProbed = probe(gifOut);
    expect(gifProbed.format.format_name).toBe('gif');
    expect(streamsOf(gifProbed, 'video')[0]).toMatchObject({ codec_name: 'gif', nb_read_frames: String(expected) });
    expect(Math.abs(Number(gifProbed.format.duration) - expected / 15)).toBeLessThanOrEqual(1 / 15);

    // The GIF just written, as an input: a video by its content, so an MP4 (the default container) comes out.
    const again = await run([gifOut, '-s', 'cel', '--json'], { cwd });
    expect(again.code, again.stderr).toBe(0);
    const mp4Out = join(cwd, 'woman-cel.mp4');
    expect(jsonLine(again.stdout)).toMatchObject({ input: gifOut, output: mp4Out, kind: 'video', format: 'mp4', frames: expected });
    expect(probe(mp4Out).format.format_name).toContain('mp4');
    expect(framesOf(mp4Out)).toBe(expected);
  });

  it('--fps 10 on a 25 fps clip: 10 frames in a second, at 10 fps', async () => {
    const dir = freshDir('fps');
    const out = join(dir, 'boy-10fps.mp4');
    const r = await run([BOY, ...SHORT, '--fps', '10', '-o', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(jsonLine(r.stdout)).toMatchObject({ frames: 10, fps: 10 });
    const probed = probe(out);
    expect(streamsOf(probed, 'video')[0]).toMatchObject({ r_frame_rate: '10/1', nb_read_frames: '10' });
    expect(Math.abs(Number(probed.format.duration) - 1)).toBeLessThanOrEqual(1 / 10);
  });

  it('--start and --duration pick the range: frames from 1 s to 1.6 s of the clip', async () => {
    const dir = freshDir('range');
    const out = join(dir, 'range.mp4');
    const r = await run([WOMAN, '-s', 'cel', '--max-side', '96', '--start', '1', '--duration', '0.6', '-o', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const expected = framesInRange(WOMAN, 1, 0.6);
    expect(expected).toBe(9);
    expect(jsonLine(r.stdout)).toMatchObject({ frames: expected });
    expect(framesOf(out)).toBe(expected);
  });

  it('--flicker reports the warping error; --no-temporal stylizes frames on their own and flickers more', async () => {
    const dir = freshDir('flicker');
    const args = [WOMAN, '-s', 'cel', '--max-side', '96', '--duration', '1', '--flicker', '--json'];
    const blended = await run([...args, '-o', join(dir, 'blended.mp4')]);
    expect(blended.code, blended.stderr).toBe(0);
    const single = await run([...args, '--no-temporal', '-o', join(dir, 'single.mp4')]);
    expect(single.code, single.stderr).toBe(0);
    const a = jsonLine(blended.stdout);
    const b = jsonLine(single.stdout);
    expect(a).toMatchObject({ temporal: true, frames: 15, warpError: expect.any(Number) });
    expect(b).toMatchObject({ temporal: false, frames: 15, warpError: expect.any(Number) });
    expect(a.warpError as number).toBeGreaterThan(0);
    expect(a.warpError as number).toBeLessThan(b.warpError as number);
  });

  it('a folder with a photo, a clip and a damaged clip: both kinds written, the failure named, the summary right', async () => {
    const inDir = freshDir('batch-in');
    const outDir = join(ROOT, 'batch-out');
    rmSync(outDir, { recursive: true, force: true });
    symlinkSync(PHOTO, join(inDir, 'photo.jpg'));
    symlinkSync(WOMAN, join(inDir, 'woman.mp4'));
    writeFileSync(join(inDir, 'broken.mp4'), randomBytes(50_000));
    const args = [inDir, '-s', 'cel', '--max-side', '96', '--duration', '0.5', '-o', outDir];

    const r = await run([...args, '--json']);
    expect(r.code, r.stderr).toBe(3);
    const lines = r.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const byName = new Map(lines.map((line) => [basename(line.input as string), line]));
    expect([...byName.keys()].sort()).toEqual(['broken.mp4', 'photo.jpg', 'woman.mp4']);
    expect(byName.get('photo.jpg')).toMatchObject({ output: join(outDir, 'photo.jpg'), style: 'cel', format: 'jpeg' });
    expect(byName.get('woman.mp4')).toMatchObject({
      output: join(outDir, 'woman.mp4'),
      kind: 'video',
      frames: framesInRange(WOMAN, 0, 0.5),
    });
    expect(byName.get('broken.mp4')!.error).toMatchObject({ code: 'E_DECODE_FAILED' });
    expect(framesOf(join(outDir, 'woman.mp4'))).toBe(framesInRange(WOMAN, 0, 0.5));
    expect(readdirSync(outDir).sort()).toEqual(['photo.jpg', 'woman.mp4']);
    const errLines = r.stderr.trimEnd().split('\n');
    expect(errLines).toHaveLength(2);
    expect(errLines[0]).toMatch(new RegExp(`^portoon: ${join(inDir, 'broken.mp4')}: .*damaged.* \\[E_DECODE_FAILED\\]$`));
    expect(errLines[1]).toMatch(
      /^2 written, 0 skipped, 1 failed of 3 files \(1 image, 2 videos\) in [0-9.]+ s \(0 faces found, 0 face tracks\); output folder: /,
    );

    // A re-run skips both outputs (the damaged clip fails again).
    const again = await run(args);
    expect(again.code, again.stderr).toBe(3);
    expect(again.stderr).toContain(`skipped ${join(outDir, 'woman.mp4')}: the output already exists; pass --overwrite to replace it\n`);
    expect(again.stderr).toMatch(/^0 written, 2 skipped, 1 failed of 3 files \(1 image, 2 videos\) in /m);
  });

  it('Ctrl-C while a clip is being written: stops, exit 130, no output and no temporary file left', async () => {
    const dir = freshDir('interrupted');
    let interrupted = false;
    // Ctrl-C in a terminal signals the whole process group: the command and its ffmpeg processes.
    // It is sent as soon as the first file appears in the output folder, i.e. once frames are being written.
    const watcher = watch(dir);
    let group = 0;
    watcher.on('change', () => {
      if (interrupted || group === 0) return;
      interrupted = true;
      watcher.close();
      process.kill(-group, 'SIGINT');
    });
    const r = await run([BOY, '-s', 'cel', '--max-side', '256', '-o', join(dir, 'boy.mp4')], {
      timeoutMs: 60_000,
      onStart: (pid) => (group = pid),
    });
    watcher.close();
    expect(interrupted).toBe(true);
    expect(r.timedOut).toBe(false);
    expect(r.code, r.stderr).toBe(130);
    expect(expectOneLineError(r, 'E_CLOSED')).toContain('Interrupted (Ctrl-C)');
    expect(readdirSync(dir)).toEqual([]);
  });
});

describeWithModels([...DETECTORS, 'whitebox-cartoon'])('portoon <video> -s cartoon (real models)', () => {
  it('a talking head at --max-side 128 for 0.6 s: the frames of the range, one face track, the models used', async () => {
    const dir = freshDir('cartoon');
    const out = join(dir, 'man-cartoon.mp4');
    const r = await run([MAN, '-s', 'cartoon', '--max-side', '128', '--duration', '0.6', '-o', out, '--json'], {
      env: { PORTOON_MODELS: TEST_MODELS_DIR },
    });
    expect(r.code, r.stderr).toBe(0);
    const expected = framesInRange(MAN, 0, 0.6);
    expect(expected).toBe(9);
    const report = jsonLine(r.stdout);
    expect(report).toMatchObject({ kind: 'video', style: 'cartoon', frames: expected, audio: 'none' });
    const tracks = report.tracks as Array<{ id: number; frames: number }>;
    expect(tracks.length).toBeGreaterThan(0);
    expect(report.maxFacesPerFrame).toBeGreaterThanOrEqual(1);
    expect(report.models).toEqual(expect.arrayContaining(['whitebox-cartoon', ...DETECTORS]));
    expect(framesOf(out)).toBe(expected);
    expect(readdirSync(dir)).toEqual(['man-cartoon.mp4']);
  });
});
