/**
 * Video in and out through the system's ffmpeg and ffprobe, on real clips: what the probe says about
 * each shared clip, frames decoded from every accepted container (turned upright, shrunk, even-sized,
 * over a range, at a rate), frames encoded to MP4/WebM/GIF with the provenance tags and the sound
 * track copied bit-exact or re-encoded, and damaged inputs and aborted outputs that leave no file.
 * The shared clips are read where they are; everything generated goes under test-output/video-io.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { PortoonError } from '../../src/core/errors.js';
import type { RawImage } from '../../src/core/image.js';
import { TRAINED_ALGORITHMIC_MEDIA } from '../../src/core/provenance.js';
import type { VideoInfo } from '../../src/core/video/types.js';
import { locateFfmpeg } from '../../src/node/video/ffmpeg.js';
import { frameSize, openFrameReader, type FrameReader, type FrameReaderOptions } from '../../src/node/video/frame-reader.js';
import { openFrameWriter, type FrameWriterOptions } from '../../src/node/video/frame-writer.js';
import { probeVideo } from '../../src/node/video/probe.js';
import { isVideoFile, sniffVideo } from '../../src/node/video/sniff.js';
import { REPO_ROOT, TEST_OUTPUT_DIR } from '../helpers/env.js';
import { errorOf } from '../helpers/errors.js';

const VIDEOS = resolve(process.env.PORTOON_TEST_VIDEOS ?? join(REPO_ROOT, '../shared/videos'));
const BOY_720P = join(VIDEOS, '01-boy-chalkboard-720p.mp4');
const RAILWAY_AUDIO = join(VIDEOS, '02-railway-people-audio.mp4');
const WOMAN = join(VIDEOS, '03-talking-head-woman.mp4');
const MAN = join(VIDEOS, '04-talking-head-man.mp4');
const OUT = join(TEST_OUTPUT_DIR, 'video-io');

const TAGS = {
  comment: 'AI-generated cartoon made with Portoon 0.1.0 (style anime)',
  DigitalSourceType: TRAINED_ALGORITHMIC_MEDIA,
  PortoonStyle: 'anime',
  PortoonModels: 'animeganv3-hayao36,face-parser',
};

/** Runs the system's ffmpeg for fixtures (small clips made from the shared ones). */
function ffmpeg(...args: string[]): void {
  execFileSync('ffmpeg', ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}

interface ProbedStream {
  codec_type: string;
  codec_name: string;
  pix_fmt?: string;
  sample_rate?: string;
  duration?: string;
  nb_read_frames?: string;
  tags?: Record<string, string>;
}

/** ffprobe's view of a file, independent of the code under test (frames counted by decoding). */
function ffprobe(file: string): { streams: ProbedStream[]; format: { duration: string; tags?: Record<string, string> } } {
  const json = execFileSync('ffprobe', ['-v', 'error', '-count_frames', '-show_streams', '-show_format', '-of', 'json', file], {
    encoding: 'utf8',
  });
  return JSON.parse(json) as ReturnType<typeof ffprobe>;
}

/** md5 of the audio packets as stored (stream copy), so a bit-exact copy has the same one. */
function audioPacketsMd5(file: string): string {
  return execFileSync('ffmpeg', ['-nostdin', '-v', 'error', '-i', file, '-map', '0:a', '-c', 'copy', '-f', 'md5', '-'], {
    encoding: 'utf8',
  }).trim();
}

/** The top-level ISO-BMFF boxes of a file, in order. */
function topLevelBoxes(file: string): string[] {
  const bytes = readFileSync(file);
  const boxes: string[] = [];
  for (let offset = 0; offset + 8 <= bytes.length;) {
    let size = bytes.readUInt32BE(offset);
    if (size === 1) size = Number(bytes.readBigUInt64BE(offset + 8));
    boxes.push(bytes.toString('latin1', offset + 4, offset + 8));
    if (size < 8) break;
    offset += size;
  }
  return boxes;
}

function folder(name: string): string {
  const dir = join(OUT, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PortoonError);
  return (error as PortoonError).code;
}

interface ReadSummary {
  count: number;
  sizes: Set<string>;
  byteLengths: Set<number>;
  times: number[];
  first?: RawImage;
}

/** Reads frames (all, or the first `limit`) keeping only their sizes and times, then closes the reader. */
async function readFrames(reader: FrameReader, limit = Number.POSITIVE_INFINITY): Promise<ReadSummary> {
  const summary: ReadSummary = { count: 0, sizes: new Set(), byteLengths: new Set(), times: [] };
  try {
    for await (const frame of reader.frames()) {
      summary.count += 1;
      summary.sizes.add(`${frame.image.width}x${frame.image.height}`);
      summary.byteLengths.add(frame.image.data.length);
      summary.times.push(frame.time);
      summary.first ??= frame.image;
      if (summary.count >= limit) break;
    }
  } finally {
    await reader.close();
  }
  return summary;
}

async function readClip(path: string, options: FrameReaderOptions = {}, limit?: number): Promise<{ info: VideoInfo; read: ReadSummary }> {
  const info = await probeVideo(path);
  return { info, read: await readFrames(openFrameReader(path, info, options), limit) };
}

/** A frame that changes with its index, so the encoder has something to encode. */
function syntheticFrame(width: number, height: number, index: number): RawImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = (y * width + x) * 3;
      data[p] = (x * 4 + index * 8) & 255;
      data[p + 1] = (y * 4) & 255;
      data[p + 2] = (index * 16) & 255;
    }
  }
  return { width, height, channels: 3, data };
}

