/**
 * The geometry and colour work of the face pass on synthetic inputs, where the right answer is known:
 * framings and crop sizes, alignment onto a framing with its border, multi-band blending, pasting a
 * change without softening the picture, and the skin-tone restore.
 */
import { describe, expect, it } from 'vitest';
import { applyAffine, type Point } from '../src/core/face/align.js';
import { blendDelta, blendLevels } from '../src/core/face/blend.js';
import { alignFace } from '../src/core/face/crop.js';
import { chooseCropSize, FFHQ_512, framingEyeDistance, framingPoints, marginFraming } from '../src/core/face/framing.js';
import { restoreTone } from '../src/core/face/harmonize.js';
import { pasteDelta } from '../src/core/face/paste.js';
import { meanLab, rgbToLab } from '../src/core/color.js';
import { createImage, createPlane, type FloatPlane, type RawImage } from '../src/core/image.js';

/** Landmarks of a face whose eyes are `eye` px apart, centred at (cx, cy), turned by `angle` radians. */
function faceAt(cx: number, cy: number, eye: number, angle = 0): Point[] {
  const k = eye / framingEyeDistance(FFHQ_512, 512);
  const [mx, my] = [256, 300];
  return FFHQ_512.points.map(([x, y]) => {
    const dx = (x - mx) * k,
      dy = (y - my) * k;
    return [cx + dx * Math.cos(angle) - dy * Math.sin(angle), cy + dx * Math.sin(angle) + dy * Math.cos(angle)] as const;
  });
}

function solid(width: number, height: number, rgb: readonly [number, number, number]): RawImage {
  const image = createImage(width, height, 3);
  for (let i = 0; i < width * height; i++) image.data.set(rgb, i * 3);
  return image;
}

describe('face framing', () => {
  it('the FFHQ framing puts the eyes about 126 px apart in a 512 crop, and scales with the crop', () => {
    expect(framingEyeDistance(FFHQ_512, 512)).toBeCloseTo(125.9, 1);
    expect(framingEyeDistance(FFHQ_512, 256)).toBeCloseTo(62.96, 1);
    expect(framingPoints(FFHQ_512, 384)[2]).toEqual([256.63 * 0.75, 314.02 * 0.75]);
    // The older margin rule (margin 0.5 in a 512 crop) had them about 80 px apart.
    expect(framingEyeDistance(marginFraming(512, 0.5), 512)).toBeCloseTo(80.5, 0);
  });

  it('chooses the crop side from the face size in the photo, within the limits and on the size multiple', () => {
    const limits = { min: 352, max: 512, multiple: 8 };
    // A face with eyes 40 px apart is about 160 px of photo in a 512 framing: the minimum.
    expect(chooseCropSize(faceAt(300, 300, 40), FFHQ_512, limits)).toBe(352);
    // Eyes 200 px apart: more pixels than the largest crop, so the largest.
    expect(chooseCropSize(faceAt(600, 600, 200), FFHQ_512, limits)).toBe(512);
    // Eyes 100 px apart: 512 · 100 / 125.9 = 406.7 → 408, at any rotation.
    for (const angle of [0, 0.4, Math.PI / 2, Math.PI]) expect(chooseCropSize(faceAt(500, 500, 100, angle), FFHQ_512, limits)).toBe(408);
  });

  it('aligns the landmarks onto the framing points and fills outside the photo with the framing border', () => {
    const photo = solid(300, 300, [200, 180, 160]);
    const landmarks = faceAt(150, 40, 60, 0.3); // near the top edge: the crop reaches past the photo
    const aligned = alignFace(photo, landmarks, FFHQ_512, 256);
    const target = framingPoints(FFHQ_512, 256);
    landmarks.forEach((p, i) => {
      const [x, y] = applyAffine(aligned.imageToCrop, p);
      expect(x).toBeCloseTo(target[i]![0], 6);
      expect(y).toBeCloseTo(target[i]![1], 6);
    });
    // Top-left corner of the crop lies above the photo: grey border. The crop centre lies inside it.
    expect([...aligned.image.data.subarray(0, 3)]).toEqual([135, 133, 132]);
    const centre = (128 * 256 + 128) * 3;
    expect([...aligned.image.data.subarray(centre, centre + 3)]).toEqual([200, 180, 160]);
    expect(aligned.geometry.points).toEqual(target);
  });
});

