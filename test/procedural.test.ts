/**
 * Blurs and the procedural cartoon filters (cel, watercolour) on real photos: shape, determinism,
 * flattening, ink placement, skin tone, degenerate sizes, parameter validation. The results are also
 * written to test-output/procedural/ for looking at.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { boxBlurPlane, gaussianBlurImage, gaussianBlurPlane } from '../src/core/blur.js';
import { createImage, createPlane, type FloatPlane, type RawImage } from '../src/core/image.js';
import { celShade, runProcedural, watercolor } from '../src/core/procedural/index.js';
import { portrait, TEST_OUTPUT_DIR } from './helpers/env.js';
import { loadRgb } from './helpers/images.js';
import { errorOf } from './helpers/errors.js';

const OUT_DIR = join(TEST_OUTPUT_DIR, 'procedural');

function decode(name: string): Promise<RawImage> {
  return loadRgb(portrait(name));
}

async function writePng(image: RawImage, file: string): Promise<void> {
  const { width, height, channels } = image;
  await sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.length), { raw: { width, height, channels } })
    .png()
    .toFile(join(OUT_DIR, file));
}

/**
 * Colours after dropping to 5 bits per channel (ignores invisible 1-level noise): how many there are,
 * and how few of the most frequent ones cover 90 % of the pixels.
 */
function colourStats(image: RawImage): { distinct: number; cover90: number } {
  const counts = new Uint32Array(1 << 15);
  const d = image.data;
  for (let i = 0; i < d.length; i += 3) counts[((d[i]! >> 3) << 10) | ((d[i + 1]! >> 3) << 5) | (d[i + 2]! >> 3)]!++;
  const used = [...counts].filter((c) => c > 0).sort((a, b) => b - a);
  let covered = 0;
  let cover90 = 0;
  while (covered < 0.9 * (d.length / 3)) covered += used[cover90++]!;
  return { distinct: used.length, cover90 };
}

function luma(image: RawImage): FloatPlane {
  const plane = createPlane(image.width, image.height);
  const d = image.data;
  for (let p = 0, i = 0; p < plane.data.length; p++, i += 3) {
    plane.data[p] = 0.299 * d[i]! + 0.587 * d[i + 1]! + 0.114 * d[i + 2]!;
  }
  return plane;
}

/** Sobel gradient magnitude (luma units per px) of a plane. */
function sobel(plane: FloatPlane): FloatPlane {
  const { width, height, data } = plane;
  const out = createPlane(width, height);
  const at = (x: number, y: number): number => data[Math.min(height - 1, Math.max(0, y)) * width + Math.min(width - 1, Math.max(0, x))]!;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const gx = at(x + 1, y - 1) + 2 * at(x + 1, y) + at(x + 1, y + 1) - at(x - 1, y - 1) - 2 * at(x - 1, y) - at(x - 1, y + 1);
      const gy = at(x - 1, y + 1) + 2 * at(x, y + 1) + at(x + 1, y + 1) - at(x - 1, y - 1) - 2 * at(x, y - 1) - at(x + 1, y - 1);
      out.data[y * width + x] = Math.hypot(gx, gy) / 8;
    }
  }
  return out;
}

/** Max of a 0/1 mask over a (2r+1)^2 window, as a 0/1 mask. */
function dilateMask(mask: Uint8Array, width: number, height: number, r: number): Uint8Array {
  const out = new Uint8Array(mask.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (mask[y * width + x] === 0) continue;
      for (let yy = Math.max(0, y - r); yy <= Math.min(height - 1, y + r); yy++) {
        out.fill(1, yy * width + Math.max(0, x - r), yy * width + Math.min(width - 1, x + r) + 1);
      }
    }
  }
  return out;
}

