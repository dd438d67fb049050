/**
 * The style previews the gallery shows before a photo is chosen (`previewUrl`), rendered by a real
 * service from its bundled sample photo. They exist to tell the styles apart, so each must look
 * different from every other, above all in the face, which is what a portrait style changes most.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { resolveServerConfig } from '../../src/server/config.js';
import { createService, SAMPLE_PHOTO, type Service } from '../../src/server/service.js';
import { PREVIEW_MAX_SIDE } from '../../src/core/request.js';
import { describeWithModels, TEST_MODELS_DIR } from '../helpers/env.js';
import { loadRgb, meanAbsDiff } from '../helpers/images.js';
import type { RawImage } from '../../src/core/image.js';

const MODELS = ['animeganv3-jpface-v1', 'animeganv3-hayao36', 'whitebox-cartoon', 'retinaface-mnet025', 'yunet-face'];
/** The styles the other service tests and the browser tests serve. */
const STYLES = ['anime', 'cartoon', 'cel'];

/*
 * Mean absolute difference (0..255) every two previews must reach. Measured on the 256-px previews of
 * the sample (docs/images/20-original.jpg): inside the face the closest pair (cartoon and cel)
 * differs by 17.5, anime from the others by 21–22 — every style keeps the person's skin tone, so
 * faces differ in lines and shapes more than in colour; over the whole picture every pair differs
 * by 17 or more. Previews that are the same picture, or one style's with small noise, stay far below.
 */
const MIN_FACE_DIFFERENCE = 14;
const MIN_IMAGE_DIFFERENCE = 12;

describeWithModels(MODELS)('style previews', () => {
  let service: Service;

  beforeAll(async () => {
    const config = resolveServerConfig({ modelsDir: TEST_MODELS_DIR, styles: STYLES.join(','), logLevel: 'silent' }, {});
    service = await createService(config);
    await service.app.ready();
    await service.warmUp();
  });
  afterAll(async () => {
    await service?.close();
  });

  it('every two served styles look clearly different on the sample photo, in the face and overall', async () => {
    const listed = (await service.app.inject('/api/v1/styles')).json<{ styles: Array<{ id: string; previewUrl: string }> }>();
    expect(listed.styles.map((s) => s.id)).toEqual(STYLES);
    const previews = new Map<string, RawImage>();
    for (const style of listed.styles) {
      const response = await service.app.inject(style.previewUrl);
      expect([response.statusCode, response.headers['content-type']]).toEqual([200, 'image/jpeg']);
      previews.set(style.id, await loadRgb(response.rawPayload));
    }
    const [first] = previews.values();
    expect(Math.max(first!.width, first!.height)).toBe(PREVIEW_MAX_SIDE);

    // Where the face is in the previews: the engine's own report on the sample at preview size.
    const { report } = await service.portoon.cartoonize(SAMPLE_PHOTO, { style: 'cel', maxSide: PREVIEW_MAX_SIDE, format: 'png' });
    expect(report.faces.length).toBeGreaterThanOrEqual(1);
    const face = report.faces.reduce((a, b) => (b.box[2] * b.box[3] > a.box[2] * a.box[3] ? b : a));
    const [x, y] = [Math.max(0, Math.round(face.box[0])), Math.max(0, Math.round(face.box[1]))];
    const region: [number, number, number, number] = [
      x,
      y,
      Math.min(first!.width, Math.round(face.box[0] + face.box[2])) - x,
      Math.min(first!.height, Math.round(face.box[1] + face.box[3])) - y,
    ];

    const differences: Record<string, { face: number; image: number }> = {};
    for (const [i, a] of STYLES.entries()) {
      for (const b of STYLES.slice(i + 1)) {
        const [imageA, imageB] = [previews.get(a)!, previews.get(b)!];
        differences[`${a}/${b}`] = {
          face: Math.round(meanAbsDiff(imageA, imageB, region) * 10) / 10,
          image: Math.round(meanAbsDiff(imageA, imageB) * 10) / 10,
        };
      }
    }
    for (const [pair, { face, image }] of Object.entries(differences)) {
      expect(face, `${pair} in the face ${JSON.stringify(differences)}`).toBeGreaterThanOrEqual(MIN_FACE_DIFFERENCE);
      expect(image, `${pair} overall ${JSON.stringify(differences)}`).toBeGreaterThanOrEqual(MIN_IMAGE_DIFFERENCE);
    }
  });
});
