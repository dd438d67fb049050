/**
 * Landmark plausibility (synthetic landmark sets and the faces of the shared portraits) and the
 * quarter-turn geometry the four-orientation search maps its detections back with.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectFaces, type Face, type Point } from '../src/core/face/detect.js';
import { boxFromRotated, fromRotated, rotatedSize, rotateImage, toRotated, type Orientation } from '../src/core/face/orientation.js';
import { eyeLineAngle, implausibility, isPlausibleFace, PLAUSIBLE } from '../src/core/face/plausible.js';
import { createImage, type RawImage } from '../src/core/image.js';
import type { Catalogue } from '../src/core/models/catalogue.js';
import { loadCatalogue } from '../src/node/load-catalogue.js';
import { ModelStore } from '../src/node/model-store.js';
import { OnnxBackend } from '../src/node/onnx-backend.js';
import { describeWithModels, portrait, TEST_MODELS_DIR } from './helpers/env.js';
import { loadRgb } from './helpers/images.js';
import { FACE_PORTRAITS } from './helpers/portraits.js';

type Box = readonly [number, number, number, number];

/** A frontal face in a 100x120 box: eyes 40 px apart (ratio 0.4), nose and mouth below. */
const BOX: Box = [0, 0, 100, 120];
const FACE: readonly Point[] = [
  [30, 50],
  [70, 50],
  [50, 72],
  [35, 92],
  [65, 92],
];

/** Points turned by `degrees` (clockwise on screen) about (cx, cy). */
function turn(points: readonly Point[], degrees: number, cx = 50, cy = 70): Point[] {
  const t = (degrees * Math.PI) / 180;
  const c = Math.cos(t);
  const s = Math.sin(t);
  return points.map(([x, y]): Point => [cx + c * (x - cx) - s * (y - cy), cy + s * (x - cx) + c * (y - cy)]);
}

function withPoint(points: readonly Point[], index: number, p: Point): Point[] {
  return points.map((q, i) => (i === index ? p : q));
}