/** sRGB 0..255 -> CIELab (D65). */
function srgbToLab(r: number, g: number, b: number): [number, number, number] {
  const lin = (v: number): number => {
    const c = v / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const [R, G, B] = [lin(r), lin(g), lin(b)];
  const X = (0.4124 * R + 0.3576 * G + 0.1805 * B) / 0.95047;
  const Y = 0.2126 * R + 0.7152 * G + 0.0722 * B;
  const Z = (0.0193 * R + 0.1192 * G + 0.9505 * B) / 1.08883;
  const f = (t: number): number => (t > 216 / 24389 ? Math.cbrt(t) : ((24389 / 27) * t + 16) / 116);
  return [116 * f(Y) - 16, 500 * (f(X) - f(Y)), 200 * (f(Y) - f(Z))];
}

function meanColour(image: RawImage, [x0, y0, w, h]: Box): [number, number, number] {
  const sum = [0, 0, 0];
  for (let y = y0; y < y0 + h; y++) {
    for (let x = x0; x < x0 + w; x++) {
      const i = (y * image.width + x) * 3;
      for (let c = 0; c < 3; c++) sum[c]! += image.data[i + c]!;
    }
  }
  return [sum[0]! / (w * h), sum[1]! / (w * h), sum[2]! / (w * h)];
}

function deltaE(a: [number, number, number], b: [number, number, number]): number {
  const la = srgbToLab(...a);
  const lb = srgbToLab(...b);
  return Math.hypot(la[0] - lb[0], la[1] - lb[1], la[2] - lb[2]);
}

type Box = [x: number, y: number, width: number, height: number];

/** Hand-placed boxes over the faces (forehead to chin) of some test photos. */
const FACES: Record<string, Box[]> = {
  '02-man-studio-smile.png': [[140, 110, 170, 210]],
  '05-group6-stock.jpg': [
    [180, 290, 70, 100],
    [335, 285, 70, 100],
    [490, 255, 80, 95],
    [655, 245, 85, 100],
    [825, 360, 80, 95],
    [895, 215, 110, 140],
  ],
  '12-group-selfie-cafe.jpeg': [[230, 290, 220, 270]],
  '20-woman-curly-hair.png': [[500, 70, 180, 230]],
};

const PHOTOS = [
  '02-man-studio-smile.png',
  '05-group6-stock.jpg',
  '12-group-selfie-cafe.jpeg',
  '19-city-skyline-noface.jpg',
  '20-woman-curly-hair.png',
  '01-woman-mask-peace.jpg',
  '17-face-man-turtleneck.jpg',
] as const;

const FILTERS = {
  cel: (image: RawImage) => celShade(image),
  watercolor: (image: RawImage) => watercolor(image),
} as const;

const inputs = new Map<string, RawImage>();
const outputs = new Map<string, RawImage>();
const key = (filter: string, photo: string): string => `${filter}:${photo}`;

beforeAll(async () => {
  mkdirSync(OUT_DIR, { recursive: true });
  for (const photo of PHOTOS) inputs.set(photo, await decode(photo));
  for (const [filter, run] of Object.entries(FILTERS)) {
    for (const photo of PHOTOS) {
      const out = run(inputs.get(photo)!);
      outputs.set(key(filter, photo), out);
      await writePng(out, `${photo.replace(/\.\w+$/, '')}-${filter}.png`);
    }
  }
});

describe('blur', () => {
  const random = (w: number, h: number, seed = 1): FloatPlane => {
    const plane = createPlane(w, h);
    let s = seed;
    for (let i = 0; i < plane.data.length; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      plane.data[i] = (s >>> 8) / (1 << 24);
    }
    return plane;
  };

  it('keeps a constant plane constant, for any radius (even larger than the plane)', () => {
    const plane = createPlane(17, 9, 0.625);
    for (const r of [1, 3, 40]) {
      for (const v of boxBlurPlane(plane, r).data) expect(v).toBeCloseTo(0.625, 5);
    }
    for (const sigma of [0.4, 1.5, 3, 25]) {
      for (const v of gaussianBlurPlane(plane, sigma).data) expect(v).toBeCloseTo(0.625, 5);
    }
  });

  it('radius / sigma 0 is the identity and the input is never modified', () => {
    const plane = random(31, 7);
    const copy = plane.data.slice();
    expect(boxBlurPlane(plane, 0).data).toEqual(copy);
    expect(gaussianBlurPlane(plane, 0).data).toEqual(copy);
    boxBlurPlane(plane, 4);
    gaussianBlurPlane(plane, 4);
    expect(plane.data).toEqual(copy);
    const image = createImage(5, 4, 3);
    image.data.forEach((_, i) => (image.data[i] = (i * 37) % 256));
    expect(gaussianBlurImage(image, 0).data).toEqual(image.data);
  });

  it('preserves the energy of an impulse away from the borders, and the mean of a random plane', () => {
    const impulse = createPlane(101, 101);
    impulse.data[50 * 101 + 50] = 1;
    for (const blurred of [boxBlurPlane(impulse, 7), gaussianBlurPlane(impulse, 1.2), gaussianBlurPlane(impulse, 6)]) {
      expect(blurred.data.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    }
    const plane = random(200, 150, 7);
    const mean = (p: FloatPlane): number => p.data.reduce((a, b) => a + b, 0) / p.data.length;
    expect(Math.abs(mean(gaussianBlurPlane(plane, 5)) - mean(plane))).toBeLessThan(0.002);
    expect(Math.abs(mean(boxBlurPlane(plane, 5)) - mean(plane))).toBeLessThan(0.002);
  });

  it('the gaussian has the requested variance (kernel path for small sigma, three boxes for large)', () => {
    for (const sigma of [0.8, 1.5, 2, 4.5, 10]) {
      const size = 161;
      const impulse = createPlane(size, 1);
      impulse.data[80] = 1;
      const blurred = gaussianBlurPlane(impulse, sigma).data;
      let variance = 0;
      for (let x = 0; x < size; x++) variance += blurred[x]! * (x - 80) ** 2;
      expect(Math.sqrt(variance) / sigma).toBeGreaterThan(0.95);
      expect(Math.sqrt(variance) / sigma).toBeLessThan(1.06);
    }
  });

  it('box blur equals the brute-force clamp-to-edge mean', () => {
    const plane = random(13, 11, 3);
    const r = 2;
    const blurred = boxBlurPlane(plane, r);
    const at = (x: number, y: number): number => plane.data[Math.min(10, Math.max(0, y)) * 13 + Math.min(12, Math.max(0, x))]!;
    for (let y = 0; y < 11; y++) {
      for (let x = 0; x < 13; x++) {
        let s = 0;
        for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) s += at(x + dx, y + dy);
        expect(blurred.data[y * 13 + x]).toBeCloseTo(s / 25, 5);
      }
    }
  });

  it('blurs 1, 3 and 4 channel images; RGBA is premultiplied so transparent colour does not bleed', () => {
    for (const channels of [1, 3, 4] as const) {
      const image = createImage(9, 6, channels);
      image.data.fill(200);
      const out = gaussianBlurImage(image, 2);
      expect(out.channels).toBe(channels);
      expect([...out.data].every((v) => v === 200)).toBe(true);
    }
    // Left half transparent red, right half opaque blue: the visible blue must stay pure blue.
    const rgba = createImage(20, 4, 4);
    for (let y = 0; y < 4; y++) {
      for (let x = 0; x < 20; x++) {
        const i = (y * 20 + x) * 4;
        rgba.data.set(x < 10 ? [255, 0, 0, 0] : [0, 0, 255, 255], i);
      }
    }
    const out = gaussianBlurImage(rgba, 2);
    for (let x = 10; x < 20; x++) {
      const i = (1 * 20 + x) * 4;
      expect(out.data[i]).toBeLessThanOrEqual(1);
      expect(out.data[i + 2]).toBeGreaterThanOrEqual(254);
    }
    expect(out.data[(20 + 9) * 4 + 3]).toBeGreaterThan(0); // alpha itself is feathered
  });

  it('rejects negative or non-finite radii', () => {
    expect(() => boxBlurPlane(createPlane(2, 2), -1)).toThrow(RangeError);
    expect(() => gaussianBlurPlane(createPlane(2, 2), Number.NaN)).toThrow(RangeError);
  });
});

describe.each(Object.keys(FILTERS) as (keyof typeof FILTERS)[])('%s on real photos', (filter) => {
  it('returns an RGB image of the same size', () => {
    for (const photo of PHOTOS) {
      const input = inputs.get(photo)!;
      const out = outputs.get(key(filter, photo))!;
      expect([out.width, out.height, out.channels]).toEqual([input.width, input.height, 3]);
      expect(out.data.length).toBe(input.data.length);
    }
  });

  it('is deterministic (same bytes on a second run) and leaves the input untouched', () => {
    const photo = '02-man-studio-smile.png';
    const input = inputs.get(photo)!;
    const before = input.data.slice();
    const again = FILTERS[filter](input);
    expect(Buffer.compare(Buffer.from(again.data), Buffer.from(outputs.get(key(filter, photo))!.data))).toBe(0);
    expect(input.data).toEqual(before);
  });

  it('flattens: far fewer colours than the photo', () => {
    const drops: number[] = [];
    for (const photo of PHOTOS) {
      const before = colourStats(inputs.get(photo)!);
      const after = colourStats(outputs.get(key(filter, photo))!);
      const what = `${photo}: ${before.distinct} -> ${after.distinct} colours, ${before.cover90} -> ${after.cover90} for 90 %`;
      // Every colour counts here, including the anti-aliased pixels along each border (and, for
      // watercolour, the paper grain), so the drop is moderate...
      expect(after.distinct, what).toBeLessThan(before.distinct * (filter === 'cel' ? 0.8 : 0.9));
      // ...while the colours that make up the picture (90 % of its pixels) drop several-fold for cel
      // (least on the detailed skyline). Watercolour keeps paper texture and soft gradients on purpose.
      expect(after.cover90, what).toBeLessThan(before.cover90 * (filter === 'cel' ? 0.55 : 0.85));
      drops.push(after.cover90 / before.cover90);
    }
    drops.sort((a, b) => a - b);
    expect(drops[drops.length >> 1]).toBeLessThan(filter === 'cel' ? 0.3 : 0.75);
  });

  it('keeps the skin tone: mean colour of each face within a small CIELab distance', () => {
    for (const [photo, faces] of Object.entries(FACES)) {
      const input = inputs.get(photo)!;
      const out = outputs.get(key(filter, photo))!;
      for (const face of faces) {
        const dE = deltaE(meanColour(input, face), meanColour(out, face));
        expect(dE, `${photo} face at ${face.join(',')}: dE ${dE.toFixed(1)}`).toBeLessThan(filter === 'cel' ? 8 : 10);
      }
    }
  });

  it('keeps a constant image (nearly) constant, with no edges', () => {
    // Neutral settings: no saturation boost (cel), no dilution or paper texture (watercolour).
    const neutral = filter === 'cel' ? { saturation: 1 } : { dilution: 0, paper: 0 };
    for (const colour of [
      [200, 150, 120],
      [20, 30, 60],
      [255, 255, 255],
      [0, 0, 0],
    ] as [number, number, number][]) {
      const image = createImage(120, 80, 3);
      for (let i = 0; i < image.data.length; i += 3) image.data.set(colour, i);
      const exact = runProcedural(filter, image, neutral);
      const lumaSpread = (out: RawImage): number => {
        const l = luma(out).data;
        return Math.max(...l) - Math.min(...l);
      };
      expect(deltaE(meanColour(exact, [0, 0, 120, 80]), colour)).toBeLessThan(1);
      expect(lumaSpread(exact)).toBeLessThan(1.5);
      // Defaults: still one flat colour (cel: a little more saturated; watercolour: diluted, with only
      // a faint paper texture and no rims).
      const styled = FILTERS[filter](image);
      expect(deltaE(meanColour(styled, [0, 0, 120, 80]), colour)).toBeLessThan(filter === 'cel' ? 4 : 16);
      expect(lumaSpread(styled), `spread for ${colour.join(',')}`).toBeLessThan(filter === 'cel' ? 1.5 : 30);
      if (filter === 'watercolor') {
        // The texture is all there is: no rims without borders.
        const noRims = runProcedural(filter, image, { edgeDarkening: 0 });
        expect(Buffer.compare(Buffer.from(noRims.data), Buffer.from(styled.data))).toBe(0);
      }
    }
  });

  it('handles 1x1, 2x3 and one-pixel-wide or -high images', () => {
    for (const [w, h] of [
      [1, 1],
      [2, 3],
      [1, 40],
      [40, 1],
      [3, 2],
    ] as const) {
      const image = createImage(w, h, 3);
      image.data.forEach((_, i) => (image.data[i] = (i * 53) % 256));
      const out = FILTERS[filter](image);
      expect([out.width, out.height, out.channels]).toEqual([w, h, 3]);
    }
    expect(FILTERS[filter](createImage(0, 0, 3)).data.length).toBe(0);
  });
});

describe('cel ink lines', () => {
  /** Pixels clearly darkened by the ink: cel with ink vs cel without. */
  function inkMask(photo: string): { mask: Uint8Array; width: number; height: number } {
    const input = inputs.get(photo)!;
    const inked = luma(outputs.get(key('cel', photo))!).data;
    const plain = luma(celShade(input, { edgeThickness: 0 })).data;
    const mask = new Uint8Array(inked.length);
    for (let i = 0; i < mask.length; i++) mask[i] = inked[i]! < plain[i]! * 0.75 - 4 ? 1 : 0;
    return { mask, width: input.width, height: input.height };
  }

  it.each(['02-man-studio-smile.png', '05-group6-stock.jpg', '20-woman-curly-hair.png'])(
    '%s: dark lines along strong edges, almost none in flat areas',
    async (photo) => {
      const input = inputs.get(photo)!;
      const { mask, width, height } = inkMask(photo);
      const gradient = sobel(gaussianBlurPlane(luma(input), 1)).data;
      const nearInk = dilateMask(mask, width, height, Math.max(3, Math.round((3 * Math.max(width, height)) / 1000)));
      // Strong: luma steps of ~1/3 of the range. Flat: nothing above a faint ripple within 6 px.
      const strong = new Uint8Array(mask.length);
      const busy = new Uint8Array(mask.length);
      for (let i = 0; i < mask.length; i++) {
        strong[i] = gradient[i]! > 25 ? 1 : 0;
        busy[i] = gradient[i]! > 3 ? 1 : 0;
      }
      const nearBusy = dilateMask(busy, width, height, 6);
      let strongTotal = 0;
      let strongInked = 0;
      let flatTotal = 0;
      let flatInked = 0;
      for (let i = 0; i < mask.length; i++) {
        if (strong[i] === 1) {
          strongTotal++;
          strongInked += nearInk[i]!;
        }
        if (nearBusy[i] === 0) {
          flatTotal++;
          flatInked += mask[i]!;
        }
      }
      const visual = createImage(width, height, 1);
      for (let i = 0; i < mask.length; i++) visual.data[i] = mask[i] === 1 ? 0 : strong[i] === 1 ? 128 : nearBusy[i] === 0 ? 230 : 255;
      await writePng(visual, `${photo.replace(/\.\w+$/, '')}-ink-check.png`);
      expect(strongTotal).toBeGreaterThan(100);
      expect(flatTotal).toBeGreaterThan(mask.length / 20);
      expect(strongInked / strongTotal, 'share of strong edges with ink nearby').toBeGreaterThan(0.6);
      expect(flatInked / flatTotal, 'share of flat pixels inked').toBeLessThan(0.002);
    },
  );

  it('edgeThickness 0 or edgeThreshold 1 draws no ink at all', () => {
    const input = inputs.get('02-man-studio-smile.png')!;
    const none = celShade(input, { edgeThickness: 0 });
    expect(Buffer.compare(Buffer.from(celShade(input, { edgeThreshold: 1 }).data), Buffer.from(none.data))).toBe(0);
  });
});

describe('runProcedural', () => {
  const small = createImage(8, 6, 3);
  small.data.fill(128);

  it('runs both filters by name, with and without params', () => {
    expect(runProcedural('cel', small, {}).width).toBe(8);
    expect(runProcedural('cel', small, { levels: 3, smoothing: 1, edgeThickness: 2 }).height).toBe(6);
    expect(runProcedural('watercolor', small, { paper: 0, bleed: 1 }).data.length).toBe(small.data.length);
  });

  it('same result as calling the filter directly', () => {
    const photo = inputs.get('17-face-man-turtleneck.jpg')!;
    expect(
      Buffer.compare(
        Buffer.from(runProcedural('cel', photo, {}).data),
        Buffer.from(outputs.get(key('cel', '17-face-man-turtleneck.jpg'))!.data),
      ),
    ).toBe(0);
  });

  it('rejects an unknown param name with E_BAD_OPTION naming it and the known ones', () => {
    const error = errorOf(() => runProcedural('cel', small, { colours: 4 }));
    expect(error.code).toBe('E_BAD_OPTION');
    expect(error.message).toMatch(/^Expected one of smoothing, levels, .* for cel param name but received "colours"$/);
    expect(errorOf(() => runProcedural('watercolor', small, { levels: 4 })).message).toContain('watercolor');
  });

  it('rejects out-of-range, non-integer and non-finite values with the accepted range', () => {
    expect(errorOf(() => runProcedural('cel', small, { smoothing: 1.5 })).message).toBe(
      'Expected a number in 0..1 for cel param smoothing but received 1.5',
    );
    expect(errorOf(() => runProcedural('cel', small, { levels: 4.5 })).message).toBe(
      'Expected an integer in 2..12 for cel param levels but received 4.5',
    );
    expect(errorOf(() => runProcedural('cel', small, { levels: 1 })).code).toBe('E_BAD_OPTION');
    expect(errorOf(() => runProcedural('watercolor', small, { paper: Number.NaN })).message).toBe(
      'Expected a number in 0..1 for watercolor param paper but received NaN',
    );
    expect(errorOf(() => celShade(small, { saturation: -1 })).code).toBe('E_BAD_OPTION');
  });

  it('rejects an unknown filter name', () => {
    const error = errorOf(() => runProcedural('sketch' as 'cel', small, {}));
    expect(error.code).toBe('E_BAD_OPTION');
    expect(error.message).toContain('"sketch"');
  });
});
