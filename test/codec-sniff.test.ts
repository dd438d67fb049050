/**
 * The raster-only gate of the decoder: the first bytes decide whether sharp may read a file at all
 * (only JPEG, PNG, WebP, GIF, TIFF and HEIF/AVIF), and once they have named a raster format, any
 * failure to read it is damage (E_DECODE_FAILED), never "not an image". Through the library entry
 * point too, since the CLI and the service decode the same way.
 */
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PortoonError } from '../src/core/errors.js';
import { decodeImage, probeImage, sniffFormat } from '../src/node/codec.js';
import { Portoon } from '../src/node/portoon.js';
import { portrait, TEST_MODELS_DIR } from './helpers/env.js';

const PHOTO = readFileSync(portrait('04-man-headshot-suit.jpg'));
const SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64" fill="#c84"/></svg>';
const PDF = '%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n';

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PortoonError);
  return (error as PortoonError).code;
}

describe('sniffFormat', () => {
  it('names each accepted raster format from its first bytes, as sharp names it', async () => {
    const base = sharp(PHOTO).resize(32, 40);
    const files = {
      jpeg: await base.clone().jpeg().toBuffer(),
      png: await base.clone().png().toBuffer(),
      webp: await base.clone().webp().toBuffer(),
      gif: await base.clone().gif().toBuffer(),
      tiff: await base.clone().tiff().toBuffer(),
      bigtiff: await base.clone().tiff({ bigtiff: true }).toBuffer(),
      avif: await base.clone().avif({ effort: 0 }).toBuffer(),
    };
    const sniffed = Object.fromEntries(Object.entries(files).map(([name, bytes]) => [name, sniffFormat(bytes)]));
    expect(sniffed).toEqual({ jpeg: 'jpeg', png: 'png', webp: 'webp', gif: 'gif', tiff: 'tiff', bigtiff: 'tiff', avif: 'heif' });
    const named = await Promise.all(Object.values(files).map(async (bytes) => (await sharp(bytes).metadata()).format));
    expect(named).toEqual(['jpeg', 'png', 'webp', 'gif', 'tiff', 'tiff', 'heif']);
  });

  it('names nothing else: vector, document and other formats libvips could load', () => {
    const others: Record<string, Buffer> = {
      svg: Buffer.from(SVG),
      'svg with prolog': Buffer.from(`<?xml version="1.0"?>${SVG}`),
      svgz: gzipSync(SVG),
      pdf: Buffer.from(PDF),
      eps: Buffer.from('%!PS-Adobe-3.0 EPSF-3.0\n'),
      fits: Buffer.from('SIMPLE  =                    T'),
      'vips native': Buffer.from([0x08, 0xf2, 0xa6, 0xb6, 0, 0, 0, 0]),
      matrix: Buffer.from('2 2\n1 2\n3 4\n'),
      ppm: Buffer.from('P6\n1 1\n255\n\0\0\0'),
      'mp4 (ftyp isom)': Buffer.from('\0\0\0\x18ftypisom\0\0\0\0', 'latin1'),
      'half a PNG signature': Buffer.from([0x89, 0x50, 0x4e, 0x47]),
      empty: Buffer.alloc(0),
    };
    expect(Object.fromEntries(Object.keys(others).map((name) => [name, sniffFormat(others[name]!)]))).toEqual(
      Object.fromEntries(Object.keys(others).map((name) => [name, undefined])),
    );
  });
});

describe('decodeImage and probeImage', () => {
  it('refuse SVG, svgz and PDF with E_UNSUPPORTED_FORMAT, whatever their size', async () => {
    for (const bytes of [Buffer.from(SVG), gzipSync(SVG), Buffer.from(PDF)]) {
      expect(await codeOf(decodeImage(bytes))).toBe('E_UNSUPPORTED_FORMAT');
      expect(await codeOf(probeImage(bytes))).toBe('E_UNSUPPORTED_FORMAT');
    }
  });

  it('report a cut AVIF or TIFF as damaged (E_DECODE_FAILED), not as "not an image"', async () => {
    const base = sharp(PHOTO).resize(32, 40);
    for (const bytes of [await base.clone().avif({ effort: 0 }).toBuffer(), await base.clone().tiff().toBuffer()]) {
      const codes = new Set<string>();
      for (const fraction of [0.1, 0.3, 0.5, 0.7, 0.9])
        codes.add(await codeOf(decodeImage(bytes.subarray(0, Math.floor(bytes.length * fraction)))));
      expect([...codes]).toEqual(['E_DECODE_FAILED']);
    }
  });

  it('refuse a JPEG whose header claims 2000x2000 over 256-px data, in well under a second', async () => {
    const jpeg = Buffer.from(await sharp(PHOTO).resize(256, 256).jpeg().toBuffer());
    // The SOF0 marker of sharp's baseline JPEG: FF C0, length, precision, height, width.
    const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
    jpeg.writeUInt16BE(2000, sof + 5);
    jpeg.writeUInt16BE(2000, sof + 7);
    expect(await probeImage(jpeg)).toMatchObject({ format: 'jpeg', width: 2000, height: 2000 });
    const started = performance.now();
    expect(await codeOf(decodeImage(jpeg))).toBe('E_DECODE_FAILED');
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('keep the size in the message of an image over the pixel limit', async () => {
    const error = await decodeImage(PHOTO, { maxInputPixels: 100 * 100 }).catch((e: unknown) => e as PortoonError);
    expect(error).toMatchObject({ code: 'E_IMAGE_TOO_LARGE', message: expect.stringMatching(/512x512/) as unknown });
  });
});

describe('Portoon.cartoonize', () => {
  let portoon: Portoon;
  beforeAll(async () => {
    portoon = await Portoon.create({ modelsDir: TEST_MODELS_DIR, workers: 1, threads: 1 });
  });
  afterAll(async () => {
    await portoon?.close();
  });

  it('refuses SVG bytes with PortoonError E_UNSUPPORTED_FORMAT', async () => {
    const error = await portoon.cartoonize(Buffer.from(SVG), { style: 'cel' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PortoonError);
    expect(error).toMatchObject({ code: 'E_UNSUPPORTED_FORMAT', message: expect.stringMatching(/not an image/) as unknown });
  });
});
