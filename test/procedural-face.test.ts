/**
 * The face variants of the procedural filters (runProceduralFace) on real aligned face crops: skin
 * loses its blotches (smoother, fewer tone patches than the whole-photo filter on the same crop),
 * keeps its tone (skin ΔE), features keep their ink, the result is deterministic and bad input is
 * rejected. The crops come from the real detectors and face parsing (test/helpers/face-crops.ts);
 * side-by-side images (input | whole-photo filter | face variant, for cel then watercolour) are
 * written to test-output/procedural-face/ for looking at.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { gaussianBlurPlane } from '../src/core/blur.js';
import { deltaE, meanLab, rgbToLab } from '../src/core/color.js';
import { createImage, createPlane, type FloatPlane, type RawImage } from '../src/core/image.js';
import { celShade, runProceduralFace, watercolor, type ProceduralName } from '../src/core/procedural/index.js';
import { faceUnit } from '../src/core/procedural/skin.js';
import { loadCatalogue } from '../src/node/load-catalogue.js';
import { ModelStore } from '../src/node/model-store.js';
import { OnnxBackend } from '../src/node/onnx-backend.js';
import { describeWithModels, portrait, TEST_MODELS_DIR, TEST_OUTPUT_DIR } from './helpers/env.js';
import { faceCrops, type FaceCrop } from './helpers/face-crops.js';
import { loadRgb, savePng } from './helpers/images.js';
import { errorOf } from './helpers/errors.js';

const OUT_DIR = join(TEST_OUTPUT_DIR, 'procedural-face');

/** Studio, dim low-res, selfie, a group (five faces, some tiny in the photo), curly hair, a face mask. */
const PHOTOS = [
  '02-man-studio-smile.png',
  '03-man-suit-lowres.jpg',
  '09-selfie-in-car.jpg',
  '12-group-selfie-cafe.jpeg',
  '20-woman-curly-hair.png',
  '01-woman-mask-peace.jpg',
] as const;

const FILTERS: readonly ProceduralName[] = ['cel', 'watercolor'];

interface Face extends FaceCrop {
  label: string;
  /** Skin away from features and the mask border: where blotches are measured. */
  core: Uint8Array;
}

/** CIE L* per pixel. */
function lightness(image: RawImage): FloatPlane {
  const plane = createPlane(image.width, image.height);
  const d = image.data;
  for (let p = 0; p < plane.data.length; p++) plane.data[p] = rgbToLab(d[p * 3]!, d[p * 3 + 1]!, d[p * 3 + 2]!)[0];
  return plane;
}

/** Pixels whose whole (2r+1)² neighbourhood has skin >= 0.98. */
function skinCore(skin: FloatPlane, r: number): Uint8Array {
  const { width, height, data } = skin;
  const out = new Uint8Array(width * height);
  for (let y = r; y < height - r; y++) {
    for (let x = r; x < width - r; x++) {
      let inside = 1;
      for (let dy = -r; dy <= r && inside === 1; dy++) {
        for (let dx = -r; dx <= r; dx++) {
          if (data[(y + dy) * width + x + dx]! < 0.98) {
            inside = 0;
            break;
          }
        }
      }
      out[y * width + x] = inside;
    }
  }
  return out;
}

/**
 * Texture: mean over the region of the standard deviation of L* in a 7x7 window (after a light blur
 * for watercolour, whose paper grain is meant to be everywhere).
 */
function localStd(L: FloatPlane, region: Uint8Array): number {
  const { width, height, data } = L;
  let sum = 0;
  let count = 0;
  for (let y = 3; y < height - 3; y++) {
    for (let x = 3; x < width - 3; x++) {
      const p = y * width + x;
      if (region[p] === 0) continue;
      let s = 0;
      let s2 = 0;
      for (let dy = -3; dy <= 3; dy++) {
        for (let dx = -3; dx <= 3; dx++) {
          const v = data[p + dy * width + dx]!;
          s += v;
          s2 += v * v;
        }
      }
      sum += Math.sqrt(Math.max(0, s2 / 49 - (s / 49) ** 2));
      count++;
    }
  }
  return sum / count;
}

/**
 * Tone patches: 4-connected parts of the region, neighbours joined where L* differs by under 1
 * (a soft ramp joins, a crisp band step or a blotch's border splits), counting parts of >= 50 px.
 */
