/**
 * End-to-end behaviour of the engine through the library API, on real models and real photos:
 * every face found and stylized in place, sizes kept, strength and mix semantics, tiling without
 * seams, provenance, and typed errors coming back from the worker threads.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PortoonError } from '../src/core/errors.js';
import { readProvenance, TRAINED_ALGORITHMIC_MEDIA } from '../src/core/provenance.js';
import { planAxis } from '../src/core/tiling.js';
import { loadCatalogue } from '../src/node/load-catalogue.js';
import { Portoon } from '../src/node/portoon.js';
import { describeWithModels, portrait, TEST_MODELS_DIR, TEST_OUTPUT_DIR } from './helpers/env.js';
import { columnStep, loadRgb, meanAbsDiff, rowStep } from './helpers/images.js';

const OUT = join(TEST_OUTPUT_DIR, 'pipeline');
const ALL_MODELS = [
  'retinaface-mnet025',
  'yunet-face',
  'animeganv3-jpface-v1',
  'animeganv3-hayao36',
  'whitebox-cartoon',
  'animeganv3-portraitsketch',
  'bisenetv2-faceparsing-448',
  'deeplabv3-mnv2-257',
];

describeWithModels(ALL_MODELS)('cartoonize on real photos', () => {
  let portoon: Portoon;
  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
    portoon = await Portoon.create({ modelsDir: TEST_MODELS_DIR });
  });
  afterAll(async () => {
    await portoon.close();
  });

  it('finds all six faces of a group photo and stylizes each one in place', async () => {
    const path = portrait('05-group6-stock.jpg');
    const stages = new Set<string>();
    const { image, report } = await portoon.cartoonize(path, {
      style: 'anime',
      background: 'keep',
      format: 'png',
      onProgress: (p) => stages.add(p.stage),
    });
    writeFileSync(join(OUT, '05-anime-keep.png'), image);
    expect([report.width, report.height]).toEqual([1200, 800]);
    expect(report.faces).toHaveLength(6);
    expect(report.faces.every((f) => f.stylized)).toBe(true);
    expect(stages).toEqual(new Set(['decode', 'detect', 'background', 'head', 'encode']));
    const before = await loadRgb(path);
    const after = await loadRgb(image);
    for (const face of report.faces) {
      const [x, y, w, h] = face.box.map(Math.round) as [number, number, number, number];
      // Inside each face the picture changed a lot (it is now a cartoon face)…
      expect(
        meanAbsDiff(before, after, [x + w / 4, y + h / 4, w / 2, h / 2].map(Math.round) as [number, number, number, number]),
      ).toBeGreaterThan(12);
    }
    // …while with background "keep" the corners of the photo are untouched, up to the invisible
    // watermark (0.7 on average over a picture, up to about 2 over a small patch, depending on the id).
    expect(meanAbsDiff(before, after, [0, 0, 60, 60])).toBeLessThan(3);
    expect(meanAbsDiff(before, after, [1140, 740, 60, 60])).toBeLessThan(3);
    expect(Object.keys(report.timings)).toEqual(
      expect.arrayContaining(['decode', 'detect', 'align', 'head', 'background', 'paste', 'encode']),
    );
    expect(report.models).toEqual(expect.arrayContaining(['animeganv3-jpface-v1', 'retinaface-mnet025']));
  });

  it('keeps the input size, labels the output as AI-generated and strips input EXIF', async () => {
    const withExif = await sharp(portrait('12-group-selfie-cafe.jpeg'))
      .jpeg()
      .withExif({ IFD2: { BodySerialNumber: 'SN-987654321' }, IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 2400/100' } })
      .toBuffer();
    const { image, report } = await portoon.cartoonize(withExif, { style: 'anime' });
    writeFileSync(join(OUT, '12-anime.jpg'), image);
    const meta = await sharp(image).metadata();
    expect([meta.width, meta.height, meta.format]).toEqual([1280, 960, 'jpeg']);
    expect(meta.exif).toBeUndefined();
    expect(image.includes('SN-987654321')).toBe(false);
    const provenance = readProvenance(meta.xmp!.toString());
    expect(provenance.digitalSourceType).toBe(TRAINED_ALGORITHMIC_MEDIA);
    expect(provenance.style).toBe('anime');
    expect(provenance.software).toBe('Portoon');
    expect(provenance.models).toEqual(expect.arrayContaining(['animeganv3-jpface-v1', 'animeganv3-hayao36']));
    expect(report.faces).toHaveLength(5);
  });

  it('strength 0 returns the input, and strength 0.5 lies between input and full style', async () => {
    const path = portrait('04-man-headshot-suit.jpg');
    const input = await loadRgb(path);
    const zero = await loadRgb((await portoon.cartoonize(path, { style: 'cartoon', strength: 0, format: 'png' })).image);
    // The photo itself, plus the invisible watermark every output carries (mean change below one level).
    expect(meanAbsDiff(zero, input)).toBeLessThan(1);
    const full = await loadRgb((await portoon.cartoonize(path, { style: 'cartoon', strength: 1, format: 'png' })).image);
    const half = await loadRgb((await portoon.cartoonize(path, { style: 'cartoon', strength: 0.5, format: 'png' })).image);
    const dFull = meanAbsDiff(full, input);
    expect(dFull).toBeGreaterThan(8);
    expect(meanAbsDiff(half, input)).toBeGreaterThan(dFull * 0.35);
    expect(meanAbsDiff(half, input)).toBeLessThan(dFull * 0.65);
  });

  it('mix at weight 0 and 1 equals the two styles, and 0.5 lies between', async () => {
    const path = portrait('06-selfie-glasses-outdoor.jpg');
    const run = async (options: Parameters<Portoon['cartoonize']>[1]) =>
      loadRgb((await portoon.cartoonize(path, { format: 'png', ...options })).image);
    const cartoon = await run({ style: 'cartoon' });
    const sketch = await run({ style: 'sketch' });
    // Equal up to the two outputs' watermarks (each carries its own id).
    expect(meanAbsDiff(await run({ style: 'cartoon', mix: 'sketch', mixWeight: 0 }), cartoon)).toBeLessThan(1.5);
    expect(meanAbsDiff(await run({ style: 'cartoon', mix: 'sketch', mixWeight: 1 }), sketch)).toBeLessThan(1.5);
    const half = await run({ style: 'cartoon', mix: 'sketch', mixWeight: 0.5 });
    const apart = meanAbsDiff(cartoon, sketch);
    expect(meanAbsDiff(half, cartoon)).toBeLessThan(apart * 0.7);
    expect(meanAbsDiff(half, sketch)).toBeLessThan(apart * 0.7);
  });

  it('tiled and untiled background passes agree', async () => {
    const path = portrait('12-group-selfie-cafe.jpeg');
    const untiled = await loadRgb((await portoon.cartoonize(path, { style: 'ghibli', maxTile: 1280, format: 'png' })).image);
    const tiledBytes = (await portoon.cartoonize(path, { style: 'ghibli', maxTile: 512, format: 'png' })).image;
    writeFileSync(join(OUT, '12-ghibli-tiled-512.png'), tiledBytes);
    const tiled = await loadRgb(tiledBytes);
    const input = await loadRgb(path);
    const styleChange = meanAbsDiff(untiled, input);
    const tilingChange = meanAbsDiff(tiled, untiled);
    expect(tilingChange).toBeLessThan(styleChange * 0.35);
    // In the overlap bands specifically, the two agree too.
    const xs = planAxis(1280, { maxTile: 512, overlap: 64, multiple: 8 });
    for (let i = 1; i < xs.starts.length; i++) {
      const x0 = xs.starts[i]!;
      const overlap = xs.starts[i - 1]! + xs.size - x0;
      expect(meanAbsDiff(tiled, untiled, [x0, 0, overlap, 960])).toBeLessThan(styleChange * 0.5);
    }
  });

  it('a 4200x2800 photo comes back 4200x2800 with no seam between tiles', async () => {
    const big = await sharp(portrait('19-city-skyline-noface.jpg')).resize(4200, 2800, { fit: 'fill' }).jpeg({ quality: 92 }).toBuffer();
    const { image, report } = await portoon.cartoonize(big, { style: 'cartoon', format: 'png' });
    expect([report.width, report.height]).toEqual([4200, 2800]);
    expect(report.faces).toHaveLength(0);
    const out = await loadRgb(image);
    await sharp(image).resize(1400).jpeg().toFile(join(OUT, 'big-4200-cartoon.jpg'));
    // At each tile boundary the column-to-column change is no larger than the image's usual texture.
    const check = (length: number, step: (i: number) => number): void => {
      const { size, starts } = planAxis(length, { maxTile: 1024, overlap: 64, multiple: 8 });
      for (let i = 1; i < starts.length; i++) {
        for (const edge of [starts[i]!, starts[i - 1]! + size]) {
          const around = [edge - 20, edge - 12, edge + 12, edge + 20].map(step);
          const typical = around.reduce((a, b) => a + b, 0) / around.length;
          expect(step(edge)).toBeLessThan(typical * 1.6 + 1.5);
        }
      }
    };
    check(4200, (x) => columnStep(out, x));
    check(2800, (y) => rowStep(out, y));
  });

  it('faces too small for the head model are left to the background pass', async () => {
    const { report } = await portoon.cartoonize(portrait('12-group-selfie-cafe.jpeg'), { style: 'anime', maxSide: 480 });
    const small = report.faces.filter((f) => f.box[2] < 40);
    expect(small.length).toBeGreaterThan(0);
    expect(small.every((f) => !f.stylized)).toBe(true);
    expect(report.faces.filter((f) => f.box[2] >= 40).every((f) => f.stylized)).toBe(true);
  });

  it('keeps transparency: a PNG with alpha comes back with the same alpha', async () => {
    const { data, info } = await sharp(portrait('04-man-headshot-suit.jpg')).raw().toBuffer({ resolveWithObject: true });
    const rgba = Buffer.alloc(info.width * info.height * 4);
    for (let i = 0; i < info.width * info.height; i++) {
      data.copy(rgba, i * 4, i * 3, i * 3 + 3);
      rgba[i * 4 + 3] = i % info.width < info.width / 2 ? 255 : 64; // right half mostly transparent
    }
    const png = await sharp(rgba, { raw: { width: info.width, height: info.height, channels: 4 } })
      .png()
      .toBuffer();
    const { image } = await portoon.cartoonize(png, { style: 'cel' });
    const out = await sharp(image).raw().toBuffer({ resolveWithObject: true });
    expect(out.info.channels).toBe(4);
    expect(out.data[3]).toBe(255);
    expect(out.data[(info.width - 1) * 4 + 3]).toBe(64);
  });

  it('photos without faces are stylized whole', async () => {
    for (const name of ['18-torii-shrine-noface.png', '19-city-skyline-noface.jpg']) {
      const { image, report } = await portoon.cartoonize(portrait(name), { style: 'anime', maxSide: 800 });
      expect(report.faces).toHaveLength(0);
      expect(
        meanAbsDiff(
          await loadRgb(image),
          await loadRgb(await sharp(portrait(name)).resize(800, 800, { fit: 'inside', withoutEnlargement: true }).toBuffer()),
        ),
      ).toBeGreaterThan(5);
    }
  });

  it('background blur keeps people sharp and throws the backdrop out of focus', async () => {
    const path = portrait('13-man-standing-indoor.jpeg');
    const sharpRun = await portoon.cartoonize(path, { style: 'cartoon', maxSide: 800, format: 'png' });
    const { image, report } = await portoon.cartoonize(path, { style: 'cartoon', background: 'blur', maxSide: 800, format: 'png' });
    writeFileSync(join(OUT, '13-cartoon-blur.png'), image);
    expect(report.models).toContain('deeplabv3-mnv2-257');
    expect(report.faces).toHaveLength(1);
    const blurred = await loadRgb(image);
    const stylized = await loadRgb(sharpRun.image);
    // Mean absolute difference between horizontal neighbours beyond one level: high for detail, low
    // when blurred (the one level is the rounding grain of the invisible watermark every output carries).
    const texture = (img: typeof blurred, [x0, y0, w, h]: number[]): number => {
      let sum = 0;
      for (let y = y0!; y < y0! + h!; y++) {
        for (let x = x0! + 1; x < x0! + w!; x++) {
          for (let k = 0; k < 3; k++)
            sum += Math.max(0, Math.abs(img.data[(y * img.width + x) * 3 + k]! - img.data[(y * img.width + x - 1) * 3 + k]!) - 1);
        }
      }
      return sum / (w! * h! * 3);
    };
    const [fx, fy, fw, fh] = report.faces[0]!.box.map(Math.round) as [number, number, number, number];
    const torso = [fx - Math.round(fw * 0.3), fy + Math.round(fh * 1.5), Math.round(fw * 1.6), fh];
    const backdrop = [0, 0, 100, 400]; // the wall and shelf left of the doorway
    expect(texture(blurred, backdrop)).toBeLessThan(texture(stylized, backdrop) * 0.5);
    expect(texture(blurred, torso)).toBeGreaterThan(texture(stylized, torso) * 0.7);
  });

  it('bad input comes back from the worker as a typed error and the pool keeps working', async () => {
    const codes: string[] = [];
    for (const bad of [
      new Uint8Array(0),
      Buffer.from('not an image at all'),
      readFileSync(portrait('04-man-headshot-suit.jpg')).subarray(0, 20_000),
    ]) {
      codes.push(
        await portoon.cartoonize(bad, { style: 'cartoon' }).then(
          () => 'ok',
          (e: PortoonError) => e.code,
        ),
      );
    }
    expect(codes).toEqual(['E_EMPTY_INPUT', 'E_UNSUPPORTED_FORMAT', 'E_DECODE_FAILED']);
    await expect(portoon.cartoonize(portrait('nope.jpg'), { style: 'cartoon' })).rejects.toMatchObject({ code: 'E_INPUT_NOT_FOUND' });
    await expect(portoon.cartoonize(portrait('04-man-headshot-suit.jpg'), { style: 'vaporwave' })).rejects.toMatchObject({
      code: 'E_UNKNOWN_STYLE',
    });
    await expect(portoon.cartoonize(portrait('04-man-headshot-suit.jpg'), { style: 'cartoon', strength: 2 })).rejects.toMatchObject({
      code: 'E_BAD_OPTION',
    });
    const ok = await portoon.cartoonize(portrait('04-man-headshot-suit.jpg'), { style: 'cel' });
    expect(ok.report.width).toBe(512);
  });

  it('without the face-parsing model, faces are pasted through a feathered ellipse', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'portoon-noparse-'));
    for (const id of ['retinaface-mnet025', 'yunet-face', 'animeganv3-jpface-v1', 'animeganv3-hayao36'])
      copyFileSync(join(TEST_MODELS_DIR, `${id}.onnx`), join(dir, `${id}.onnx`));
    const lean = await Portoon.create({ modelsDir: dir });
    try {
      const path = portrait('04-man-headshot-suit.jpg');
      const { image, report } = await lean.cartoonize(path, { style: 'anime', background: 'keep', format: 'png' });
      writeFileSync(join(OUT, '04-anime-ellipse.png'), image);
      expect(report.models).not.toContain('bisenetv2-faceparsing-448');
      expect(report.faces).toHaveLength(1);
      expect(report.faces[0]!.stylized).toBe(true);
      const [x, y, w, h] = report.faces[0]!.box.map(Math.round) as [number, number, number, number];
      const before = await loadRgb(path);
      const after = await loadRgb(image);
      expect(
        meanAbsDiff(before, after, [x + Math.round(w / 4), y + Math.round(h / 4), Math.round(w / 2), Math.round(h / 2)]),
      ).toBeGreaterThan(10);
      // The corner keeps the photo, up to the invisible watermark (about 2 at most over a small patch).
      expect(meanAbsDiff(before, after, [0, 0, 40, 40])).toBeLessThan(3);
    } finally {
      await lean.close();
    }
  });

  it("a user's manifest supplies a person segmenter: as a style's own helper, and in place of the built-in one", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'portoon-helpers-'));
    for (const id of ['whitebox-cartoon', 'deeplabv3-mnv2-257']) symlinkSync(join(TEST_MODELS_DIR, `${id}.onnx`), join(dir, `${id}.onnx`));
    // The same network under another id and file name: the store checks it against the same sha256.
    symlinkSync(join(TEST_MODELS_DIR, 'deeplabv3-mnv2-257.onnx'), join(dir, 'my-segmenter.onnx'));
    const deeplab = loadCatalogue().model('deeplabv3-mnv2-257');
    const style = (id: string, personSegmenter: string) => ({
      id,
      label: id,
      background: { model: 'whitebox-cartoon' },
      helpers: { personSegmenter },
    });
    writeFileSync(
      join(dir, 'helpers.portoon.json'),
      JSON.stringify({
        models: [{ ...deeplab, id: 'my-segmenter', file: 'my-segmenter.onnx' }],
        styles: [style('own-segmenter', 'my-segmenter'), style('built-in-segmenter', 'deeplabv3-mnv2-257')],
      }),
    );
    const custom = await Portoon.create({ modelsDir: dir });
    try {
      const path = portrait('13-man-standing-indoor.jpeg');
      const run = (style: string, background: 'stylize' | 'blur') =>
        custom.cartoonize(path, { style, background, maxSide: 400, format: 'png' });
      const own = await run('own-segmenter', 'blur');
      expect(own.report.models).toContain('my-segmenter');
      expect(own.report.models).not.toContain('deeplabv3-mnv2-257');
      const pinned = await run('built-in-segmenter', 'blur');
      expect(pinned.report.models).toContain('deeplabv3-mnv2-257');
      expect(pinned.report.models).not.toContain('my-segmenter');
      // A style that names no segmenter gets the catalogue's, which is now the user's.
      const cartoon = await run('cartoon', 'blur');
      expect(cartoon.report.models).toContain('my-segmenter');
      expect(cartoon.report.models).not.toContain('deeplabv3-mnv2-257');
      // The same weights under both ids blur the same pixels (up to each output's own watermark), and
      // they did blur the backdrop.
      const ownImage = await loadRgb(own.image);
      expect(meanAbsDiff(ownImage, await loadRgb(pinned.image))).toBeLessThan(1.5);
      expect(meanAbsDiff(ownImage, await loadRgb((await run('cartoon', 'stylize')).image))).toBeGreaterThan(3);
    } finally {
      await custom.close();
    }
  });

  it('a bounded queue sheds extra work with E_QUEUE_FULL and finishes the rest', async () => {
    const bounded = await Portoon.create({ modelsDir: TEST_MODELS_DIR, workers: 1, maxQueue: 1 });
    try {
      const path = portrait('12-group-selfie-cafe.jpeg');
      const outcomes = await Promise.all(
        Array.from({ length: 5 }, () =>
          bounded.cartoonize(path, { style: 'cel' }).then(
            (r) => `ok ${r.report.width}`,
            (e: PortoonError) => e.code,
          ),
        ),
      );
      expect(outcomes.filter((o) => o === 'E_QUEUE_FULL').length).toBeGreaterThan(0);
      expect(outcomes.filter((o) => o === 'ok 1280').length).toBeGreaterThanOrEqual(2);
      expect(outcomes.every((o) => o === 'E_QUEUE_FULL' || o === 'ok 1280')).toBe(true);
    } finally {
      await bounded.close();
    }
  });

  it('a corrupted model file is detected and reported with its path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'portoon-corrupt-'));
    for (const id of ['retinaface-mnet025', 'yunet-face', 'whitebox-cartoon'])
      copyFileSync(join(TEST_MODELS_DIR, `${id}.onnx`), join(dir, `${id}.onnx`));
    const file = join(dir, 'whitebox-cartoon.onnx');
    const bytes = readFileSync(file);
    bytes[1000]! ^= 0x55;
    writeFileSync(file, bytes);
    const broken = await Portoon.create({ modelsDir: dir });
    try {
      const error = await broken.cartoonize(portrait('04-man-headshot-suit.jpg'), { style: 'cartoon' }).catch((e: PortoonError) => e);
      expect(error).toBeInstanceOf(PortoonError);
      expect((error as PortoonError).code).toBe('E_MODEL_CORRUPT');
      expect((error as PortoonError).message).toContain(file);
    } finally {
      await broken.close();
    }
  });
});
