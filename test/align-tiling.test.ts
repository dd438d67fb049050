import { describe, expect, it } from 'vitest';
import { applyAffine, estimateSimilarity, invertAffine, warpAffine, type Affine } from '../src/core/face/align.js';
import { framingPoints, marginFraming } from '../src/core/face/framing.js';
import { pasteDelta } from '../src/core/face/paste.js';
import { createImage, createPlane, type RawImage } from '../src/core/image.js';
import { padReflect } from '../src/core/tensor.js';
import { planAxis, planTiles, transformTiled } from '../src/core/tiling.js';
import { columnStep, meanAbsDiff } from './helpers/images.js';

function gradientImage(width: number, height: number): RawImage {
  const image = createImage(width, height, 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      image.data[o] = (x * 255) / (width - 1);
      image.data[o + 1] = (y * 255) / (height - 1);
      image.data[o + 2] = ((x + y) * 7) % 256;
    }
  }
  return image;
}

/** The 5 points of the margin framing in a `size` crop. */
const faceTemplate = ({ size, margin }: { size: number; margin: number }) => framingPoints(marginFraming(size, margin), size);

describe('similarity alignment', () => {
  it('recovers a known rotation + scale + translation exactly', () => {
    const angle = 0.3,
      scale = 1.7;
    const truth: Affine = [scale * Math.cos(angle), -scale * Math.sin(angle), 12, scale * Math.sin(angle), scale * Math.cos(angle), -5];
    const from = faceTemplate({ size: 256, margin: 0.5 });
    const to = from.map((p) => applyAffine(truth, p));
    const estimated = estimateSimilarity(from, to);
    for (let i = 0; i < 6; i++) expect(estimated[i]).toBeCloseTo(truth[i]!, 6);
    const back = invertAffine(estimated);
    const p = applyAffine(back, applyAffine(estimated, [30, 40]));
    expect(p[0]).toBeCloseTo(30, 6);
    expect(p[1]).toBeCloseTo(40, 6);
  });

  it('is a least-squares fit for noisy points (never a reflection)', () => {
    const from = faceTemplate({ size: 200, margin: 0.4 });
    const to = from.map(([x, y], i) => [x + (i % 2 ? 1.5 : -1.5), y + (i % 3 ? 1 : -1)] as const);
    const m = estimateSimilarity(from, to);
    expect(m[0]).toBeGreaterThan(0.95);
    expect(m[0] * m[4] - m[1] * m[3]).toBeGreaterThan(0);
  });

  it('warp + paste back through the same transform reproduces the image', () => {
    const image = gradientImage(200, 160);
    const m = estimateSimilarity(
      faceTemplate({ size: 128, margin: 0.5 }).map(([x, y]) => [x * 0.8 + 30, y * 0.8 + 20] as const),
      faceTemplate({ size: 128, margin: 0.5 }),
    );
    const crop = warpAffine(image, invertAffine(m), 128, 128);
    // Onto a black image the change is the crop itself.
    const target = createImage(200, 160, 3);
    pasteDelta(target, Float32Array.from(crop.data), createPlane(128, 128, 1), m);
    // Compare inside the crop's footprint (away from its edges).
    const [x0, y0] = applyAffine(invertAffine(m), [8, 8]);
    const [x1, y1] = applyAffine(invertAffine(m), [120, 120]);
    const region: [number, number, number, number] = [Math.ceil(x0), Math.ceil(y0), Math.floor(x1 - x0) - 1, Math.floor(y1 - y0) - 1];
    expect(meanAbsDiff(target, image, region)).toBeLessThan(2);
  });
});

describe('tiling', () => {
  it('plans equal, overlapping tiles that cover the axis and respect the size multiple', () => {
    for (const length of [100, 1024, 1025, 2800, 4200, 5000]) {
      const { size, starts } = planAxis(length, { maxTile: 1024, overlap: 64, multiple: 8 });
      expect(size).toBeLessThanOrEqual(Math.max(1024, 0));
      expect(starts[0]).toBe(0);
      expect(starts.at(-1)! + size).toBe(length);
      // An axis that fits is one tile of its own length (no multiple to respect); a longer one is cut in multiples of 8.
      if (length <= 1024) expect({ size, starts }).toEqual({ size: length, starts: [0] });
      else expect(size % 8).toBe(0);
      for (let i = 1; i < starts.length; i++) expect(starts[i - 1]! + size - starts[i]!).toBeGreaterThanOrEqual(64);
    }
    expect(planTiles(4200, 2800, { maxTile: 1024, overlap: 64, multiple: 8 })).toHaveLength(15);
  });

  it('an identity transform reproduces the image exactly', async () => {
    const image = gradientImage(700, 500);
    const out = await transformTiled(image, async (tile) => tile, { maxTile: 256, overlap: 32, multiple: 8 });
    expect(meanAbsDiff(out, image)).toBe(0);
  });

  it('tiles that disagree are blended without a seam (no step larger than the content)', async () => {
    const flat = createImage(900, 300, 3);
    flat.data.fill(100);
    let n = 0;
    // Every tile gets a different brightness: the worst case for a visible seam.
    const out = await transformTiled(
      flat,
      async (tile) => {
        const t = { ...tile, data: tile.data.slice() };
        t.data.fill(60 + 40 * (n++ % 3));
        return t;
      },
      { maxTile: 256, overlap: 64, multiple: 8 },
    );
    let worst = 0;
    for (let x = 1; x < out.width; x++) worst = Math.max(worst, columnStep(out, x));
    // A hard seam would jump by 40; the feather spreads it over 64 px (< 2 levels per column).
    expect(worst).toBeLessThan(2.5);
  });

  it('reflect padding mirrors without repeating the edge pixel', () => {
    const image = createImage(3, 1, 1);
    image.data.set([10, 20, 30]);
    expect([...padReflect(image, 3, 0).data]).toEqual([10, 20, 30, 20, 10, 20]);
  });
});
