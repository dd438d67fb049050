/**
 * The face-quality measures of bench/faces.ts (src/core/face/quality.ts) on synthetic images with
 * known answers: skin ΔE of a known colour shift, boxes that turn with the face and drop out on
 * hair or off the image, and the seam ratio of continuous and of hard-edged pastes.
 */
import { describe, expect, it } from 'vitest';
import { deltaE, rgbToLab } from '../src/core/color.js';
import { applyAffine, invertAffine, type Affine, type Point } from '../src/core/face/align.js';
import {
  faceLabelFraction,
  isSkinColour,
  measurementCrop,
  seamRatio,
  SKIN_LABEL,
  skinBoxes,
  skinDeltaE,
  UNIT_FACE,
  type LabelMap,
} from '../src/core/face/quality.js';
import { createImage, createPlane, type FloatPlane, type RawImage } from '../src/core/image.js';

const IDENTITY: Affine = [1, 0, 0, 0, 1, 0];

/** The unit template placed in an image: eyes `scale` px apart, turned by `angle` radians, eye midpoint at (cx, cy). */
function landmarksAt(cx: number, cy: number, scale: number, angle = 0): Point[] {
  const cos = Math.cos(angle),
    sin = Math.sin(angle);
  return UNIT_FACE.map(([u, v]): Point => [cx + scale * (cos * u - sin * v), cy + scale * (sin * u + cos * v)]);
}

function uniform(width: number, height: number, rgb: readonly [number, number, number]): RawImage {
  const image = createImage(width, height, 3);
  for (let i = 0; i < width * height; i++) image.data.set(rgb, i * 3);
  return image;
}

function fromFunction(width: number, height: number, rgb: (x: number, y: number) => readonly [number, number, number]): RawImage {
  const image = createImage(width, height, 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) image.data.set(rgb(x, y).map(Math.round), (y * width + x) * 3);
  return image;
}

/** Label map in image space: `label(x, y)` per pixel. */
function labelsOf(width: number, height: number, label: (x: number, y: number) => number): LabelMap {
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = label(x, y);
  return { width, height, data, imageToLabels: IDENTITY };
}

describe('skin boxes', () => {
  it('sit on the cheeks and the forehead, sized by the inter-eye distance', () => {
    const boxes = skinBoxes(landmarksAt(100, 80, 40));
    const centre = (name: string): Point => {
      const c = boxes.find((b) => b.name === name)!.corners;
      return [(c[0][0] + c[2][0]) / 2, (c[0][1] + c[2][1]) / 2];
    };
    expect(centre('left-cheek')[0]).toBeCloseTo(100 - 0.5 * 40, 6);
    expect(centre('left-cheek')[1]).toBeCloseTo(80 + 0.58 * 40, 6);
    expect(centre('right-cheek')[0]).toBeCloseTo(100 + 0.5 * 40, 6);
    expect(centre('forehead')[1]).toBeCloseTo(80 - 0.7 * 40, 6);
    const forehead = boxes.find((b) => b.name === 'forehead')!.corners;
    expect(forehead[1][0] - forehead[0][0]).toBeCloseTo(0.6 * 40, 6);
  });

  it('turn with the face', () => {
    const upright = skinBoxes(landmarksAt(100, 100, 40));
    const turned = skinBoxes(landmarksAt(100, 100, 40, Math.PI / 2));
    // A quarter turn clockwise (y down) takes (x, y) around the eye midpoint to (-y, x).
    for (const [i, box] of upright.entries()) {
      for (const [k, [x, y]] of box.corners.entries()) {
        const [tx, ty] = turned[i]!.corners[k]!;
        expect(tx).toBeCloseTo(100 - (y - 100), 6);
        expect(ty).toBeCloseTo(100 + (x - 100), 6);
      }
    }
  });
});

