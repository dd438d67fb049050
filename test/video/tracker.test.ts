/**
 * FaceTracker on real clips: one steady track per talking head with less landmark jitter than
 * detecting every frame (and little lag behind it), six stable tracks on a pan over a group photo,
 * ids kept by two faces passing each other, frames without faces, scene cuts, and detection skipped
 * exactly when the stills' detection step skips it.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Point } from '../../src/core/face/align.js';
import type { Face } from '../../src/core/face/detect.js';
import { DEFAULT_DETECT_EVERY, FaceTracker } from '../../src/core/face/tracker.js';
import { createImage, type RawImage } from '../../src/core/image.js';
import type { InferenceBackend } from '../../src/core/inference.js';
import type { Catalogue } from '../../src/core/models/catalogue.js';
import { detectStep } from '../../src/core/pipeline/detect-step.js';
import { planRun, type RunPlan } from '../../src/core/pipeline/plan.js';
import { PipelineRun } from '../../src/core/pipeline/run.js';
import { landmarkJitter, meanLandmarkOffset } from '../../src/core/video/jitter.js';
import { loadCatalogue } from '../../src/node/load-catalogue.js';
import { ModelStore } from '../../src/node/model-store.js';
import { OnnxBackend } from '../../src/node/onnx-backend.js';
import { describeWithModels, portrait, REPO_ROOT, TEST_MODELS_DIR, TEST_OUTPUT_DIR } from '../helpers/env.js';
import { loadRgb } from '../helpers/images.js';

const VIDEOS_DIR = join(REPO_ROOT, '../shared/videos');
const OUT = join(TEST_OUTPUT_DIR, 'video-tracker');
const DETECTORS = ['retinaface-mnet025', 'yunet-face'];

interface Clip {
  frames: RawImage[];
  fps: number;
}

/** The clip's frames as RGB images, decoded by ffmpeg (at most `maxFrames`). */
function decodeClip(path: string, maxFrames = Infinity): Clip {
  const probe = JSON.parse(
    execFileSync('ffprobe', [
      '-v',
      'error',
      '-select_streams',
      'v:0',
      '-show_entries',
      'stream=width,height,avg_frame_rate',
      '-of',
      'json',
      path,
    ]).toString(),
  ) as { streams: Array<{ width: number; height: number; avg_frame_rate: string }> };
  const { width, height, avg_frame_rate: rate } = probe.streams[0]!;
  const [num, den] = rate.split('/').map(Number) as [number, number];
  const limit = Number.isFinite(maxFrames) ? ['-frames:v', String(maxFrames)] : [];
  const raw = execFileSync('ffmpeg', ['-v', 'error', '-i', path, ...limit, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], {
    maxBuffer: 1 << 30,
  });
  const size = width * height * 3;
  const frames: RawImage[] = [];
  for (let offset = 0; offset + size <= raw.length; offset += size) {
    frames.push({ width, height, channels: 3, data: new Uint8Array(raw.buffer, raw.byteOffset + offset, size) });
  }
  return { frames, fps: num / den };
}

/**
 * Two seconds at 15 fps of a slow zoom (1 to 1.2) and pan over the six-person group photo, at
 * 640x426: every face stays in the picture and moves by a few pixels a frame.
 */
function makeGroupClip(): string {
  const path = join(OUT, 'group6-pan.mp4');
  const zoompan =
    "zoompan=z='1+0.2*on/29'" +
    ":x='max(0,min(iw-iw/zoom,600-20*on/29-iw/zoom/2))'" +
    ":y='max(0,min(ih-ih/zoom,360-30*on/29-ih/zoom/2))'" +
    ':d=30:s=640x426:fps=15';
  const args = ['-v', 'error', '-y', '-i', portrait('05-group6-stock.jpg'), '-vf', zoompan, '-frames:v', '30'];
  execFileSync('ffmpeg', [...args, '-c:v', 'libx264', '-pix_fmt', 'yuv420p', path]);
  return path;
}

