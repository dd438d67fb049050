/**
 * The video side of the HTTP API, on a real service: real models, real clips (../shared/videos, see
 * their SOURCES.md), the system's ffmpeg, the real worker pool and job queue. A video job is accepted
 * (202), reports its progress in frames and gives an MP4 with every frame of the asked range and the
 * sound track; whatever is refused (a video on the synchronous route, over the video limit, damaged,
 * with options of photos, without ffmpeg, a client gone) leaves nothing behind in the jobs folder.
 * Runs are kept short: 128 px, a second or less of each clip.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { VideoReport } from '../../src/core/video/types.js';
import { resolveServerConfig, type RawSettings } from '../../src/server/config.js';
import { createService, type Service } from '../../src/server/service.js';
import { describeWithModels, portrait, TEST_MODELS_DIR, TEST_OUTPUT_DIR, video } from '../helpers/env.js';
import { rawExchange } from '../helpers/hostile-corpus.js';
import { multipart } from '../helpers/multipart.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { waitFor, waitForJobState, type JobStatusBody } from '../helpers/wait.js';

const run = promisify(execFile);

const MODELS = ['whitebox-cartoon', 'retinaface-mnet025', 'yunet-face'];
/** 540x960 portrait, 30 fps, 9.5 s, with an AAC sound track; 2.2 MB. */
const RAILWAY = video('02-railway-people-audio.mp4');
/** 376x352, 15 fps, 29 frames, a talking head, no sound; 75 KB. */
const TALKING_HEAD = video('03-talking-head-woman.mp4');
/** 1280x720, 25 fps, 126 frames; 0.8 MB: long enough to still be running when it is cancelled. */
const CHALKBOARD = video('01-boy-chalkboard-720p.mp4');
const PHOTO = readFileSync(portrait('04-man-headshot-suit.jpg'));

const WORK_DIR = join(TEST_OUTPUT_DIR, 'video-api');
/** Clips made from the shared ones for these tests (an animated GIF, an MP4 with its index first). */
const DERIVED_DIR = join(WORK_DIR, 'derived');
/** Results downloaded from the service, for ffprobe. */
const RESULTS_DIR = join(WORK_DIR, 'results');

type ErrorBody = { error: { code: string; message: string } };

interface FileField {
  bytes: Uint8Array;
  /** "image" or "video". */
  field: string;
  filename?: string;
}

async function post(app: FastifyInstance, url: string, fields: Record<string, string>, file: FileField): Promise<LightMyRequestResponse> {
  const body = await multipart(fields, { filename: 'clip.mp4', type: 'application/octet-stream', ...file });
  return app.inject({ method: 'POST', url, payload: body.payload, headers: body.headers });
}

function expectError(response: LightMyRequestResponse, status: number, code: string): ErrorBody['error'] {
  expect({ status: response.statusCode, type: response.headers['content-type'] }).toEqual({
    status,
    type: 'application/json; charset=utf-8',
  });
  const { error } = response.json<ErrorBody>();
  expect(error.code).toBe(code);
  expect(error.message.length).toBeGreaterThan(10);
  return error;
}

/** The file names in a folder. */
function entries(dir: string): string[] {
  return readdirSync(dir).sort();
}

/** Waits (with a deadline) until a folder holds exactly `expected`: files are removed when a request or a job ends. */
async function expectFolder(dir: string, expected: readonly string[]): Promise<void> {
  await waitFor(
    `${dir} to hold exactly ${JSON.stringify(expected)}`,
    () => entries(dir),
    (now) => now.join('\n') === [...expected].sort().join('\n'),
    {
      timeoutMs: 10_000,
    },
  );
}

/** Video frames whose presentation time lies in [start, start + duration), counted from the container's packets. */
async function framesInRange(path: string, start: number, duration: number): Promise<number> {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-show_entries',
    'packet=pts_time',
    '-of',
    'csv=p=0',
    path,
  ]);
  const times = stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map(Number);
  const first = Math.min(...times);
  return times.filter((time) => time - first >= start - 1e-6 && time - first < start + duration - 1e-6).length;
}

