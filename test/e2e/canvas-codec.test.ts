/**
 * The browser codec (src/browser/canvas-codec.ts) in real Chromium (Debian's, through playwright-core),
 * held against the Node codec (sharp) on real portraits: the same size, pixels within PSNR 40 dB (the
 * product's bound between browser and server outputs), EXIF orientation applied once, encoded files
 * that sharp reads back with the AI-generated label, a lossless PNG round trip, and the same refusals
 * with the same error codes for hostile inputs. The codec is bundled with esbuild and served with a
 * blank page from a local HTTP server; pixels cross between Node and the page as base64.
 * The measured PSNR per format is written to test-output/canvas-codec-psnr.json.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import sharp, { type Sharp } from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RawImage } from '../../src/core/image.js';
import { buildXmp, readProvenance, TRAINED_ALGORITHMIC_MEDIA, type ProvenanceInfo } from '../../src/core/provenance.js';
import { fitInside, resizeImage } from '../../src/core/resize.js';
import { psnr } from '../../src/core/video/metrics.js';
import { extractXmp } from '../../src/core/xmp-embed.js';
import { decodeImage } from '../../src/node/codec.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/browser.js';
import { IN_CI, portrait, REPO_ROOT, TEST_OUTPUT_DIR } from '../helpers/env.js';
import { pngBomb } from '../helpers/images.js';

const describeBrowser = existsSync(CHROMIUM) || IN_CI ? describe : describe.skip;

/** The product's bound between the browser's and the server's decode of the same file. */
const MIN_PSNR_DB = 40;

/** Encoding at quality 90 and decoding again: PNG is lossless, JPEG and WebP close. */
const MIN_ROUND_TRIP_DB = { png: Infinity, jpeg: 30, webp: 30 } as const;

const PROVENANCE: ProvenanceInfo = {
  software: 'Portoon',
  version: '0.1.0',
  style: 'anime',
  models: ['animeganv3-jpface-v1', 'animeganv3-hayao36'],
  created: '2025-01-02T03:04:05.000Z',
};

/**
 * The page side: the codec on `globalThis.portoon`, taking and giving base64 so that the bytes and
 * pixels survive playwright's JSON transport; a PortoonError comes back as its code and message.
 */
const PAGE_ENTRY = `
import { canvasStillCodec } from './src/browser/canvas-codec.ts';

const fromBase64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
const toBase64 = (bytes) => {
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
};
const failure = (error) => ({ ok: false, code: error && error.code ? error.code : null, message: String(error && error.message) });

globalThis.portoon = {
  async decode(bytes, options) {
    try {
      const d = await canvasStillCodec.decode(fromBase64(bytes), options);
      const { width, height, channels } = d.image;
      return { ok: true, format: d.format, width, height, channels, rgb: toBase64(d.image.data), alpha: d.alpha ? toBase64(d.alpha) : null };
    } catch (error) {
      return failure(error);
    }
  },
  async encode(image, options, provenance) {
    try {
      const raw = { width: image.width, height: image.height, channels: 3, data: fromBase64(image.rgb) };
      const alpha = image.alpha === null ? undefined : fromBase64(image.alpha);
      const bytes = await canvasStillCodec.encode(raw, { ...options, alpha }, provenance);
      return { ok: true, bytes: toBase64(bytes) };
    } catch (error) {
      return failure(error);
    }
  },
  defaultFormat: (format) => canvasStillCodec.defaultFormat(format),
};
`;

/** A canvas whose encoder answers PNG for every type, as browsers do for a type they cannot write. */
const PNG_ONLY_CANVAS = `(() => {
  const convert = OffscreenCanvas.prototype.convertToBlob;
  OffscreenCanvas.prototype.convertToBlob = function (options) {
    return convert.call(this, { ...options, type: 'image/png' });
  };
})()`;