describe('implausibility on synthetic landmark sets', () => {
  it('accepts a frontal face and heads tilted up to the roll limit', () => {
    expect(implausibility(BOX, FACE)).toBeUndefined();
    for (const degrees of [-55, -30, -10, 10, 30, 55]) {
      expect(implausibility(BOX, turn(FACE, degrees)), `${degrees} degrees`).toBeUndefined();
    }
  });

  it('refuses a face on its side or upside down (the search turns the photo instead)', () => {
    for (const degrees of [70, -70, 90, -90, 135, 180]) {
      expect(implausibility(BOX, turn(FACE, degrees)), `${degrees} degrees`).toBe('tilted');
    }
  });

  it('refuses mirrored landmarks: image flipped, eyes swapped, mouth corners swapped, mouth above the eyes', () => {
    const flippedX = FACE.map(([x, y]): Point => [100 - x, y]);
    const flippedY = FACE.map(([x, y]): Point => [x, 120 - y]);
    const eyesSwapped = [FACE[1]!, FACE[0]!, FACE[2]!, FACE[3]!, FACE[4]!];
    const mouthSwapped = [FACE[0]!, FACE[1]!, FACE[2]!, FACE[4]!, FACE[3]!];
    for (const [label, points] of [
      ['flipped left-right', flippedX],
      ['flipped upside down', flippedY],
      ['eyes swapped', eyesSwapped],
      ['mouth corners swapped', mouthSwapped],
    ] as const) {
      expect(implausibility(BOX, points), label).toBe('mirrored');
    }
  });

  it('refuses mouth corners level with the eyes, or one corner above them', () => {
    expect(implausibility(BOX, withPoint(withPoint(FACE, 3, [35, 55]), 4, [65, 55]))).toBe('eyes-not-above-mouth');
    expect(implausibility(BOX, withPoint(FACE, 3, [35, 40]))).toBe('eyes-not-above-mouth');
    // Both corners far to one side of the eyes (a mouth that belongs to another face).
    expect(implausibility([0, 0, 200, 120], withPoint(withPoint(FACE, 3, [120, 92]), 4, [150, 92]))).toBe('eyes-not-above-mouth');
  });

  it('refuses a nose above the eyes, below the mouth, or far to the side', () => {
    expect(implausibility(BOX, withPoint(FACE, 2, [50, 45]))).toBe('nose-misplaced');
    expect(implausibility(BOX, withPoint(FACE, 2, [50, 100]))).toBe('nose-misplaced');
    expect(implausibility(BOX, withPoint(FACE, 2, [50, 52]))).toBe('nose-misplaced');
    expect(implausibility([-60, 0, 100, 120], withPoint(FACE, 2, [-20, 72]))).toBe('nose-misplaced');
  });

  it('refuses an eye distance far from what a face of this box width has', () => {
    // The same face shrunk to a sixth (eyes ~7 px apart) in the 100-px box: ratio 0.067.
    const tiny = FACE.map(([x, y]): Point => [50 + (x - 50) / 6, 70 + (y - 70) / 6]);
    expect(implausibility(BOX, tiny)).toBe('eye-distance');
    // The whole face in a 45-px box: ratio 0.89.
    expect(implausibility([27, 45, 72, 95], FACE)).toBe('eye-distance');
    // Just inside the bounds.
    expect(implausibility([0, 0, 40 / (PLAUSIBLE.minEyeRatio + 0.01), 120], FACE)).toBeUndefined();
  });

  it('refuses landmarks far outside the box', () => {
    expect(implausibility([-60, 0, 40, 120], FACE)).toBe('outside-box');
    expect(
      implausibility(
        [0, 0, 100, 120],
        FACE.map(([x, y]): Point => [x, y + 80]),
      ),
    ).toBe('outside-box');
    // A point slightly outside (a face cut by the box edge) is fine.
    expect(implausibility([0, 0, 100, 120], withPoint(FACE, 4, [65, 125]))).toBeUndefined();
  });

  it('refuses malformed sets', () => {
    expect(implausibility(BOX, FACE.slice(0, 4))).toBe('landmark-count');
    expect(implausibility(BOX, withPoint(FACE, 1, [30, 50]))).toBe('eyes-coincide');
    expect(isPlausibleFace(BOX, FACE)).toBe(true);
    expect(isPlausibleFace(BOX, turn(FACE, 180))).toBe(false);
  });

  it('measures the eye line angle, clockwise positive', () => {
    expect(eyeLineAngle(FACE)).toBeCloseTo(0);
    expect(eyeLineAngle(turn(FACE, 30))).toBeCloseTo(30);
    expect(eyeLineAngle(turn(FACE, -100))).toBeCloseTo(-100);
    expect(Math.abs(eyeLineAngle(turn(FACE, 180)))).toBeCloseTo(180);
  });
});

describe('quarter-turn geometry', () => {
  function numbered(width: number, height: number): RawImage {
    const image = createImage(width, height, 3);
    for (let i = 0; i < image.data.length; i++) image.data[i] = (i * 7 + (i >> 4)) % 256;
    return image;
  }

  it.each([90, 180, 270] as const)('rotateImage(%i) matches sharp, pixel for pixel', async (angle) => {
    const image = numbered(7, 4);
    const ours = rotateImage(image, angle);
    const { data, info } = await sharp(image.data, { raw: { width: 7, height: 4, channels: 3 } })
      .rotate(angle)
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect([ours.width, ours.height]).toEqual([info.width, info.height]);
    expect(rotatedSize(7, 4, angle)).toEqual({ width: info.width, height: info.height });
    expect(Buffer.from(ours.data).equals(data)).toBe(true);
  });

  it('rotateImage(0) is the image itself, four quarter turns are the identity', () => {
    const image = numbered(5, 3);
    expect(rotateImage(image, 0)).toBe(image);
    let turned = image;
    for (let i = 0; i < 4; i++) turned = rotateImage(turned, 90);
    expect(turned.data).toEqual(image.data);
  });

  it.each([0, 90, 180, 270] as const)('maps points and boxes of a %i-degree view back exactly', (angle) => {
    const [w, h] = [640, 480];
    for (const p of [
      [0, 0],
      [12.5, 400.25],
      [639, 1],
      [320, 240],
    ] as const) {
      const r = toRotated(p, w, h, angle);
      const size = rotatedSize(w, h, angle);
      expect(r[0]).toBeGreaterThanOrEqual(0);
      expect(r[0]).toBeLessThanOrEqual(size.width);
      expect(r[1]).toBeLessThanOrEqual(size.height);
      const back = fromRotated(r, w, h, angle);
      expect(back[0]).toBeCloseTo(p[0], 9);
      expect(back[1]).toBeCloseTo(p[1], 9);
    }
    // A box in the rotated view maps to the box of the same pixels: corners x1 < x2, y1 < y2.
    const [x1, y1, x2, y2] = [100, 50, 180, 150] as const;
    const view = boxFromRotated([x1, y1, x2, y2], w, h, angle);
    const a = fromRotated([x1, y1], w, h, angle);
    const b = fromRotated([x2, y2], w, h, angle);
    expect(view).toEqual([Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[0], b[0]), Math.max(a[1], b[1])]);
    expect((view[2] - view[0]) * (view[3] - view[1])).toBeCloseTo(80 * 100);
  });

  it('a pixel of the rotated image sits where toRotated puts the source pixel', () => {
    const image = numbered(9, 5);
    for (const angle of [90, 180, 270] as const satisfies readonly Orientation[]) {
      const turned = rotateImage(image, angle);
      const [rx, ry] = toRotated([6 + 0.5, 3 + 0.5], 9, 5, angle);
      const to = (Math.floor(ry) * turned.width + Math.floor(rx)) * 3;
      const from = (3 * 9 + 6) * 3;
      expect([...turned.data.subarray(to, to + 3)]).toEqual([...image.data.subarray(from, from + 3)]);
    }
  });
});