interface MediaFacts {
  /** Frames decoded from the first video stream. */
  frames: number;
  width: number;
  height: number;
  /** Codec of each sound stream. */
  audio: string[];
}

/** What ffprobe finds in a file, decoding every frame of its video stream. */
async function probeMedia(path: string): Promise<MediaFacts> {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-count_frames',
    '-show_entries',
    'stream=codec_type,codec_name,width,height,nb_read_frames',
    '-of',
    'json',
    path,
  ]);
  const { streams } = JSON.parse(stdout) as {
    streams: Array<{ codec_type: string; codec_name: string; width?: number; height?: number; nb_read_frames?: string }>;
  };
  const picture = streams.find((stream) => stream.codec_type === 'video');
  return {
    frames: Number(picture?.nb_read_frames ?? 0),
    width: picture?.width ?? 0,
    height: picture?.height ?? 0,
    audio: streams.filter((stream) => stream.codec_type === 'audio').map((stream) => stream.codec_name),
  };
}

/** A check of job statuses against the `JobStatus` schema of the OpenAPI document the service serves: the mismatches. */
async function jobStatusChecker(app: FastifyInstance): Promise<(status: unknown) => string[]> {
  const document = (await app.inject('/openapi.json')).json<{ components: Record<string, unknown> }>();
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  // The document's components travel with the schema, so its $refs resolve.
  const validate = ajv.compile({ $ref: '#/components/schemas/JobStatus', components: document.components });
  return (status) => (validate(status) ? [] : [ajv.errorsText(validate.errors)]);
}

/** Follows a job to `completed`, keeping every status seen on the way. */
async function followToCompletion(app: FastifyInstance, id: string): Promise<JobStatusBody[]> {
  const seen: JobStatusBody[] = [];
  await waitFor(
    `job ${id} to complete`,
    async () => {
      const status = (await app.inject(`/api/v1/jobs/${id}`)).json<JobStatusBody>();
      seen.push(status);
      if (status.state === 'failed' || status.state === 'cancelled')
        throw new Error(`job ${id} ended ${status.state}: ${JSON.stringify(status.error)}`);
      return status;
    },
    (status) => status.state === 'completed',
    { timeoutMs: 120_000 },
  );
  return seen;
}

/** Downloads a completed job's result into the results folder and returns the response and the file. */
async function download(
  app: FastifyInstance,
  status: JobStatusBody,
  name: string,
): Promise<{ response: LightMyRequestResponse; file: string }> {
  const response = await app.inject(status.resultUrl);
  const file = join(RESULTS_DIR, name);
  writeFileSync(file, response.rawPayload);
  return { response, file };
}

const services: Service[] = [];
async function startService(jobsDir: string, flags: RawSettings = {}): Promise<Service> {
  rmSync(jobsDir, { recursive: true, force: true });
  const config = resolveServerConfig(
    { modelsDir: TEST_MODELS_DIR, styles: 'cel,cartoon', workers: '1', rateLimit: '0', logLevel: 'silent', jobsDir, ...flags },
    {},
  );
  const service = await createService(config);
  services.push(service);
  await service.warmUp();
  return service;
}

/** An animated GIF (9 frames, 64 px wide) and an MP4 whose index comes first, made from the talking head. */
async function makeDerivedClips(): Promise<{ gif: string; faststart: string }> {
  rmSync(DERIVED_DIR, { recursive: true, force: true });
  mkdirSync(DERIVED_DIR, { recursive: true });
  const gif = join(DERIVED_DIR, 'talking-head.gif');
  const faststart = join(DERIVED_DIR, 'talking-head-faststart.mp4');
  await run('ffmpeg', ['-v', 'error', '-i', TALKING_HEAD, '-t', '0.6', '-vf', 'scale=64:-2', '-loop', '0', gif]);
  await run('ffmpeg', ['-v', 'error', '-i', TALKING_HEAD, '-c', 'copy', '-movflags', '+faststart', faststart]);
  return { gif, faststart };
}