function writerOptions(overrides: Partial<FrameWriterOptions> & Pick<FrameWriterOptions, 'width' | 'height'>): FrameWriterOptions {
  return { fps: 15, format: 'mp4', metadata: TAGS, ...overrides };
}

beforeAll(() => {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
});

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('sniffVideo', () => {
  /** An ISO-BMFF `ftyp` box with a major brand and compatible brands. */
  const ftyp = (major: string, ...compatible: string[]): Buffer => {
    const body = Buffer.from(`${major}\0\0\0\0${compatible.join('')}`, 'latin1');
    const size = Buffer.alloc(4);
    size.writeUInt32BE(8 + body.length);
    return Buffer.concat([size, Buffer.from('ftyp'), body, Buffer.alloc(16)]);
  };

  it('names MP4 and MOV by their brands, and leaves HEIF/AVIF stills and sound-only files alone', async () => {
    const avif = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#c84' } })
      .avif({ effort: 0 })
      .toBuffer();
    const named = {
      isom: sniffVideo(ftyp('isom', 'isom', 'avc1')),
      mp42: sniffVideo(ftyp('mp42', 'mp42', 'isom')),
      quicktime: sniffVideo(ftyp('qt  ', 'qt  ')),
      'unknown major, isom compatible': sniffVideo(ftyp('abcd', 'isom')),
      avif: sniffVideo(avif),
      heic: sniffVideo(ftyp('heic', 'mif1', 'heic')),
      'avif sequence': sniffVideo(ftyp('avis', 'avis', 'msf1', 'iso8')),
      'unknown major, mif1 compatible': sniffVideo(ftyp('MA1B', 'mif1', 'isom')),
      m4a: sniffVideo(ftyp('M4A ', 'M4A ', 'mp42', 'isom')),
      shared: sniffVideo(readFileSync(WOMAN).subarray(0, 64)),
    };
    expect(named).toEqual({
      isom: 'mp4',
      mp42: 'mp4',
      quicktime: 'mov',
      'unknown major, isom compatible': 'mp4',
      avif: undefined,
      heic: undefined,
      'avif sequence': undefined,
      'unknown major, mif1 compatible': undefined,
      m4a: undefined,
      shared: 'mp4',
    });
  });

  it('takes a GIF as video only with a second frame, and nothing else', async () => {
    const dir = folder('sniff');
    const still = join(dir, 'still.gif');
    ffmpeg('-i', WOMAN, '-frames:v', '1', '-vf', 'scale=40:40', still);
    const animated = join(dir, 'animated.gif');
    ffmpeg('-i', WOMAN, '-frames:v', '3', '-vf', 'scale=40:40', animated);
    const animatedBytes = readFileSync(animated);
    expect([sniffVideo(readFileSync(still)), sniffVideo(animatedBytes), sniffVideo(animatedBytes.subarray(0, 200))]).toEqual([
      undefined,
      'gif',
      undefined,
    ]);
    expect(await Promise.all([isVideoFile(still), isVideoFile(animated), isVideoFile(WOMAN)])).toEqual([false, true, true]);
    const others = [Buffer.from('%PDF-1.4\n'), Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(0), Buffer.from('RIFF\0\0\0\0WEBPVP8 ')];
    expect(others.map((bytes) => sniffVideo(bytes))).toEqual([undefined, undefined, undefined, undefined]);
    expect(sniffVideo(Buffer.from('RIFF\0\0\0\0AVI LIST'))).toBe('avi');
    await expect(isVideoFile(join(dir, 'missing.mp4'))).rejects.toMatchObject({ code: 'E_INPUT_NOT_FOUND' });
  });
});

