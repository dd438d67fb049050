/**
 * The visible "AI-generated" label (src/core/provenance/visible-label.ts) drawn on a real portrait:
 * only the badge rectangle changes, the badge darkens the picture and carries bright text, the label
 * keeps clear of faces, it stays legible when the picture is shrunk to a 256-px thumbnail, RGBA keeps
 * its alpha, small pictures get no label, and hostile sizes, faces and placements never throw. The
 * labelled portrait and its thumbnail are written to test-output/visible-label/ for a person to see.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RawImage } from '../src/core/image.js';
import { drawAiLabel, placeAiLabel, type LabelCorner, type LabelPlacement } from '../src/core/provenance/visible-label.js';
import { portrait, TEST_OUTPUT_DIR } from './helpers/env.js';
import { loadRgb, savePng } from './helpers/images.js';
import { PORTRAIT_FACES } from './helpers/portraits.js';

/** A 1024x1024 studio portrait: the label lands over both a light wall and a dark skirt. */
const PHOTO = '20-woman-curly-hair.png';
const OUT = join(TEST_OUTPUT_DIR, 'visible-label');

type Box = [number, number, number, number];

const luma = (image: RawImage, x: number, y: number): number => {
  const o = (y * image.width + x) * image.channels;
  return (image.data[o]! + image.data[o + 1]! + image.data[o + 2]!) / 3;
};

/** Number of bytes that differ between two images of the same shape outside a rectangle. */
function changedOutside(a: RawImage, b: RawImage, rect: LabelPlacement): number {
  let changed = 0;
  for (let y = 0; y < a.height; y++) {
    const insideRow = y >= rect.y && y < rect.y + rect.height;
    for (let x = 0; x < a.width; x++) {
      if (insideRow && x >= rect.x && x < rect.x + rect.width) continue;
      const o = (y * a.width + x) * a.channels;
      for (let k = 0; k < a.channels; k++) if (a.data[o + k] !== b.data[o + k]) changed++;
    }
  }
  return changed;
}

/** Area of a box inside a placement's rectangle. */
function overlap(rect: LabelPlacement, [x, y, w, h]: Box): number {
  const ow = Math.min(rect.x + rect.width, x + w) - Math.max(rect.x, x);
  const oh = Math.min(rect.y + rect.height, y + h) - Math.max(rect.y, y);
  return Math.max(0, ow) * Math.max(0, oh);
}

/** First and last rows of a region that hold a pixel at least as bright as `threshold`. */
function brightRows(image: RawImage, [x0, y0, w, h]: Box, threshold: number): [number, number] {
  let first = -1;
  let last = -1;
  for (let y = y0; y < y0 + h; y++) {
    let bright = false;
    for (let x = x0; x < x0 + w; x++) bright ||= luma(image, x, y) >= threshold;
    if (bright && first < 0) first = y;
    if (bright) last = y;
  }
  return [first, last];
}

function lumas(image: RawImage, [x0, y0, w, h]: Box): number[] {
  const out: number[] = [];
  for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) out.push(luma(image, x, y));
  return out.sort((a, b) => a - b);
}

const mean = (values: readonly number[]): number => values.reduce((sum, v) => sum + v, 0) / values.length;

/** The part of the badge clear of its rounded corners (the corner radius is under half the height). */
function innerBox(rect: LabelPlacement): Box {
  const inset = Math.ceil(rect.height / 2);
  return [rect.x + inset, rect.y, rect.width - 2 * inset, rect.height];
}

function withAlpha(image: RawImage): RawImage {
  const data = new Uint8Array(image.width * image.height * 4);
  for (let i = 0; i < image.width * image.height; i++) {
    data.set(image.data.subarray(i * 3, i * 3 + 3), i * 4);
    data[i * 4 + 3] = (i % image.width) % 200;
  }
  return { width: image.width, height: image.height, channels: 4, data };
}

