/**
 * The flicker and fidelity measures: PSNR against known noise, and the warping error of Lai et al.
 * 2018 on synthetic motion with an exact answer and on a real clip.
 */
import { describe, expect, it } from 'vitest';
import type { RawImage } from '../../src/core/image.js';
import { cloneImage, createImage } from '../../src/core/image.js';
import type { OpticalFlow } from '../../src/core/video/flow.js';
import { createFlowField } from '../../src/core/video/flow.js';
import { PsnrMeter, WarpErrorMeter, psnr } from '../../src/core/video/metrics.js';
import { evaluationFlow } from '../../src/node/video/opencv-flow.js';
import { video } from '../helpers/env.js';
import { decodeFrames } from '../helpers/video-frames.js';

/** A smooth RGB texture whose content is moved right by `shift` pixels. */
function texture(width: number, height: number, shift: number): RawImage {
  const image = createImage(width, height, 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const u = x - shift;
      const i = (y * width + x) * 3;
      image.data[i] = 128 + 60 * Math.sin(u / 6) * Math.cos(y / 8);
      image.data[i + 1] = 128 + 50 * Math.cos((u + y) / 10);
      image.data[i + 2] = 100;
    }
  }
  return image;
}

/** Adds `offset` to every channel value (no clipping happens for the textures used here). */
function brighten(image: RawImage, offset: number): RawImage {
  const out = cloneImage(image);
  for (let i = 0; i < out.data.length; i++) out.data[i] = image.data[i]! + offset;
  return out;
}

/**
 * The exact flow of content that moves right `step` pixels a frame. The meter asks for each pair
 * forward (t → t+1) and then back, so the calls alternate between the two directions.
 */
function translationFlow(step: number): OpticalFlow {
  let calls = 0;
  return {
    name: 'exact-translation',
    compute(from: RawImage) {
      const field = createFlowField(from.width, from.height);
      const direction = calls++ % 2 === 0 ? 1 : -1;
      for (let i = 0; i < from.width * from.height; i++) field.data[i * 2] = direction * step;
      return field;
    },
  };
}

const zeroFlow: OpticalFlow = {
  name: 'zero',
  compute: (from) => createFlowField(from.width, from.height),
};

describe('psnr', () => {
  it('is infinite for identical images', () => {
    const image = createImage(16, 8, 3);
    image.data.fill(90);
    expect(psnr(image, cloneImage(image))).toBe(Infinity);
  });

  it('matches the closed form for known noise', () => {
    // ±5 on every value: MSE exactly 25, PSNR = 10·log10(255² / 25) = 34.151 dB.
    const a = createImage(32, 32, 3);
    a.data.fill(128);
    const b = cloneImage(a);
    for (let i = 0; i < b.data.length; i++) b.data[i] = i % 2 === 0 ? 123 : 133;
    expect(psnr(a, b)).toBeCloseTo(10 * Math.log10((255 * 255) / 25), 6);
    expect(psnr(a, b)).toBeCloseTo(34.151, 3);
  });

  it('refuses images of different shapes', () => {
    expect(() => psnr(createImage(4, 4, 3), createImage(4, 5, 3))).toThrow(RangeError);
  });
});

describe('PsnrMeter', () => {
  it('averages the frames that differ and keeps the worst', () => {
    const a = createImage(8, 8, 3);
    a.data.fill(100);
    const meter = new PsnrMeter();
    expect(meter.value()).toBeNaN();
    meter.add(a, cloneImage(a)); // identical: counted, not averaged
    meter.add(a, brighten(a, 5)); // MSE 25: 34.151 dB
    meter.add(a, brighten(a, 10)); // MSE 100: 28.131 dB
    expect(meter.frames).toBe(3);
    expect(meter.value()).toBeCloseTo((34.151 + 28.131) / 2, 2);
    expect(meter.min()).toBeCloseTo(28.131, 2);
  });

  it('is infinite when every frame is identical', () => {
    const a = createImage(8, 8, 3);
    const meter = new PsnrMeter();
    meter.add(a, a);
    expect(meter.value()).toBe(Infinity);
  });
});

describe('WarpErrorMeter', () => {
  it('is zero for an output that moves exactly with the input', async () => {
    const meter = new WarpErrorMeter(translationFlow(2), { flowMaxSide: 1000 });
    for (let t = 0; t < 5; t++) {
      const frame = texture(120, 80, 2 * t);
      await meter.add(frame, frame);
    }
    expect(meter.pairs).toBe(4);
    expect(meter.value()).toBeLessThan(1e-4);
    // Only the columns whose motion leaves the frame are masked.
    expect(meter.keptShare).toBeCloseTo(118 / 120, 2);
  });

  it('measures a per-frame brightness flicker exactly', async () => {
    const meter = new WarpErrorMeter(translationFlow(2), { flowMaxSide: 1000 });
    for (let t = 0; t < 5; t++) {
      const frame = texture(120, 80, 2 * t);
      await meter.add(frame, brighten(frame, t % 2 === 0 ? 10 : -10));
    }
    // Each pair differs by 20 levels in each of the 3 channels: 3·(20/255)² per pixel.
    expect(meter.value()).toBeCloseTo(3 * (20 / 255) ** 2, 3);
  });

  it('does not compare across a restart', async () => {
    const meter = new WarpErrorMeter(zeroFlow);
    const a = texture(40, 30, 0);
    await meter.add(a, a);
    meter.restart();
    await meter.add(a, brighten(a, 20));
    expect(meter.pairs).toBe(0);
    expect(meter.value()).toBe(0);
  });

  it('follows the motion of a real clip: its own frames score far lower with the flow than without', async () => {
    const frames = decodeFrames(video('04-talking-head-man.mp4'), 392, 360, 8);
    const withFlow = new WarpErrorMeter(await evaluationFlow());
    const withoutFlow = new WarpErrorMeter(zeroFlow);
    for (const frame of frames) {
      await withFlow.add(frame, frame);
      await withoutFlow.add(frame, frame);
    }
    expect(withFlow.pairs).toBe(7);
    expect(withFlow.keptShare).toBeGreaterThan(0.7);
    expect(withFlow.value()).toBeLessThan(0.5 * withoutFlow.value());
  });

  it('refuses an output of another size than its input', async () => {
    const meter = new WarpErrorMeter(zeroFlow);
    await expect(meter.add(createImage(10, 10, 3), createImage(12, 10, 3))).rejects.toThrow(RangeError);
  });
});
