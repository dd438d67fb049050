/**
 * The One-Euro filter (Casiez, Roussel and Vogel, "1€ Filter: A Simple Speed-based Low-pass Filter
 * for Noisy Input in Interactive Systems", CHI 2012) for sets of 2-D points, such as a face's five
 * landmarks over the frames of a video.
 *
 * Each point is low-passed with a cutoff that rises with its speed: a still face is smoothed hard
 * (the detector's frame-to-frame noise goes), a moving face lightly (it does not lag). Per point:
 *
 *   dt      = t - t_prev
 *   α(fc)   = 1 / (1 + 1 / (2π·fc·dt))
 *   v̂       = v̂_prev + α(dcutoff)·((x - x̂_prev) / dt - v̂_prev)      (filtered velocity)
 *   fc      = minCutoff + beta·|v̂| / scale
 *   x̂       = x̂_prev + α(fc)·(x - x̂_prev)
 *
 * The speed is the length of the 2-D velocity (one cutoff for x and y, so a point is not smoothed
 * differently along each axis), divided by `scale`: with the face's eye distance as the scale, speed
 * is measured in eye distances per second, and a small and a large face moving across the same
 * share of themselves are smoothed alike. The cutoffs are frequencies, which need no scaling.
 */
import type { Point } from './align.js';

export interface OneEuroParams {
  /** Cutoff frequency (Hz) of a point at rest: lower smooths more and lags more on slow motion. */
  minCutoff: number;
  /** How fast the cutoff rises with speed (Hz per scale unit per second): higher lags less on fast motion. */
  beta: number;
  /** Cutoff frequency (Hz) of the velocity estimate the speed is read from. */
  derivativeCutoff: number;
}

/**
 * Defaults for face landmarks in pixels, with the eye distance as the scale. Tuned with the face
 * tracker on the test clips (test/video/tracker.test.ts: two talking heads at 15 fps whose heads nod
 * and turn at up to 2.4 eye distances per second, a boy swaying slowly at 25 fps), against the
 * detections of every frame: the jitter (mean landmark acceleration, see `landmarkJitter`) drops
 * 3.1-4.8x, and the smoothed points stay 5.3-6.5 % of an eye distance from the detections on
 * average. Every causal setting trades one against the other along about the same line (0.4 Hz /
 * 0.8: 2.9-4.2x at 5.0-5.6 %; 0.7 Hz / 0.3: 3.1-4.9x at 5.3-6.7 %): at 15 fps much of a talking
 * head's frame-to-frame acceleration is real motion, which no filter without look-ahead removes
 * without lagging.
 */
export const FACE_LANDMARK_SMOOTHING: Readonly<OneEuroParams> = { minCutoff: 0.6, beta: 0.4, derivativeCutoff: 0.5 };

/** A One-Euro filter over a fixed number of 2-D points (see the module comment). */
export class OneEuroFilter2D {
  readonly params: Readonly<OneEuroParams>;
  #points: Point[] | undefined;
  #velocities: Point[] = [];
  #time = 0;

  constructor(params: Readonly<OneEuroParams> = FACE_LANDMARK_SMOOTHING) {
    if (!(params.minCutoff > 0) || !(params.beta >= 0) || !(params.derivativeCutoff > 0)) {
      throw new RangeError(
        `One-Euro parameters must be minCutoff > 0, beta >= 0, derivativeCutoff > 0; received ${JSON.stringify(params)}`,
      );
    }
    this.params = params;
  }

  /**
   * Filters one observation of the points.
   * @param time seconds; must increase from call to call (a repeated time returns the last output).
   * @param scale the unit speeds are measured in (pixels; e.g. the eye distance), above 0.
   * @returns the smoothed points. The first call after construction or {@link reset} returns the
   *   observation itself.
   */
  filter(points: readonly Point[], time: number, scale = 1): Point[] {
    const previous = this.#points;
    if (previous === undefined || previous.length !== points.length) {
      this.#points = points.map(([x, y]): Point => [x, y]);
      this.#velocities = points.map((): Point => [0, 0]);
      this.#time = time;
      return [...this.#points];
    }
    const dt = time - this.#time;
    if (!(dt > 0)) return [...previous];
    const { minCutoff, beta, derivativeCutoff } = this.params;
    const velocityAlpha = smoothingFactor(derivativeCutoff, dt);
    const next: Point[] = [];
    const velocities: Point[] = [];
    for (let i = 0; i < points.length; i++) {
      const [px, py] = previous[i]!;
      const [x, y] = points[i]!;
      const [vx, vy] = this.#velocities[i]!;
      const velocity: Point = [vx + velocityAlpha * ((x - px) / dt - vx), vy + velocityAlpha * ((y - py) / dt - vy)];
      const cutoff = minCutoff + (beta * Math.hypot(velocity[0], velocity[1])) / (scale > 0 ? scale : 1);
      const alpha = smoothingFactor(cutoff, dt);
      next.push([px + alpha * (x - px), py + alpha * (y - py)]);
      velocities.push(velocity);
    }
    this.#points = next;
    this.#velocities = velocities;
    this.#time = time;
    return [...next];
  }

  /** The last smoothed points, or undefined before the first observation. */
  get points(): readonly Point[] | undefined {
    return this.#points;
  }

  /** The filtered velocity of each point (pixels per second); zeros before two observations. */
  get velocities(): readonly Point[] {
    return this.#velocities;
  }

  /** Time (seconds) of the last observation. */
  get time(): number {
    return this.#time;
  }

  /** Forgets the points and their motion: the next observation is taken as it is. */
  reset(): void {
    this.#points = undefined;
    this.#velocities = [];
  }
}

/** The exponential smoothing factor of a first-order low-pass at `cutoff` Hz sampled every `dt` s. */
export function smoothingFactor(cutoff: number, dt: number): number {
  const tau = 1 / (2 * Math.PI * cutoff);
  return 1 / (1 + tau / dt);
}
