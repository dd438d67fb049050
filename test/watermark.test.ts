/**
 * The invisible watermark on real photos: the payload (id, marker, CRC) comes back exactly from the
 * marked picture and from re-encoded, scaled, stretched and brightened copies; faces stay within
 * 42 dB; an unmarked photo and random pictures read as "no watermark"; another key reads nothing;
 * hostile sizes and data never throw. The BCH code and the CRC are checked on their own too.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { RawImage } from '../src/core/image.js';
import { BCH_K, BCH_N, BCH_T, bchDecode, bchEncode } from '../src/core/provenance/bch.js';
import { crc16 } from '../src/core/provenance/crc16.js';
import { keyedRandom } from '../src/core/provenance/keyed-random.js';
import { OutputMarks } from '../src/core/provenance/output-marks.js';
import {
  DEFAULT_WATERMARK_KEY,
  embedWatermark,
  newOutputId,
  readWatermark,
  WATERMARK_MIN_SIDE,
  watermarkBitAccuracy,
} from '../src/core/provenance/watermark.js';
import { portrait, TEST_OUTPUT_DIR } from './helpers/env.js';
import { loadRgb, savePng } from './helpers/images.js';

const OUT = join(TEST_OUTPUT_DIR, 'watermark');

function psnr(a: RawImage, b: RawImage, region?: readonly [number, number, number, number]): number {
  const [x0, y0, w, h] = region ?? [0, 0, a.width, a.height];
  let sum = 0;
  let count = 0;
  for (let y = Math.max(0, y0); y < Math.min(a.height, y0 + h); y++) {
    for (let x = Math.max(0, x0); x < Math.min(a.width, x0 + w); x++) {
      for (let c = 0; c < 3; c++) {
        const i = (y * a.width + x) * a.channels + c;
        sum += (a.data[i]! - b.data[i]!) ** 2;
        count++;
      }
    }
  }
  return 10 * Math.log10((255 * 255) / (sum / count));
}

const raw = (image: RawImage): ReturnType<typeof sharp> =>
  sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.length), {
    raw: { width: image.width, height: image.height, channels: image.channels as 3 },
  });

describe('BCH(127, 85) and CRC-16', () => {
  const random = keyedRandom('bch-test');
  const bits = (n: number): number[] => Array.from({ length: n }, () => (random() < 0.5 ? 1 : 0));

  it('corrects every pattern of up to 6 flipped bits, and says how many it corrected', () => {
    expect([BCH_N, BCH_K, BCH_T]).toEqual([127, 85, 6]);
    for (let trial = 0; trial < 300; trial++) {
      const codeword = bchEncode(bits(BCH_K));
      const errors = trial % (BCH_T + 1);
      const received = codeword.slice();
      const flipped = new Set<number>();
      while (flipped.size < errors) flipped.add(Math.floor(random() * BCH_N));
      for (const p of flipped) received[p]! ^= 1;
      const decoded = bchDecode(received);
      expect(decoded?.corrected).toBe(errors);
      expect([...decoded!.codeword]).toEqual([...codeword]);
    }
  });

  it('refuses almost every random word (the first guard against reading a mark that is not there)', () => {
    let accepted = 0;
    for (let trial = 0; trial < 3000; trial++) if (bchDecode(bits(BCH_N))) accepted++;
    // Expected 3000 · Σ_{i≤6} C(127, i) / 2^42 ≈ 2.
    expect(accepted).toBeLessThan(15);
  });

  it('computes CRC-16/CCITT-FALSE (check value of "123456789" is 0x29B1)', () => {
    expect(crc16([...'123456789'].map((c) => c.charCodeAt(0)))).toBe(0x29b1);
    expect(crc16([])).toBe(0xffff);
  });

  it('refuses a message or a word of the wrong length', () => {
    expect(() => bchEncode(bits(84))).toThrow(RangeError);
    expect(() => bchDecode(bits(126))).toThrow(RangeError);
  });
});

describe('the invisible watermark on real photos', () => {
  it('embeds an id that reads back exactly; the picture stays within 42 dB overall and on the face', async () => {
    mkdirSync(OUT, { recursive: true });
    const photo = await loadRgb(portrait('04-man-headshot-suit.jpg'));
    const face = [150, 110, 230, 300] as const;
    const id = newOutputId();
    const marked = embedWatermark(photo, id);
    await savePng(marked, join(OUT, 'marked.png'));
    expect([marked.width, marked.height, marked.channels]).toEqual([photo.width, photo.height, 3]);
    expect(psnr(marked, photo)).toBeGreaterThan(42);
    expect(psnr(marked, photo, face)).toBeGreaterThan(42);
    const reading = readWatermark(marked);
    expect(reading).toMatchObject({ found: true, id, correctedBits: 0, alignment: 'none' });
    expect(reading.confidence).toBeGreaterThan(0.9);
    // The photo itself carries nothing.
    expect(readWatermark(photo)).toEqual({ found: false, confidence: 0 });
  });

  it('survives JPEG 50, WebP 60, halving, stretching by 20 %, brightness ×1.15 and a PNG round trip', async () => {
    const photo = await loadRgb(portrait('15-face-woman-blonde.jpg'));
    const id = newOutputId();
    const marked = embedWatermark(photo, id);
    const { width, height } = marked;
    const attacks: Record<string, Promise<Buffer>> = {
      'jpeg 50': raw(marked).jpeg({ quality: 50 }).toBuffer(),
      'webp 60': raw(marked).webp({ quality: 60 }).toBuffer(),
      'half size': raw(marked)
        .resize(Math.round(width / 2), Math.round(height / 2))
        .png()
        .toBuffer(),
      'wider by 20 %': raw(marked)
        .resize(Math.round(width * 1.2), height, { fit: 'fill' })
        .png()
        .toBuffer(),
      'brighter by 15 %': raw(marked).linear(1.15, 0).png().toBuffer(),
      png: raw(marked).png().toBuffer(),
    };
    const results: Record<string, string | undefined> = {};
    for (const [name, bytes] of Object.entries(attacks)) results[name] = readWatermark(await loadRgb(await bytes)).id;
    expect(results).toEqual(Object.fromEntries(Object.keys(attacks).map((name) => [name, id])));
  });

  it('reads through crops of 5 % and 10 % per side and a 2° rotation (undone by the alignment search)', async () => {
    const photo = await loadRgb(portrait('12-group-selfie-cafe.jpeg'));
    const id = newOutputId();
    const marked = embedWatermark(photo, id);
    const cropX = Math.round(marked.width * 0.05);
    const cropY = Math.round(marked.height * 0.05);
    const cropped = await loadRgb(
      await raw(marked)
        .extract({ left: cropX, top: cropY, width: marked.width - 2 * cropX, height: marked.height - 2 * cropY })
        .png()
        .toBuffer(),
    );
    const cropX10 = Math.round(marked.width * 0.1);
    const cropY10 = Math.round(marked.height * 0.1);
    const cropped10 = await loadRgb(
      await raw(marked)
        .extract({ left: cropX10, top: cropY10, width: marked.width - 2 * cropX10, height: marked.height - 2 * cropY10 })
        .png()
        .toBuffer(),
    );
    const turned = await loadRgb(await raw(marked).rotate(2, { background: '#808080' }).png().toBuffer());
    expect(readWatermark(cropped)).toMatchObject({ found: true, id, alignment: 'crop 5% per side' });
    expect(readWatermark(cropped10)).toMatchObject({ found: true, id, alignment: 'crop 10% per side' });
    expect(readWatermark(turned)).toMatchObject({ found: true, id });
    expect(readWatermark(turned).alignment).toMatch(/^rotation/);
    expect(watermarkBitAccuracy(cropped, id)).toBeGreaterThan(0.9);
  });

  it('is keyed: another key neither reads the default mark nor is read by the default key', async () => {
    const photo = await loadRgb(portrait('16-face-man-glasses.jpg'));
    const id = newOutputId();
    const secret = embedWatermark(photo, id, { key: 'a secret of the deployment' });
    expect(readWatermark(secret, { key: 'a secret of the deployment' })).toMatchObject({ found: true, id });
    expect(readWatermark(secret)).toEqual({ found: false, confidence: 0 });
    expect(readWatermark(embedWatermark(photo, id), { key: 'a secret of the deployment' }).found).toBe(false);
    expect(DEFAULT_WATERMARK_KEY).toBe('portoon-watermark-v1');
  });

  it('finds no mark in unmarked photos or in random pictures of many sizes and kinds', () => {
    const random = keyedRandom('false-positive-test');
    const found: string[] = [];
    for (let n = 0; n < 24; n++) {
      const width = 64 + Math.floor(random() * 700);
      const height = 64 + Math.floor(random() * 700);
      const data = new Uint8Array(width * height * 3);
      const kind = n % 3;
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          for (let c = 0; c < 3; c++) {
            const i = (y * width + x) * 3 + c;
            data[i] =
              kind === 0
                ? Math.floor(random() * 256)
                : kind === 1
                  ? Math.round(((x / width) * 255 + (y / height) * 128 * c) % 256)
                  : ((x >> 4) + (y >> 4)) % 2 === 0
                    ? 40 * c
                    : 250 - 30 * c;
          }
        }
      }
      const reading = readWatermark({ width, height, channels: 3, data });
      if (reading.found) found.push(`${width}x${height} kind ${kind}: ${reading.id}`);
    }
    expect(found).toEqual([]);
  });

  it('never throws on hostile pictures: tiny, mismatched data, grey, RGBA; small ones are left unmarked', () => {
    const id = newOutputId();
    for (const [width, height] of [
      [1, 1],
      [7, 300],
      [0, 0],
      [WATERMARK_MIN_SIDE - 1, 500],
    ] as const) {
      const image: RawImage = { width, height, channels: 3, data: new Uint8Array(width * height * 3).fill(128) };
      expect(readWatermark(image).found).toBe(false);
      expect([...embedWatermark(image, id).data]).toEqual([...image.data]);
    }
    const truncated: RawImage = { width: 400, height: 400, channels: 3, data: new Uint8Array(1000) };
    expect(readWatermark(truncated)).toEqual({ found: false, confidence: 0 });
    const nonsense: RawImage = { width: Number.NaN, height: 4.5, channels: 3, data: new Uint8Array(10) };
    expect(readWatermark(nonsense)).toEqual({ found: false, confidence: 0 });
    // Grey and RGBA pictures are marked in their luma; alpha is left alone.
    const grey: RawImage = { width: 300, height: 200, channels: 1, data: new Uint8Array(300 * 200).map((_, i) => (i * 7) % 251) };
    expect(readWatermark(embedWatermark(grey, id))).toMatchObject({ found: true, id });
    const rgba: RawImage = {
      width: 300,
      height: 200,
      channels: 4,
      data: new Uint8Array(300 * 200 * 4).map((_, i) => (i % 4 === 3 ? 77 : (i * 13) % 253)),
    };
    const markedRgba = embedWatermark(rgba, id);
    expect(readWatermark(markedRgba)).toMatchObject({ found: true, id });
    expect(markedRgba.data.filter((_, i) => i % 4 === 3).every((a) => a === 77)).toBe(true);
    expect(() => embedWatermark(grey, 'not-hex')).toThrow(RangeError);
  });
});

describe('OutputMarks: the one place outputs are marked', () => {
  it('draws the label when asked, away from the faces, in the same corner on every frame, and watermarks over it', async () => {
    const photo = await loadRgb(portrait('20-woman-curly-hair.png'));
    const marks = new OutputMarks({ label: true });
    // A face in the bottom-right corner sends the label to the bottom-left.
    const face = [photo.width - 400, photo.height - 400, 380, 380] as const;
    const first = marks.mark(photo, [face]);
    const second = marks.mark(photo, [[0, photo.height - 300, 300, 300]]);
    const corner = (image: RawImage, x0: number): number => {
      let sum = 0;
      for (let y = photo.height - 40; y < photo.height - 30; y++)
        for (let x = x0; x < x0 + 100; x++) sum += image.data[(y * photo.width + x) * 3]!;
      return sum / 1000;
    };
    // The badge darkens the bottom-left; the bottom-right (the face) keeps its picture.
    expect(corner(first, 40)).toBeLessThan(corner(photo, 40) * 0.75);
    expect(Math.abs(corner(first, photo.width - 140) - corner(photo, photo.width - 140))).toBeLessThan(4);
    // The second frame's faces moved; the label did not.
    expect(corner(second, 40)).toBeLessThan(corner(photo, 40) * 0.75);
    expect(readWatermark(first)).toMatchObject({ found: true, id: marks.id });
    const unlabelled = new OutputMarks().mark(photo, []);
    expect(Math.abs(corner(unlabelled, 40) - corner(photo, 40))).toBeLessThan(4);
  });
});