describe('probeVideo on the shared clips', () => {
  it('gives size, rate, frame count, duration and the sound track of each', async () => {
    const facts = await Promise.all([BOY_720P, RAILWAY_AUDIO, WOMAN, MAN].map((path) => probeVideo(path)));
    expect(
      facts.map(({ width, height, fps, frames, rotation, variableFrameRate, codec }) => ({
        width,
        height,
        fps,
        frames,
        rotation,
        variableFrameRate,
        codec,
      })),
    ).toEqual([
      { width: 1280, height: 720, fps: 25, frames: 126, rotation: 0, variableFrameRate: false, codec: 'h264' },
      { width: 540, height: 960, fps: 30, frames: 285, rotation: 0, variableFrameRate: false, codec: 'h264' },
      { width: 376, height: 352, fps: 15, frames: 29, rotation: 0, variableFrameRate: false, codec: 'h264' },
      { width: 392, height: 360, fps: 15, frames: 39, rotation: 0, variableFrameRate: false, codec: 'h264' },
    ]);
    expect(facts.map((f) => f.duration)).toEqual([5.04, 9.5, expect.closeTo(1.9333, 3), 2.6]);
    expect(facts.map((f) => f.container)).toEqual(Array(4).fill('mov,mp4,m4a,3gp,3g2,mj2'));
    expect(facts[1]!.audio).toEqual({ codec: 'aac', sampleRate: 44100, channels: 2, duration: expect.closeTo(9.473, 3) });
    expect(facts.filter((f) => f.audio !== undefined)).toHaveLength(1);
  });
});