function tonePatches(L: FloatPlane, region: Uint8Array): number {
  const { width, data } = L;
  const n = data.length;
  const seen = new Uint8Array(n);
  const stack: number[] = [];
  let patches = 0;
  for (let start = 0; start < n; start++) {
    if (region[start] === 0 || seen[start] === 1) continue;
    seen[start] = 1;
    stack.push(start);
    let size = 0;
    while (stack.length > 0) {
      const p = stack.pop()!;
      size++;
      for (const q of [p - 1, p + 1, p - width, p + width]) {
        if (q < 0 || q >= n || region[q] === 0 || seen[q] === 1 || Math.abs(data[q]! - data[p]!) >= 1) continue;
        if (Math.abs((q % width) - (p % width)) > 1) continue; // no wrap across rows
        seen[q] = 1;
        stack.push(q);
      }
    }
    if (size >= 50) patches++;
  }
  return patches;
}

/** Pixels the ink clearly darkens: luma below 75 % (minus 4) of the same filter without ink. */
function inkMask(inked: RawImage, plain: RawImage): Uint8Array {
  const mask = new Uint8Array(inked.width * inked.height);
  const luma = (d: Uint8Array, i: number): number => 0.299 * d[i]! + 0.587 * d[i + 1]! + 0.114 * d[i + 2]!;
  for (let p = 0; p < mask.length; p++) mask[p] = luma(inked.data, p * 3) < luma(plain.data, p * 3) * 0.75 - 4 ? 1 : 0;
  return mask;
}

function share(mask: Uint8Array, region: (p: number) => boolean): number {
  let hit = 0;
  let total = 0;
  for (let p = 0; p < mask.length; p++) {
    if (!region(p)) continue;
    total++;
    hit += mask[p]!;
  }
  return total === 0 ? 0 : hit / total;
}

function sideBySide(images: readonly RawImage[]): RawImage {
  const { width, height } = images[0]!;
  const out = createImage(width * images.length, height, 3);
  images.forEach((image, k) => {
    for (let y = 0; y < height; y++) {
      out.data.set(image.data.subarray(y * width * 3, (y + 1) * width * 3), (y * width * images.length + k * width) * 3);
    }
  });
  return out;
}

