/**
 * `background: 'keep'` cartoonizes the faces (face and hair) and leaves every other pixel of the photo
 * as it was, on real models and real photos. The photos are ones where the face-parsing model
 * labels backdrop texture near the head as "hair"/"hat" (sea and rocks beside the head in 07, a
 * patch of sky in 06), which used to be pasted as stylized blobs into the kept backdrop.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachedRegion, keepMask, type CropGeometry } from '../src/core/face/mask.js';
import type { RawImage } from '../src/core/image.js';
import { Portoon } from '../src/node/portoon.js';
import { describeWithModels, portrait, TEST_MODELS_DIR, TEST_OUTPUT_DIR } from './helpers/env.js';
import { loadRgb, meanAbsDiff } from './helpers/images.js';

const OUT = join(TEST_OUTPUT_DIR, 'background-keep');
const MODELS = [
  'retinaface-mnet025',
  'yunet-face',
  'whitebox-cartoon',
  'animeganv3-jpface-v1',
  'animeganv3-hayao36',
  'bisenetv2-faceparsing-448',
];
type Box = [number, number, number, number];

interface BandStats {
  /** Mean absolute difference per channel over the whole band. */
  mean: number;
  /** The largest mean over the band's 16x16 blocks (a stylized blob is local: the band mean dilutes it). */
  worstBlock: number;
}

/**
 * The backdrop band around one face: every pixel at least `gap` face widths left of, right of or
 * above the face box, in the rows above the bottom of the face box. In these selfies that is wall,
 * sea, sky, rocks and foliage: the shoulders and the body start below the chin, and the hair does
 * not reach 0.6 face widths beyond the box.
 */
function backdropBand(before: RawImage, after: RawImage, [bx, by, bw, bh]: Box, gap = 0.6): BandStats {
  const m = gap * bw;
  const inBand = (x: number, y: number): boolean => y < by + bh && (x < bx - m || x >= bx + bw + m || y < by - m);
  const block = 16;
  let sum = 0,
    count = 0,
    worstBlock = 0;
  for (let y0 = 0; y0 < before.height; y0 += block) {
    for (let x0 = 0; x0 < before.width; x0 += block) {
      let blockSum = 0,
        blockCount = 0;
      for (let y = y0; y < Math.min(y0 + block, before.height); y++) {
        for (let x = x0; x < Math.min(x0 + block, before.width); x++) {
          if (!inBand(x, y)) continue;
          const p = (y * before.width + x) * 3;
          let d = 0;
          for (let k = 0; k < 3; k++) d += Math.abs(before.data[p + k]! - after.data[p + k]!);
          blockSum += d / 3;
          blockCount++;
        }
      }
      sum += blockSum;
      count += blockCount;
      // Only blocks mostly inside the band, so a block clipped to a few pixels cannot dominate.
      if (blockCount >= (block * block) / 2) worstBlock = Math.max(worstBlock, blockSum / blockCount);
    }
  }
  return { mean: sum / count, worstBlock };
}

/** The central half of the face box: eyes, nose, mouth. */
function faceCentre([x, y, w, h]: Box): Box {
  return [x + w / 4, y + h / 4, w / 2, h / 2].map(Math.round) as Box;
}