describe('visible AI label on a real portrait', () => {
  let photo: RawImage;
  let original: Uint8Array;
  let labelled: RawImage;
  let placement: LabelPlacement;
  let thumbnail: RawImage;

  beforeAll(async () => {
    expect(PORTRAIT_FACES.map(([file]) => file)).toContain(PHOTO);
    photo = await loadRgb(portrait(PHOTO));
    original = photo.data.slice();
    ({ image: labelled, placement } = drawAiLabel(photo, []));
    const { data, info } = await sharp(labelled.data, { raw: { width: labelled.width, height: labelled.height, channels: 3 } })
      .resize(256, 256)
      .raw()
      .toBuffer({ resolveWithObject: true });
    thumbnail = { width: info.width, height: info.height, channels: 3, data: new Uint8Array(data) };
    mkdirSync(OUT, { recursive: true });
    await savePng(labelled, join(OUT, 'portrait-labelled.png'));
    await savePng(thumbnail, join(OUT, 'portrait-labelled-256.png'));
  });

  it('is a 1024x1024 photo with a label in the bottom-right corner, inside the picture', () => {
    expect([photo.width, photo.height]).toEqual([1024, 1024]);
    expect(placement.corner).toBe('bottom-right');
    expect(placement.width).toBeGreaterThan(0);
    expect(placement.height).toBeGreaterThan(0);
    expect(placement.x).toBeGreaterThan(0);
    expect(placement.y).toBeGreaterThan(0);
    expect(placement.x + placement.width).toBeLessThan(photo.width);
    expect(placement.y + placement.height).toBeLessThan(photo.height);
    expect(placement.width).toBeLessThanOrEqual(0.45 * photo.width);
  });

  it('leaves every pixel outside the badge rectangle exactly as it was, and the input untouched', () => {
    expect(changedOutside(photo, labelled, placement)).toBe(0);
    expect(Buffer.from(photo.data).equals(Buffer.from(original))).toBe(true);
    expect(labelled.data).not.toBe(photo.data);
  });

  it('darkens the picture under the badge and draws bright text on it', () => {
    const inner = innerBox(placement);
    const [x0, y0, w, h] = inner;
    let background = 0;
    let text = 0;
    let belowBadge = 0;
    for (let y = y0; y < y0 + h; y++) {
      for (let x = x0; x < x0 + w; x++) {
        const o = (y * photo.width + x) * 3;
        let plain = true;
        for (let k = 0; k < 3; k++) {
          const before = photo.data[o + k]!;
          const after = labelled.data[o + k]!;
          if (after < Math.round(before * 0.4) - 1) belowBadge++;
          plain &&= Math.abs(after - before * 0.4) <= 1;
        }
        if (plain) background++;
        if (Math.min(labelled.data[o]!, labelled.data[o + 1]!, labelled.data[o + 2]!) >= 250) text++;
      }
    }
    // Never darker than the badge alone; most of it is plain badge; a good share is solid white text.
    expect(belowBadge).toBe(0);
    expect(background / (w * h)).toBeGreaterThan(0.55);
    expect(text / (w * h)).toBeGreaterThan(0.1);

    // The right padding of the badge holds no ink: there the light wall is darkened to 40%.
    const pad: Box = [
      placement.x + placement.width - Math.floor(placement.height / 4),
      y0 + Math.ceil(h / 3),
      Math.floor(placement.height / 4) - 1,
      Math.floor(h / 3),
    ];
    const before = mean(lumas(photo, pad));
    const after = mean(lumas(labelled, pad));
    expect(before).toBeGreaterThan(120);
    expect(after).toBeLessThan(before * 0.45);
    expect(after).toBeGreaterThan(before * 0.35);
  });

  it('is sized from the picture: text over 22 px tall at 1024 px', () => {
    const [first, last] = brightRows(labelled, innerBox(placement), 200);
    expect(first).toBeGreaterThan(placement.y);
    expect(last).toBeLessThan(placement.y + placement.height - 1);
    expect(last - first + 1).toBeGreaterThanOrEqual(22);
  });

  it('stays legible in a 256-px thumbnail: text at least 6 px tall with strong contrast', () => {
    // The thumbnail pixels inside the badge, one pixel in from its edges (the resampling filter blurs those with the picture around).
    const scale = thumbnail.width / photo.width;
    const tx = Math.ceil(placement.x * scale) + 1;
    const ty = Math.ceil(placement.y * scale) + 1;
    const region: Box = [
      tx,
      ty,
      Math.floor((placement.x + placement.width) * scale) - 1 - tx,
      Math.floor((placement.y + placement.height) * scale) - 1 - ty,
    ];
    const [first, last] = brightRows(thumbnail, region, 170);
    // The bright rows are text inside the badge, with dark badge above and below them.
    expect(first).toBeGreaterThan(region[1]);
    expect(last).toBeLessThan(region[1] + region[3] - 1);
    expect(last - first + 1).toBeGreaterThanOrEqual(6);
    const values = lumas(thumbnail, region);
    const brightest = mean(values.slice(Math.floor(values.length * 0.95)));
    const darker = mean(values.slice(0, Math.floor(values.length / 2)));
    expect(brightest).toBeGreaterThan(210);
    expect(brightest - darker).toBeGreaterThan(130);
  });

  it('keeps the alpha of an RGBA picture outside the badge, makes it opaque under it and draws the same colours', () => {
    const rgba = withAlpha(photo);
    const result = drawAiLabel(rgba, []);
    expect(result.placement).toEqual(placement);
    expect(result.image.channels).toBe(4);
    expect(changedOutside(rgba, result.image, placement)).toBe(0);
    const [x0, y0, w, h] = innerBox(placement);
    let notOpaque = 0;
    let colourDiffers = 0;
    for (let y = y0; y < y0 + h; y++) {
      for (let x = x0; x < x0 + w; x++) {
        const i = y * photo.width + x;
        if (result.image.data[i * 4 + 3] !== 255) notOpaque++;
        for (let k = 0; k < 3; k++) if (result.image.data[i * 4 + k] !== labelled.data[i * 3 + k]) colourDiffers++;
      }
    }
    expect(notOpaque).toBe(0);
    expect(colourDiffers).toBe(0);
  });

  it('draws the same bytes every time, at a given placement too', () => {
    expect(Buffer.from(drawAiLabel(photo, []).image.data).equals(Buffer.from(labelled.data))).toBe(true);
    const bottomLeft = placeAiLabel(photo.width, photo.height, [[600, 500, 424, 524]]);
    expect(bottomLeft.corner).toBe('bottom-left');
    const again = drawAiLabel(photo, [], bottomLeft);
    expect(again.placement).toEqual(bottomLeft);
    expect(changedOutside(photo, again.image, bottomLeft)).toBe(0);
    expect(changedOutside(photo, again.image, placement)).toBeGreaterThan(0);
  });
});