describe('skinDeltaE', () => {
  const input = uniform(200, 200, [190, 140, 120]);
  const landmarks = landmarksAt(100, 90, 50, 0.2);

  it('gives the ΔE of a uniform colour shift in every box and for the face', () => {
    const output = uniform(200, 200, [170, 150, 110]);
    const expected = deltaE(rgbToLab(190, 140, 120), rgbToLab(170, 150, 110));
    const measure = skinDeltaE(input, output, landmarks);
    expect(measure.boxes.map((b) => b.name)).toEqual(['left-cheek', 'right-cheek', 'forehead']);
    for (const box of measure.boxes) {
      expect(box.used).toBe(true);
      expect(box.pixels).toBeGreaterThan(50);
      expect(box.deltaE).toBeCloseTo(expected, 6);
    }
    expect(measure.deltaE).toBeCloseTo(expected, 6);
  });

  it('is 0 when the output keeps the skin', () => {
    expect(skinDeltaE(input, input, landmarks).deltaE).toBe(0);
  });

  it('leaves out a box that is not skin (hair over the forehead) and averages the others', () => {
    // Hair above the eyes' height minus a third of the eye distance; a big change there must not count.
    const upright = landmarksAt(100, 90, 50);
    const labels = labelsOf(200, 200, (_x, y) => (y < 90 - 0.4 * 50 ? 17 : SKIN_LABEL));
    const output = fromFunction(200, 200, (_x, y) => (y < 90 - 0.4 * 50 ? [20, 20, 20] : [180, 140, 120]));
    const measure = skinDeltaE(input, output, upright, { labels });
    const forehead = measure.boxes.find((b) => b.name === 'forehead')!;
    expect(forehead.skin).toBe(0);
    expect(forehead.used).toBe(false);
    expect(forehead.deltaE).toBeGreaterThan(50);
    const cheek = deltaE(rgbToLab(190, 140, 120), rgbToLab(180, 140, 120));
    for (const box of measure.boxes.filter((b) => b.name !== 'forehead')) {
      expect(box.skin).toBe(1);
      expect(box.used).toBe(true);
    }
    expect(measure.deltaE).toBeCloseTo(cheek, 6);
  });

  it('leaves out a box on a face mask the parser calls skin (not skin-coloured)', () => {
    // A black cloth mask over the lower face, all of it labelled skin.
    const upright = landmarksAt(100, 90, 50);
    const masked = fromFunction(200, 200, (_x, y) => (y > 90 + 0.3 * 50 ? [28, 28, 32] : [190, 140, 120]));
    const labels = labelsOf(200, 200, () => SKIN_LABEL);
    const measure = skinDeltaE(masked, uniform(200, 200, [20, 20, 20]), upright, { labels });
    for (const box of measure.boxes) expect(box.used).toBe(box.name === 'forehead');
    expect(measure.boxes.find((b) => b.name === 'left-cheek')!.skinColour).toBe(0);
    expect(measure.deltaE).toBeCloseTo(deltaE(rgbToLab(190, 140, 120), rgbToLab(20, 20, 20)), 6);
  });

  it('accepts every skin tone as skin-coloured, and not black, grey, white or blue cloth', () => {
    const skin = ([r, g, b]: readonly [number, number, number]): boolean => isSkinColour(rgbToLab(r, g, b));
    for (const rgb of [
      [255, 224, 196],
      [234, 192, 134],
      [198, 134, 66],
      [141, 85, 36],
      [90, 56, 37],
      [60, 40, 30],
    ] as const)
      expect(skin(rgb)).toBe(true);
    for (const rgb of [
      [25, 25, 28],
      [128, 128, 128],
      [235, 238, 240],
      [120, 160, 200],
      [60, 140, 70],
    ] as const)
      expect(skin(rgb)).toBe(false);
  });

  it('leaves out a box that falls mostly off the image', () => {
    // Forehead centre 0.7 × 50 = 35 px above eyes at y = 30: mostly above the top edge.
    const measure = skinDeltaE(input, uniform(200, 200, [0, 0, 0]), landmarksAt(100, 30, 50));
    expect(measure.boxes.find((b) => b.name === 'forehead')!.used).toBe(false);
    expect(measure.boxes.filter((b) => b.used)).toHaveLength(2);
  });

  it('gives no ΔE when no box counts', () => {
    const labels = labelsOf(200, 200, () => 0);
    expect(skinDeltaE(input, input, landmarks, { labels }).deltaE).toBeUndefined();
  });
});

describe('faceLabelFraction', () => {
  it('is 1 on a parsed face and 0 where the parser sees none, through a measurement crop', () => {
    const landmarks = landmarksAt(300, 260, 60, -0.3);
    const toCrop = measurementCrop(landmarks, 448);
    const map = (label: number): LabelMap => ({
      width: 448,
      height: 448,
      data: new Uint8Array(448 * 448).fill(label),
      imageToLabels: toCrop,
    });
    expect(faceLabelFraction(landmarks, map(SKIN_LABEL))).toBe(1);
    expect(faceLabelFraction(landmarks, map(16))).toBe(0);
  });

  it('places the measurement crop like a head crop: eyes level, half-way across', () => {
    const landmarks = landmarksAt(300, 260, 60, 0.4);
    const toCrop = measurementCrop(landmarks, 448);
    const [lx, ly] = applyAffine(toCrop, landmarks[0]!);
    const [rx, ry] = applyAffine(toCrop, landmarks[1]!);
    // The ArcFace template's eyes are level to 0.2 of its 112 px.
    expect(Math.abs(ly - ry)).toBeLessThan(0.5);
    expect((lx + rx) / 2).toBeCloseTo(224, 0);
  });
});

