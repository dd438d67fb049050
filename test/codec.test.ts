import { readFileSync } from 'node:fs';
import exifReader from 'exif-reader';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { PortoonError } from '../src/core/errors.js';
import { buildXmp, readProvenance, TRAINED_ALGORITHMIC_MEDIA } from '../src/core/provenance.js';
import { decodeImage, encodeImage, probeImage } from '../src/node/codec.js';
import { portrait } from './helpers/env.js';
import { pngBomb } from './helpers/images.js';

async function expectCode(promise: Promise<unknown>, code: string): Promise<PortoonError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PortoonError);
  expect((error as PortoonError).code).toBe(code);
  expect((error as PortoonError).message.length).toBeGreaterThan(10);
  return error as PortoonError;
}

describe('decodeImage: bad input gets a typed error', () => {
  const jpeg = readFileSync(portrait('04-man-headshot-suit.jpg'));

  it('zero bytes → E_EMPTY_INPUT', async () => {
    await expectCode(decodeImage(new Uint8Array(0)), 'E_EMPTY_INPUT');
  });
  it('a text file → E_UNSUPPORTED_FORMAT', async () => {
    await expectCode(decodeImage(Buffer.from('hello, I am not a photo\n'.repeat(20))), 'E_UNSUPPORTED_FORMAT');
  });
  it('random bytes → E_UNSUPPORTED_FORMAT', async () => {
    const noise = Buffer.alloc(4096);
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
    await expectCode(decodeImage(noise), 'E_UNSUPPORTED_FORMAT');
  });
  it('a truncated JPEG → E_DECODE_FAILED', async () => {
    await expectCode(decodeImage(jpeg.subarray(0, Math.floor(jpeg.length / 2))), 'E_DECODE_FAILED');
  });
  it('a JPEG cut right after its header → E_DECODE_FAILED (it is a JPEG, a damaged one), never a crash', async () => {
    // The first 200 bytes: the JPEG signature and the JFIF/quantisation headers, no image data.
    const head = jpeg.subarray(0, 200);
    expect([...head.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
    const error = await expectCode(decodeImage(head), 'E_DECODE_FAILED');
    expect(error.message).toMatch(/damaged or truncated/);
  });
  it('a PNG header claiming 30000x30000 → E_IMAGE_TOO_LARGE before decoding', async () => {
    const error = await expectCode(decodeImage(pngBomb(30000, 30000)), 'E_IMAGE_TOO_LARGE');
    expect(error.message).toMatch(/30000x30000/);
  });
  it('respects a lower pixel limit', async () => {
    await expectCode(decodeImage(jpeg, { maxInputPixels: 100 * 100 }), 'E_IMAGE_TOO_LARGE');
  });
  it('holds the header against the pixel limit it is given, whatever sharp allows by default (268 MP)', async () => {
    const bomb = pngBomb(30000, 30000);
    const error = await expectCode(probeImage(bomb, { maxInputPixels: 800_000_000 }), 'E_IMAGE_TOO_LARGE');
    expect(error.details).toEqual({ width: 30000, height: 30000, maxPixels: 800_000_000 });
    expect(await probeImage(bomb, { maxInputPixels: 900_000_000 })).toMatchObject({ format: 'png', width: 30000, height: 30000 });
  });
});

describe('decodeImage: normalisation', () => {
  it('applies EXIF orientation', async () => {
    const rotated = await sharp({ create: { width: 60, height: 40, channels: 3, background: '#336699' } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const decoded = await decodeImage(rotated);
    expect([decoded.image.width, decoded.image.height]).toEqual([40, 60]);
  });
  it('turns 16-bit, grey and CMYK inputs into 8-bit RGB', async () => {
    const base = sharp({ create: { width: 32, height: 24, channels: 3, background: '#c08040' } });
    const inputs = [
      await base.clone().png({ force: true }).toColourspace('rgb16').toBuffer(),
      await base.clone().greyscale().png().toBuffer(),
      await base.clone().toColourspace('cmyk').jpeg().toBuffer(),
      await base.clone().tiff().toBuffer(),
      await base.clone().webp().toBuffer(),
    ];
    for (const input of inputs) {
      const { image } = await decodeImage(input);
      expect(image.channels).toBe(3);
      expect(image.data.length).toBe(32 * 24 * 3);
    }
  });
  it('keeps transparency as a separate alpha plane', async () => {
    const png = await sharp({ create: { width: 20, height: 10, channels: 4, background: { r: 255, g: 0, b: 0, alpha: 0.5 } } })
      .png()
      .toBuffer();
    const decoded = await decodeImage(png);
    expect(decoded.image.channels).toBe(3);
    expect(decoded.alpha?.[0]).toBeGreaterThan(120);
    expect(decoded.alpha?.[0]).toBeLessThan(135);
  });
  it('shrinks to maxSide without stretching', async () => {
    const decoded = await decodeImage(readFileSync(portrait('12-group-selfie-cafe.jpeg')), { maxSide: 640 });
    expect([decoded.image.width, decoded.image.height]).toEqual([640, 480]);
    expect([decoded.originalWidth, decoded.originalHeight]).toEqual([1280, 960]);
  });
});

describe('encodeImage: privacy and provenance', () => {
  it('drops input EXIF (GPS, camera serial) and writes the AI-generated XMP label', async () => {
    const withExif = await sharp(portrait('04-man-headshot-suit.jpg'))
      .jpeg()
      .withExif({
        IFD0: { Make: 'Canon', Model: 'EOS' },
        IFD2: { BodySerialNumber: 'SN-1234567890' },
        IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 2400/100' },
      })
      .toBuffer();
    const inputExif = exifReader((await sharp(withExif).metadata()).exif!);
    expect(inputExif.GPSInfo).toBeDefined();
    const { image } = await decodeImage(withExif);
    const xmp = buildXmp({ software: 'Portoon', version: '9.9.9', style: 'anime', models: ['a', 'b'], created: new Date(0).toISOString() });
    for (const format of ['jpeg', 'png', 'webp'] as const) {
      const out = await encodeImage(image, { format, xmp });
      const meta = await sharp(out).metadata();
      expect(meta.format).toBe(format);
      expect(meta.exif).toBeUndefined();
      expect(out.includes('SN-1234567890')).toBe(false);
      const provenance = readProvenance(meta.xmp!.toString('utf8'));
      expect(provenance.digitalSourceType).toBe(TRAINED_ALGORITHMIC_MEDIA);
      expect(provenance).toMatchObject({ software: 'Portoon', version: '9.9.9', style: 'anime', models: ['a', 'b'] });
    }
  });
  it('escapes hostile style ids in XMP', () => {
    const xmp = buildXmp({ software: 'Portoon', version: '1', style: '"><script>', models: ['</rdf:li>'], created: 'x' });
    expect(xmp).not.toContain('<script>');
    expect(readProvenance(xmp).style).toBe('&quot;&gt;&lt;script&gt;');
  });
});

describe('decodeImage: hostile bytes never crash', () => {
  it('every truncation and corruption of real files gives an image or a typed error', async () => {
    const files = [readFileSync(portrait('04-man-headshot-suit.jpg')), readFileSync(portrait('02-man-studio-smile.png'))];
    const allowed = new Set(['E_DECODE_FAILED', 'E_UNSUPPORTED_FORMAT', 'E_EMPTY_INPUT', 'E_IMAGE_TOO_LARGE']);
    let typedErrors = 0;
    for (const file of files) {
      const variants: Buffer[] = [];
      for (const fraction of [0, 0.001, 0.01, 0.05, 0.2, 0.5, 0.9, 0.999])
        variants.push(file.subarray(0, Math.floor(file.length * fraction)));
      for (let i = 0; i < 12; i++) {
        const copy = Buffer.from(file);
        // Deterministic "random" damage: overwrite a run of bytes, header included for some.
        const at = (i * 7919 * 13) % copy.length;
        copy.fill(i * 37, at, Math.min(copy.length, at + 64));
        variants.push(copy);
      }
      for (const [index, bytes] of variants.entries()) {
        // Settled first, asserted after: a failed assertion on a decoded image is never mistaken for a decoding error.
        const outcome = await decodeImage(bytes).then(
          (decoded) => ({ decoded }),
          (error: unknown) => ({ error }),
        );
        if ('decoded' in outcome) {
          const { image } = outcome.decoded;
          expect(image.data.length, `variant ${index}`).toBe(image.width * image.height * 3);
        } else {
          expect(outcome.error, `variant ${index}`).toBeInstanceOf(PortoonError);
          expect(allowed, `variant ${index}`).toContain((outcome.error as PortoonError).code);
          typedErrors++;
        }
      }
    }
    expect(typedErrors).toBeGreaterThan(10);
  });
});