function effectiveUnit(face: FaceCrop): number {
  return faceUnit(face.unit, face.crop.width, face.crop.height, face.skin.data);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

describeWithModels(['retinaface-mnet025', 'yunet-face', 'bisenetv2-faceparsing-448'])('procedural filters on real face crops', () => {
  let backend: OnnxBackend;
  const faces: Face[] = [];
  /**
   * Results by filter: [whole-photo filter on the crop, face variant]. The whole-photo filter runs
   * with the unit the face variant uses outside the skin (the photo's, capped for faces enlarged a
   * lot: see faceUnit), so the comparison is about the skin treatment alone.
   */
  const results = new Map<ProceduralName, [RawImage, RawImage][]>();

  beforeAll(async () => {
    mkdirSync(OUT_DIR, { recursive: true });
    const catalogue = loadCatalogue();
    backend = new OnnxBackend(new ModelStore(catalogue, TEST_MODELS_DIR));
    for (const photo of PHOTOS) {
      const crops = await faceCrops(await loadRgb(portrait(photo)), backend, catalogue);
      crops.forEach((crop, k) => faces.push({ ...crop, label: `${photo.replace(/\.\w+$/, '')}-${k}`, core: skinCore(crop.skin, 6) }));
    }
    for (const filter of FILTERS) {
      const whole = filter === 'cel' ? celShade : watercolor;
      results.set(
        filter,
        faces.map((face) => [
          whole(face.crop, {}, { unit: effectiveUnit(face) }),
          runProceduralFace(filter, face.crop, face.skin, {}, face.unit),
        ]),
      );
    }
    for (const [k, face] of faces.entries()) {
      const [celWhole, celFace] = results.get('cel')![k]!;
      const [wcWhole, wcFace] = results.get('watercolor')![k]!;
      await savePng(sideBySide([face.crop, celWhole, celFace, wcWhole, wcFace]), join(OUT_DIR, `${face.label}.png`));
    }
  });

  afterAll(async () => {
    await backend?.release();
  });

  it('finds every face of the test photos, each with a skin core to measure', () => {
    expect(faces.map((f) => f.label.replace(/-\d+$/, ''))).toEqual([
      '02-man-studio-smile',
      '03-man-suit-lowres',
      '09-selfie-in-car',
      ...Array<string>(5).fill('12-group-selfie-cafe'),
      '20-woman-curly-hair',
      '01-woman-mask-peace',
    ]);
    for (const face of faces) {
      expect(face.crop.width, face.label).toBe(512);
      expect(
        share(face.core, () => true),
        `${face.label} skin core`,
      ).toBeGreaterThan(0.03);
    }
  });

  it.each(FILTERS)('%s: skin is smoother than with the whole-photo filter on the same crop', (filter) => {
    const ratios: number[] = [];
    for (const [k, face] of faces.entries()) {
      const [whole, styled] = results.get(filter)![k]!;
      // Watercolour's paper grain is part of the look everywhere: measure above it.
      const prepare = (image: RawImage): FloatPlane => (filter === 'cel' ? lightness(image) : gaussianBlurPlane(lightness(image), 2));
      const L = { input: prepare(face.crop), whole: prepare(whole), face: prepare(styled) };
      const std = { input: localStd(L.input, face.core), whole: localStd(L.whole, face.core), face: localStd(L.face, face.core) };
      const what = `${face.label}: local std ${std.input.toFixed(2)} -> whole ${std.whole.toFixed(2)} / face ${std.face.toFixed(2)}`;
      expect(std.face, what).toBeLessThan(std.whole);
      expect(std.face, what).toBeLessThan(std.input);
      ratios.push(std.face / std.whole);
    }
    // Measured: cel ~0.75 (what is left is the two or three soft tone borders and the ink of nose and
    // mouth), watercolour ~0.85 (its paper texture and granulation stay on skin on purpose).
    expect(median(ratios), 'median face/whole texture ratio').toBeLessThan(filter === 'cel' ? 0.8 : 0.92);
  });

  it('cel: skin falls into a few soft tones, not many band patches', () => {
    let patchesWhole = 0;
    let patchesFace = 0;
    for (const [k, face] of faces.entries()) {
      const [whole, styled] = results.get('cel')![k]!;
      const patches = { whole: tonePatches(lightness(whole), face.core), face: tonePatches(lightness(styled), face.core) };
      expect(patches.face, `${face.label}: patches ${patches.whole} / ${patches.face}`).toBeLessThanOrEqual(patches.whole);
      patchesWhole += patches.whole;
      patchesFace += patches.face;
    }
    // Crisp band steps and blotches split the skin into many tone patches; the face variant's soft
    // skin tones leave few. (Watercolour has no bands: its washes are measured by the texture above.)
    expect(patchesFace, `${patchesFace} vs ${patchesWhole} patches`).toBeLessThan(0.6 * patchesWhole);
  });

  it.each(FILTERS)('%s: keeps the skin tone (CIE76 ΔE of the mean Lab over the skin mask)', (filter) => {
    const errors = faces.map((face, k) => {
      const before = meanLab(face.crop.data, 3, face.skin.data)!;
      const after = meanLab(results.get(filter)![k]![1].data, 3, face.skin.data)!;
      return deltaE(before, after);
    });
    const mean = errors.reduce((a, b) => a + b, 0) / errors.length;
    const what = errors.map((e, k) => `${faces[k]!.label} ${e.toFixed(2)}`).join(', ');
    expect(mean, what).toBeLessThan(2);
    expect(Math.max(...errors), what).toBeLessThan(5);
  });

  it('cel: features keep their ink lines while skin away from them gets (almost) none', () => {
    const compared: Array<{ skinInk: number; wholeSkinInk: number; what: string }> = [];
    for (const face of faces) {
      const { crop, skin, unit, core } = face;
      const inked = runProceduralFace('cel', crop, skin, {}, unit);
      const mask = inkMask(inked, runProceduralFace('cel', crop, skin, { edgeThickness: 0 }, unit));
      const wholeUnit = effectiveUnit(face);
      const wholeMask = inkMask(celShade(crop, {}, { unit: wholeUnit }), celShade(crop, { edgeThickness: 0 }, { unit: wholeUnit }));
      // Boxes around the template's eyes (the crops are aligned, so they are always there).
      const eyes = (p: number): boolean => {
        const x = p % 512;
        const y = (p - x) / 512;
        return Math.abs(y - 240) < 22 && (Math.abs(x - 193) < 40 || Math.abs(x - 319) < 40);
      };
      const eyeInk = share(mask, eyes);
      const wholeEyeInk = share(wholeMask, eyes);
      const skinInk = share(mask, (p) => core[p] === 1);
      const wholeSkinInk = share(wholeMask, (p) => core[p] === 1);
      const what = `${face.label}: eye boxes ${(100 * eyeInk).toFixed(1)} % inked, skin core ${(100 * skinInk).toFixed(2)} % (whole-photo filter ${(100 * wholeEyeInk).toFixed(1)} %, ${(100 * wholeSkinInk).toFixed(2)} %)`;
      // Features keep their lines (more of them than the whole-photo filter draws on small faces)...
      expect(eyeInk, what).toBeGreaterThan(0.02);
      expect(eyeInk, what).toBeGreaterThan(0.75 * wholeEyeInk);
      // ...while the skin away from them stays (almost) clean: where the whole-photo filter puts lines
      // on skin (pores, shading, stubble), the face variant puts fewer.
      expect(skinInk, what).toBeLessThan(0.015);
      compared.push({ skinInk, wholeSkinInk, what });
    }
    // Compared where the whole-photo filter does ink the skin (on the tiniest face it draws no lines
    // at all, while the face variant lowers its threshold to keep the features).
    const inkedByWhole = compared.filter((c) => c.wholeSkinInk > 0.001);
    expect(inkedByWhole.length).toBeGreaterThan(0);
    for (const c of inkedByWhole) expect(c.skinInk, c.what).toBeLessThan(c.wholeSkinInk);
  });

  it.each(FILTERS)('%s: deterministic, and neither the crop nor the mask is modified', (filter) => {
    const face = faces[0]!;
    const crop = face.crop.data.slice();
    const skin = face.skin.data.slice();
    const again = runProceduralFace(filter, face.crop, face.skin, {}, face.unit);
    expect(Buffer.compare(Buffer.from(again.data), Buffer.from(results.get(filter)![0]![1].data))).toBe(0);
    expect(face.crop.data).toEqual(crop);
    expect(face.skin.data).toEqual(skin);
  });
});

it.each(FILTERS)('%s: an explicit unit of long side / 1000 gives the default result, a larger one another', async (filter) => {
  const photo = await loadRgb(portrait('02-man-studio-smile.png'));
  const run = filter === 'cel' ? celShade : watercolor;
  const unit = Math.max(photo.width, photo.height) / 1000;
  const plain = run(photo);
  expect(Buffer.compare(Buffer.from(run(photo, {}, { unit }).data), Buffer.from(plain.data))).toBe(0);
  expect(Buffer.compare(Buffer.from(run(photo, {}, { unit: 3 * unit }).data), Buffer.from(plain.data))).not.toBe(0);
});

it('cel: a larger unit draws wider lines', async () => {
  const photo = await loadRgb(portrait('02-man-studio-smile.png'));
  const unit = Math.max(photo.width, photo.height) / 1000;
  const inkShare = (u: number): number =>
    share(inkMask(celShade(photo, {}, { unit: u }), celShade(photo, { edgeThickness: 0 }, { unit: u })), () => true);
  expect(inkShare(3 * unit)).toBeGreaterThan(1.3 * inkShare(unit));
});

it.each(FILTERS)('%s: odd sizes and masks (empty, all skin, NaN) give an RGB image of the crop size', (filter) => {
  for (const [w, h] of [
    [1, 1],
    [2, 3],
    [40, 1],
    [64, 64],
  ] as const) {
    const crop = createImage(w, h, 3);
    crop.data.forEach((_, i) => (crop.data[i] = (i * 53) % 256));
    for (const fill of [0, 1, Number.NaN]) {
      const out = runProceduralFace(filter, crop, createPlane(w, h, fill), {}, 0.5);
      expect([out.width, out.height, out.channels]).toEqual([w, h, 3]);
    }
  }
  expect(runProceduralFace(filter, createImage(0, 0, 3), createPlane(0, 0), {}, 1).data.length).toBe(0);
});

it('rejects bad params with E_BAD_OPTION and a wrong mask or unit with a RangeError', () => {
  const crop = createImage(8, 8, 3);
  const skin = createPlane(8, 8, 1);
  expect(errorOf(() => runProceduralFace('cel', crop, skin, { levels: 1 }, 1)).message).toBe(
    'Expected an integer in 2..12 for cel param levels but received 1',
  );
  expect(errorOf(() => runProceduralFace('cel', crop, skin, { colours: 4 }, 1)).message).toMatch(
    /for cel param name but received "colours"$/,
  );
  expect(errorOf(() => runProceduralFace('watercolor', crop, skin, { paper: Number.NaN }, 1)).code).toBe('E_BAD_OPTION');
  expect(errorOf(() => runProceduralFace('sketch' as 'cel', crop, skin, {}, 1)).message).toContain('"sketch"');
  expect(() => runProceduralFace('cel', crop, createPlane(8, 7), {}, 1)).toThrow(RangeError);
  for (const unit of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
    expect(() => runProceduralFace('watercolor', crop, skin, {}, unit)).toThrow(RangeError);
  }
  expect(() => runProceduralFace('cel', createImage(8, 8, 4), skin, {}, 1)).toThrow(RangeError);
});