/** Copies a `w`x`h` block of `source` at (sx, sy) into `target` at (dx, dy), clipped to `target`. */
function paste(target: RawImage, source: RawImage, [sx, sy, w, h]: readonly number[], dx: number, dy: number): void {
  for (let y = 0; y < h!; y++) {
    for (let x = 0; x < w!; x++) {
      const tx = dx + x;
      const ty = dy + y;
      if (tx < 0 || ty < 0 || tx >= target.width || ty >= target.height) continue;
      for (let k = 0; k < 3; k++)
        target.data[(ty * target.width + tx) * 3 + k] = source.data[((sy! + y) * source.width + sx! + x) * 3 + k]!;
    }
  }
}

/**
 * Thirty frames in which two people of the group photo pass each other over a city skyline: one
 * goes left to right along the top, the other right to left lower down; at the crossing the lower
 * one covers the upper one's chin. Each moves about a third of an eye distance per frame.
 */
async function makeCrossingFrames(): Promise<RawImage[]> {
  const group = await loadRgb(portrait('05-group6-stock.jpg'));
  const skyline = await loadRgb(portrait('19-city-skyline-noface.jpg'));
  const [width, height, count] = [720, 420, 30];
  const leftFace = [120, 200, 200, 280];
  const rightFace = [600, 160, 200, 280];
  return Array.from({ length: count }, (_, i) => {
    const frame = createImage(width, height, 3);
    paste(frame, skyline, [0, 0, Math.min(width, skyline.width), Math.min(height, skyline.height)], 0, 0);
    const t = i / (count - 1);
    paste(frame, group, leftFace, Math.round(20 + 500 * t), 10);
    paste(frame, group, rightFace, Math.round(500 - 500 * t), 130);
    return frame;
  });
}

function blackFrame(like: RawImage): RawImage {
  return createImage(like.width, like.height, 3);
}

function centre(face: Face): Point {
  return [face.box[0] + face.box[2] / 2, face.box[1] + face.box[3] / 2];
}

interface FrameResult {
  faces: Face[];
  ids: number[];
  models: string[];
  /** Why the frame ran the full detection (undefined: tracked). */
  keyframe: string | undefined;
  /** Wall time of the call, ms (reported, never asserted). */
  ms: number;
}

