/**
 * XMP written into encoded PNG, JPEG and WebP bytes by the core (src/core/xmp-embed.ts), as the
 * browser engine does after the canvas encodes: sharp must read back the very packet and decode the
 * very pixels of the input, the container must stay well-formed (PNG CRC, JPEG segment order, WebP
 * VP8X header and RIFF size), a second packet replaces the first, and hostile bytes end in a typed
 * error, never in a hang or an out-of-range read. Inputs are made by sharp from a real portrait.
 */
import { crc32 } from 'node:zlib';
import sharp, { type Sharp } from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ErrorCode } from '../src/core/errors.js';
import { buildXmp, readProvenance, TRAINED_ALGORITHMIC_MEDIA, type ProvenanceInfo } from '../src/core/provenance.js';
import { embedXmp, extractXmp, JPEG_MAX_XMP_BYTES, type XmpContainer } from '../src/core/xmp-embed.js';
import { portrait } from './helpers/env.js';
import { errorOf } from './helpers/errors.js';

const PROVENANCE: ProvenanceInfo = {
  software: 'Portoon',
  version: '0.1.0',
  style: 'anime',
  models: ['animeganv3-jpface-v1', 'animeganv3-hayao36'],
  created: '2025-01-02T03:04:05.000Z',
};
/** A second packet, with non-ASCII text, of the other parity in UTF-8 (for WebP's padding byte). */
const SECOND: ProvenanceInfo = { ...PROVENANCE, style: 'manga-é', models: ['東京-v12'] };
const PACKET = buildXmp(PROVENANCE);
const PACKET_2 = buildXmp(SECOND);

const utf8Length = (text: string): number => Buffer.byteLength(text, 'utf8');
const packetsIn = (bytes: Uint8Array): number => Buffer.from(bytes).toString('latin1').split('<?xpacket begin').length - 1;
const ascii = (bytes: Uint8Array, offset: number, length: number): string =>
  Buffer.from(bytes.subarray(offset, offset + length)).toString('latin1');

/** The first bytes that name each format; a cut shorter than this is not recognisable as it. */
const SIGNATURE_LENGTH: Record<XmpContainer, number> = { jpeg: 3, png: 8, webp: 12 };

interface Fixture {
  name: string;
  format: XmpContainer;
  bytes: Buffer;
}

/** A JFIF APP0 segment (version 1.1, no density, no thumbnail), as many encoders write first. */
const JFIF_APP0 = Buffer.from('ffe000104a46494600010100000100010000', 'hex');

async function makeFixtures(): Promise<Fixture[]> {
  const width = 96;
  const height = 72;
  const rgb = await sharp(portrait('02-man-studio-smile.png')).resize(width, height, { fit: 'fill' }).removeAlpha().raw().toBuffer();
  const rgba = Buffer.alloc(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    rgb.copy(rgba, i * 4, i * 3, i * 3 + 3);
    rgba[i * 4 + 3] = Math.round(((i % width) / (width - 1)) * 255);
  }
  const opaque = (): Sharp => sharp(rgb, { raw: { width, height, channels: 3 } });
  const alpha = (): Sharp => sharp(rgba, { raw: { width, height, channels: 4 } });
  const jpeg = await opaque().jpeg({ quality: 85 }).toBuffer();
  return [
    { name: 'png with alpha', format: 'png', bytes: await alpha().png().toBuffer() },
    {
      name: 'png with an XMP packet already',
      format: 'png',
      bytes: await opaque()
        .withXmp(buildXmp({ ...PROVENANCE, style: 'old' }))
        .png()
        .toBuffer(),
    },
    { name: 'jpeg without JFIF', format: 'jpeg', bytes: jpeg },
    { name: 'jpeg with JFIF', format: 'jpeg', bytes: Buffer.concat([jpeg.subarray(0, 2), JFIF_APP0, jpeg.subarray(2)]) },
    { name: 'progressive jpeg', format: 'jpeg', bytes: await opaque().jpeg({ progressive: true }).toBuffer() },
    {
      name: 'jpeg with an XMP packet already',
      format: 'jpeg',
      bytes: await opaque()
        .withXmp(buildXmp({ ...PROVENANCE, style: 'old' }))
        .jpeg()
        .toBuffer(),
    },
    { name: 'webp lossy (simple VP8)', format: 'webp', bytes: await opaque().webp({ quality: 80 }).toBuffer() },
    { name: 'webp lossless with alpha (simple VP8L)', format: 'webp', bytes: await alpha().webp({ lossless: true }).toBuffer() },
    { name: 'webp lossy with alpha (VP8X + ALPH)', format: 'webp', bytes: await alpha().webp({ quality: 80 }).toBuffer() },
    {
      name: 'webp with an XMP packet already',
      format: 'webp',
      bytes: await opaque()
        .withXmp(buildXmp({ ...PROVENANCE, style: 'old' }))
        .webp()
        .toBuffer(),
    },
  ];
}