/** The derived clips, made once per run of this file (both suites use them). */
let derived: Promise<{ gif: string; faststart: string }> | undefined;
function makeDerivedClipsOnce(): Promise<{ gif: string; faststart: string }> {
  derived ??= makeDerivedClips();
  return derived;
}

afterAll(async () => {
  await Promise.all(services.map((service) => service.close()));
});

describeWithModels(MODELS)('video jobs', () => {
  const jobsDir = join(WORK_DIR, 'jobs');
  let app: FastifyInstance;
  let gif: string;

  beforeAll(async () => {
    rmSync(RESULTS_DIR, { recursive: true, force: true });
    mkdirSync(RESULTS_DIR, { recursive: true });
    ({ gif } = await makeDerivedClipsOnce());
    ({ app } = await startService(jobsDir));
  });

  it('202, progress in frames, then an MP4 with every frame of the range and the sound track', async () => {
    const before = entries(jobsDir);
    const accepted = await post(
      app,
      '/api/v1/jobs',
      { style: 'cel', maxSide: '128', duration: '1' },
      {
        bytes: readFileSync(RAILWAY),
        field: 'video',
        filename: 'railway.mp4',
      },
    );
    expect(accepted.statusCode).toBe(202);
    const job = accepted.json<JobStatusBody>();
    expect(job).toMatchObject({ kind: 'video', style: 'cel', filename: 'railway.mp4', overall: 0 });
    expect(accepted.headers.location).toBe(`/api/v1/jobs/${job.id}`);

    const seen = await followToCompletion(app, job.id);
    const expectedFrames = await framesInRange(RAILWAY, 0, 1);
    expect(expectedFrames).toBe(30);
    // Progress counts frames: some status showed a part done, and the count never went back.
    const running = seen.filter((status) => status.state === 'running' && status.frames !== undefined);
    expect(running.some((status) => status.frames!.done > 0 && status.frames!.done < status.frames!.total)).toBe(true);
    const done = running.map((status) => status.frames!.done);
    expect(done).toEqual([...done].sort((a, b) => a - b));
    expect(new Set(running.map((status) => status.frames!.total))).toEqual(new Set([expectedFrames]));

    // Every status, running and completed, is what the OpenAPI document says a JobStatus is.
    const mismatches = await jobStatusChecker(app);
    expect([accepted.json(), ...seen].flatMap(mismatches)).toEqual([]);

    const status = seen.at(-1)!;
    expect(status).toMatchObject({
      state: 'completed',
      kind: 'video',
      overall: 1,
      frames: { done: expectedFrames, total: expectedFrames },
    });
    expect(status.frames!.fps).toBeGreaterThan(0);
    expect(status.report).toBeUndefined();
    const report = status.video!;
    expect(report).toMatchObject({
      kind: 'video',
      format: 'mp4',
      style: 'cel',
      width: 72,
      height: 128,
      frames: expectedFrames,
      fps: 30,
      duration: 1,
      audio: 'copied',
      audioCodec: 'aac',
      temporal: true,
    } satisfies Partial<VideoReport>);
    expect(report.timings.total).toBeGreaterThan(0);

    const { response, file } = await download(app, status, 'railway-cel.mp4');
    expect(response.statusCode).toBe(200);
    expect(response.headers).toMatchObject({
      'content-type': 'video/mp4',
      'content-disposition': 'inline; filename="railway-cel.mp4"',
      'content-length': String(response.rawPayload.length),
      'x-portoon-frames': String(expectedFrames),
      'x-portoon-audio': 'copied',
      'x-portoon-style': 'cel',
      'x-portoon-width': '72',
      'x-portoon-height': '128',
      'x-portoon-ai-generated': 'true',
    });
    expect(await probeMedia(file)).toEqual({ frames: expectedFrames, width: 72, height: 128, audio: ['aac'] });
    // The upload went into the job and left with it: only the result stays, until the job expires.
    await waitFor(
      'the jobs folder to hold the result only',
      () => entries(jobsDir).filter((name) => !before.includes(name)),
      (added) => added.length === 1 && added[0]!.endsWith('.mp4'),
      { timeoutMs: 10_000 },
    );
  });

  it('audio=false leaves the sound track out; start and duration choose the range', async () => {
    const accepted = await post(
      app,
      '/api/v1/jobs',
      { style: 'cel', maxSide: '128', start: '2', duration: '0.5', audio: 'false' },
      {
        bytes: readFileSync(RAILWAY),
        field: 'video',
      },
    );
    expect(accepted.statusCode).toBe(202);
    const status = (await followToCompletion(app, accepted.json<JobStatusBody>().id)).at(-1)!;
    const expectedFrames = await framesInRange(RAILWAY, 2, 0.5);
    expect(expectedFrames).toBe(15);
    expect(status.video).toMatchObject({ frames: expectedFrames, duration: 0.5, audio: 'dropped' });
    const { response, file } = await download(app, status, 'railway-silent.mp4');
    expect([response.statusCode, response.headers['x-portoon-audio'], response.headers['x-portoon-frames']]).toEqual([
      200,
      'dropped',
      String(expectedFrames),
    ]);
    expect(await probeMedia(file)).toEqual({ frames: expectedFrames, width: 72, height: 128, audio: [] });
  });

  it('a real video container sent as "image" is a video job too; the cartoon style follows the face', async () => {
    const accepted = await post(
      app,
      '/api/v1/jobs',
      { style: 'cartoon', maxSide: '128', duration: '1' },
      {
        bytes: readFileSync(TALKING_HEAD),
        field: 'image',
        filename: 'presenter.mp4',
      },
    );
    expect(accepted.statusCode).toBe(202);
    expect(accepted.json<JobStatusBody>().kind).toBe('video');
    const status = (await followToCompletion(app, accepted.json<JobStatusBody>().id)).at(-1)!;
    const expectedFrames = await framesInRange(TALKING_HEAD, 0, 1);
    expect(expectedFrames).toBe(15);
    const report = status.video!;
    expect(report).toMatchObject({ style: 'cartoon', frames: expectedFrames, fps: 15, audio: 'none', width: 128 });
    // 376x352 shrunk to 128 px wide keeps its shape, on an even height (H.264 needs one).
    expect(report.height % 2).toBe(0);
    expect(Math.abs(report.height - (128 * 352) / 376)).toBeLessThanOrEqual(2);
    expect(report.models).toContain('whitebox-cartoon');
    // One person, one track from the first frame to the last.
    expect(report.tracks).toHaveLength(1);
    expect(report.tracks[0]).toMatchObject({ firstFrame: 0, lastFrame: expectedFrames - 1 });
    const { response, file } = await download(app, status, 'presenter-cartoon.mp4');
    expect(response.headers).toMatchObject({
      'content-type': 'video/mp4',
      'content-disposition': 'inline; filename="presenter-cartoon.mp4"',
      'x-portoon-faces': '1',
      'x-portoon-audio': 'none',
    });
    expect(await probeMedia(file)).toEqual({ frames: expectedFrames, width: 128, height: report.height, audio: [] });
  });

  it('an animated GIF is a photo in "image" (its first frame), and a video in "video"', async () => {
    const bytes = readFileSync(gif);
    const photo = await post(app, '/api/v1/cartoon', { style: 'cel' }, { bytes, field: 'image', filename: 'loop.gif' });
    expect([photo.statusCode, photo.headers['content-type']]).toEqual([200, 'image/png']);
    const still = await sharp(photo.rawPayload).metadata();
    expect([still.width, still.height, still.pages ?? 1]).toEqual([64, 60, 1]);

    const asPhotoJob = await post(app, '/api/v1/jobs', { style: 'cel' }, { bytes, field: 'image', filename: 'loop.gif' });
    expect([asPhotoJob.statusCode, asPhotoJob.json<JobStatusBody>().kind]).toEqual([202, 'image']);
    await waitForJobState(app, asPhotoJob.json<JobStatusBody>().id, ['completed'], { timeoutMs: 60_000 });

    const accepted = await post(app, '/api/v1/jobs', { style: 'cel' }, { bytes, field: 'video', filename: 'loop.gif' });
    expect([accepted.statusCode, accepted.json<JobStatusBody>().kind]).toEqual([202, 'video']);
    const status = (await followToCompletion(app, accepted.json<JobStatusBody>().id)).at(-1)!;
    const gifFrames = (await probeMedia(gif)).frames;
    expect(gifFrames).toBe(9);
    expect(status.video).toMatchObject({ frames: gifFrames, format: 'mp4', audio: 'none' });
    const { response, file } = await download(app, status, 'loop-cel.mp4');
    expect([response.statusCode, response.headers['content-type'], response.headers['content-disposition']]).toEqual([
      200,
      'video/mp4',
      'inline; filename="loop-cel.mp4"',
    ]);
    expect((await probeMedia(file)).frames).toBe(gifFrames);
  });

  it('/api/v1/info reports the video upload limit (512 MB by default)', async () => {
    const info = (await app.inject('/api/v1/info')).json<Record<string, unknown>>();
    expect(info).toMatchObject({ maxUploadBytes: 10 * 1024 * 1024, maxVideoUploadBytes: 512 * 1024 * 1024 });
  });
});

