/**
 * Optical flow, warping, the forward–backward occlusion mask and the flow-guided temporal blending,
 * on synthetic motion with a known answer and on real frames of the shared clips.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { RawImage } from '../../src/core/image.js';
import { createImage, cropImage } from '../../src/core/image.js';
import type { FlowField, OpticalFlow } from '../../src/core/video/flow.js';
import { createFlowField, greyAtSize, resampleFlow } from '../../src/core/video/flow.js';
import { PsnrMeter, WarpErrorMeter } from '../../src/core/video/metrics.js';
import { TemporalBlender } from '../../src/core/video/temporal-blend.js';
import { consistencyMask, warpImage } from '../../src/core/video/warp.js';
import { evaluationFlow, processingFlow } from '../../src/node/video/opencv-flow.js';
import { video } from '../helpers/env.js';
import { decodeFrames } from '../helpers/video-frames.js';
import { meanAbsDiff } from '../helpers/images.js';

/** A smooth texture with detail at several scales, its content moved by (shiftX, shiftY). */
function texture(width: number, height: number, shiftX = 0, shiftY = 0): RawImage {
  const image = createImage(width, height, 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const u = x - shiftX;
      const v = y - shiftY;
      const base = 128 + 50 * Math.sin(u / 5) * Math.cos(v / 7) + 40 * Math.sin((u + 2 * v) / 11);
      const i = (y * width + x) * 3;
      image.data[i] = base;
      image.data[i + 1] = 255 - base;
      image.data[i + 2] = 128 + 60 * Math.cos((u - v) / 9);
    }
  }
  return image;
}

