/**
 * The One-Euro filter for landmark sets, and the jitter and offset measures it is judged by: a face
 * at rest is smoothed hard, a moving face lags little, faces of any size are smoothed alike, and
 * the measures follow their documented formulas.
 */
import { describe, expect, it } from 'vitest';
import type { Point } from '../../src/core/face/align.js';
import { FACE_LANDMARK_SMOOTHING, OneEuroFilter2D, smoothingFactor } from '../../src/core/face/one-euro.js';
import { landmarkJitter, meanLandmarkOffset } from '../../src/core/video/jitter.js';

/** Five landmarks of an upright face with its eyes `eyes` px apart, centred on (cx, cy). */
function face(cx: number, cy: number, eyes = 60): Point[] {
  const k = eyes / 60;
  return [
    [cx - 30 * k, cy - 20 * k],
    [cx + 30 * k, cy - 20 * k],
    [cx, cy + 5 * k],
    [cx - 25 * k, cy + 30 * k],
    [cx + 25 * k, cy + 30 * k],
  ];
}

/** A fixed pseudo-random sequence (mulberry32), so the noisy inputs are the same on every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `frames` observations of `path(t)` with uniform noise of ±`noise` px on every coordinate. */
function observe(path: (t: number) => Point[], frames: number, fps: number, noise: number, seed = 1): Point[][] {
  const next = random(seed);
  return Array.from({ length: frames }, (_, i) =>
    path(i / fps).map(([x, y]): Point => [x + (next() * 2 - 1) * noise, y + (next() * 2 - 1) * noise]),
  );
}

function smooth(frames: readonly Point[][], fps: number, scale?: (points: readonly Point[]) => number): Point[][] {
  const filter = new OneEuroFilter2D();
  return frames.map((points, i) => filter.filter(points, i / fps, scale?.(points)));
}

const eyeDistance = (points: readonly Point[]): number => Math.hypot(points[1]![0] - points[0]![0], points[1]![1] - points[0]![1]);