describeWithModels(MODELS)('video uploads refused, and nothing left behind', () => {
  /** Every test here ends with this folder empty: no refused upload and no stopped job leaves a file. */
  const jobsDir = join(WORK_DIR, 'refused-jobs');
  let service: Service;
  let app: FastifyInstance;
  let faststart: string;

  beforeAll(async () => {
    ({ faststart } = await makeDerivedClipsOnce());
    // A 1 MB video limit (the 2.2 MB railway clip is over it) and no room to wait (a second job is refused).
    service = await startService(jobsDir, { maxVideoUploadMb: '1', maxQueue: '0' });
    app = service.app;
  });

  it('/api/v1/info reports the configured video limit', async () => {
    const info = (await app.inject('/api/v1/info')).json<Record<string, unknown>>();
    expect(info).toMatchObject({ maxUploadBytes: 10 * 1024 * 1024, maxVideoUploadBytes: 1024 * 1024 });
  });

  it('the synchronous route answers 415 E_VIDEO_NEEDS_JOB to a video, in either field, and writes nothing', async () => {
    const clip = readFileSync(TALKING_HEAD);
    expect(
      expectError(await post(app, '/api/v1/cartoon', { style: 'cel' }, { bytes: clip, field: 'image' }), 415, 'E_VIDEO_NEEDS_JOB').message,
    ).toMatch(/\/api\/v1\/jobs/);
    expect(
      expectError(await post(app, '/api/v1/cartoon', { style: 'cel' }, { bytes: clip, field: 'video' }), 415, 'E_VIDEO_NEEDS_JOB').message,
    ).toMatch(/\/api\/v1\/jobs/);
    await expectFolder(jobsDir, []);
  });

  it('the synchronous route answers from the first bytes, without waiting for the rest of the video', async () => {
    const port = Number(new URL(await listening(service)).port);
    const form = await multipart({ style: 'cel' }, { bytes: readFileSync(CHALKBOARD), field: 'image', filename: 'clip.mp4' });
    const firstPart = form.payload.subarray(0, 16 * 1024);
    const head = `POST /api/v1/cartoon HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: ${form.headers['content-type']}\r\nContent-Length: ${form.payload.length}\r\n\r\n`;
    // Only the first 16 KB of 0.8 MB are sent; the answer must come before the rest would.
    const answer = await rawExchange(port, head, async (write, answered) => {
      write(firstPart);
      await waitFor('an answer to the first 16 KB', answered, Boolean, { timeoutMs: 10_000 });
    });
    expect([answer.status, (JSON.parse(answer.body) as ErrorBody).error.code]).toEqual([415, 'E_VIDEO_NEEDS_JOB']);
    await expectFolder(jobsDir, []);
  });

  it('413 for a video over the video limit, and its partial file is removed', async () => {
    const refused = await post(app, '/api/v1/jobs', { style: 'cel' }, { bytes: readFileSync(RAILWAY), field: 'video' });
    expect(expectError(refused, 413, 'E_FILE_TOO_LARGE').message).toMatch(/1 MB/);
    // A real container in "image" is a video all the same, with the video limit.
    expectError(
      await post(app, '/api/v1/jobs', { style: 'cel' }, { bytes: readFileSync(RAILWAY), field: 'image' }),
      413,
      'E_FILE_TOO_LARGE',
    );
    await expectFolder(jobsDir, []);
  });

  it('a damaged video is refused when it is submitted (422), not a video is 415; no file is left and no path is told', async () => {
    const clip = readFileSync(TALKING_HEAD);
    const noise = Buffer.concat([clip.subarray(0, 32), randomBytes(64 * 1024)]);
    const cut = clip.subarray(0, Math.floor(clip.length * 0.6));
    for (const bytes of [noise, cut]) {
      const error = expectError(
        await post(app, '/api/v1/jobs', { style: 'cel' }, { bytes, field: 'video', filename: 'broken.mp4' }),
        422,
        'E_DECODE_FAILED',
      );
      // The client's name for its file, not the server's.
      expect(error.message).toContain('"broken.mp4"');
      expect(error.message).not.toMatch(/\/|\\|upload-/);
    }
    expectError(
      await post(app, '/api/v1/jobs', { style: 'cel' }, { bytes: PHOTO, field: 'video', filename: 'me.jpg' }),
      415,
      'E_UNSUPPORTED_FORMAT',
    );
    expect(await service.queue.counts()).toEqual({ queued: 0, running: 0, finished: 0 });
    await expectFolder(jobsDir, []);
  });

  it('a video whose damage only decoding finds: the job fails with E_DECODE_FAILED, has no result and leaves no file', async () => {
    // Index first, picture data cut off: ffprobe reads the whole index, the decoder runs out of data.
    const bytes = readFileSync(faststart);
    const accepted = await post(
      app,
      '/api/v1/jobs',
      { style: 'cel', maxSide: '128' },
      {
        bytes: bytes.subarray(0, Math.floor(bytes.length * 0.3)),
        field: 'video',
        filename: 'cut.mp4',
      },
    );
    expect(accepted.statusCode).toBe(202);
    const { id } = accepted.json<JobStatusBody>();
    const status = await waitForJobState(app, id, ['failed'], { timeoutMs: 120_000 });
    expect(status.error?.code).toBe('E_DECODE_FAILED');
    expect(status.error?.message).toContain('"cut.mp4"');
    expect(status.error?.message).not.toMatch(/\/|\\|[0-9a-f]{8}-[0-9a-f]{4}-/);
    expect(status.video).toBeUndefined();
    expect((await jobStatusChecker(app))(status)).toEqual([]);
    expect(expectError(await app.inject(`/api/v1/jobs/${id}/result`), 422, 'E_DECODE_FAILED').message).toBe(status.error?.message);
    await expectFolder(jobsDir, []);
  });

  it('400 for options of the other kind: fps with a photo, format with a video', async () => {
    expect(
      expectError(await post(app, '/api/v1/jobs', { style: 'cel', fps: '10' }, { bytes: PHOTO, field: 'image' }), 400, 'E_BAD_OPTION')
        .message,
    ).toMatch(/fps/);
    const clip = readFileSync(TALKING_HEAD);
    expect(
      expectError(await post(app, '/api/v1/jobs', { style: 'cel', format: 'png' }, { bytes: clip, field: 'video' }), 400, 'E_BAD_OPTION')
        .message,
    ).toMatch(/format.*videoFormat/);
    expectError(await post(app, '/api/v1/jobs', { style: 'cel', quality: '80' }, { bytes: clip, field: 'image' }), 400, 'E_BAD_OPTION');
    expectError(
      await post(app, '/api/v1/jobs', { style: 'cel', videoFormat: 'avi' }, { bytes: clip, field: 'video' }),
      400,
      'E_BAD_OPTION',
    );
    await expectFolder(jobsDir, []);
  });

  it('DELETE cancels a running video job; a video refused for a full queue and the cancelled job leave no file', async () => {
    const accepted = await post(app, '/api/v1/jobs', { style: 'cel', maxSide: '128' }, { bytes: readFileSync(CHALKBOARD), field: 'video' });
    expect(accepted.statusCode).toBe(202);
    const { id } = accepted.json<JobStatusBody>();
    const total = await framesInRange(CHALKBOARD, 0, Number.POSITIVE_INFINITY);
    const running = await waitFor(
      `job ${id} to have made frames`,
      async () => (await app.inject(`/api/v1/jobs/${id}`)).json<JobStatusBody>(),
      (status) => status.state !== 'running' || (status.frames?.done ?? 0) > 0,
      { timeoutMs: 60_000 },
    );
    expect(running).toMatchObject({ state: 'running', kind: 'video', frames: { total } });
    expect(running.frames!.done).toBeLessThan(total);
    expect(running.overall).toBeCloseTo(running.frames!.done / total, 2);

    // The only worker is busy and nothing may wait: a second video is refused, and its file goes with it.
    const full = await post(app, '/api/v1/jobs', { style: 'cel' }, { bytes: readFileSync(TALKING_HEAD), field: 'video' });
    expect(Number(full.headers['retry-after'])).toBeGreaterThan(0);
    expectError(full, 503, 'E_QUEUE_FULL');

    const cancelled = await app.inject({ method: 'DELETE', url: `/api/v1/jobs/${id}` });
    expect([cancelled.statusCode, cancelled.json<JobStatusBody>().state]).toEqual([200, 'cancelled']);
    expectError(await app.inject(`/api/v1/jobs/${id}/result`), 404, 'E_JOB_NOT_FOUND');
    await waitFor(
      'the worker to stop',
      () => service.queue.counts(),
      (counts) => counts.running === 0,
      { timeoutMs: 30_000 },
    );
    await expectFolder(jobsDir, []);
  });

  it('a client that hangs up after sending its video leaves no file', async () => {
    const port = Number(new URL(await listening(service)).port);
    const boundary = `----portoon-video-${randomBytes(6).toString('hex')}`;
    const clip = readFileSync(TALKING_HEAD);
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="style"\r\n\r\ncel\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="video"; filename="clip.mp4"\r\nContent-Type: video/mp4\r\n\r\n`,
    );
    // The file part ends (its boundary follows), then the form stops in the middle of the next field.
    const rest = Buffer.from(`\r\n--${boundary}\r\nContent-Disposition: form-data; name="maxSide"\r\n\r\n12`);
    const socket: Socket = connect({ host: '127.0.0.1', port });
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      `POST /api/v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${head.length + clip.length + rest.length + 64}\r\n\r\n`,
    );
    socket.write(Buffer.concat([head, clip, rest]));
    // The whole video has arrived in the jobs folder...
    await waitFor(
      'the video to be written to the jobs folder',
      () => readdirSync(jobsDir).map((name) => readFileSync(join(jobsDir, name)).length),
      (sizes) => sizes.length === 1 && sizes[0] === clip.length,
      { timeoutMs: 10_000 },
    );
    // ...and the client goes away before the form is complete.
    socket.destroy();
    await expectFolder(jobsDir, []);
  });
});

describeWithModels(MODELS)('a video limit above the photo limit', () => {
  const jobsDir = join(WORK_DIR, 'large-video-jobs');
  let service: Service;

  beforeAll(async () => {
    service = await startService(jobsDir, { maxUploadMb: '1', maxVideoUploadMb: '2' });
  });

  it('a video sent without a length is refused as it passes the video limit, in the words of the video limit', async () => {
    const port = Number(new URL(await listening(service)).port);
    const form = await multipart({ style: 'cel' }, { bytes: readFileSync(RAILWAY), field: 'video', filename: 'clip.mp4' });
    const head = `POST /api/v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: ${form.headers['content-type']}\r\nTransfer-Encoding: chunked\r\n\r\n`;
    const chunk = (bytes: Buffer): Buffer => Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, Buffer.from('\r\n')]);
    // 2.2 MB in 64 KB chunks, until the service answers.
    const answer = await rawExchange(port, head, async (write, answered) => {
      for (let at = 0; at < form.payload.length && !answered(); at += 64 * 1024) {
        if (!write(chunk(form.payload.subarray(at, at + 64 * 1024)))) await new Promise((resolve) => setImmediate(resolve));
      }
    });
    const { error } = JSON.parse(answer.body) as ErrorBody;
    expect([answer.status, error.code]).toEqual([413, 'E_FILE_TOO_LARGE']);
    expect(error.message).toMatch(/2 MB for videos/);
    await expectFolder(jobsDir, []);
  });
});

describeWithModels(MODELS)('video without ffmpeg', () => {
  const jobsDir = join(WORK_DIR, 'no-ffmpeg-jobs');
  let server: ServerProcess;

  beforeAll(async () => {
    rmSync(jobsDir, { recursive: true, force: true });
    server = await startServerProcess(['--styles', 'cel', '--models-dir', TEST_MODELS_DIR, '--rate-limit', '0', '--jobs-dir', jobsDir], {
      PORTOON_FFMPEG: '/nonexistent/ffmpeg',
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('a video is answered 503 E_FFMPEG_MISSING without naming server paths; photos still work; no file is left', async () => {
    const form = new FormData();
    form.append('style', 'cel');
    form.append('video', new Blob([readFileSync(TALKING_HEAD)], { type: 'video/mp4' }), 'clip.mp4');
    const response = await fetch(`${server.url}/api/v1/jobs`, { method: 'POST', body: form, signal: AbortSignal.timeout(30_000) });
    const body = (await response.json()) as ErrorBody;
    expect([response.status, body.error.code]).toEqual([503, 'E_FFMPEG_MISSING']);
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(body.error.message).not.toMatch(/nonexistent|\//);
    await expectFolder(jobsDir, []);

    const photo = new FormData();
    photo.append('style', 'cel');
    photo.append('maxSide', '64');
    photo.append('image', new Blob([PHOTO], { type: 'image/jpeg' }), 'me.jpg');
    const still = await fetch(`${server.url}/api/v1/cartoon`, { method: 'POST', body: photo, signal: AbortSignal.timeout(60_000) });
    expect([still.status, still.headers.get('content-type')]).toEqual([200, 'image/jpeg']);
  });
});

/** The service's address on a real socket, listening from the first call on. */
const addresses = new WeakMap<Service, Promise<string>>();
function listening(service: Service): Promise<string> {
  let address = addresses.get(service);
  if (!address) {
    address = service.app.listen({ host: '127.0.0.1', port: 0 });
    addresses.set(service, address);
  }
  return address;
}