/** `back` plus the blend change, as floats. */
function multiBandBlend(front: RawImage, back: RawImage, mask: FloatPlane, levels: number): Float32Array {
  const delta = blendDelta(front, back, mask, levels);
  return delta.map((d, i) => back.data[i]! + d);
}

describe('multi-band blending', () => {
  const size = 128;
  const front = solid(size, size, [220, 60, 60]);
  const back = solid(size, size, [40, 60, 200]);
  const halfMask = createPlane(size, size);
  for (let y = 0; y < size; y++) for (let x = 0; x < size / 2; x++) halfMask.data[y * size + x] = 1;

  it('gives the front where the mask is 1 and the back where it is 0', () => {
    const all = multiBandBlend(front, back, createPlane(size, size, 1), blendLevels(size));
    const none = multiBandBlend(front, back, createPlane(size, size, 0), blendLevels(size));
    for (let i = 0; i < all.length; i += 997) {
      expect(all[i]).toBeCloseTo(front.data[i]!, 3);
      expect(none[i]).toBeCloseTo(back.data[i]!, 3);
    }
  });

  it('turns a hard colour step at the mask edge into a gradual ramp; 0 levels is a plain alpha blend', () => {
    const row = (data: Float32Array): number[] => Array.from({ length: size }, (_, x) => data[(64 * size + x) * 3]!);
    const steepest = (values: number[]): number => Math.max(...values.slice(1).map((v, x) => Math.abs(v - values[x]!)));
    const alpha = row(multiBandBlend(front, back, halfMask, 0));
    const bands = row(multiBandBlend(front, back, halfMask, blendLevels(size)));
    expect(steepest(alpha)).toBeCloseTo(180, 3); // the whole red difference in one pixel
    expect(steepest(bands)).toBeLessThan(180 / 6);
    // Far from the edge the two images keep their own colours.
    expect(bands[2]).toBeCloseTo(220, -1);
    expect(bands[size - 3]).toBeCloseTo(40, -1);
  });
});

describe('pasting a change', () => {
  it('a zero change leaves every pixel exactly as it was (no resampling blur), a uniform change moves them all', () => {
    const target = createImage(200, 150, 3);
    for (let i = 0; i < target.data.length; i++) target.data[i] = (i * 37) % 251;
    const before = target.data.slice();
    const size = 64;
    const imageToCrop = [0.8, 0.1, -30, -0.1, 0.8, -20] as const;
    const weight = createPlane(size, size, 1);
    pasteDelta(target, new Float32Array(size * size * 3), weight, imageToCrop);
    expect(target.data).toEqual(before);
    pasteDelta(target, new Float32Array(size * size * 3).fill(5), weight, imageToCrop);
    const changed = [...target.data].filter((v, i) => v !== before[i]).length;
    expect(changed).toBeGreaterThan(size * size * 3 * 0.8);
    expect([...target.data].every((v, i) => v === before[i] || v === Math.min(255, before[i]! + 5))).toBe(true);
  });
});

describe('skin-tone restore', () => {
  it('moves the skin back to the original mean colour and changes nothing outside the region', () => {
    const size = 64;
    const original = solid(size, size, [120, 80, 60]); // darker skin
    const styled = solid(size, size, [230, 200, 190]); // a style that made it pale
    const skin = createPlane(size, size);
    const region = createPlane(size, size);
    for (let y = 16; y < 48; y++) for (let x = 16; x < 48; x++) skin.data[y * size + x] = 1;
    for (let y = 8; y < 56; y++) for (let x = 8; x < 56; x++) region.data[y * size + x] = 1;
    restoreTone(styled, original, skin, region, createPlane(size, size), 1, 4);
    const restored = meanLab(styled.data, 3, skin.data)!;
    const target = rgbToLab(120, 80, 60);
    expect(Math.hypot(restored[0] - target[0], restored[1] - target[1], restored[2] - target[2])).toBeLessThan(1);
    expect([...styled.data.subarray(0, 3)]).toEqual([230, 200, 190]);
  });
});
