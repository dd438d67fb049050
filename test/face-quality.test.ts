/**
 * Face quality through the whole pipeline, on real models and photos, with the measures the
 * face-quality benchmark reports (src/core/face/quality.ts): the person's skin tone comes back in
 * every style, the paste leaves no colour step at its edge, every face is found once and stylized,
 * also in photos turned on their side or upside down, and nothing is pasted where there is no face.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { applyAffine, invertAffine } from '../src/core/face/align.js';
import { rotateImage, toRotated, type Orientation } from '../src/core/face/orientation.js';
import { measurementLabels, seamRatio, skinDeltaE } from '../src/core/face/quality.js';
import type { RawImage } from '../src/core/image.js';
import { requireHelper } from '../src/core/models/catalogue.js';
import { parseCartoonizeRequest } from '../src/core/request.js';
import { cartoonizeImage, type FacePasteInfo, type PipelineResult } from '../src/core/pipeline.js';
import { NodeEngine } from '../src/node/engine.js';
import { describeWithModels, portrait, TEST_MODELS_DIR } from './helpers/env.js';
import { loadRgb } from './helpers/images.js';

const MODELS = [
  'retinaface-mnet025',
  'yunet-face',
  'bisenetv2-faceparsing-448',
  'animeganv3-jpface-v1',
  'animeganv3-hayao36',
  'whitebox-cartoon',
];
/** Photos with their faces (SOURCES.md): a dark-skinned man, a goatee under a cap, a group with small and tilted faces. */
const PHOTOS = [
  ['02-man-studio-smile.png', 1],
  ['14-face-man-cap-glasses.jpg', 1],
  ['12-group-selfie-cafe.jpeg', 5],
] as const;

describeWithModels(MODELS)('face quality through the pipeline', () => {
  let engine: NodeEngine;
  beforeAll(() => {
    engine = new NodeEngine({ modelsDir: TEST_MODELS_DIR });
  });
  afterAll(async () => {
    await engine.close();
  });

  async function run(image: RawImage, style: string): Promise<{ result: PipelineResult; pastes: FacePasteInfo[] }> {
    const pastes: FacePasteInfo[] = [];
    const result = await cartoonizeImage(image, parseCartoonizeRequest({ style }), {
      backend: engine.backend,
      catalogue: engine.catalogue,
      onFacePasted: (info) => pastes.push(info),
    });
    return { result, pastes };
  }

  for (const style of ['anime', 'cartoon']) {
    it(`${style}: every face found and stylized, skin tone kept (ΔE ≤ 10 each, mean ≤ 5), no seam at the paste edge`, async () => {
      const tones: number[] = [];
      for (const [file, count] of PHOTOS) {
        const image = await loadRgb(portrait(file));
        const { result, pastes } = await run(image, style);
        expect(result.faces, file).toHaveLength(count);
        expect(result.faces.every((f) => f.stylized)).toBe(true);
        expect(pastes.map((p) => p.index).sort()).toEqual(result.faces.map((_, i) => i));
        for (const [index, face] of result.faces.entries()) {
          const labels = await measurementLabels(image, face.landmarks, engine.backend, requireHelper(engine.catalogue, 'face-parser'));
          const tone = skinDeltaE(image, result.image, face.landmarks, { labels }).deltaE;
          // Every face of these photos has at least one skin box clear of hair and glasses.
          expect(tone, `${file} face ${index}`).toBeDefined();
          expect(tone!, `${file} face ${index}`).toBeLessThanOrEqual(10);
          tones.push(tone!);
          const paste = pastes.find((p) => p.index === index)!;
          const seam = seamRatio(image, result.image, paste.mask, paste.imageToCrop);
          expect(seam, `${file} face ${index}`).toBeDefined();
          // The colour step across the paste edge is about the photo's own step there.
          expect(seam!.ratio, `${file} face ${index}`).toBeLessThan(1.5);
        }
      }
      expect(tones.reduce((s, v) => s + v, 0) / tones.length).toBeLessThanOrEqual(5);
    });
  }

  it('finds the one face of a portrait turned by 90, 180 and 270 degrees, and pastes only there', async () => {
    const upright = await loadRgb(portrait('02-man-studio-smile.png'));
    // The face centre located by eye in the upright photo.
    const centre = [205, 217] as const;
    for (const angle of [90, 180, 270] as Orientation[]) {
      const turned = rotateImage(upright, angle);
      const { result, pastes } = await run(turned, 'anime');
      expect(result.faces, `${angle}°`).toHaveLength(1);
      expect(pastes, `${angle}°`).toHaveLength(1);
      const [cx, cy] = toRotated(centre, upright.width, upright.height, angle);
      // The pasted crop is centred on the real face: its framing centre maps to within 40 px of it.
      const paste = pastes[0]!;
      const [px, py] = applyAffine(invertAffine(paste.imageToCrop), [paste.cropSize / 2, paste.cropSize * 0.6]);
      expect(Math.hypot(px - cx, py - cy), `${angle}°`).toBeLessThan(40);
    }
  });

  it('pastes no face into a photo without people', async () => {
    for (const file of ['18-torii-shrine-noface.png', '19-city-skyline-noface.jpg']) {
      const { result, pastes } = await run(await loadRgb(portrait(file)), 'anime');
      expect(result.faces, file).toEqual([]);
      expect(pastes, file).toEqual([]);
    }
  });
});