function constantFlow(width: number, height: number, dx: number, dy: number): FlowField {
  const field = createFlowField(width, height);
  for (let i = 0; i < width * height; i++) {
    field.data[i * 2] = dx;
    field.data[i * 2 + 1] = dy;
  }
  return field;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Median of each flow component over the field's interior (margins cut off). */
function medianVector(field: FlowField, margin: number): [number, number] {
  const xs: number[] = [];
  const ys: number[] = [];
  for (let y = margin; y < field.height - margin; y++) {
    for (let x = margin; x < field.width - margin; x++) {
      xs.push(field.data[(y * field.width + x) * 2]!);
      ys.push(field.data[(y * field.width + x) * 2 + 1]!);
    }
  }
  return [median(xs), median(ys)];
}

/** Deterministic pseudo-random numbers in [0, 1). */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A stand-in for a per-frame stylization that flickers: colours posterized to a few levels, plus
 * blotchy noise (8x8-pixel cells, different in every frame) like the stroke noise of a style model.
 */
function flickeringStylization(input: RawImage, seed: number): RawImage {
  const next = random(seed);
  const cell = 8;
  const cellsX = Math.ceil(input.width / cell);
  const cellsY = Math.ceil(input.height / cell);
  const noise = Array.from({ length: cellsX * cellsY * 3 }, () => (next() - 0.5) * 24);
  const out = createImage(input.width, input.height, 3);
  for (let y = 0; y < input.height; y++) {
    for (let x = 0; x < input.width; x++) {
      const n = (Math.floor(y / cell) * cellsX + Math.floor(x / cell)) * 3;
      for (let c = 0; c < 3; c++) {
        const i = (y * input.width + x) * 3 + c;
        const level = Math.round(input.data[i]! / 32) * 32;
        out.data[i] = Math.max(0, Math.min(255, level + noise[n + c]!));
      }
    }
  }
  return out;
}

function interior(image: RawImage, margin: number): RawImage {
  return cropImage(image, margin, margin, image.width - 2 * margin, image.height - 2 * margin);
}

describe('warp', () => {
  it('undoes a known translation, with the flow at full size or at half size', () => {
    const original = texture(160, 120);
    const moved = texture(160, 120, 3.5, -2); // content moved right 3.5 px and up 2 px
    const back = warpImage(moved, constantFlow(160, 120, 3.5, -2));
    const backFromHalf = warpImage(moved, constantFlow(80, 60, 1.75, -1));

    expect(meanAbsDiff(interior(moved, 8), interior(original, 8))).toBeGreaterThan(15);
    expect(meanAbsDiff(interior(back, 8), interior(original, 8))).toBeLessThan(1);
    expect(meanAbsDiff(interior(backFromHalf, 8), interior(back, 8))).toBeLessThan(0.01);
  });

  it('resamples a field to another size, scaling its vectors to the new pixels', () => {
    const field = resampleFlow(constantFlow(80, 60, 1.5, -0.5), 320, 120);
    expect([field.width, field.height]).toEqual([320, 120]);
    expect(medianVector(field, 0)).toEqual([6, -1]);
    expect(Math.max(...field.data.filter((_, i) => i % 2 === 0))).toBeCloseTo(6, 5);
  });

  it('greys and shrinks a frame to the flow size', () => {
    const grey = greyAtSize(texture(640, 480), 320);
    expect([grey.width, grey.height, grey.channels]).toEqual([320, 240, 1]);
  });
});

describe('forward–backward consistency', () => {
  // A 20-px square moves 8 px to the right over a still background.
  const width = 64;
  const height = 40;
  function squareFlow(left: number, dx: number): FlowField {
    const field = createFlowField(width, height);
    for (let y = 10; y < 30; y++) for (let x = left; x < left + 20; x++) field.data[(y * width + x) * 2] = dx;
    return field;
  }
  const forward = squareFlow(20, 8); // frame A → B: the square at x 20..39 moves to 28..47
  const backward = squareFlow(28, -8); // frame B → A

  it('marks the background the square uncovers, and nothing else inside the frame', () => {
    const visibleInB = consistencyMask(backward, forward);
    const row = 20;
    const at = (x: number): number => visibleInB.data[row * width + x]!;
    // x 20..27 of B showed the square in A: newly visible background, no counterpart in A.
    expect([20, 23, 27].map(at)).toEqual([0, 0, 0]);
    expect([5, 19, 28, 40, 47, 48, 60].map(at)).toEqual([1, 1, 1, 1, 1, 1, 1]);
    let masked = 0;
    for (const v of visibleInB.data) if (v === 0) masked++;
    expect(masked).toBe(8 * 20);
  });

  it('marks the background the square covers when looking forward', () => {
    const visibleInA = consistencyMask(forward, backward);
    expect([40, 44, 47].map((x) => visibleInA.data[20 * width + x]!)).toEqual([0, 0, 0]);
    expect([19, 20, 39, 48].map((x) => visibleInA.data[20 * width + x]!)).toEqual([1, 1, 1, 1]);
  });

  it('marks points whose flow leaves the frame', () => {
    const mask = consistencyMask(constantFlow(width, height, -5, 0), constantFlow(width, height, 5, 0));
    expect([0, 4].map((x) => mask.data[5 * width + x]!)).toEqual([0, 0]);
    expect([5, 63].map((x) => mask.data[5 * width + x]!)).toEqual([1, 1]);
  });

  it('tightens the tolerance for a coarser field (pixelScale)', () => {
    const off = constantFlow(width, height, 0.6, 0); // 0.6 px mismatch: 0.36 px² under 0.5, over 0.125
    const zero = createFlowField(width, height);
    expect(consistencyMask(off, zero).data[20 * width + 30]).toBe(1);
    expect(consistencyMask(off, zero, { pixelScale: 2 }).data[20 * width + 30]).toBe(0);
  });
});

describe('OpenCV optical flow', () => {
  let processing: OpticalFlow;
  let evaluation: OpticalFlow;
  let frames: RawImage[];
  beforeAll(async () => {
    processing = await processingFlow();
    evaluation = await evaluationFlow();
    frames = decodeFrames(video('04-talking-head-man.mp4'), 392, 360, 4);
  });

  it('uses different algorithms for blending and for measuring', () => {
    expect(processing.name).not.toBe(evaluation.name);
  });

  it('both algorithms recover a known shift of a real frame', async () => {
    // The chalkboard clip: texture everywhere (the talking heads stand before flat colour, where any
    // motion fits and both algorithms rightly report none).
    const [frame] = decodeFrames(video('01-boy-chalkboard-720p.mp4'), 640, 360, 1);
    const grey = greyAtSize(frame!, 640);
    const from = cropImage(grey, 100, 20, 320, 300);
    const to = cropImage(grey, 97, 22, 320, 300); // content moves right 3 px and up 2 px
    for (const flow of [processing, evaluation]) {
      const field = await flow.compute(from, to);
      const scale = from.width / field.width;
      const [dx, dy] = medianVector(field, Math.ceil(20 / scale));
      expect(dx * scale).toBeCloseTo(3, 0);
      expect(dy * scale).toBeCloseTo(-2, 0);
    }
  });

  it('brings frame t+1 of a real clip closer to frame t than no warp does', async () => {
    const a = greyAtSize(frames[0]!, 360);
    const b = greyAtSize(frames[3]!, 360);
    for (const flow of [processing, evaluation]) {
      const field = await flow.compute(a, b);
      const warped = warpImage(frames[3]!, field);
      expect(meanAbsDiff(interior(warped, 10), interior(frames[0]!, 10))).toBeLessThan(
        0.8 * meanAbsDiff(interior(frames[3]!, 10), interior(frames[0]!, 10)),
      );
    }
  });

  it('refuses colour or mismatched images', async () => {
    const grey = greyAtSize(frames[0]!, 100);
    await expect(processing.compute(frames[0]!, frames[1]!)).rejects.toThrow(RangeError);
    await expect(evaluation.compute(grey, greyAtSize(frames[0]!, 90))).rejects.toThrow(RangeError);
  });
});

describe('TemporalBlender', () => {
  let flow: OpticalFlow;
  let measureFlow: OpticalFlow;
  beforeAll(async () => {
    flow = await processingFlow();
    measureFlow = await evaluationFlow();
  });

  it('returns the first frame as stylized', async () => {
    const [frame] = decodeFrames(video('03-talking-head-woman.mp4'), 188, 176, 1);
    const stylized = flickeringStylization(frame!, 1);
    const blender = new TemporalBlender(flow);
    expect(await blender.blend(frame!, stylized)).toBe(stylized);
    expect(blender.lastWasCut).toBe(false);
    expect(blender.sceneCuts).toBe(0);
  });

  it('starts afresh at a cut between two clips, and only there', async () => {
    const first = decodeFrames(video('03-talking-head-woman.mp4'), 360, 336, 10);
    const second = decodeFrames(video('04-talking-head-man.mp4'), 360, 336, 10);
    const inputs = [...first, ...second];
    const blender = new TemporalBlender(flow);
    const cuts: boolean[] = [];
    const unchanged: boolean[] = [];
    for (const [i, input] of inputs.entries()) {
      const stylized = flickeringStylization(input, i + 1);
      const output = await blender.blend(input, stylized);
      cuts.push(blender.lastWasCut);
      unchanged.push(output === stylized);
    }
    const expected = inputs.map((_, i) => i === 10);
    expect(cuts).toEqual(expected);
    expect(unchanged).toEqual(inputs.map((_, i) => i === 0 || i === 10));
    expect(blender.sceneCuts).toBe(1);
  });

  it('says a frame is a cut before blending it, computing the flow once', async () => {
    const [a, b] = [
      decodeFrames(video('03-talking-head-woman.mp4'), 180, 168, 1)[0]!,
      decodeFrames(video('04-talking-head-man.mp4'), 180, 168, 1)[0]!,
    ];
    let calls = 0;
    const counting: OpticalFlow = {
      name: 'counting',
      compute: (from, to) => {
        calls++;
        return flow.compute(from, to);
      },
    };
    const blender = new TemporalBlender(counting);
    await blender.blend(a, a);
    expect(await blender.detectCut(b)).toBe(true);
    const callsAfterDetect = calls;
    expect(await blender.blend(b, b)).toBe(b);
    expect(calls).toBe(callsAfterDetect);
    expect(blender.sceneCuts).toBe(1);
  });

  it('forgets the past on reset', async () => {
    const frames = decodeFrames(video('04-talking-head-man.mp4'), 196, 180, 2);
    const blender = new TemporalBlender(flow);
    await blender.blend(frames[0]!, flickeringStylization(frames[0]!, 1));
    blender.reset();
    const stylized = flickeringStylization(frames[1]!, 2);
    expect(await blender.blend(frames[1]!, stylized)).toBe(stylized);
    expect(blender.lastWasCut).toBe(false);
  });

  it('cuts the warping error of a flickering stylization of a real clip to under a third, with PSNR ≥ 30 dB', async () => {
    const inputs = decodeFrames(video('04-talking-head-man.mp4'), 392, 360, 16);
    const blender = new TemporalBlender(flow);
    const perFrame = new WarpErrorMeter(measureFlow);
    const blended = new WarpErrorMeter(measureFlow);
    const fidelity = new PsnrMeter();
    for (const [i, input] of inputs.entries()) {
      const stylized = flickeringStylization(input, 100 + i);
      const output = await blender.blend(input, stylized);
      await perFrame.add(input, stylized);
      await blended.add(input, output);
      fidelity.add(output, stylized);
    }
    expect(blender.sceneCuts).toBe(0);
    expect(blended.value()).toBeLessThan(perFrame.value() / 3);
    expect(fidelity.value()).toBeGreaterThanOrEqual(30);
  });

  it('does not carry the past into content that changed (no ghosting)', async () => {
    const [a, b] = decodeFrames(video('04-talking-head-man.mp4'), 392, 360, 2);
    const [other] = decodeFrames(video('03-talking-head-woman.mp4'), 392, 360, 1);
    // Frame b with a 120-px square from another clip: new content the past must not leak into.
    const changed = createImage(392, 360, 3);
    changed.data.set(b!.data);
    for (let y = 120; y < 240; y++) {
      const from = (y * 392 + 20) * 3;
      changed.data.set(other!.data.subarray(from, from + 120 * 3), from);
    }
    const blender = new TemporalBlender(flow);
    await blender.blend(a!, flickeringStylization(a!, 1));
    const stylized = flickeringStylization(changed, 2);
    const output = await blender.blend(changed, stylized);
    expect(blender.lastWasCut).toBe(false);
    // Away from its border, the new square is the new stylization; the rest is blended with the past.
    expect(meanAbsDiff(output, stylized, [30, 130, 100, 100])).toBeLessThan(1);
    expect(meanAbsDiff(output, stylized, [200, 60, 180, 280])).toBeGreaterThan(2);
  });
});