describe('placing the label away from faces', () => {
  const W = 1024;
  const H = 768;
  const free = placeAiLabel(W, H, []);
  const rectOf = (corner: LabelCorner): LabelPlacement => {
    const x = corner.endsWith('left') ? W - free.x - free.width : free.x;
    const y = corner.startsWith('top') ? H - free.y - free.height : free.y;
    return { corner, x, y, width: free.width, height: free.height };
  };
  /** A face box covering the given share (0..1, from the left) of a corner's label rectangle. */
  const faceOver = (corner: LabelCorner, share = 1): Box => {
    const r = rectOf(corner);
    return [r.x, r.y, Math.round(r.width * share), r.height];
  };

  it('prefers the bottom-right corner, with a margin from the edges', () => {
    expect(free.corner).toBe('bottom-right');
    expect(free.x).toBeGreaterThan(0);
    expect(W - free.x - free.width).toBe(H - free.y - free.height);
  });

  it('moves to the bottom-left when a face covers the bottom-right', () => {
    const face: Box = [700, 450, 324, 318];
    const placed = placeAiLabel(W, H, [face]);
    expect(placed).toEqual(rectOf('bottom-left'));
    expect(overlap(placed, face)).toBe(0);
  });

  it('moves to a top corner when faces sit in both bottom corners', () => {
    const faces: Box[] = [faceOver('bottom-right'), faceOver('bottom-left', 0.2)];
    const placed = placeAiLabel(W, H, faces);
    expect(placed).toEqual(rectOf('top-right'));
    expect(faces.map((face) => overlap(placed, face))).toEqual([0, 0]);
    expect(placeAiLabel(W, H, [...faces, faceOver('top-right', 0.1)])).toEqual(rectOf('top-left'));
  });

  it('picks the corner with the least face area when faces are everywhere', () => {
    const shares: Record<LabelCorner, number> = { 'bottom-right': 1, 'bottom-left': 0.6, 'top-right': 0.3, 'top-left': 0.5 };
    const faces = (Object.keys(shares) as LabelCorner[]).map((corner) => faceOver(corner, shares[corner]));
    expect(placeAiLabel(W, H, faces)).toEqual(rectOf('top-right'));
    const bottomLeftLeast = faces.map((face, i) => (i === 1 ? faceOver('bottom-left', 0.1) : face));
    expect(placeAiLabel(W, H, bottomLeftLeast)).toEqual(rectOf('bottom-left'));
    // A tie goes to the preferred corner.
    expect(placeAiLabel(W, H, [[-50, -50, W + 100, H + 100]])).toEqual(rectOf('bottom-right'));
  });

  it('keeps the same label size whatever the faces, so video frames get a stable label', () => {
    const sizes = [[], [faceOver('bottom-right')], [[0, 0, W, H] as Box]].map((faces) => {
      const placed = placeAiLabel(W, H, faces);
      return [placed.width, placed.height];
    });
    expect(sizes).toEqual([
      [free.width, free.height],
      [free.width, free.height],
      [free.width, free.height],
    ]);
  });

  it('scales with the shorter side, at least 9-px text, and never wider than 45% of the picture', () => {
    const big = placeAiLabel(4000, 3000, []);
    const small = placeAiLabel(300, 300, []);
    const narrow = placeAiLabel(120, 900, []);
    expect(big.height / free.height).toBeCloseTo(3000 / 768, 0);
    expect(small.height).toBe(placeAiLabel(250, 400, []).height);
    expect(small.height).toBeGreaterThanOrEqual(17);
    expect(big.width).toBeLessThanOrEqual(0.45 * 4000);
    expect(narrow.width).toBeGreaterThan(0);
    expect(narrow.width).toBeLessThanOrEqual(Math.round(0.45 * 120));
    expect(placeAiLabel(96, 96, []).width).toBeLessThanOrEqual(Math.round(0.45 * 96));
  });
});