describe('seamRatio', () => {
  const size = 160;
  // Crop 256 px, twice the image scale, turned by 0.3 rad, crop centre on image (80, 80).
  const cropSize = 256;
  const angle = 0.3;
  const s = 2;
  const cos = Math.cos(angle) * s,
    sin = Math.sin(angle) * s;
  const imageToCrop: Affine = [cos, -sin, 128 - (cos * 80 - sin * 80), sin, cos, 128 - (sin * 80 + cos * 80)];
  const cropToImage = invertAffine(imageToCrop);
  /** Soft disc in crop space: 1 inside r = 55, linear down to 0 at r = 65. */
  const mask: FloatPlane = createPlane(cropSize, cropSize);
  for (let y = 0; y < cropSize; y++) {
    for (let x = 0; x < cropSize; x++) {
      const r = Math.hypot(x - 128, y - 128);
      mask.data[y * cropSize + x] = Math.min(1, Math.max(0, (65 - r) / 10));
    }
  }
  /** Mask weight at an image pixel (nearest crop pixel). */
  const weightAt = (x: number, y: number): number => {
    const [u, v] = applyAffine(imageToCrop, [x, y]);
    const i = Math.round(v) * cropSize + Math.round(u);
    return u < 0 || v < 0 || u > cropSize - 1 || v > cropSize - 1 ? 0 : mask.data[i]!;
  };
  /** The photo: smooth colour ramps (an edge of about 3 ΔE across the band). */
  const photo = (x: number, y: number): [number, number, number] => [40 + x * 1.2, 90 + y * 0.8, 130 - x * 0.3];
  const input = fromFunction(size, size, photo);
  /** Pastes a "stylized face" (colour at each image pixel) over a background through the mask. */
  const paste = (background: RawImage, face: (x: number, y: number) => readonly [number, number, number]): RawImage =>
    fromFunction(size, size, (x, y) => {
      const m = weightAt(x, y);
      const p = (y * size + x) * 3;
      const f = face(x, y);
      return [0, 1, 2].map((k) => background.data[p + k]! * (1 - m) + f[k]! * m) as [number, number, number];
    });

  it('is 1 for an output identical to the input', () => {
    const measure = seamRatio(input, input, mask, imageToCrop)!;
    expect(measure.samples).toBeGreaterThan(100);
    expect(measure.inputStep).toBeGreaterThan(1);
    expect(measure.ratio).toBeCloseTo(1, 6);
  });

  it('is about 1 for a continuous paste that changes only the inside of the face', () => {
    // The face is recoloured strongly, but only well inside the mask (r < 45 crop px), fading out by r = 50.
    const centre = applyAffine(cropToImage, [128, 128]);
    const face = (x: number, y: number): [number, number, number] => {
      const r = Math.hypot(x - centre[0], y - centre[1]) * s;
      const w = Math.min(1, Math.max(0, (50 - r) / 5));
      const [pr, pg, pb] = photo(x, y);
      return [pr + 80 * w, pg - 60 * w, pb + 40 * w];
    };
    const output = paste(input, face);
    const measure = seamRatio(input, output, mask, imageToCrop)!;
    expect(measure.ratio).toBeGreaterThan(0.85);
    expect(measure.ratio).toBeLessThan(1.15);
  });

  it('is ≫ 1 for a paste whose face colour steps against the background', () => {
    const output = paste(input, (x, y) => {
      const [r, g, b] = photo(x, y);
      return [r + 60, g - 30, b + 30];
    });
    const measure = seamRatio(input, output, mask, imageToCrop)!;
    expect(measure.outputStep).toBeGreaterThan(20);
    expect(measure.ratio).toBeGreaterThan(5);
  });

  it('floors the input step, so a flat photo gives the output step itself', () => {
    const flat = uniform(size, size, [120, 120, 120]);
    const output = paste(flat, () => [150, 120, 120]);
    const measure = seamRatio(flat, output, mask, imageToCrop)!;
    expect(measure.inputStep).toBe(0);
    expect(Number.isFinite(measure.ratio)).toBe(true);
    expect(measure.ratio).toBeCloseTo(measure.outputStep, 6);
    // Inner point at mask 0.95, outer at 0.05: nearly the whole 30-level step of red.
    expect(measure.outputStep).toBeGreaterThan(0.8 * deltaE(rgbToLab(150, 120, 120), rgbToLab(120, 120, 120)));
  });

  it('gives nothing for a hard mask with no transition band', () => {
    const hard = createPlane(cropSize, cropSize);
    for (let i = 0; i < hard.data.length; i++) hard.data[i] = mask.data[i]! >= 0.5 ? 1 : 0;
    expect(seamRatio(input, input, hard, imageToCrop)).toBeUndefined();
  });
});
