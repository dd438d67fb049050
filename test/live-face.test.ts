/**
 * The live-view face step of the core (core/live-face.ts), run with the real models through the
 * Node backend: the browser's worker runs exactly this code with onnxruntime-web.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { applyAffine, invertAffine, warpAffine, type Point } from '../src/core/face/align.js';
import { detectFaces } from '../src/core/face/detect.js';
import type { RawImage } from '../src/core/image.js';
import { liveFaceModel, stylizeLiveFace } from '../src/core/live-face.js';
import type { Catalogue } from '../src/core/models/catalogue.js';
import { loadCatalogue } from '../src/node/load-catalogue.js';
import { ModelStore } from '../src/node/model-store.js';
import { OnnxBackend } from '../src/node/onnx-backend.js';
import { rejection } from './helpers/errors.js';
import { describeWithModels, portrait, TEST_MODELS_DIR } from './helpers/env.js';
import { loadRgb } from './helpers/images.js';

describeWithModels(['whitebox-cartoon', 'animeganv3-jpface-v1', 'yunet-face'])('live face step', () => {
  let catalogue: Catalogue;
  let backend: OnnxBackend;
  let photo: RawImage;
  let landmarks: Point[];

  beforeAll(async () => {
    catalogue = loadCatalogue(TEST_MODELS_DIR);
    backend = new OnnxBackend(new ModelStore(catalogue, TEST_MODELS_DIR), { intraOpThreads: 2 });
    photo = await loadRgb(portrait('01-woman-mask-peace.jpg'));
    const faces = await detectFaces(photo, backend, catalogue, { detector: 'yunet', orientations: [0] });
    expect(faces).toHaveLength(1);
    landmarks = faces[0]!.landmarks;
  });

  afterAll(async () => {
    await backend.release();
  });

  it('names the model that redraws faces: the head model, else the picture model, none for a model-free style', () => {
    expect(liveFaceModel(catalogue, 'anime')).toBe('animeganv3-jpface-v1');
    expect(liveFaceModel(catalogue, 'cartoon')).toBe('whitebox-cartoon');
    expect(liveFaceModel(catalogue, 'cel')).toBeUndefined();
  });

  for (const style of ['cartoon', 'anime']) {
    it(`${style}: a stylized crop with a feathered mask, placed where the landmarks are`, async () => {
      const face = await stylizeLiveFace(photo, landmarks, style, 164, catalogue, backend);
      expect(face.size).toBe(160); // rounded down to a multiple of 8
      expect(face.rgba).toHaveLength(160 * 160 * 4);
      expect(face.model).toBe(liveFaceModel(catalogue, style));
      const alpha = (x: number, y: number): number => face.rgba[(y * 160 + x) * 4 + 3]!;
      // Opaque over the face, transparent in the crop's corners, soft in between.
      expect(alpha(80, 80)).toBe(255);
      for (const [x, y] of [
        [0, 0],
        [159, 0],
        [0, 159],
        [159, 159],
      ] as const)
        expect(alpha(x, y)).toBe(0);
      const partial = [...Array(160).keys()].filter((x) => alpha(x, 80) > 0 && alpha(x, 80) < 255);
      expect(partial.length).toBeGreaterThan(4);
      // The transform takes the eyes into the crop's upper half and the mouth below them.
      const [leftEye, rightEye, , mouthLeft] = landmarks.map((p) => applyAffine(face.frameToCrop, p));
      expect(leftEye![1]).toBeLessThan(80);
      expect(rightEye![1]).toBeLessThan(80);
      expect(mouthLeft![1]).toBeGreaterThan(leftEye![1]);
      for (const [x, y] of [leftEye!, rightEye!]) {
        expect(x).toBeGreaterThan(0);
        expect(x).toBeLessThan(160);
        expect(y).toBeGreaterThan(0);
      }
      // The face was redrawn: inside the mask the crop differs clearly from the photo cut the same way.
      const original = warpAffine(photo, invertAffine(face.frameToCrop), 160, 160);
      let sum = 0;
      let count = 0;
      for (let i = 0; i < 160 * 160; i++) {
        if (face.rgba[i * 4 + 3] !== 255) continue;
        for (let c = 0; c < 3; c++) sum += Math.abs(face.rgba[i * 4 + c]! - original.data[i * 3 + c]!);
        count += 3;
      }
      expect(count).toBeGreaterThan(160 * 160);
      expect(sum / count).toBeGreaterThan(8);
    });
  }

  it('refuses what it cannot do with typed errors', async () => {
    expect((await rejection(stylizeLiveFace(photo, landmarks, 'cel', 160, catalogue, backend))).code).toBe('E_BAD_OPTION');
    expect((await rejection(stylizeLiveFace(photo, landmarks, 'nope', 160, catalogue, backend))).code).toBe('E_UNKNOWN_STYLE');
    for (const size of [0, 64, 4096, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect((await rejection(stylizeLiveFace(photo, landmarks, 'cartoon', size, catalogue, backend))).code).toBe('E_BAD_OPTION');
    }
    const broken: Point[][] = [[], landmarks.slice(0, 4), landmarks.map(() => [Number.NaN, 1] as Point)];
    for (const points of broken) {
      expect((await rejection(stylizeLiveFace(photo, points, 'cartoon', 160, catalogue, backend))).code).toBe('E_BAD_OPTION');
    }
  });
});