describe('pictures too small for a label and hostile inputs', () => {
  const NONE = { width: 0, height: 0 };

  it('returns a 64x64 picture unchanged with an empty placement', async () => {
    const small = await loadRgb(await sharp(portrait(PHOTO)).resize(64, 64).png().toBuffer());
    const { image, placement } = drawAiLabel(small, []);
    expect(placement).toMatchObject(NONE);
    expect(Buffer.from(image.data).equals(Buffer.from(small.data))).toBe(true);
    expect([image.width, image.height, image.channels]).toEqual([64, 64, 3]);
    expect(placeAiLabel(95, 4000, [])).toMatchObject(NONE);
    expect(placeAiLabel(96, 96, []).width).toBeGreaterThan(0);
  });

  it('never throws on degenerate sizes', () => {
    for (const [w, h] of [
      [1, 1],
      [0, 0],
      [-5, 200],
      [Number.NaN, Number.NaN],
      [Number.POSITIVE_INFINITY, 500],
      [500, Number.NEGATIVE_INFINITY],
    ] as const) {
      expect(placeAiLabel(w, h, [])).toMatchObject(NONE);
    }
    for (const channels of [1, 3, 4] as const) {
      const tiny: RawImage = { width: 1, height: 1, channels, data: new Uint8Array(channels).fill(77) };
      const { image, placement } = drawAiLabel(tiny, [[0, 0, 1, 1]]);
      expect(placement).toMatchObject(NONE);
      expect(Array.from(image.data)).toEqual(Array.from(tiny.data));
    }
    const huge = placeAiLabel(1e9, 1e9, []);
    expect(huge.width).toBeGreaterThan(0);
    expect(huge.width).toBeLessThan(Number.POSITIVE_INFINITY);
  });

  it('never throws on huge, negative or non-finite face boxes', () => {
    const hostile: Box[] = [
      [Number.NaN, 0, 100, 100],
      [0, Number.NaN, Number.NaN, Number.NaN],
      [Number.POSITIVE_INFINITY, 0, 10, 10],
      [0, 0, Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY],
      [-1e308, -1e308, 1e308, 1e308],
      [1e308, 1e308, -1e308, -1e308],
      [-20, -20, -30, -30],
    ];
    const placed = placeAiLabel(800, 600, hostile);
    expect(placed.width).toBeGreaterThan(0);
    expect(['bottom-right', 'bottom-left', 'top-right', 'top-left']).toContain(placed.corner);
    // A box with a negative size reaches the other way: this one covers the bottom-right corner.
    const free = placeAiLabel(800, 600, []);
    const flipped: Box = [800, 600, -(800 - free.x + 5), -(600 - free.y + 5)];
    expect(placeAiLabel(800, 600, [flipped]).corner).toBe('bottom-left');
    const image: RawImage = { width: 800, height: 600, channels: 3, data: new Uint8Array(800 * 600 * 3).fill(128) };
    expect(drawAiLabel(image, hostile).placement).toEqual(placed);
  });

  it('moves a placement that does not fit the picture to its corner, and draws nothing for an empty one', () => {
    const image: RawImage = { width: 640, height: 480, channels: 3, data: new Uint8Array(640 * 480 * 3).fill(200) };
    const standard = placeAiLabel(640, 480, [[0, 0, 640, 240]]);
    expect(standard.corner).toBe('bottom-right');
    const topLeft = placeAiLabel(640, 480, [
      [0, 240, 640, 240],
      [320, 0, 320, 240],
    ]);
    expect(topLeft.corner).toBe('top-left');
    for (const bad of [
      { corner: 'top-left', x: Number.NaN, y: -5, width: 3, height: 3 },
      { corner: 'top-left', x: 10_000, y: 10_000, width: topLeft.width, height: topLeft.height },
      { corner: 'top-left', x: 0.5, y: 1, width: topLeft.width, height: topLeft.height },
    ] as const) {
      const drawn = drawAiLabel(image, [], bad);
      expect(drawn.placement).toEqual(topLeft);
      expect(changedOutside(image, drawn.image, topLeft)).toBe(0);
    }
    const unknown = drawAiLabel(image, [], { corner: 'middle' as LabelCorner, x: 1, y: 1, width: 99, height: 99 });
    expect(unknown.placement).toEqual(standard);
    const empty = drawAiLabel(image, [], { corner: 'top-left', x: 0, y: 0, width: 0, height: 0 });
    expect(empty.placement).toMatchObject(NONE);
    expect(Buffer.from(empty.image.data).equals(Buffer.from(image.data))).toBe(true);
  });
});