async function rawPixels(bytes: Uint8Array): Promise<Buffer> {
  return sharp(bytes).raw().toBuffer();
}

/** The top-level chunks of a WebP, as [fourcc, payload offset, payload size]. */
function riffChunks(bytes: Uint8Array): Array<[string, number, number]> {
  const view = Buffer.from(bytes);
  const chunks: Array<[string, number, number]> = [];
  for (let i = 12; i + 8 <= view.length;) {
    const size = view.readUInt32LE(i + 4);
    chunks.push([ascii(bytes, i, 4), i + 8, size]);
    i += 8 + size + (size & 1);
  }
  return chunks;
}

describe('embedXmp and extractXmp', () => {
  let fixtures: Fixture[];
  beforeAll(async () => {
    fixtures = await makeFixtures();
  });

  it('has fixtures of every kind the embedding handles', () => {
    const first = (name: string): string => ascii(fixtures.find((f) => f.name === name)!.bytes, 12, 4);
    expect(first('webp lossy (simple VP8)')).toBe('VP8 ');
    expect(first('webp lossless with alpha (simple VP8L)')).toBe('VP8L');
    expect(first('webp lossy with alpha (VP8X + ALPH)')).toBe('VP8X');
    expect(ascii(fixtures.find((f) => f.name === 'jpeg with JFIF')!.bytes, 6, 5)).toBe('JFIF\0');
    expect(fixtures.find((f) => f.name === 'jpeg without JFIF')!.bytes[3]).not.toBe(0xe0);
    // One packet of each parity, so WebP's padding byte is exercised both ways.
    expect((utf8Length(PACKET) + utf8Length(PACKET_2)) % 2).toBe(1);
  });

  describe.each([
    'png with alpha',
    'png with an XMP packet already',
    'jpeg without JFIF',
    'jpeg with JFIF',
    'progressive jpeg',
    'jpeg with an XMP packet already',
    'webp lossy (simple VP8)',
    'webp lossless with alpha (simple VP8L)',
    'webp lossy with alpha (VP8X + ALPH)',
    'webp with an XMP packet already',
  ])('%s', (name) => {
    const fixture = (): Fixture => fixtures.find((f) => f.name === name)!;

    it('sharp reads the packet and the same pixels; readProvenance finds the AI label', async () => {
      const { format, bytes } = fixture();
      const out = embedXmp(bytes, format, PACKET);
      const [meta, inMeta] = await Promise.all([sharp(out).metadata(), sharp(bytes).metadata()]);
      expect(meta.xmp?.toString('utf8')).toBe(PACKET);
      expect([meta.format, meta.width, meta.height, meta.hasAlpha]).toEqual([inMeta.format, inMeta.width, inMeta.height, inMeta.hasAlpha]);
      expect((await rawPixels(out)).equals(await rawPixels(bytes))).toBe(true);
      expect(readProvenance(extractXmp(out)!).digitalSourceType).toBe(TRAINED_ALGORITHMIC_MEDIA);
      expect(packetsIn(out)).toBe(1);
    });

    it('embedding again leaves exactly one packet, the new one', async () => {
      const { format, bytes } = fixture();
      const twice = embedXmp(embedXmp(bytes, format, PACKET), format, PACKET_2);
      expect(packetsIn(twice)).toBe(1);
      expect(extractXmp(twice)).toBe(PACKET_2);
      expect((await sharp(twice).metadata()).xmp?.toString('utf8')).toBe(PACKET_2);
      expect(readProvenance(extractXmp(twice)!)).toMatchObject({ style: 'manga-é', models: ['東京-v12'] });
      expect((await rawPixels(twice)).equals(await rawPixels(bytes))).toBe(true);
      // The same packet again gives the same bytes: nothing accumulates.
      const again = embedXmp(twice, format, PACKET_2);
      expect(Buffer.from(again).equals(Buffer.from(twice))).toBe(true);
    });
  });

  it('finds no packet in files without one', () => {
    const plain = fixtures.filter((f) => !f.name.includes('XMP'));
    expect(plain.map((f) => [f.name, extractXmp(f.bytes)])).toEqual(plain.map((f) => [f.name, undefined]));
  });

  describe('PNG', () => {
    it('puts an uncompressed iTXt chunk right after IHDR, with a correct CRC', () => {
      const out = Buffer.from(embedXmp(fixtures[0]!.bytes, 'png', PACKET));
      const at = 8 + 25; // signature, then IHDR (12 + 13 bytes)
      const length = out.readUInt32BE(at);
      expect(ascii(out, at + 4, 4)).toBe('iTXt');
      const data = out.subarray(at + 8, at + 8 + length);
      expect(data.subarray(0, 22).toString('latin1')).toBe('XML:com.adobe.xmp\0\0\0\0\0');
      expect(data.subarray(22).toString('utf8')).toBe(PACKET);
      expect(out.readUInt32BE(at + 8 + length)).toBe(crc32(out.subarray(at + 4, at + 8 + length)));
    });

    it('takes packets of any size', async () => {
      const big = buildXmp({ ...PROVENANCE, models: Array.from({ length: 4000 }, (_, i) => `model-${i}-with-a-long-name`) });
      expect(utf8Length(big)).toBeGreaterThan(100_000);
      const out = embedXmp(fixtures[0]!.bytes, 'png', big);
      expect((await sharp(out).metadata()).xmp?.toString('utf8')).toBe(big);
    });
  });

  describe('JPEG', () => {
    const byName = (name: string): Buffer => fixtures.find((f) => f.name === name)!.bytes;

    it('puts APP1 right after SOI when there is no JFIF segment', () => {
      const out = Buffer.from(embedXmp(byName('jpeg without JFIF'), 'jpeg', PACKET));
      expect(out.readUInt16BE(2)).toBe(0xffe1);
      expect(out.readUInt16BE(4)).toBe(2 + 29 + utf8Length(PACKET));
      expect(ascii(out, 6, 29)).toBe('http://ns.adobe.com/xap/1.0/\0');
    });

    it('puts APP1 after the JFIF APP0 segment, which stays first', () => {
      const out = Buffer.from(embedXmp(byName('jpeg with JFIF'), 'jpeg', PACKET));
      expect(out.subarray(0, 2 + JFIF_APP0.length).equals(Buffer.concat([Buffer.from([0xff, 0xd8]), JFIF_APP0]))).toBe(true);
      expect(out.readUInt16BE(2 + JFIF_APP0.length)).toBe(0xffe1);
    });

    it('puts APP1 after an Exif APP1 segment that opens the file, which keeps its place', async () => {
      const exif = await sharp(byName('jpeg without JFIF'))
        .withExif({ IFD0: { Copyright: 'Portoon test' } })
        .jpeg()
        .toBuffer();
      expect(exif.readUInt16BE(2)).toBe(0xffe1);
      expect(ascii(exif, 6, 6)).toBe('Exif\0\0');
      const exifEnd = 4 + exif.readUInt16BE(4);
      const out = Buffer.from(embedXmp(exif, 'jpeg', PACKET));
      expect(out.subarray(0, exifEnd).equals(exif.subarray(0, exifEnd))).toBe(true);
      expect([out.readUInt16BE(exifEnd), ascii(out, exifEnd + 4, 29)]).toEqual([0xffe1, 'http://ns.adobe.com/xap/1.0/\0']);
      const meta = await sharp(out).metadata();
      expect([meta.xmp?.toString('utf8'), meta.exif?.includes('Portoon test')]).toEqual([PACKET, true]);
    });

    it(`takes a packet of exactly ${JPEG_MAX_XMP_BYTES} bytes and refuses one byte more`, async () => {
      const filler = JPEG_MAX_XMP_BYTES - utf8Length(buildXmp({ ...PROVENANCE, models: [''] }));
      const largest = buildXmp({ ...PROVENANCE, models: ['m'.repeat(filler)] });
      expect(utf8Length(largest)).toBe(JPEG_MAX_XMP_BYTES);
      const out = embedXmp(byName('jpeg without JFIF'), 'jpeg', largest);
      expect((await sharp(out).metadata()).xmp?.toString('utf8')).toBe(largest);
      const tooLarge = buildXmp({ ...PROVENANCE, models: ['m'.repeat(filler + 1)] });
      const error = errorOf(() => embedXmp(byName('jpeg without JFIF'), 'jpeg', tooLarge));
      expect(error.code).toBe('E_BAD_OPTION');
      expect(error.message).toContain(`${JPEG_MAX_XMP_BYTES + 1} bytes`);
    });
  });

  describe('WebP', () => {
    it.each([
      ['webp lossy (simple VP8)', false],
      ['webp lossless with alpha (simple VP8L)', true],
      ['webp lossy with alpha (VP8X + ALPH)', true],
    ] as const)('%s becomes VP8X with the XMP flag, alpha flag %s, canvas size and RIFF size right', (name, alpha) => {
      const out = Buffer.from(embedXmp(fixtures.find((f) => f.name === name)!.bytes, 'webp', PACKET_2));
      const chunks = riffChunks(out);
      expect(out.readUInt32LE(4)).toBe(out.length - 8);
      expect([chunks[0]?.[0], chunks[0]?.[2]]).toEqual(['VP8X', 10]);
      const flags = out[20]!;
      expect([(flags & 0x04) !== 0, (flags & 0x10) !== 0]).toEqual([true, alpha]);
      expect([out.readUIntLE(24, 3) + 1, out.readUIntLE(27, 3) + 1]).toEqual([96, 72]);
      const xmp = chunks.filter(([fourcc]) => fourcc === 'XMP ');
      expect(xmp).toHaveLength(1);
      const [, offset, size] = xmp[0]!;
      expect(out.subarray(offset, offset + size).toString('utf8')).toBe(PACKET_2);
      expect(size % 2).toBe(1);
      expect(offset + size + 1).toBe(out.length); // last chunk, padded to even size
    });
  });
});