describe('OneEuroFilter2D', () => {
  it('returns the first observation as it is, and a constant input unchanged', () => {
    const filter = new OneEuroFilter2D();
    const still = face(100, 100);
    expect(filter.filter(still, 0, 60)).toEqual(still);
    for (let i = 1; i < 10; i++) expect(filter.filter(still, i / 15, 60)).toEqual(still);
    expect(filter.velocities.every(([vx, vy]) => vx === 0 && vy === 0)).toBe(true);
  });

  it('cuts the jitter of a face at rest several-fold', () => {
    const frames = observe(() => face(200, 150), 60, 15, 2);
    const smoothed = smooth(frames, 15, eyeDistance);
    const ratio = landmarkJitter(frames) / landmarkJitter(smoothed);
    expect(ratio).toBeGreaterThan(5);
    // …and the points stay where the face is.
    expect(
      meanLandmarkOffset(
        smoothed.slice(10),
        Array.from({ length: 50 }, () => face(200, 150)),
      ),
    ).toBeLessThan(0.03);
  });

  it('follows a face moving at constant speed with a lag that beta keeps small', () => {
    // One eye distance (60 px) per second, as a head turning or a person walking past.
    const path = (t: number): Point[] => face(100 + 60 * t, 150);
    const truth = Array.from({ length: 45 }, (_, i) => path(i / 15));
    const lagOf = (beta: number): number => {
      const filter = new OneEuroFilter2D({ ...FACE_LANDMARK_SMOOTHING, beta });
      const out = truth.map((points, i) => filter.filter(points, i / 15, eyeDistance(points)));
      return meanLandmarkOffset(out.slice(30), truth.slice(30));
    };
    // A first-order low-pass at constant speed v trails by v·τ, τ = 1 / (2π·cutoff), in eye
    // distances here v = 1; beta raises the cutoff with speed and so shortens τ.
    const restingLag = 1 / (2 * Math.PI * FACE_LANDMARK_SMOOTHING.minCutoff);
    expect(lagOf(0)).toBeCloseTo(restingLag, 1);
    expect(lagOf(FACE_LANDMARK_SMOOTHING.beta)).toBeLessThan(lagOf(0) * 0.85);
    expect(lagOf(10)).toBeLessThan(0.05);
  });

  it('smooths a small and a large face alike when the scale is their eye distance', () => {
    const path = (k: number) => (t: number) => face(300 + 40 * k * Math.sin(3 * t), 200, 60 * k);
    const small = smooth(observe(path(0.5), 30, 15, 0), 15, eyeDistance);
    const large = smooth(observe(path(2), 30, 15, 0), 15, eyeDistance);
    // The large face is the small one scaled by 4 about (300, 200): so must its smoothed points be.
    for (const [t, points] of small.entries()) {
      for (const [i, [x, y]] of points.entries()) {
        expect(large[t]![i]![0]).toBeCloseTo(300 + (x - 300) * 4, 6);
        expect(large[t]![i]![1]).toBeCloseTo(200 + (y - 200) * 4, 6);
      }
    }
  });

  it('without a scale, a large face moving the same share of itself is smoothed less than a small one', () => {
    const path = (k: number) => (t: number) => face(300 + 40 * k * Math.sin(3 * t), 200, 60 * k);
    const share = (k: number): number => {
      const out = smooth(observe(path(k), 30, 15, 0), 15);
      const truth = Array.from({ length: 30 }, (_, i) => path(k)(i / 15));
      return meanLandmarkOffset(out, truth);
    };
    expect(share(4)).toBeLessThan(share(0.5) * 0.8);
  });

  it('keeps its output for a repeated time and starts afresh after reset', () => {
    const filter = new OneEuroFilter2D();
    filter.filter(face(100, 100), 0, 60);
    const moved = filter.filter(face(110, 100), 1 / 15, 60);
    expect(filter.filter(face(500, 500), 1 / 15, 60)).toEqual(moved);
    filter.reset();
    expect(filter.points).toBeUndefined();
    expect(filter.filter(face(500, 500), 2 / 15, 60)).toEqual(face(500, 500));
  });

  it('rejects parameters outside their range', () => {
    expect(() => new OneEuroFilter2D({ minCutoff: 0, beta: 0, derivativeCutoff: 1 })).toThrow(RangeError);
    expect(() => new OneEuroFilter2D({ minCutoff: 1, beta: -1, derivativeCutoff: 1 })).toThrow(RangeError);
    expect(() => new OneEuroFilter2D({ minCutoff: 1, beta: 0, derivativeCutoff: Number.NaN })).toThrow(RangeError);
  });

  it('smoothingFactor is the first-order low-pass factor 1 / (1 + τ/dt)', () => {
    expect(smoothingFactor(1, 1 / 15)).toBeCloseTo(1 / (1 + 15 / (2 * Math.PI)), 12);
    expect(smoothingFactor(1000, 1 / 15)).toBeGreaterThan(0.99);
  });
});

describe('landmarkJitter and meanLandmarkOffset', () => {
  it('is zero for a face moving at constant velocity, however fast', () => {
    const frames = Array.from({ length: 10 }, (_, i) => face(100 + 25 * i, 80 - 7 * i));
    expect(landmarkJitter(frames)).toBeCloseTo(0, 12);
  });

  it('is the mean |p(t+1) − 2p(t) + p(t−1)| over points and inner frames, in eye distances', () => {
    // Every point jumps right by 3 px on every odd frame: the second difference is ±6 px each time.
    const frames = Array.from({ length: 7 }, (_, i) => face(100 + (i % 2) * 3, 100, 60));
    expect(landmarkJitter(frames)).toBeCloseTo(6 / 60, 12);
    // The same shake on a face twice the size is half the jitter.
    const large = Array.from({ length: 7 }, (_, i) => face(100 + (i % 2) * 3, 100, 120));
    expect(landmarkJitter(large)).toBeCloseTo(3 / 60, 12);
  });

  it('meanLandmarkOffset is the mean point distance in the reference eye distances', () => {
    const reference = [face(100, 100), face(120, 100)];
    const shifted = reference.map((points) => points.map(([x, y]): Point => [x + 3, y + 4]));
    expect(meanLandmarkOffset(shifted, reference)).toBeCloseTo(5 / 60, 12);
  });

  it('rejects sequences it cannot measure', () => {
    expect(() => landmarkJitter([face(0, 0), face(1, 0)])).toThrow(RangeError);
    expect(() => landmarkJitter([face(0, 0), face(1, 0), face(2, 0).slice(0, 4)])).toThrow(RangeError);
    expect(() => landmarkJitter(Array.from({ length: 3 }, () => face(0, 0, 0)))).toThrow(RangeError);
    expect(() => meanLandmarkOffset([face(0, 0)], [])).toThrow(RangeError);
  });
});