interface PageFailure {
  ok: false;
  code: string | null;
  message: string;
}
type PageDecoded =
  { ok: true; format: string; width: number; height: number; channels: number; rgb: string; alpha: string | null } | PageFailure;
type PageEncoded = { ok: true; bytes: string } | PageFailure;
interface PageImage {
  width: number;
  height: number;
  rgb: string;
  alpha: string | null;
}
interface PageApi {
  portoon: {
    decode(bytes: string, options: DecodeOptions): Promise<PageDecoded>;
    encode(image: PageImage, options: { format: string; quality?: number }, provenance: ProvenanceInfo): Promise<PageEncoded>;
    defaultFormat(format: string): string;
  };
}
interface DecodeOptions {
  maxInputPixels?: number;
  maxSide?: number;
}

interface BrowserDecoded {
  format: string;
  image: RawImage;
  alpha: Uint8Array | undefined;
}

const bytesOf = (base64: string): Uint8Array => new Uint8Array(Buffer.from(base64, 'base64'));
const base64Of = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

function failed(result: PageFailure): Error {
  return new Error(`the browser codec failed: ${result.code ?? 'no code'}: ${result.message}`);
}

/** A seeded generator: a failure names the same bytes on every run. */
function randomBytes(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let s = seed >>> 0;
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

describeBrowser('the canvas codec in Chromium', () => {
  let server: Server;
  let browser: Browser;
  let page: Page;
  let origin: string;
  const measured: Record<string, { psnr: number | 'identical'; width: number; height: number }> = {};
  const record = (name: string, db: number, width: number, height: number): void => {
    measured[name] = { psnr: Number.isFinite(db) ? Number(db.toFixed(2)) : 'identical', width, height };
  };

  beforeAll(async () => {
    const bundle = await build({
      stdin: { contents: PAGE_ENTRY, resolveDir: REPO_ROOT, loader: 'ts', sourcefile: 'page-entry.ts' },
      bundle: true,
      format: 'esm',
      write: false,
      platform: 'browser',
      target: 'chrome120',
      logLevel: 'silent',
    });
    const script = bundle.outputFiles[0]!.text;
    server = createServer((request, response) => {
      if (request.url === '/codec.js') {
        response.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
      } else if (request.url === '/') {
        response
          .writeHead(200, { 'content-type': 'text/html' })
          .end('<!doctype html><title>codec</title><script type="module" src="/codec.js"></script>');
      } else {
        response.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await openPage();
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
    mkdirSync(TEST_OUTPUT_DIR, { recursive: true });
    writeFileSync(join(TEST_OUTPUT_DIR, 'canvas-codec-psnr.json'), `${JSON.stringify(measured, null, 2)}\n`);
  });

  async function openPage(): Promise<Page> {
    const fresh = await browser.newPage();
    await fresh.goto(`${origin}/`);
    await fresh.waitForFunction(() => 'portoon' in globalThis, undefined, { timeout: 10_000 });
    return fresh;
  }

  function pageDecode(bytes: Uint8Array, options: DecodeOptions = {}, on: Page = page): Promise<PageDecoded> {
    return on.evaluate(([b, o]) => (globalThis as unknown as PageApi).portoon.decode(b, o), [base64Of(bytes), options] as const);
  }

  async function browserDecode(bytes: Uint8Array, options: DecodeOptions = {}): Promise<BrowserDecoded> {
    const result = await pageDecode(bytes, options);
    if (!result.ok) throw failed(result);
    expect(result.channels).toBe(3);
    const image: RawImage = { width: result.width, height: result.height, channels: 3, data: bytesOf(result.rgb) };
    return { format: result.format, image, alpha: result.alpha === null ? undefined : bytesOf(result.alpha) };
  }

  /** The error code and message the browser codec refuses `bytes` with; fails the test when it decodes them. */
  async function refusal(bytes: Uint8Array, options: DecodeOptions = {}): Promise<PageFailure> {
    const result = await pageDecode(bytes, options);
    if (result.ok) throw new Error(`expected a refusal, but the browser decoded a ${result.width}x${result.height} ${result.format}`);
    return result;
  }

  async function browserEncode(image: RawImage, alpha: Uint8Array | undefined, format: string, on: Page = page): Promise<PageEncoded> {
    const pageImage: PageImage = {
      width: image.width,
      height: image.height,
      rgb: base64Of(image.data),
      alpha: alpha ? base64Of(alpha) : null,
    };
    return on.evaluate(([i, f, p]) => (globalThis as unknown as PageApi).portoon.encode(i, { format: f, quality: 90 }, p), [
      pageImage,
      format,
      PROVENANCE,
    ] as const);
  }

  async function encoded(image: RawImage, alpha: Uint8Array | undefined, format: string): Promise<Buffer> {
    const result = await browserEncode(image, alpha, format);
    if (!result.ok) throw failed(result);
    return Buffer.from(result.bytes, 'base64');
  }

  /** Decodes in the browser and with sharp (the Node codec) and records the PSNR between them. */
  async function compareWithSharp(name: string, bytes: Uint8Array): Promise<{ browser: BrowserDecoded; psnr: number }> {
    const [browserResult, node] = await Promise.all([browserDecode(bytes), decodeImage(bytes)]);
    expect([browserResult.image.width, browserResult.image.height]).toEqual([node.image.width, node.image.height]);
    expect(browserResult.format).toBe(node.format);
    const db = psnr(browserResult.image, node.image);
    record(name, db, node.image.width, node.image.height);
    return { browser: browserResult, psnr: db };
  }

  describe('decodes like sharp', () => {
    it.each([
      ['jpeg (512x512, EXIF)', '01-woman-mask-peace.jpg'],
      ['jpeg (1280x960, JFIF)', '12-group-selfie-cafe.jpeg'],
      ['png (RGB)', '02-man-studio-smile.png'],
      ['png (RGBA, opaque)', '18-torii-shrine-noface.png'],
    ])('%s', { timeout: 60_000 }, async (name, file) => {
      const bytes = await readPortrait(file);
      const { browser: decoded, psnr: db } = await compareWithSharp(name, bytes);
      expect(db).toBeGreaterThanOrEqual(MIN_PSNR_DB);
      // Every pixel of these photos is opaque: no alpha plane, as from the Node codec.
      expect(decoded.alpha).toBeUndefined();
    });

    it('webp, lossy', { timeout: 60_000 }, async () => {
      const bytes = await sharp(portrait('20-woman-curly-hair.png')).webp({ quality: 90 }).toBuffer();
      expect(bytes.subarray(12, 16).toString('latin1')).toBe('VP8 ');
      expect((await compareWithSharp('webp (lossy, 1024x1024)', bytes)).psnr).toBeGreaterThanOrEqual(MIN_PSNR_DB);
    });

    it(
      'webp, lossless with alpha: the alpha plane exactly, the colour of visible pixels within PSNR 40 dB',
      { timeout: 60_000 },
      async () => {
        const rgba = await withGradientAlpha(portrait('02-man-studio-smile.png'), 320, 240);
        const bytes = await rgba.webp({ lossless: true }).toBuffer();
        expect(bytes.subarray(12, 16).toString('latin1')).toBe('VP8L');
        const [decoded, node] = await Promise.all([browserDecode(bytes), decodeImage(bytes)]);
        expect(decoded.alpha).toBeDefined();
        expect(Buffer.from(decoded.alpha!).equals(Buffer.from(node.alpha!))).toBe(true);
        // A canvas stores colour premultiplied, so where alpha is 0 the colour is gone (invisible anyway).
        const visible = (a: number): boolean => a > 0;
        const db = psnr(masked(decoded.image, node.alpha!, visible), masked(node.image, node.alpha!, visible));
        record('webp (lossless, alpha gradient; visible pixels)', db, 320, 240);
        record('webp (lossless, alpha gradient; all pixels)', psnr(decoded.image, node.image), 320, 240);
        expect(db).toBeGreaterThanOrEqual(MIN_PSNR_DB);
      },
    );

    it('applies EXIF orientation 6 once, like sharp .rotate()', { timeout: 60_000 }, async () => {
      const bytes = await sharp(portrait('04-man-headshot-suit.jpg'))
        .resize(160, 96, { fit: 'fill' })
        .withMetadata({ orientation: 6 })
        .jpeg()
        .toBuffer();
      const upright = await sharp(bytes).rotate().raw().toBuffer({ resolveWithObject: true });
      expect([upright.info.width, upright.info.height]).toEqual([96, 160]);
      const decoded = await browserDecode(bytes);
      expect([decoded.image.width, decoded.image.height]).toEqual([96, 160]);
      const reference: RawImage = { width: 96, height: 160, channels: 3, data: new Uint8Array(upright.data) };
      const db = psnr(decoded.image, reference);
      record('jpeg (EXIF orientation 6)', db, 96, 160);
      expect(db).toBeGreaterThanOrEqual(MIN_PSNR_DB);
      // Turned the other way (orientation 8) it would be far off.
      expect(psnr(decoded.image, rotate180(reference))).toBeLessThan(25);
    });

    it('shrinks to maxSide with the core resize: bit-identical to resizing the full decode', { timeout: 60_000 }, async () => {
      const bytes = await readPortrait('20-woman-curly-hair.png');
      const [full, small] = await Promise.all([browserDecode(bytes), browserDecode(bytes, { maxSide: 300 })]);
      const fit = fitInside(1024, 1024, 300);
      expect([small.image.width, small.image.height]).toEqual([fit.width, fit.height]);
      const expected = resizeImage(full.image, fit.width, fit.height);
      expect(Buffer.from(small.image.data).equals(Buffer.from(expected.data))).toBe(true);
    });

    it('keeps the original size when maxSide is larger than the image', async () => {
      const bytes = await readPortrait('02-man-studio-smile.png');
      const decoded = await browserDecode(bytes, { maxSide: 2000 });
      expect([decoded.image.width, decoded.image.height]).toEqual([450, 450]);
    });

    it('reads a GIF (first frame) and a PNG without its IEND chunk, as the Node codec does', async () => {
      const base = sharp(portrait('01-woman-mask-peace.jpg')).resize(48, 64);
      const gif = await base.clone().gif().toBuffer();
      const png = await base.clone().png().toBuffer();
      expect((await compareWithSharp('gif (48x64)', gif)).psnr).toBeGreaterThanOrEqual(MIN_PSNR_DB);
      const cut = png.subarray(0, -12);
      const [browserResult, node] = await Promise.all([browserDecode(cut), decodeImage(cut)]);
      expect(Buffer.from(browserResult.image.data).equals(Buffer.from(node.image.data))).toBe(true);
    });

    it('reads an AVIF at the size sharp reads it', { timeout: 60_000 }, async () => {
      const bytes = await sharp(portrait('02-man-studio-smile.png')).avif({ quality: 80, effort: 0 }).toBuffer();
      const [decoded, node] = await Promise.all([browserDecode(bytes), decodeImage(bytes)]);
      expect([decoded.format, node.format]).toEqual(['avif', 'heif']);
      expect([decoded.image.width, decoded.image.height]).toEqual([node.image.width, node.image.height]);
      const db = psnr(decoded.image, node.image);
      record('avif (450x450)', db, 450, 450);
      expect(db).toBeGreaterThanOrEqual(MIN_PSNR_DB);
    });

    it('reads a BMP (bottom-up, 24-bit)', async () => {
      // 3x2 pixels: top row red, green, blue; bottom row white, black, grey.
      const decoded = await browserDecode(bmp24(3, 2, [255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 128, 128, 128]));
      expect([decoded.format, decoded.image.width, decoded.image.height]).toEqual(['bmp', 3, 2]);
      expect([...decoded.image.data]).toEqual([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 128, 128, 128]);
    });

    it('names the default output format as the Node codec does', async () => {
      const names = await page.evaluate(() =>
        ['jpeg', 'png', 'webp', 'gif', 'avif', 'bmp'].map((f) => (globalThis as unknown as PageApi).portoon.defaultFormat(f)),
      );
      expect(names).toEqual(['jpeg', 'png', 'webp', 'png', 'png', 'png']);
    });
  });

  describe('encodes with the AI-generated label', () => {
    let photo: RawImage;
    beforeAll(async () => {
      photo = (await decodeImage(await readPortrait('02-man-studio-smile.png'), { maxSide: 200 })).image;
    });

    it.each(['png', 'jpeg', 'webp'] as const)('%s: sharp reads the pixels and the provenance', { timeout: 60_000 }, async (format) => {
      const bytes = await encoded(photo, undefined, format);
      const meta = await sharp(bytes).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual([format, photo.width, photo.height]);
      expect(meta.xmp?.toString('utf8')).toBe(buildXmp(PROVENANCE));
      expect(extractXmp(bytes)).toBe(buildXmp(PROVENANCE));
      const provenance = readProvenance(meta.xmp!.toString('utf8'));
      expect(provenance).toEqual({ ...PROVENANCE, created: undefined, digitalSourceType: TRAINED_ALGORITHMIC_MEDIA });
      const back = (await decodeImage(bytes)).image;
      expect(psnr(back, photo)).toBeGreaterThanOrEqual(MIN_ROUND_TRIP_DB[format]);
    });

    it('png round trip is lossless, alpha plane included', { timeout: 60_000 }, async () => {
      const input = await decodeImage(await (await withGradientAlpha(portrait('02-man-studio-smile.png'), 160, 120)).png().toBuffer());
      expect(input.alpha).toBeDefined();
      const bytes = await encoded(input.image, input.alpha, 'png');
      const back = await decodeImage(bytes);
      expect(Buffer.from(back.alpha!).equals(Buffer.from(input.alpha!))).toBe(true);
      // Colour is exact wherever the pixel is opaque (the 8-bit canvas premultiplies the others).
      const opaquePixels = (a: number): boolean => a === 255;
      expect(psnr(masked(back.image, input.alpha!, opaquePixels), masked(input.image, input.alpha!, opaquePixels))).toBe(Infinity);
      record('png encode (alpha gradient; all pixels, vs input)', psnr(back.image, input.image), 160, 120);
      const opaque = await encoded(photo, undefined, 'png');
      expect(Buffer.from((await decodeImage(opaque)).image.data).equals(Buffer.from(photo.data))).toBe(true);
    });

    it('webp keeps the alpha plane; jpeg drops it', { timeout: 60_000 }, async () => {
      const input = await decodeImage(await (await withGradientAlpha(portrait('02-man-studio-smile.png'), 160, 120)).png().toBuffer());
      const webp = await encoded(input.image, input.alpha, 'webp');
      const jpeg = await encoded(input.image, input.alpha, 'jpeg');
      expect((await sharp(webp).metadata()).hasAlpha).toBe(true);
      expect((await sharp(jpeg).metadata()).hasAlpha).toBe(false);
      expect(readProvenance(extractXmp(webp)!).digitalSourceType).toBe(TRAINED_ALGORITHMIC_MEDIA);
      expect(psnr((await decodeImage(jpeg)).image, input.image)).toBeGreaterThanOrEqual(30);
    });

    it('refuses a format the canvas cannot write, naming the ones it can', async () => {
      const result = await browserEncode(photo, undefined, 'avif');
      expect(result).toMatchObject({ ok: false, code: 'E_UNSUPPORTED_FORMAT' });
      expect((result as PageFailure).message).toMatch(/cannot write avif.*png, jpeg, webp/);
    });

    it('notices a browser that silently answers PNG for the type it was asked for', { timeout: 30_000 }, async () => {
      const pngOnly = await openPage();
      try {
        await pngOnly.evaluate(PNG_ONLY_CANVAS);
        const result = await browserEncode(photo, undefined, 'webp', pngOnly);
        expect(result).toMatchObject({ ok: false, code: 'E_UNSUPPORTED_FORMAT' });
        expect((result as PageFailure).message).toMatch(/cannot write webp images; choose one of: png$/);
      } finally {
        await pngOnly.close();
      }
    });
  });

  describe('refuses what the Node codec refuses', () => {
    let small: Record<'jpeg' | 'png' | 'webp', Buffer>;
    beforeAll(async () => {
      const base = sharp(portrait('01-woman-mask-peace.jpg')).resize(48, 64);
      small = {
        jpeg: await base.clone().jpeg({ quality: 85 }).toBuffer(),
        png: await base.clone().png().toBuffer(),
        webp: await base.clone().webp().toBuffer(),
      };
    });

    it.each([
      ['empty input', () => Buffer.alloc(0), 'E_EMPTY_INPUT'],
      ['random bytes', () => randomBytes(4096, 7), 'E_UNSUPPORTED_FORMAT'],
      [
        'an SVG',
        () => Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><rect width="100" height="100"/></svg>'),
        'E_UNSUPPORTED_FORMAT',
      ],
      ['a text file', () => Buffer.from('Hello, this is not a photo.\n'.repeat(20)), 'E_UNSUPPORTED_FORMAT'],
      ['a text file that starts with "BM"', () => Buffer.from('BMW service history, 2019 to 2024.\n'.repeat(4)), 'E_UNSUPPORTED_FORMAT'],
      ['a PNG header declaring 100000x100000', () => pngBomb(100_000, 100_000), 'E_IMAGE_TOO_LARGE'],
      [
        'random bytes after a PNG signature',
        () => Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), randomBytes(512, 3)]),
        'E_DECODE_FAILED',
      ],
    ])('%s', { timeout: 20_000 }, async (_name, make, code) => {
      const bytes = make();
      const [browserResult, node] = await Promise.all([
        refusal(bytes),
        decodeImage(bytes).then(
          () => undefined,
          (e: { code: string }) => e.code,
        ),
      ]);
      expect(browserResult.code).toBe(code);
      expect(node).toBe(code);
    });

    it.each(['jpeg', 'png', 'webp'] as const)('%s cut short at several offsets', { timeout: 30_000 }, async (format) => {
      const bytes = small[format];
      const cuts = [0.1, 0.3, 0.5, 0.7, 0.9].map((f) => Math.floor(bytes.length * f));
      cuts.push(bytes.length - (format === 'png' ? 13 : 1));
      for (const cut of cuts) {
        const result = await refusal(bytes.subarray(0, cut));
        expect([cut, result.code]).toEqual([cut, 'E_DECODE_FAILED']);
        expect(result.message).toMatch(/damaged or truncated/);
      }
    });

    it('refuses a portrait over maxInputPixels, from its header, naming its size', async () => {
      const result = await refusal(await readPortrait('20-woman-curly-hair.png'), { maxInputPixels: 1_000_000 });
      expect(result.code).toBe('E_IMAGE_TOO_LARGE');
      expect(result.message).toBe(
        'The image is 1024x1024 (1.0 MP), more than the limit of 1.0 MP. Resize it first or raise the pixel limit.',
      );
    });

    it('refuses a JPEG whose frame header claims 65000x65000', async () => {
      const bytes = Buffer.from(small.jpeg);
      const sof = bytes.indexOf(Buffer.from([0xff, 0xc0]));
      expect(sof).toBeGreaterThan(0);
      bytes.writeUInt16BE(65_000, sof + 5);
      bytes.writeUInt16BE(65_000, sof + 7);
      expect((await refusal(bytes)).code).toBe('E_IMAGE_TOO_LARGE');
    });

    it('refuses a BMP whose header claims 30000x30000', async () => {
      const bytes = bmp24(3, 2, Array(18).fill(0));
      bytes.writeInt32LE(30_000, 18);
      bytes.writeInt32LE(-30_000, 22);
      expect((await refusal(bytes)).code).toBe('E_IMAGE_TOO_LARGE');
    });

    it('refuses TIFF and HEIF, which the browser does not read', async () => {
      const base = sharp(portrait('01-woman-mask-peace.jpg')).resize(48, 64);
      const tiff = await base.clone().tiff().toBuffer();
      // sharp writes no HEVC; an AVIF whose brands (major and compatible) all say HEIC stands in for one.
      const heif = Buffer.from(await base.clone().avif({ effort: 0 }).toBuffer());
      const ftypEnd = heif.readUInt32BE(0);
      for (let i = heif.indexOf('avif', 8, 'latin1'); i >= 0 && i < ftypEnd; i = heif.indexOf('avif', i + 4, 'latin1')) {
        heif.write('heic', i, 'latin1');
      }
      expect((await refusal(tiff)).code).toBe('E_UNSUPPORTED_FORMAT');
      expect((await refusal(heif)).code).toBe('E_UNSUPPORTED_FORMAT');
    });
  });
});

function readPortrait(file: string): Promise<Buffer> {
  return readFile(portrait(file));
}

/** A 24-bit Windows BMP of `rgb` (top row first), written out by hand: sharp writes no BMP. */
function bmp24(width: number, height: number, rgb: readonly number[]): Buffer {
  const stride = Math.ceil((width * 3) / 4) * 4;
  const header = Buffer.alloc(54);
  header.write('BM', 0, 'latin1');
  header.writeUInt32LE(54 + stride * height, 2);
  header.writeUInt32LE(54, 10); // pixel data offset
  header.writeUInt32LE(40, 14); // BITMAPINFOHEADER
  header.writeInt32LE(width, 18);
  header.writeInt32LE(height, 22); // positive: bottom-up rows
  header.writeUInt16LE(1, 26); // planes
  header.writeUInt16LE(24, 28); // bits per pixel
  const pixels = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const from = (y * width + x) * 3;
      const to = (height - 1 - y) * stride + x * 3;
      pixels[to] = rgb[from + 2]!;
      pixels[to + 1] = rgb[from + 1]!;
      pixels[to + 2] = rgb[from]!;
    }
  }
  return Buffer.concat([header, pixels]);
}