describeWithModels(['retinaface-mnet025', 'yunet-face'])('implausibility on the shared portraits', () => {
  const FILES = FACE_PORTRAITS;
  let backend: OnnxBackend;
  let models: Catalogue;
  const faces: Array<{ label: string; face: Face }> = [];

  beforeAll(async () => {
    models = loadCatalogue();
    const store = new ModelStore(models, TEST_MODELS_DIR);
    backend = new OnnxBackend(store);
    for (const file of FILES) {
      const image = await loadRgb(portrait(file));
      for (const detector of ['retinaface', 'yunet'] as const) {
        for (const face of await detectFaces(image, backend, models, { detector, orientations: [0] })) {
          faces.push({ label: `${file} ${detector}`, face });
        }
      }
    }
  });

  afterAll(async () => {
    await backend?.release();
  });

  const corners = (f: Face): Box => [f.box[0], f.box[1], f.box[0] + f.box[2], f.box[1] + f.box[3]];

  it('every real face (both networks) lies within the measured ranges, well inside the bounds', () => {
    // 27 faces per network (SOURCES.md).
    expect(faces).toHaveLength(54);
    for (const { label, face } of faces) {
      expect(implausibility(corners(face), face.landmarks), label).toBeUndefined();
      const [r, l] = face.landmarks as [Point, Point];
      const ratio = Math.hypot(l[0] - r[0], l[1] - r[1]) / face.box[2];
      // Measured 0.187..0.558 (see PLAUSIBLE); the bounds keep a margin on both sides.
      expect(ratio, label).toBeGreaterThan(0.18);
      expect(ratio, label).toBeLessThan(0.57);
      expect(ratio, label).toBeGreaterThan(PLAUSIBLE.minEyeRatio * 1.4);
      expect(ratio, label).toBeLessThan(PLAUSIBLE.maxEyeRatio * 0.75);
      expect(Math.abs(eyeLineAngle(face.landmarks)), label).toBeLessThan(25);
    }
  });

  it('the same real landmarks mirrored, upside down or on their side are refused', () => {
    for (const { label, face } of faces) {
      const box = corners(face);
      const cx = (box[0] + box[2]) / 2;
      const cy = (box[1] + box[3]) / 2;
      const mirrored = face.landmarks.map(([x, y]): Point => [2 * cx - x, y]);
      expect(implausibility(box, mirrored), `${label} mirrored`).toBe('mirrored');
      expect(implausibility(box, turn(face.landmarks, 180, cx, cy)), `${label} upside down`).toBe('tilted');
      // On its side: the box turns with the face.
      const side = turn(face.landmarks, 90, cx, cy);
      const sideBox: Box = [cx - face.box[3] / 2, cy - face.box[2] / 2, cx + face.box[3] / 2, cy + face.box[2] / 2];
      expect(implausibility(sideBox, side), `${label} on its side`).toBe('tilted');
    }
  });
});