describe('openFrameReader', () => {
  it('delivers every frame once, as many as the probe counts, each width*height*3 bytes', async () => {
    const [woman, man] = await Promise.all([readClip(WOMAN), readClip(MAN)]);
    expect([woman.read.count, man.read.count]).toEqual([woman.info.frames, man.info.frames]);
    expect([...woman.read.sizes, ...man.read.sizes]).toEqual(['376x352', '392x360']);
    expect([...woman.read.byteLengths, ...man.read.byteLengths]).toEqual([376 * 352 * 3, 392 * 360 * 3]);
    expect(woman.read.times.slice(0, 3)).toEqual([0, 1 / 15, 2 / 15]);
  });

  it('shrinks to maxSide (never enlarging) with even sides, and stops ffmpeg on close', async () => {
    const info = await probeVideo(BOY_720P);
    const reader = openFrameReader(BOY_720P, info, { maxSide: 321 });
    expect([reader.width, reader.height, reader.fps, reader.expectedFrames]).toEqual([320, 180, 25, 126]);
    const read = await readFrames(reader, 5);
    expect([read.count, [...read.sizes], [...read.byteLengths]]).toEqual([5, ['320x180'], [320 * 180 * 3]]);
    await reader.close();
    const larger = openFrameReader(WOMAN, await probeVideo(WOMAN), { maxSide: 4000 });
    expect([larger.width, larger.height]).toEqual([376, 352]);
    await larger.close();
  });

  it('makes odd sides even: 375x353 becomes 374x352 (one pixel lost), 200x188 when shrunk', async () => {
    const dir = folder('odd');
    const odd = join(dir, 'odd-375x353.mp4');
    ffmpeg('-i', WOMAN, '-frames:v', '8', '-vf', 'scale=375:353', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv444p', odd);
    const full = await readClip(odd);
    expect([full.info.width, full.info.height, full.read.count, [...full.read.sizes]]).toEqual([375, 353, 8, ['374x352']]);
    const shrunk = await readClip(odd, { maxSide: 200 });
    expect([...shrunk.read.sizes]).toEqual(['200x188']);
    expect(frameSize(375, 353)).toEqual({ width: 374, height: 352, resized: false });
  });

  it('turns a rotated clip upright: size swapped, picture turned the way the probe says', async () => {
    const dir = folder('rotation');
    // A 64x32 clip with a white square in its top-left corner, then a copy with rotation metadata.
    const marked = join(dir, 'marked.mp4');
    ffmpeg(
      '-f',
      'lavfi',
      '-i',
      'color=c=black:s=64x32:d=0.4:r=10,drawbox=x=0:y=0:w=16:h=16:c=white:t=fill',
      '-c:v',
      'libx264',
      '-pix_fmt',
      'yuv420p',
      marked,
    );
    const turned = join(dir, 'marked-rotate90.mp4');
    ffmpeg('-i', marked, '-metadata:s:v:0', 'rotate=90', '-c', 'copy', turned);
    const { info, read } = await readClip(turned);
    // ffmpeg 5.1 stores `rotate=90` as a display matrix that turns the picture 90° counter-clockwise
    // (ffprobe: rotation 90), i.e. 270° clockwise; players and ffmpeg's own decoder turn it so.
    expect([info.rotation, info.width, info.height]).toEqual([270, 32, 64]);
    expect([read.count, [...read.sizes]]).toEqual([4, ['32x64']]);
    // Turned 270° clockwise, the top-left corner goes to the bottom-left.
    const luma = (image: RawImage, x: number, y: number): number => image.data[(y * image.width + x) * 3]!;
    const frame = read.first!;
    expect([luma(frame, 4, 60), luma(frame, 28, 60), luma(frame, 4, 4), luma(frame, 28, 4)].map((v) => v > 128)).toEqual([
      true,
      false,
      false,
      false,
    ]);

    const woman = join(dir, 'woman-rotate90.mp4');
    ffmpeg('-i', WOMAN, '-metadata:s:v:0', 'rotate=90', '-c', 'copy', woman);
    const upright = await readClip(woman, {}, 3);
    expect([upright.info.width, upright.info.height, [...upright.read.sizes]]).toEqual([352, 376, ['352x376']]);
  });

  it('reads MKV, WebM, MOV and animated GIF made from a shared clip', async () => {
    const dir = folder('containers');
    const mkv = join(dir, 'woman.mkv');
    ffmpeg('-i', WOMAN, '-c', 'copy', mkv);
    const webm = join(dir, 'woman.webm');
    ffmpeg('-i', WOMAN, '-frames:v', '12', '-vf', 'scale=188:176', '-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', webm);
    const mov = join(dir, 'woman.mov');
    ffmpeg('-i', WOMAN, '-c', 'copy', '-f', 'mov', mov);
    const gif = join(dir, 'woman.gif');
    ffmpeg('-i', WOMAN, '-frames:v', '10', '-vf', 'scale=94:88', gif);
    const files = { mkv, webm, mov, gif };
    expect(Object.values(files).map((file) => sniffVideo(readFileSync(file)))).toEqual(['matroska', 'webm', 'mov', 'gif']);
    expect(await Promise.all(Object.values(files).map((file) => isVideoFile(file)))).toEqual([true, true, true, true]);
    const results = await Promise.all(Object.values(files).map((file) => readClip(file)));
    expect(results.map(({ info, read }) => [info.codec, info.frames, read.count, [...read.sizes]])).toEqual([
      ['h264', 29, 29, ['376x352']],
      ['vp9', 12, 12, ['188x176']],
      ['h264', 29, 29, ['376x352']],
      ['gif', 10, 10, ['94x88']],
    ]);
  });

  it('keeps the frame count of a variable-frame-rate clip, and says the rate varies', async () => {
    const dir = folder('vfr');
    const vfr = join(dir, 'vfr.mp4');
    // Every other frame 30 ms late: gaps of 97 and 37 ms instead of 67.
    ffmpeg(
      '-i',
      WOMAN,
      '-vf',
      "settb=1/1000,setpts='(N/15+0.03*mod(N\\,2))/TB'",
      '-fps_mode',
      'vfr',
      '-enc_time_base',
      '1/1000',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      vfr,
    );
    const vfrMkv = join(dir, 'vfr.mkv');
    ffmpeg('-i', vfr, '-c', 'copy', vfrMkv);
    const [mp4, mkv] = await Promise.all([readClip(vfr, { maxSide: 96 }), readClip(vfrMkv, { maxSide: 96 })]);
    expect([mp4.info.variableFrameRate, mp4.info.frames, mp4.read.count]).toEqual([true, 29, 29]);
    expect([mkv.info.variableFrameRate, mkv.info.frames, mkv.read.count]).toEqual([true, 29, 29]);
    // The average rate makes frames / fps the clip's duration.
    expect(mp4.info.frames / mp4.info.fps).toBeCloseTo(mp4.info.duration, 2);

    // Written back at that rate: the same frames and duration, now evenly spaced.
    const output = join(dir, 'vfr-out.mp4');
    const reader = openFrameReader(vfr, mp4.info, { maxSide: 96 });
    const writer = openFrameWriter(output, writerOptions({ width: reader.width, height: reader.height, fps: reader.fps }));
    for await (const frame of reader.frames()) await writer.write(frame.image);
    await reader.close();
    await writer.finish();
    const probed = ffprobe(output);
    expect(Number(probed.streams[0]!.nb_read_frames)).toBe(29);
    expect(Math.abs(Number(probed.format.duration) - mp4.info.duration)).toBeLessThanOrEqual(1 / mp4.info.fps);
    expect((await probeVideo(output)).variableFrameRate).toBe(false);
  });

  it('reads a range (start, duration) and resamples to a given rate', async () => {
    const info = await probeVideo(BOY_720P);
    const range = openFrameReader(BOY_720P, info, { maxSide: 160, start: 2, duration: 1 });
    expect(range.expectedFrames).toBe(25);
    const read = await readFrames(range);
    expect([read.count, [...read.sizes]]).toEqual([25, ['160x90']]);
    const slower = openFrameReader(WOMAN, await probeVideo(WOMAN), { maxSide: 96, fps: 5 });
    const resampled = await readFrames(slower);
    expect([slower.fps, slower.expectedFrames, resampled.count]).toEqual([5, 10, 10]);
    expect(resampled.times.slice(0, 3)).toEqual([0, 0.2, 0.4]);
  });
});

describe('stopping a reader', () => {
  it('stops at close (twice is fine) and fails the iteration with the abort reason', async () => {
    const info = await probeVideo(BOY_720P);
    const closed = openFrameReader(BOY_720P, info, { maxSide: 160 });
    const iterator = closed.frames()[Symbol.asyncIterator]();
    expect((await iterator.next()).value?.index).toBe(0);
    await closed.close();
    await closed.close();
    expect((await iterator.next()).done).toBe(true);

    const controller = new AbortController();
    const aborted = openFrameReader(BOY_720P, info, { maxSide: 160, signal: controller.signal });
    let seen = 0;
    const reading = (async () => {
      for await (const frame of aborted.frames()) {
        seen = frame.index + 1;
        if (seen === 3) controller.abort(new PortoonError('E_TIMEOUT', 'took too long'));
      }
    })();
    expect(await codeOf(reading)).toBe('E_TIMEOUT');
    expect(seen).toBe(3);
    await aborted.close();
  });
});

describe('openFrameWriter', () => {
  it('writes H.264 MP4: every frame, the right duration, yuv420p, index first, provenance tags', async () => {
    const dir = folder('write-mp4');
    const output = join(dir, 'woman-out.mp4');
    const info = await probeVideo(WOMAN);
    const reader = openFrameReader(WOMAN, info);
    const writer = openFrameWriter(output, writerOptions({ width: reader.width, height: reader.height, fps: reader.fps }));
    for await (const frame of reader.frames()) await writer.write(frame.image);
    await reader.close();
    expect(await writer.finish()).toEqual({ audio: 'none' });
    const probed = ffprobe(output);
    const video = probed.streams.find((s) => s.codec_type === 'video')!;
    expect([video.codec_name, video.pix_fmt, Number(video.nb_read_frames)]).toEqual(['h264', 'yuv420p', 29]);
    expect(Math.abs(Number(probed.format.duration) - 29 / 15)).toBeLessThanOrEqual(1 / 15);
    const boxes = topLevelBoxes(output);
    expect(boxes.indexOf('moov')).toBeLessThan(boxes.indexOf('mdat'));
    expect(probed.format.tags).toMatchObject(TAGS);
    expect(readdirSync(dir)).toEqual(['woman-out.mp4']);
  });

  it('copies the sound track bit-exact when MP4 can hold it', async () => {
    const dir = folder('audio-copy');
    const output = join(dir, 'railway-out.mp4');
    const info = await probeVideo(RAILWAY_AUDIO);
    // Small synthetic frames, as many as the clip has: the point here is the sound.
    const writer = openFrameWriter(
      output,
      writerOptions({ width: 54, height: 96, fps: info.fps, audio: { from: RAILWAY_AUDIO, info: info.audio! } }),
    );
    for (let i = 0; i < info.frames; i++) await writer.write(syntheticFrame(54, 96, i));
    expect(await writer.finish()).toEqual({ audio: 'copied', audioCodec: 'aac' });
    expect(audioPacketsMd5(output)).toBe(audioPacketsMd5(RAILWAY_AUDIO));
    const probed = ffprobe(output);
    const audio = probed.streams.find((s) => s.codec_type === 'audio')!;
    expect([audio.codec_name, Number(audio.sample_rate)]).toEqual(['aac', 44100]);
    expect(Math.abs(Number(audio.duration) - info.audio!.duration)).toBeLessThanOrEqual(1 / info.fps);
    const video = probed.streams.find((s) => s.codec_type === 'video')!;
    expect(Number(video.nb_read_frames)).toBe(285);
  });

  it('re-encodes a sound track MP4 cannot hold (PCM from MKV) to AAC, and says so', async () => {
    const dir = folder('audio-reencode');
    const withTone = join(dir, 'tone.mkv');
    ffmpeg(
      '-i',
      WOMAN,
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=440:duration=1.9',
      '-map',
      '0:v',
      '-map',
      '1:a',
      '-c:v',
      'copy',
      '-c:a',
      'pcm_s16le',
      withTone,
    );
    const info = await probeVideo(withTone);
    expect(info.audio?.codec).toBe('pcm_s16le');
    const output = join(dir, 'tone-out.mp4');
    const writer = openFrameWriter(
      output,
      writerOptions({ width: 32, height: 32, fps: info.fps, audio: { from: withTone, info: info.audio! } }),
    );
    for (let i = 0; i < info.frames; i++) await writer.write(syntheticFrame(32, 32, i));
    const result = await writer.finish();
    expect(result).toMatchObject({ audio: 're-encoded', audioCodec: 'aac' });
    expect(result.audioNote).toMatch(/pcm_s16le.*re-encoded to AAC/);
    expect(ffprobe(output).streams.map((s) => s.codec_name)).toEqual(['h264', 'aac']);
  });

  it('writes VP9 WebM with the tags (its sound re-encoded to Opus) and GIF without sound', async () => {
    const dir = folder('write-webm-gif');
    const info = await probeVideo(RAILWAY_AUDIO);
    const audio = { from: RAILWAY_AUDIO, duration: 1, info: info.audio! };
    const webm = join(dir, 'out.webm');
    const webmWriter = openFrameWriter(webm, writerOptions({ width: 48, height: 32, fps: 30, format: 'webm', audio }));
    for (let i = 0; i < 30; i++) await webmWriter.write(syntheticFrame(48, 32, i));
    const webmResult = await webmWriter.finish();
    expect(webmResult).toMatchObject({ audio: 're-encoded', audioCodec: 'opus' });
    const probedWebm = ffprobe(webm);
    expect(probedWebm.streams.map((s) => [s.codec_name, s.nb_read_frames ?? null])).toEqual([
      ['vp9', '30'],
      ['opus', expect.any(String)],
    ]);
    // Matroska stores tag names in capitals.
    expect(probedWebm.format.tags).toMatchObject({ DIGITALSOURCETYPE: TRAINED_ALGORITHMIC_MEDIA, PORTOONSTYLE: 'anime' });

    const gif = join(dir, 'out.gif');
    const gifWriter = openFrameWriter(gif, writerOptions({ width: 33, height: 21, fps: 10, format: 'gif', audio }));
    for (let i = 0; i < 10; i++) await gifWriter.write(syntheticFrame(33, 21, i));
    expect(await gifWriter.finish()).toEqual({ audio: 'dropped', audioNote: expect.stringMatching(/GIF has no sound/) });
    const probedGif = ffprobe(gif);
    expect(probedGif.streams.map((s) => [s.codec_name, s.nb_read_frames])).toEqual([['gif', '10']]);
    expect(readdirSync(dir).sort()).toEqual(['out.gif', 'out.webm']);
  });

  it('leaves nothing behind when aborted mid-write, and keeps an existing output', async () => {
    const dir = folder('abort');
    const output = join(dir, 'out.mp4');
    writeFileSync(output, 'the previous result');
    const controller = new AbortController();
    const writer = openFrameWriter(output, writerOptions({ width: 64, height: 48, signal: controller.signal }));
    // Frames go in until ffmpeg has opened its output (the hidden temporary file next to out.mp4).
    let written = 0;
    while (readdirSync(dir).length < 2 && written < 200) await writer.write(syntheticFrame(64, 48, written++));
    expect(readdirSync(dir).filter((name) => name !== 'out.mp4')).toEqual([expect.stringMatching(/^\.out\.mp4\..*\.partial$/)]);
    controller.abort();
    await writer.abort();
    expect(await codeOf(writer.write(syntheticFrame(64, 48, 5)))).toBe('E_CLOSED');
    expect(readdirSync(dir)).toEqual(['out.mp4']);
    expect(readFileSync(output, 'utf8')).toBe('the previous result');

    const second = openFrameWriter(join(dir, 'second.mp4'), writerOptions({ width: 64, height: 48 }));
    await second.write(syntheticFrame(64, 48, 0));
    await second.abort();
    await second.abort();
    expect(readdirSync(dir)).toEqual(['out.mp4']);
  });

  it('refuses sizes the encoders cannot take', () => {
    expect(errorOf(() => openFrameWriter(join(OUT, 'odd.mp4'), writerOptions({ width: 33, height: 21 }))).code).toBe('E_BAD_OPTION');
  });
});

describe('damaged and unsupported inputs', () => {
  /** Reads `input` into an MP4 the way a job does; a failure aborts the writer. */
  async function transcode(input: string, output: string): Promise<void> {
    const info = await probeVideo(input);
    const reader = openFrameReader(input, info, { maxSide: 96 });
    const writer = openFrameWriter(output, writerOptions({ width: reader.width, height: reader.height, fps: reader.fps }));
    try {
      for await (const frame of reader.frames()) await writer.write(frame.image);
      await writer.finish();
    } catch (error) {
      await writer.abort();
      throw error;
    } finally {
      await reader.close();
    }
  }

  it('refuses each with a clean PortoonError and leaves no output or temporary file', async () => {
    const dir = folder('damaged');
    const inputs = join(dir, 'inputs');
    mkdirSync(inputs);
    const bytes = readFileSync(BOY_720P);
    const random = join(inputs, 'random.mp4');
    writeFileSync(random, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251)));
    const truncated = join(inputs, 'truncated.mp4');
    writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    const headerOnly = join(inputs, 'header-only.mp4');
    writeFileSync(headerOnly, bytes.subarray(0, 48));
    // With the index in front (faststart), a cut-off file still probes fine: the decoder must notice.
    const faststart = join(inputs, 'faststart.mp4');
    ffmpeg('-i', WOMAN, '-c', 'copy', '-movflags', '+faststart', faststart);
    const cutFaststart = join(inputs, 'faststart-cut.mp4');
    const whole = readFileSync(faststart);
    writeFileSync(cutFaststart, whole.subarray(0, Math.floor(whole.length * 0.6)));
    const mkv = join(inputs, 'whole.mkv');
    ffmpeg('-i', WOMAN, '-c', 'copy', mkv);
    const cutMkv = join(inputs, 'cut.mkv');
    const mkvBytes = readFileSync(mkv);
    writeFileSync(cutMkv, mkvBytes.subarray(0, Math.floor(mkvBytes.length * 0.6)));
    const empty = join(inputs, 'empty.mp4');
    writeFileSync(empty, '');
    const text = join(inputs, 'notes.mp4');
    writeFileSync(text, 'not a video at all\n');
    const soundOnly = join(inputs, 'sound-only.mp4');
    ffmpeg('-f', 'lavfi', '-i', 'sine=frequency=440:duration=0.5', '-c:a', 'aac', '-f', 'mp4', soundOnly);
    const still = join(inputs, 'still.gif');
    ffmpeg('-i', WOMAN, '-frames:v', '1', '-vf', 'scale=32:32', still);

    const cases = { random, truncated, headerOnly, cutFaststart, cutMkv, empty, text, soundOnly, still };
    const outputs = join(dir, 'outputs');
    mkdirSync(outputs);
    const codes: Record<string, string> = {};
    for (const [name, input] of Object.entries(cases)) codes[name] = await codeOf(transcode(input, join(outputs, `${name}.mp4`)));
    expect(codes).toEqual({
      random: 'E_UNSUPPORTED_FORMAT',
      truncated: 'E_DECODE_FAILED',
      headerOnly: 'E_DECODE_FAILED',
      cutFaststart: 'E_DECODE_FAILED',
      cutMkv: 'E_DECODE_FAILED',
      empty: 'E_EMPTY_INPUT',
      text: 'E_UNSUPPORTED_FORMAT',
      soundOnly: 'E_UNSUPPORTED_FORMAT',
      still: 'E_UNSUPPORTED_FORMAT',
    });
    expect(readdirSync(outputs)).toEqual([]);
    expect(statSync(faststart).size).toBe(whole.length);
  });

  it('says when a file holds no video stream, and when a file does not exist', async () => {
    const dir = folder('no-video');
    const soundOnly = join(dir, 'sound-only.mp4');
    ffmpeg('-f', 'lavfi', '-i', 'sine=frequency=440:duration=0.5', '-c:a', 'aac', '-f', 'mp4', soundOnly);
    await expect(probeVideo(soundOnly)).rejects.toMatchObject({
      code: 'E_UNSUPPORTED_FORMAT',
      message: expect.stringMatching(/no video stream/),
    });
    await expect(probeVideo(join(dir, 'missing.mp4'))).rejects.toMatchObject({ code: 'E_INPUT_NOT_FOUND' });
  });

  it('reports a missing ffmpeg with what to install and how to point to it', async () => {
    vi.stubEnv('PORTOON_FFMPEG', '/nonexistent/ffmpeg');
    const error = await locateFfmpeg().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'E_FFMPEG_MISSING', message: expect.stringMatching(/apt-get install ffmpeg.*PORTOON_FFMPEG/) });
    await expect(probeVideo(WOMAN)).rejects.toMatchObject({ code: 'E_FFMPEG_MISSING' });
  });
});