describeWithModels(DETECTORS)('FaceTracker on real clips', () => {
  let catalogue: Catalogue;
  let backend: OnnxBackend;
  let plan: RunPlan;

  beforeAll(() => {
    mkdirSync(OUT, { recursive: true });
    catalogue = loadCatalogue();
    backend = new OnnxBackend(new ModelStore(catalogue, TEST_MODELS_DIR), { intraOpThreads: 1 });
    // A style with a face model: the pipeline needs faces, with both detectors (the default).
    plan = planRun(catalogue, { style: 'anime' });
  });

  afterAll(async () => {
    await backend?.release();
  });

  async function track(tracker: FaceTracker, image: RawImage): Promise<FrameResult> {
    const run = new PipelineRun({ backend, catalogue, now: () => performance.now() });
    const start = performance.now();
    const { faces, ids } = await tracker.find(image, plan, run);
    const ms = performance.now() - start;
    const { models } = run.result(image, plan.style.id, [], true);
    return { faces, ids: ids ?? [], models, keyframe: tracker.lastFrame!.keyframe, ms };
  }

  async function detectEveryFrame(frames: readonly RawImage[]): Promise<{ faces: Face[][]; ms: number }> {
    const faces: Face[][] = [];
    const start = performance.now();
    for (const image of frames) faces.push((await detectStep(image, plan, new PipelineRun({ backend, catalogue }))).faces);
    return { faces, ms: performance.now() - start };
  }

  describe.each([
    ['03-talking-head-woman.mp4', Infinity],
    ['04-talking-head-man.mp4', Infinity],
    // The first three seconds are enough (and keep the 720p frames' memory modest).
    ['01-boy-chalkboard-720p.mp4', 75],
  ])('%s', (file, maxFrames) => {
    let clip: Clip;
    let detected: Face[][];
    let detectMs: number;
    const results: FrameResult[] = [];
    let tracker: FaceTracker;

    beforeAll(async () => {
      clip = decodeClip(join(VIDEOS_DIR, file), maxFrames);
      ({ faces: detected, ms: detectMs } = await detectEveryFrame(clip.frames));
      tracker = new FaceTracker({ fps: clip.fps });
      for (const image of clip.frames) results.push(await track(tracker, image));
    });

    it('follows the one face in a single track over every frame', () => {
      const n = clip.frames.length;
      expect(detected.map((faces) => faces.length)).toEqual(Array.from({ length: n }, () => 1));
      const [only, ...others] = tracker.tracks();
      expect(others).toEqual([]);
      expect(only).toEqual({ id: only!.id, firstFrame: 0, lastFrame: n - 1, frames: n });
      expect(results.map((r) => r.ids)).toEqual(Array.from({ length: n }, () => [only!.id]));
      expect(tracker.maxFacesPerFrame).toBe(1);
      // Full detection only on schedule: no frame lost the face.
      expect(tracker.stats.keyframes).toBe(Math.ceil(n / DEFAULT_DETECT_EVERY));
      expect(tracker.stats.keyframeReasons).toEqual({
        first: 1,
        interval: Math.ceil(n / DEFAULT_DETECT_EVERY) - 1,
        'scene-cut': 0,
        lost: 0,
      });
    });

    it('notes the models it ran: both detectors on keyframes, the crop detector alone between them', () => {
      expect(results[0]!.models).toEqual(DETECTORS);
      expect(results[1]!.models).toEqual(['retinaface-mnet025']);
    });

    it('has less landmark jitter than detecting every frame, and stays close to those detections', () => {
      const perFrame = detected.map((faces) => faces[0]!.landmarks);
      const tracked = results.map((r) => r.faces[0]!.landmarks);
      const ratio = landmarkJitter(perFrame) / landmarkJitter(tracked);
      const offset = meanLandmarkOffset(tracked, perFrame);
      const n = clip.frames.length;
      const meanMs = (of: readonly FrameResult[]): string => (of.reduce((sum, r) => sum + r.ms, 0) / of.length).toFixed(1);
      console.log(
        `${file}: ${n} frames at ${clip.fps} fps; landmark jitter per-frame detection ${landmarkJitter(perFrame).toFixed(4)}, ` +
          `tracked ${landmarkJitter(tracked).toFixed(4)} (${ratio.toFixed(2)}x lower); mean offset from the per-frame ` +
          `detections ${(offset * 100).toFixed(1)} % of the eye distance; ms/frame: detection every frame ` +
          `${(detectMs / n).toFixed(1)}, tracker ${meanMs(results)} (keyframes ${meanMs(results.filter((r) => r.keyframe))}, ` +
          `tracked frames ${meanMs(results.filter((r) => !r.keyframe))})`,
      );
      // Measured 3.1x (woman), 3.7x (man), 4.8x (boy); the product target is 3x.
      expect(ratio).toBeGreaterThan(2.8);
      // Measured 5.3 % (woman), 5.5 % (man), 6.5 % (boy, who sways steadily: what a causal filter lags most).
      expect(offset).toBeLessThan(0.07);
    });
  });

  it('tracks all six faces of a pan over a group photo with six stable ids', async () => {
    const clip = decodeClip(makeGroupClip());
    const tracker = new FaceTracker({ fps: clip.fps });
    const paths = new Map<number, Array<Point | undefined>>();
    for (const [frame, image] of clip.frames.entries()) {
      const { faces, ids } = await track(tracker, image);
      expect(ids).toHaveLength(faces.length);
      for (const [i, id] of ids.entries()) {
        const path = paths.get(id) ?? [];
        path[frame] = centre(faces[i]!);
        paths.set(id, path);
      }
    }
    const n = clip.frames.length;
    expect(n).toBe(30);
    const tracks = tracker.tracks();
    expect(tracks).toHaveLength(6);
    expect(tracker.maxFacesPerFrame).toBe(6);
    for (const report of tracks) expect(report.frames, `track ${report.id}`).toBeGreaterThanOrEqual(0.9 * n);
    // No id jumps to another face: each id's box centre moves a few pixels per frame (the faces are
    // 50+ px apart, their boxes 50-75 px wide).
    for (const [id, path] of paths) {
      for (let frame = 1; frame < n; frame++) {
        const [a, b] = [path[frame - 1], path[frame]];
        if (!a || !b) continue;
        expect(Math.hypot(b[0] - a[0], b[1] - a[1]), `id ${id}, frame ${frame}`).toBeLessThan(8);
      }
    }
    console.log(`group pan: ${n} frames, tracks ${JSON.stringify(tracks)}, stats ${JSON.stringify(tracker.stats)}`);
  });

  it('keeps the ids of two faces passing each other', async () => {
    const frames = await makeCrossingFrames();
    const tracker = new FaceTracker({ fps: 15 });
    const xs = new Map<number, Array<number | undefined>>();
    for (const [frame, image] of frames.entries()) {
      const { faces, ids } = await track(tracker, image);
      for (const [i, id] of ids.entries()) {
        const path = xs.get(id) ?? [];
        path[frame] = centre(faces[i]!)[0];
        xs.set(id, path);
      }
    }
    const tracks = tracker.tracks();
    expect(tracks.map((t) => t.id)).toHaveLength(2);
    for (const report of tracks) expect(report.frames, `track ${report.id}`).toBeGreaterThanOrEqual(27);
    // Whoever starts on the left ends on the right, moving right all the way, and the other way round.
    const directions = tracks.map(({ id }) => {
      const path = xs.get(id)!.filter((x): x is number => x !== undefined);
      const steps = path.slice(1).map((x, i) => Math.sign(x - path[i]!));
      return { start: path[0]!, end: path.at(-1)!, steps: [...new Set(steps)] };
    });
    const [rightward, leftward] = [...directions].sort((a, b) => a.start - b.start);
    expect(rightward!.start).toBeLessThan(200);
    expect(rightward!.end).toBeGreaterThan(500);
    expect(rightward!.steps).toEqual([1]);
    expect(leftward!.start).toBeGreaterThan(500);
    expect(leftward!.end).toBeLessThan(200);
    expect(leftward!.steps).toEqual([-1]);
  });

  describe('frames without faces', () => {
    let clip: Clip;
    beforeAll(() => {
      clip = decodeClip(join(VIDEOS_DIR, '03-talking-head-woman.mp4'));
    });

    /** The clip with frames 10 (between keyframes) and 19 (an interval keyframe) black. */
    function withBlackFrames(): RawImage[] {
      return clip.frames.map((image, i) => (i === 10 || i === 19 ? blackFrame(image) : image));
    }

    it('misses the face on a black frame and gets it back under the same id', async () => {
      const tracker = new FaceTracker({ fps: clip.fps });
      const results: FrameResult[] = [];
      for (const image of withBlackFrames()) results.push(await track(tracker, image));
      const keyframes = results.map((r) => r.keyframe);
      const [only, ...others] = tracker.tracks();
      expect(others).toEqual([]);
      expect(results[10]!.faces).toEqual([]);
      expect(results[19]!.faces).toEqual([]);
      // Losing the face runs the full detection on the next frame; the black keyframe is on schedule.
      expect(keyframes[11]).toBe('lost');
      expect(keyframes[19]).toBe('interval');
      expect(keyframes[20]).toBe('lost');
      const n = clip.frames.length;
      expect(only).toEqual({ id: only!.id, firstFrame: 0, lastFrame: n - 1, frames: n - 2 });
      expect(results.filter((_, i) => i !== 10 && i !== 19).every((r) => r.ids.length === 1 && r.ids[0] === only!.id)).toBe(true);
    });

    it('ends the track when a face is missed more than maxMissed frames, and never reuses its id', async () => {
      const tracker = new FaceTracker({ fps: clip.fps, maxMissed: 0 });
      const ids: number[][] = [];
      for (const image of withBlackFrames()) ids.push((await track(tracker, image)).ids);
      const n = clip.frames.length;
      const [first, second, third, ...more] = tracker.tracks();
      expect(more).toEqual([]);
      expect(first).toMatchObject({ firstFrame: 0, lastFrame: 9, frames: 10 });
      expect(second).toMatchObject({ firstFrame: 11, lastFrame: 18, frames: 8 });
      expect(third).toMatchObject({ firstFrame: 20, lastFrame: n - 1, frames: n - 20 });
      expect(first!.id).toBeLessThan(second!.id);
      expect(second!.id).toBeLessThan(third!.id);
      expect(ids[9]).toEqual([first!.id]);
      expect(ids[11]).toEqual([second!.id]);
      expect(ids[20]).toEqual([third!.id]);
    });

    it('finds nothing on a clip of black frames, without error', async () => {
      const tracker = new FaceTracker({ fps: 15, detectEvery: 2 });
      const black = blackFrame(clip.frames[0]!);
      for (let i = 0; i < 5; i++) expect((await track(tracker, black)).faces).toEqual([]);
      expect(tracker.tracks()).toEqual([]);
      expect(tracker.maxFacesPerFrame).toBe(0);
      expect(tracker.stats).toMatchObject({ frames: 5, keyframes: 3, refinds: 0 });
    });
  });

  it('runs the full detection on the frame after a scene cut, taking its landmarks unsmoothed', async () => {
    const clip = decodeClip(join(VIDEOS_DIR, '03-talking-head-woman.mp4'), 8);
    const tracker = new FaceTracker({ fps: clip.fps });
    const results: FrameResult[] = [];
    for (const [i, image] of clip.frames.entries()) {
      if (i === 5) tracker.sceneCut();
      results.push(await track(tracker, image));
    }
    expect(results.map((r) => r.keyframe)).toEqual([
      'first',
      undefined,
      undefined,
      undefined,
      undefined,
      'scene-cut',
      undefined,
      undefined,
    ]);
    expect(tracker.stats).toMatchObject({ sceneCuts: 1, keyframeReasons: { first: 1, interval: 0, 'scene-cut': 1, lost: 0 } });
    // The face stayed where it was: same track. Its filters started afresh: the frame's landmarks
    // are the detection's own.
    expect(new Set(results.flatMap((r) => r.ids)).size).toBe(1);
    const { faces } = await detectStep(clip.frames[5]!, plan, new PipelineRun({ backend, catalogue }));
    const cut = results[5]!.faces[0]!.landmarks;
    for (const [i, [x, y]] of faces[0]!.landmarks.entries()) {
      expect(cut[i]![0]).toBeCloseTo(x, 6);
      expect(cut[i]![1]).toBeCloseTo(y, 6);
    }
    // The frame before the cut was smoothed, so it differs from its own detection.
    const before = await detectStep(clip.frames[4]!, plan, new PipelineRun({ backend, catalogue }));
    expect(meanLandmarkOffset([results[4]!.faces[0]!.landmarks], [before.faces[0]!.landmarks])).toBeGreaterThan(0.001);
  });
});