/** The image turned by 180 degrees. */
function rotate180(image: RawImage): RawImage {
  const n = image.width * image.height;
  const data = new Uint8Array(image.data.length);
  for (let i = 0; i < n; i++) data.set(image.data.subarray(i * 3, i * 3 + 3), (n - 1 - i) * 3);
  return { ...image, data };
}

/** A portrait at width x height with alpha running from 0 (left) to 255 (right), as raw RGBA for sharp. */
async function withGradientAlpha(path: string, width: number, height: number): Promise<Sharp> {
  const rgb = await sharp(path).resize(width, height, { fit: 'fill' }).removeAlpha().raw().toBuffer();
  const rgba = Buffer.alloc(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    rgb.copy(rgba, i * 4, i * 3, i * 3 + 3);
    rgba[i * 4 + 3] = Math.round(((i % width) / (width - 1)) * 255);
  }
  return sharp(rgba, { raw: { width, height, channels: 4 } });
}

/** The image with every pixel whose alpha fails `keep` set to black (to compare colour only where it counts). */
function masked(image: RawImage, alpha: Uint8Array, keep: (alpha: number) => boolean): RawImage {
  const data = image.data.slice();
  for (let i = 0; i < alpha.length; i++) if (!keep(alpha[i]!)) data.fill(0, i * 3, i * 3 + 3);
  return { ...image, data };
}