describeWithModels(MODELS)('background keep: only faces and hair are stylized', () => {
  let portoon: Portoon;
  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
    portoon = await Portoon.create({ modelsDir: TEST_MODELS_DIR });
  });
  afterAll(async () => {
    await portoon.close();
  });

  const run = async (name: string, style: string, background: 'keep' | 'stylize') => {
    const path = portrait(name);
    const { image, report } = await portoon.cartoonize(path, { style, background, format: 'png' });
    writeFileSync(join(OUT, `${name.slice(0, 2)}-${style}-${background}.png`), image);
    expect(report.faces).toHaveLength(1);
    expect(report.faces[0]!.stylized || background === 'stylize').toBe(true);
    return { before: await loadRgb(path), after: await loadRgb(image), box: report.faces[0]!.box.map(Math.round) as Box };
  };

  it.each([
    // 07: selfie at the sea; sea, rocks and a bush beside the head, short hair.
    ['07-selfie-sunglasses-beach.jpg', 'cartoon'],
    ['07-selfie-sunglasses-beach.jpg', 'cel'],
    ['07-selfie-sunglasses-beach.jpg', 'watercolor'],
    ['07-selfie-sunglasses-beach.jpg', 'anime'],
    // 06: selfie in front of a mountain and blue sky.
    ['06-selfie-glasses-outdoor.jpg', 'cartoon'],
  ])('%s, %s: the backdrop keeps its own pixels, the face is stylized', async (name, style) => {
    const { before, after, box } = await run(name, style, 'keep');
    const band = backdropBand(before, after, box);
    const face = meanAbsDiff(before, after, faceCentre(box));
    console.log(
      `${name} ${style} keep: band mean ${band.mean.toFixed(2)}, worst block ${band.worstBlock.toFixed(2)}, face ${face.toFixed(2)}`,
    );
    // Up to the invisible watermark every output carries (about 0.7 on average, up to about 2 on one
    // block, depending on the output's id).
    expect(band.mean).toBeLessThan(1.2);
    expect(band.worstBlock).toBeLessThan(4.5);
    expect(face).toBeGreaterThan(10);
  });

  it('the same backdrop band does change when the background is stylized', async () => {
    const { before, after, box } = await run('07-selfie-sunglasses-beach.jpg', 'cartoon', 'stylize');
    const band = backdropBand(before, after, box);
    console.log(`07 cartoon stylize: band mean ${band.mean.toFixed(2)}, worst block ${band.worstBlock.toFixed(2)}`);
    expect(band.mean).toBeGreaterThan(5);
  });
});

describe('keep mask from face-parsing labels', () => {
  // A 448-px label map laid out like an aligned crop: face centre (224, 240), face box 172 px.
  const size = 448;
  const geometry: CropGeometry = { size, centerX: 224, centerY: 240, faceBox: 172 };
  const labels = new Uint8Array(size * size);
  const paint = (label: number, inside: (x: number, y: number) => boolean): void => {
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) if (inside(x, y)) labels[y * size + x] = label;
  };
  paint(17, (x, y) => (x - 224) ** 2 + (y - 200) ** 2 < 95 ** 2 && y < 230); // hair cap over the face
  paint(1, (x, y) => ((x - 224) / 70) ** 2 + ((y - 240) / 90) ** 2 < 1); // face skin
  paint(1, (x, y) => Math.abs(x - 224) < 40 && y > 300); // neck and chest that the parser calls skin
  paint(10, (x, y) => (x - 224) ** 2 + (y - 245) ** 2 < 12 ** 2); // nose
  paint(0, (x, y) => (x - 200) ** 2 + (y - 215) ** 2 < 6 ** 2); // a lens labelled background
  paint(18, (x, y) => (x - 40) ** 2 + (y - 60) ** 2 < 25 ** 2); // "hat" on the sky, far from the head
  paint(17, (x, y) => (x - 410) ** 2 + (y - 250) ** 2 < 20 ** 2); // "hair" on a bush beside the head
  const at = (plane: { data: Float32Array }, x: number, y: number): number => plane.data[y * size + x]!;

  it('keeps the face and its hair, drops blobs away from the head and the chest, fills small holes', () => {
    const region = attachedRegion(labels, size, geometry)!;
    expect(at(region, 224, 240)).toBe(1); // face
    expect(at(region, 224, 120)).toBe(1); // hair
    expect(at(region, 200, 215)).toBe(1); // filled lens
    expect(at(region, 224, 320)).toBe(1); // chin and upper neck
    expect(at(region, 224, 420)).toBe(0); // chest
    expect(at(region, 40, 60)).toBe(0); // hat blob on the sky
    expect(at(region, 410, 250)).toBe(0); // hair blob on the bush
    const mask = keepMask(labels, size, geometry)!;
    expect(at(mask, 224, 240)).toBeGreaterThan(0.99);
    expect(at(mask, 40, 60)).toBe(0);
    expect(at(mask, 410, 250)).toBe(0);
  });

  it('finds no region when there is no face near the template centre', () => {
    expect(attachedRegion(new Uint8Array(size * size).fill(17), size, geometry)).toBeUndefined();
  });
});