describe('hostile input', () => {
  let fixtures: Fixture[];
  beforeAll(async () => {
    fixtures = await makeFixtures();
  });

  const codeOf = (fn: () => unknown): ErrorCode => errorOf(fn).code;
  const FORMATS: readonly XmpContainer[] = ['png', 'jpeg', 'webp'];

  /** Seeded bytes: a failure names the same input on every run. */
  function randomBytes(length: number, seed: number): Buffer {
    const out = Buffer.alloc(length);
    let s = seed >>> 0;
    for (let i = 0; i < length; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      out[i] = s >>> 24;
    }
    return out;
  }

  it('empty input', () => {
    expect(FORMATS.map((f) => codeOf(() => embedXmp(new Uint8Array(0), f, PACKET)))).toEqual([
      'E_EMPTY_INPUT',
      'E_EMPTY_INPUT',
      'E_EMPTY_INPUT',
    ]);
    expect(codeOf(() => extractXmp(new Uint8Array(0)))).toBe('E_EMPTY_INPUT');
  });

  it('random bytes, and files of another format', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const bytes = randomBytes(64 * seed, seed);
      expect(FORMATS.map((f) => codeOf(() => embedXmp(bytes, f, PACKET)))).toEqual(Array(3).fill('E_UNSUPPORTED_FORMAT'));
      expect(codeOf(() => extractXmp(bytes))).toBe('E_UNSUPPORTED_FORMAT');
    }
    const png = fixtures[0]!.bytes;
    const error = errorOf(() => embedXmp(png, 'jpeg', PACKET));
    expect([error.code, error.message]).toEqual([
      'E_UNSUPPORTED_FORMAT',
      'The bytes are not a JPEG file, so no XMP packet can be written into them',
    ]);
  });

  it('random bytes after a valid signature', () => {
    const signatures: Record<XmpContainer, Buffer> = {
      png: Buffer.from('89504e470d0a1a0a', 'hex'),
      jpeg: Buffer.from('ffd8ff', 'hex'),
      webp: Buffer.concat([Buffer.from('RIFF'), Buffer.from([0xf0, 0x0f, 0, 0]), Buffer.from('WEBP')]),
    };
    for (const seed of [11, 12, 13, 14]) {
      for (const format of FORMATS) {
        const bytes = Buffer.concat([signatures[format], randomBytes(4096, seed)]);
        expect([format, seed, codeOf(() => embedXmp(bytes, format, PACKET))]).toEqual([format, seed, 'E_DECODE_FAILED']);
        expect([format, seed, codeOf(() => extractXmp(bytes))]).toEqual([format, seed, 'E_DECODE_FAILED']);
      }
    }
  });

  it('every fixture cut short at many offsets', { timeout: 20_000 }, () => {
    for (const { name, format, bytes } of fixtures) {
      const step = Math.max(1, Math.floor(bytes.length / 300));
      const offsets = new Set<number>();
      for (let cut = 0; cut < 80; cut++) offsets.add(cut);
      for (let cut = 0; cut < bytes.length; cut += step) offsets.add(cut);
      for (let cut = Math.max(0, bytes.length - 40); cut < bytes.length; cut++) offsets.add(cut);
      for (const cut of offsets) {
        const part = bytes.subarray(0, cut);
        const expected = cut === 0 ? 'E_EMPTY_INPUT' : cut < SIGNATURE_LENGTH[format] ? 'E_UNSUPPORTED_FORMAT' : 'E_DECODE_FAILED';
        expect([name, cut, codeOf(() => embedXmp(part, format, PACKET))]).toEqual([name, cut, expected]);
        expect([name, cut, codeOf(() => extractXmp(part))]).toEqual([name, cut, expected]);
      }
    }
  });

  /** A copy of the fixture with `patch` applied. */
  const patched = (name: string, patch: (bytes: Buffer) => void): Buffer => {
    const bytes = Buffer.from(fixtures.find((f) => f.name === name)!.bytes);
    patch(bytes);
    return bytes;
  };

  it.each([
    ['PNG: IHDR length past the end', 'png with alpha', (b: Buffer) => b.writeUInt32BE(0x7ffffff0, 8)],
    ['PNG: a chunk length of 2^32 - 1', 'png with alpha', (b: Buffer) => b.writeUInt32BE(0xffffffff, 33)],
    ['PNG: IDAT length 1 MB past the end', 'png with alpha', (b: Buffer) => b.writeUInt32BE(b.readUInt32BE(33) + 1_000_000, 33)],
    ['JPEG: first segment length past the end', 'jpeg without JFIF', (b: Buffer) => b.writeUInt16BE(0xffff, 4)],
    ['JPEG: segment length 0', 'jpeg without JFIF', (b: Buffer) => b.writeUInt16BE(0, 4)],
    ['JPEG: segment length 1', 'jpeg with JFIF', (b: Buffer) => b.writeUInt16BE(1, 4)],
    ['WebP: RIFF size 2^32 - 1', 'webp lossy (simple VP8)', (b: Buffer) => b.writeUInt32LE(0xffffffff, 4)],
    ['WebP: chunk size past the end', 'webp lossy (simple VP8)', (b: Buffer) => b.writeUInt32LE(0xfffffff0, 16)],
    ['WebP: chunk size past the RIFF size', 'webp lossy with alpha (VP8X + ALPH)', (b: Buffer) => b.writeUInt32LE(b.length, 16)],
    ['WebP: no image chunk first', 'webp lossy (simple VP8)', (b: Buffer) => b.write('JUNK', 12, 'latin1')],
    ['WebP: VP8 chunk without a key frame', 'webp lossy (simple VP8)', (b: Buffer) => b.fill(0, 23, 26)],
    ['WebP: VP8L chunk without its signature', 'webp lossless with alpha (simple VP8L)', (b: Buffer) => (b[20] = 0)],
  ])('%s', { timeout: 5_000 }, (_name, fixture, patch) => {
    const bytes = patched(fixture, patch);
    const format = fixtures.find((f) => f.name === fixture)!.format;
    const error = errorOf(() => embedXmp(bytes, format, PACKET));
    expect(error.code).toBe('E_DECODE_FAILED');
    expect(error.message).toMatch(/^The (PNG|JPEG|WebP) file is damaged or truncated \(.+\); encode it again$/);
  });

  it('PNG without IHDR', () => {
    const png = fixtures[0]!.bytes;
    const bytes = Buffer.concat([png.subarray(0, 8), png.subarray(33)]);
    expect(codeOf(() => embedXmp(bytes, 'png', PACKET))).toBe('E_DECODE_FAILED');
    expect(errorOf(() => extractXmp(bytes)).message).toContain('the first chunk is not IHDR');
  });

  it(
    'long runs of headers end quickly: 1 MB of JPEG fill bytes, 80,000 empty PNG chunks, 500,000 empty WebP chunks',
    { timeout: 10_000 },
    () => {
      const fill = Buffer.concat([Buffer.from('ffd8', 'hex'), Buffer.alloc(1 << 20, 0xff)]);
      expect(codeOf(() => embedXmp(fill, 'jpeg', PACKET))).toBe('E_DECODE_FAILED');
      const png = fixtures[0]!.bytes;
      const empty = Buffer.alloc(12); // an empty ancillary "aaAa" chunk, with its CRC
      empty.write('aaAa', 4, 'latin1');
      empty.writeUInt32BE(crc32(empty.subarray(4, 8)), 8);
      const chunks = Buffer.concat([png.subarray(0, 33), Buffer.concat(Array(80_000).fill(empty))]);
      expect(codeOf(() => embedXmp(chunks, 'png', PACKET))).toBe('E_DECODE_FAILED');
      // A valid VP8X header, then 4 MB of zeros: 500,000 empty chunks, and no image.
      const riff = Buffer.alloc(30 + (4 << 20));
      riff.write('RIFFxxxxWEBPVP8X', 0, 'latin1');
      riff.writeUInt32LE(riff.length - 8, 4);
      riff.writeUInt32LE(10, 16);
      expect(codeOf(() => embedXmp(riff, 'webp', PACKET))).toBe('E_DECODE_FAILED');
    },
  );
});
