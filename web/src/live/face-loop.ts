/**
 * Neural face styles for a live camera: two loops, decoupled from the display.
 * - Tracking: a small copy of the current frame goes to a YuNet worker about 12 times a second
 *   (more often when the face model is waiting for a frame); the largest face's landmarks are
 *   smoothed with the One-Euro filter the video pipeline uses.
 * - Stylizing: whenever the stylizer worker is free, the full frame of the latest tracking result is
 *   handed to it with that result's landmarks; it cuts a small face crop, runs the style's face
 *   model and returns the crop with its feathered mask (core/live-face.ts).
 * Every displayed frame then warps the last stylized face onto the face's current position: the
 * similarity transform from the current landmarks to those the crop was cut with, followed by that
 * crop's own transform. The model's slowness shows as a lag in expression, never in motion.
 */
import { estimateSimilarity, type Affine, type Point } from '../../../src/core/face/align.js';
import { FACE_LANDMARK_SMOOTHING, OneEuroFilter2D } from '../../../src/core/face/one-euro.js';
import type { PortoonWeb } from '../../../src/browser/portoon-web.js';
import type { FaceOverlay, FaceOverlaySource } from './camera-stylizer.js';

/** Width of the small frame copy faces are tracked on (YuNet finds faces down to ~10 px there). */
const TRACK_WIDTH = 256;
/** A face not seen for this long is gone: its overlay is dropped rather than left floating. */
const LOST_AFTER_MS = 400;
/**
 * While the face model runs, landmarks are refreshed at most this often: the core not spent on
 * detecting every camera frame goes to the model. When the model is idle, the next camera frame is
 * detected at once and handed to it, so it never waits for the tracking clock.
 */
const TRACK_INTERVAL_MS = 1000 / 12;
/** Refresh rate is measured over this window. */
const RATE_WINDOW_MS = 3000;

export interface FaceLoopEngines {
  /** Finds faces (YuNet); one thread is plenty for a 320 px frame. */
  tracker: PortoonWeb;
  /** Runs the style's face model. */
  stylizer: PortoonWeb;
}

export interface FaceLoopOptions {
  video: HTMLVideoElement;
  style: string;
  /** Side of the stylized face crop in pixels (multiple of 8). */
  cropSize: number;
  /** Called when a loop fails for good (e.g. a model could not be loaded). */
  onError?: ((error: Error) => void) | undefined;
}

interface Tracked {
  landmarks: Point[];
  time: number;
}

interface Stylized {
  image: ImageBitmap;
  /** Frame → crop for the landmarks below. */
  frameToCrop: Affine;
  landmarks: Point[];
  version: number;
}

/** `outer` after `inner`: x → outer(inner(x)). */
export function composeAffine(outer: Affine, inner: Affine): Affine {
  const [a, b, c, d, e, f] = outer;
  const [p, q, r, s, t, u] = inner;
  return [a * p + b * s, a * q + b * t, a * r + b * u + c, d * p + e * s, d * q + e * t, d * r + e * u + f];
}

export class FaceLoop implements FaceOverlaySource {
  readonly #engines: FaceLoopEngines;
  readonly #options: FaceLoopOptions;
  readonly #smoother = new OneEuroFilter2D(FACE_LANDMARK_SMOOTHING);
  #style: string;
  #running = true;
  #tracked: Tracked | undefined;
  #stylized: Stylized | undefined;
  #stylizing = false;
  #version = 0;
  readonly #refreshes: number[] = [];
  readonly #tracks: number[] = [];
  #trackMs = 0;
  #lastDetect = 0;
  #styleMs = 0;

  constructor(engines: FaceLoopEngines, options: FaceLoopOptions) {
    this.#engines = engines;
    this.#options = options;
    this.#style = options.style;
    void this.#trackLoop();
  }

  /** Switches the face style; the current face stays until the new style's first crop arrives. */
  setStyle(style: string): void {
    this.#style = style;
  }

  overlays(): readonly FaceOverlay[] {
    const tracked = this.#tracked;
    const stylized = this.#stylized;
    if (!tracked || !stylized || performance.now() - tracked.time > LOST_AFTER_MS) return [];
    // Current frame → the frame the crop was cut from → crop.
    const back = estimateSimilarity(tracked.landmarks, stylized.landmarks);
    return [{ image: stylized.image, frameToCrop: composeAffine(stylized.frameToCrop, back), version: stylized.version }];
  }