describe('FaceTracker without detectors', () => {
  it('looks for no faces when the style needs none and no detector is installed, like detectStep', async () => {
    const catalogue = loadCatalogue();
    const backend: InferenceBackend = { has: () => false, run: () => Promise.reject(new Error('no model may run')) };
    const plan = planRun(catalogue, { style: 'cel' });
    const tracker = new FaceTracker({ fps: 25, detectEvery: 2 });
    const image = createImage(64, 48, 3);
    for (let i = 0; i < 4; i++) {
      const run = new PipelineRun({ backend, catalogue });
      expect(await tracker.find(image, plan, run)).toEqual({ faces: [], detected: false, ids: [] });
      expect(run.result(image, 'cel', [], false).models).toEqual([]);
    }
    expect(tracker.tracks()).toEqual([]);
  });

  it('rejects options outside their range', () => {
    expect(() => new FaceTracker({ fps: 0 })).toThrow(RangeError);
    expect(() => new FaceTracker({ fps: 15, detectEvery: 0 })).toThrow(RangeError);
    expect(() => new FaceTracker({ fps: 15, detectEvery: 2.5 })).toThrow(RangeError);
    expect(() => new FaceTracker({ fps: 15, maxMissed: -1 })).toThrow(RangeError);
    expect(() => new FaceTracker({ fps: 15, smoothing: { minCutoff: 0 } })).toThrow(RangeError);
  });
});