  refreshRate(): number {
    return rate(this.#refreshes);
  }

  /** Landmark updates per second. */
  trackRate(): number {
    return rate(this.#tracks);
  }

  /** Mean ms of the last tracking and stylizing runs (worker time). */
  timings(): { trackMs: number; styleMs: number } {
    return { trackMs: this.#trackMs, styleMs: this.#styleMs };
  }

  stop(): void {
    this.#running = false;
    this.#stylized?.image.close();
    this.#stylized = undefined;
    this.#tracked = undefined;
  }

  async #trackLoop(): Promise<void> {
    const { video } = this.#options;
    try {
      while (this.#running) {
        // One detection per new camera frame at most: a repeated frame has nothing new to track.
        await nextVideoFrame(video);
        if (!this.#running || video.videoWidth === 0) continue;
        const time = performance.now();
        // Between detections the smoothed landmarks hold; but an idle face model is fed at once.
        if (this.#tracked && this.#stylizing && time - this.#lastDetect < TRACK_INTERVAL_MS) continue;
        this.#lastDetect = time;
        const frame = await createImageBitmap(video);
        const scale = frame.width / TRACK_WIDTH;
        const small = await createImageBitmap(frame, {
          resizeWidth: TRACK_WIDTH,
          resizeHeight: Math.round(frame.height / scale),
          resizeQuality: 'low',
        });
        const { faces, ms } = await this.#engines.tracker.detectFaces(small, TRACK_WIDTH);
        this.#trackMs = ms;
        const face = faces.reduce<(typeof faces)[number] | undefined>(
          (best, f) => (!best || area(f.box) > area(best.box) ? f : best),
          undefined,
        );
        if (!face || !this.#running) {
          frame.close();
          if (!face) this.#smoother.reset();
          continue;
        }
        const raw = face.landmarks.map(([x, y]): Point => [x * scale, y * scale]);
        // Speeds in eye distances per second, as in the video pipeline: the same smoothing at any face size.
        const eyes = Math.hypot(raw[1]![0] - raw[0]![0], raw[1]![1] - raw[0]![1]);
        const landmarks = this.#smoother.filter(raw, time / 1000, Math.max(1, eyes));
        this.#tracked = { landmarks, time };
        mark(this.#tracks, time);
        if (this.#stylizing) frame.close();
        else void this.#stylize(frame, landmarks);
      }
    } catch (error) {
      if (this.#running) this.#options.onError?.(error as Error);
    }
  }

  async #stylize(frame: ImageBitmap, landmarks: Point[]): Promise<void> {
    this.#stylizing = true;
    try {
      const result = await this.#engines.stylizer.stylizeFace(frame, landmarks, this.#style, this.#options.cropSize);
      if (!this.#running) return;
      const image = await createImageBitmap(new ImageData(result.rgba as Uint8ClampedArray<ArrayBuffer>, result.size, result.size), {
        premultiplyAlpha: 'none',
      });
      this.#stylized?.image.close();
      this.#stylized = { image, frameToCrop: result.frameToCrop, landmarks, version: ++this.#version };
      this.#styleMs = result.ms;
      mark(this.#refreshes, performance.now());
    } catch (error) {
      if (this.#running) {
        this.#running = false;
        this.#options.onError?.(error as Error);
      }
    } finally {
      this.#stylizing = false;
    }
  }
}

function area(box: readonly number[]): number {
  return box[2]! * box[3]!;
}

function mark(times: number[], now: number): void {
  times.push(now);
  while (times.length > 0 && now - times[0]! > RATE_WINDOW_MS) times.shift();
}

function rate(times: readonly number[]): number {
  if (times.length < 2) return 0;
  const span = performance.now() - times[0]!;
  return span > 0 ? ((times.length - 1) * 1000) / Math.max(span, 1000) : 0;
}

function nextVideoFrame(video: HTMLVideoElement): Promise<void> {
  return new Promise((resolve) => video.requestVideoFrameCallback(() => resolve()));
}
