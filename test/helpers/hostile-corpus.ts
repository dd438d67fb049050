/**
 * A corpus of bad and odd uploads, each with the one answer the service must give: a documented error
 * code (its HTTP status comes from the error table), or 200 with the size of the result. Every file is
 * derived from a real portrait (resized small, re-encoded, cut, patched) or written out by hand
 * (vector and document formats, polyglots, broken multipart framing); nothing is random, so a failure
 * names the same input on every run.
 */
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import sharp, { type Sharp } from 'sharp';
import type { ErrorCode } from '../../src/core/errors.js';
import { pngBomb } from './images.js';
import { multipart, type FilePart } from './multipart.js';

export interface HostileRequest {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  payload?: Buffer;
}

/** Either a documented error code, or success with the result's size (after EXIF orientation). */
export type Expected = { code: ErrorCode } | { status: 200; width: number; height: number };

export interface HostileCase {
  /** Unique; "group/detail". */
  name: string;
  request: HostileRequest;
  expected: Expected;
}

export interface CorpusOptions {
  /** A real photo every image case is made from. */
  photo: Buffer;
  /** The service's upload limit (`maxUploadMb`), for the oversize cases. */
  maxUploadBytes: number;
  /** A served style (model-free keeps the corpus fast). */
  style: string;
}

/** Size of the generated images: small (fast) and not square (orientation shows in the result). */
export const W = 48;
export const H = 64;
/** The `maxSide` asked for; valid images are at most this size, so the result keeps their size. */
export const MAX_SIDE = 64;

const CARTOON = '/api/v1/cartoon';

const fail = (code: ErrorCode): Expected => ({ code });
const ok = (width: number, height: number): Expected => ({ status: 200, width, height });

/**
 * Offsets to cut a file at: many spread over its body, plus the first bytes after the signature.
 * Only offsets at or past the signature (a shorter prefix is not recognisable as anything: 415,
 * covered separately) and before the end marker (a PNG without IEND or a GIF without its trailer
 * still holds every pixel, also covered separately).
 */
function cutOffsets(length: number, signature: number, trailer: number, count = 20): number[] {
  const end = length - trailer;
  const offsets = new Set<number>([signature, signature + 1, signature + 7, 32, 100, end - 1]);
  for (let i = 1; i < count; i++) offsets.add(Math.floor(signature + ((end - signature) * i) / count));
  return [...offsets].filter((offset) => offset >= signature && offset < end).sort((a, b) => a - b);
}

/** A JPEG with the frame size in its SOF marker replaced (the scan data stays as it was). */
function withJpegSize(jpeg: Buffer, width: number, height: number): Buffer {
  const bytes = Buffer.from(jpeg);
  for (let i = 2; i + 4 < bytes.length;) {
    const marker = bytes[i + 1]!;
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame) {
      bytes.writeUInt16BE(height, i + 5);
      bytes.writeUInt16BE(width, i + 7);
      return bytes;
    }
    i += 2 + bytes.readUInt16BE(i + 2);
  }
  throw new Error('no SOF marker');
}

/** A little-endian TIFF with ImageWidth and ImageLength in its first directory replaced. */
function withTiffSize(tiff: Buffer, width: number, height: number): Buffer {
  const bytes = Buffer.from(tiff);
  const ifd = bytes.readUInt32LE(4);
  for (let k = 0; k < bytes.readUInt16LE(ifd); k++) {
    const entry = ifd + 2 + 12 * k;
    const tag = bytes.readUInt16LE(entry);
    if (tag !== 256 && tag !== 257) continue;
    bytes.writeUInt16LE(4, entry + 2); // LONG
    bytes.writeUInt32LE(1, entry + 4);
    bytes.writeUInt32LE(tag === 256 ? width : height, entry + 8);
  }
  return bytes;
}

/** A GIF with both the logical screen and the first frame's size replaced. */
function withGifSize(gif: Buffer, width: number, height: number): Buffer {
  const bytes = Buffer.from(gif);
  let i = 13;
  if (bytes[10]! & 0x80) i += 3 * 2 ** ((bytes[10]! & 7) + 1);
  while (bytes[i] === 0x21) {
    i += 2;
    while (bytes[i] !== 0) i += bytes[i]! + 1;
    i += 1;
  }
  if (bytes[i] !== 0x2c) throw new Error('no GIF image descriptor');
  for (const at of [6, i + 5]) {
    bytes.writeUInt16LE(width, at);
    bytes.writeUInt16LE(height, at + 2);
  }
  return bytes;
}

/** A lossy WebP ("VP8 " chunk first) with the frame size in its key-frame header replaced. */
function withWebpSize(webp: Buffer, width: number, height: number): Buffer {
  const bytes = Buffer.from(webp);
  if (bytes.toString('latin1', 12, 16) !== 'VP8 ') throw new Error('not a simple lossy WebP');
  bytes.writeUInt16LE(width & 0x3fff, 26);
  bytes.writeUInt16LE(height & 0x3fff, 28);
  return bytes;
}

/** An AVIF with the size in its first `ispe` (image spatial extents) box replaced. */
function withAvifSize(avif: Buffer, width: number, height: number): Buffer {
  const bytes = Buffer.from(avif);
  const at = bytes.indexOf('ispe', 0, 'latin1');
  bytes.writeUInt32BE(width, at + 8);
  bytes.writeUInt32BE(height, at + 12);
  return bytes;
}

const text = (value: string): Buffer => Buffer.from(value, 'utf8');
const latin1 = (value: string): Buffer => Buffer.from(value, 'latin1');

const SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64" fill="#c84"/></svg>';
/** The shape of the reported attack: a tiny SVG whose filter makes the rasterizer work for minutes. */
const SVG_FILTER =
  '<svg xmlns="http://www.w3.org/2000/svg" width="30000" height="30000"><filter id="f"><feTurbulence baseFrequency=".9" numOctaves="40"/><feGaussianBlur stdDeviation="999"/></filter><rect width="100%" height="100%" filter="url(#f)"/></svg>';
const SVG_XXE =
  '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><text y="20">&xxe;</text></svg>';
const SVG_LAUGHS =
  '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]><svg xmlns="http://www.w3.org/2000/svg"><text>&d;</text></svg>';
const SVG_HREF =
  '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="64" height="64"><image xlink:href="file:///etc/passwd" width="64" height="64"/></svg>';
const PDF =
  '%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 30000 30000]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n';
const EPS = '%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 30000 30000\nnewpath 0 0 moveto 30000 30000 lineto stroke\nshowpage\n%%EOF\n';

/** Files that are not raster images of an accepted type, whatever their name or declared type says. */
function notRaster(): Array<[string, Buffer]> {
  const vipsHeader = Buffer.alloc(64);
  vipsHeader.writeUInt32BE(0x08f2a6b6, 0);
  const vipsHeaderLe = Buffer.alloc(64);
  vipsHeaderLe.writeUInt32LE(0x08f2a6b6, 0);
  const dicom = Buffer.concat([Buffer.alloc(128), latin1('DICM'), Buffer.alloc(64, 1)]);
  return [
    ['svg', text(SVG)],
    ['svg-filter-attack', text(SVG_FILTER)],
    ['svg-xxe', text(SVG_XXE)],
    ['svg-billion-laughs', text(SVG_LAUGHS)],
    ['svg-external-href', text(SVG_HREF)],
    ['svg-xml-prolog', text(`<?xml version="1.0" encoding="UTF-8"?>\n${SVG}`)],
    ['svg-doctype', text(`<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">${SVG}`)],
    ['svg-bom', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), text(SVG)])],
    ['svg-leading-space', text(`\n\n   \t${SVG}`)],
    ['svg-utf16', Buffer.from(`\ufeff${SVG}`, 'utf16le')],
    ['svg-comment-first', text(`<!-- a photo --><svg${SVG.slice(4)}`)],
    ['svgz', gzipSync(text(SVG))],
    ['svgz-filter-attack', gzipSync(text(SVG_FILTER))],
    ['pdf', text(PDF)],
    ['pdf-leading-junk', text(`junk\n${PDF}`)],
    ['eps', text(EPS)],
    ['postscript', text('%!PS\n/Times-Roman findfont 12 scalefont setfont 72 72 moveto (hi) show showpage\n')],
    ['eps-binary-dos', Buffer.concat([Buffer.from([0xc5, 0xd0, 0xd3, 0xc6]), Buffer.alloc(28), text(EPS)])],
    ['fits', text(`${'SIMPLE  =                    T'.padEnd(80)}${'BITPIX  =                    8'.padEnd(80)}${'END'.padEnd(80)}`)],
    ['vips-native', vipsHeader],
    ['vips-native-le', vipsHeaderLe],
    ['matrix-text', text('3 3\n1 2 3\n4 5 6\n7 8 9\n')],
    ['csv', text('1,2,3\n4,5,6\n7,8,9\n')],
    ['ppm', Buffer.concat([text('P6\n4 4\n255\n'), Buffer.alloc(48, 0x80)])],
    ['pgm', Buffer.concat([text('P5\n4 4\n255\n'), Buffer.alloc(16, 0x80)])],
    ['pbm-text', text('P1\n4 4\n0 1 0 1\n1 0 1 0\n0 1 0 1\n1 0 1 0\n')],
    ['pfm', Buffer.concat([text('PF\n2 2\n-1.0\n'), Buffer.alloc(48)])],
    ['radiance', text('#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 2 +X 2\n')],
    ['bmp', Buffer.concat([latin1('BM'), Buffer.alloc(60, 0x10)])],
    ['ico', Buffer.concat([Buffer.from([0, 0, 1, 0, 1, 0]), Buffer.alloc(60, 0x20)])],
    ['psd', Buffer.concat([latin1('8BPS'), Buffer.from([0, 1]), Buffer.alloc(60)])],
    ['jpeg2000', Buffer.concat([Buffer.from([0, 0, 0, 0x0c]), latin1('jP  \r\n\x87\n'), Buffer.alloc(40)])],
    ['j2k-codestream', Buffer.concat([Buffer.from([0xff, 0x4f, 0xff, 0x51]), Buffer.alloc(40)])],
    ['jpeg-xl', Buffer.concat([Buffer.from([0xff, 0x0a]), Buffer.alloc(40, 0x7f)])],
    ['openexr', Buffer.concat([Buffer.from([0x76, 0x2f, 0x31, 0x01]), Buffer.alloc(40)])],
    ['qoi', Buffer.concat([latin1('qoif'), Buffer.alloc(40)])],
    ['dicom', dicom],
    ['heif-unknown-brand', Buffer.concat([latin1('\0\0\0\x18ftypqqqq\0\0\0\0mif1qqqq'), Buffer.alloc(40)])],
    ['riff-wave', Buffer.concat([latin1('RIFF\x24\0\0\0WAVEfmt '), Buffer.alloc(40)])],
    ['gif-bad-version', Buffer.concat([latin1('GIF88a'), Buffer.alloc(40)])],
    ['jpeg-no-third-ff', Buffer.concat([Buffer.from([0xff, 0xd8, 0xfe]), Buffer.alloc(40)])],
    ['zip', Buffer.concat([latin1('PK\x03\x04\x14\0\0\0\0\0'), Buffer.alloc(40, 0x41)])],
    ['gzip', gzipSync(text('not an svg, just text'))],
    ['html', text('<!doctype html><html><body><img src=x onerror=alert(1)></body></html>')],
    ['json', text('{"image":"data:image/png;base64,iVBORw0KGgo="}')],
    ['text', text('hello, I am a text file pretending to be a photo\n')],
    ['one-byte', Buffer.from([0xff])],
    ['two-bytes-jpeg-soi', Buffer.from([0xff, 0xd8])],
    ['png-signature-half', Buffer.from([0x89, 0x50, 0x4e, 0x47])],
    ['webp-riff-only', latin1('RIFF\x10\0\0\0')],
    ['avif-box-size-only', latin1('\0\0\0\x18ftypavi')],
    ['zeros', Buffer.alloc(256)],
    ['noise', Buffer.from(Array.from({ length: 1024 }, (_, i) => (i * 2654435761) >>> 24))],
  ];
}

export async function buildHostileCorpus(options: CorpusOptions): Promise<HostileCase[]> {
  const { photo, style } = options;
  const fields = { style, maxSide: String(MAX_SIDE) };
  const cases: HostileCase[] = [];
  const upload = async (name: string, file: FilePart, expected: Expected, extra: Record<string, string> = {}): Promise<void> => {
    const body = await multipart({ ...fields, ...extra }, { filename: 'photo.jpg', type: 'image/jpeg', ...file });
    cases.push({ name, request: { method: 'POST', url: CARTOON, headers: body.headers, payload: body.payload }, expected });
  };
  const raw = (name: string, headers: Record<string, string>, payload: Buffer | undefined, expected: Expected, url = CARTOON): void => {
    cases.push({ name, request: { method: 'POST', url, headers, ...(payload ? { payload } : {}) }, expected });
  };

  const base = sharp(photo).resize(W, H);
  const encoded = {
    jpeg: await base.clone().jpeg({ quality: 85 }).toBuffer(),
    'jpeg-progressive': await base.clone().jpeg({ progressive: true }).toBuffer(),
    png: await base.clone().png().toBuffer(),
    webp: await base.clone().webp().toBuffer(),
    'webp-lossless': await base.clone().webp({ lossless: true }).toBuffer(),
    avif: await base.clone().avif({ effort: 0 }).toBuffer(),
    gif: await base.clone().gif().toBuffer(),
    tiff: await base.clone().tiff({ compression: 'deflate' }).toBuffer(),
  };
  // sharp writes HEIF only as AV1 (no HEVC encoder); a HEIF file with the generic "mif1" brand.
  const heif = Buffer.from(encoded.avif);
  heif.write('mif1', 8, 'latin1');

  // --- Truncations: once the first bytes name a raster format, a cut file is damaged (422). ---
  const signatures: Record<keyof typeof encoded, [signature: number, trailer: number]> = {
    jpeg: [3, 0],
    'jpeg-progressive': [3, 0],
    png: [8, 12],
    webp: [12, 0],
    'webp-lossless': [12, 0],
    avif: [12, 0],
    gif: [6, 1],
    tiff: [4, 0],
  };
  for (const [format, bytes] of Object.entries(encoded) as Array<[keyof typeof encoded, Buffer]>) {
    const [signature, trailer] = signatures[format];
    const count = format === 'jpeg' || format === 'png' || format === 'avif' || format === 'tiff' ? 28 : 16;
    for (const offset of cutOffsets(bytes.length, signature, trailer, count)) {
      await upload(`truncated/${format}@${offset}of${bytes.length}`, { bytes: bytes.subarray(0, offset) }, fail('E_DECODE_FAILED'));
    }
  }
  for (const offset of cutOffsets(heif.length, 12, 0, 8)) {
    await upload(`truncated/heif-mif1@${offset}of${heif.length}`, { bytes: heif.subarray(0, offset) }, fail('E_DECODE_FAILED'));
  }
  // Only the end marker missing: every pixel is there.
  await upload('complete-pixels/png-without-iend', { bytes: encoded.png.subarray(0, -12) }, ok(W, H));
  await upload('complete-pixels/gif-without-trailer', { bytes: encoded.gif.subarray(0, -1) }, ok(W, H));

  // --- Decompression bombs and size lies. ---
  await upload('bomb/png-30000x30000', { bytes: pngBomb(30_000, 30_000) }, fail('E_IMAGE_TOO_LARGE'));
  await upload('bomb/png-100000x1000', { bytes: pngBomb(100_000, 1000) }, fail('E_IMAGE_TOO_LARGE'));
  await upload('bomb/png-1x100000000', { bytes: pngBomb(1, 100_000_000) }, fail('E_IMAGE_TOO_LARGE'));
  await upload('bomb/jpeg-sof-65000x65000', { bytes: withJpegSize(encoded.jpeg, 65_000, 65_000) }, fail('E_IMAGE_TOO_LARGE'));
  await upload('bomb/webp-16383x16383', { bytes: withWebpSize(encoded.webp, 16_383, 16_383) }, fail('E_IMAGE_TOO_LARGE'));
  await upload('bomb/gif-65535x65535', { bytes: withGifSize(encoded.gif, 65_535, 65_535) }, fail('E_IMAGE_TOO_LARGE'));
  await upload('bomb/tiff-100000x100000', { bytes: withTiffSize(encoded.tiff, 100_000, 100_000) }, fail('E_IMAGE_TOO_LARGE'));
  await upload('bomb/avif-100000x100000', { bytes: withAvifSize(encoded.avif, 100_000, 100_000) }, fail('E_IMAGE_TOO_LARGE'));
  // Under the pixel limit, but the header claims far more pixels than the data holds: damage, found
  // while decoding (in the worker), in milliseconds rather than a whole pipeline run on filler.
  const jpeg256 = await sharp(photo).resize(256, 256).jpeg().toBuffer();
  await upload('size-lie/jpeg-2000x2000-over-256px', { bytes: withJpegSize(jpeg256, 2000, 2000) }, fail('E_DECODE_FAILED'));
  await upload('size-lie/jpeg-4000x3000-over-48x64', { bytes: withJpegSize(encoded.jpeg, 4000, 3000) }, fail('E_DECODE_FAILED'));
  await upload('size-lie/png-4000x4000', { bytes: pngBomb(4000, 4000) }, fail('E_DECODE_FAILED'));
  await upload('size-lie/tiff-2000x2000', { bytes: withTiffSize(encoded.tiff, 2000, 2000) }, fail('E_DECODE_FAILED'));
  await upload('size-lie/avif-2000x2000', { bytes: withAvifSize(encoded.avif, 2000, 2000) }, fail('E_DECODE_FAILED'));
  await upload('size-lie/webp-2000x2000', { bytes: withWebpSize(encoded.webp, 2000, 2000) }, fail('E_DECODE_FAILED'));

  // --- Vector, document and other formats: refused from the first bytes (415). ---
  for (const [name, bytes] of notRaster()) await upload(`not-raster/${name}`, { bytes }, fail('E_UNSUPPORTED_FORMAT'));
  // A video's header (an MP4 here) is not a photo either, and the answer says where videos go: the jobs API.
  const mp4Header = Buffer.concat([latin1('\0\0\0\x18ftypisom\0\0\x02\0isomiso2'), Buffer.alloc(40)]);
  await upload('not-raster/mp4', { bytes: mp4Header }, fail('E_VIDEO_NEEDS_JOB'));
  // The name and declared type do not matter, only the content.
  await upload('disguised/svg-as-png', { bytes: text(SVG), filename: 'photo.png', type: 'image/png' }, fail('E_UNSUPPORTED_FORMAT'));
  await upload(
    'disguised/svg-filter-as-jpeg',
    { bytes: text(SVG_FILTER), filename: 'me.jpg', type: 'image/jpeg' },
    fail('E_UNSUPPORTED_FORMAT'),
  );
  await upload(
    'disguised/svgz-as-webp',
    { bytes: gzipSync(text(SVG)), filename: 'a.webp', type: 'image/webp' },
    fail('E_UNSUPPORTED_FORMAT'),
  );
  await upload('disguised/pdf-as-jpeg', { bytes: text(PDF), filename: 'scan.jpg', type: 'image/jpeg' }, fail('E_UNSUPPORTED_FORMAT'));
  await upload('disguised/jpeg-as-svg', { bytes: encoded.jpeg, filename: 'x.svg', type: 'image/svg+xml' }, ok(W, H));
  await upload('disguised/png-no-extension', { bytes: encoded.png, filename: 'upload', type: 'application/octet-stream' }, ok(W, H));
  await upload('disguised/traversal-filename', { bytes: encoded.jpeg, filename: '../../etc/passwd.jpg' }, ok(W, H));
  await upload('empty-file', { bytes: new Uint8Array(0) }, fail('E_EMPTY_INPUT'));

  // --- Polyglots: what the first bytes say decides; what follows a complete image is ignored. ---
  const after = (image: Buffer, tail: string | Buffer): Buffer => Buffer.concat([image, typeof tail === 'string' ? latin1(tail) : tail]);
  const zip = latin1(
    `PK\x03\x04\x14\0\0\0\0\0\0\0\0\0${'\0'.repeat(12)}\x05\0\0\0a.php<?php system($_GET[c]); ?>PK\x05\x06${'\0'.repeat(18)}`,
  );
  await upload('polyglot/jpeg+zip', { bytes: after(encoded.jpeg, zip) }, ok(W, H));
  await upload('polyglot/jpeg+pdf', { bytes: after(encoded.jpeg, PDF) }, ok(W, H));
  await upload('polyglot/png+html', { bytes: after(encoded.png, '<html><script>alert(document.cookie)</script></html>') }, ok(W, H));
  await upload('polyglot/gif+js', { bytes: after(encoded.gif, '\n*/=1;alert(document.domain);//') }, ok(W, H));
  await upload('polyglot/webp+svg', { bytes: after(encoded.webp, SVG) }, ok(W, H));
  await upload('polyglot/zip+jpeg', { bytes: Buffer.concat([zip, encoded.jpeg]) }, fail('E_UNSUPPORTED_FORMAT'));
  await upload('polyglot/pdf+jpeg', { bytes: Buffer.concat([text(PDF), encoded.jpeg]) }, fail('E_UNSUPPORTED_FORMAT'));
  await upload('polyglot/html+png', { bytes: Buffer.concat([text('<html><!--'), encoded.png]) }, fail('E_UNSUPPORTED_FORMAT'));
  await upload('polyglot/svg+png', { bytes: Buffer.concat([text(SVG), encoded.png]) }, fail('E_UNSUPPORTED_FORMAT'));
  // A raster signature with something else behind it: read as that format, so damaged.
  await upload('polyglot/gif-header-js', { bytes: latin1('GIF89a/*\0\0\0\0*/=1;alert(document.domain);//') }, fail('E_DECODE_FAILED'));
  const sig = (bytes: number[] | string, rest: string): Buffer =>
    Buffer.concat([typeof bytes === 'string' ? latin1(bytes) : Buffer.from(bytes), text(rest)]);
  await upload(
    'polyglot/png-signature+svg',
    { bytes: sig([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], SVG) },
    fail('E_DECODE_FAILED'),
  );
  await upload('polyglot/jpeg-signature+svg', { bytes: sig([0xff, 0xd8, 0xff], SVG) }, fail('E_DECODE_FAILED'));
  await upload('polyglot/tiff-signature+svg', { bytes: sig('II*\0', SVG) }, fail('E_DECODE_FAILED'));
  await upload('polyglot/tiff-be-signature+pdf', { bytes: sig('MM\0*', PDF) }, fail('E_DECODE_FAILED'));
  await upload('polyglot/webp-riff+svg', { bytes: sig('RIFF\x10\0\0\0WEBP', SVG) }, fail('E_DECODE_FAILED'));
  await upload('polyglot/avif-ftyp+svg', { bytes: sig('\0\0\0\x18ftypavif\0\0\0\0mif1avif', SVG) }, fail('E_DECODE_FAILED'));
  await upload('polyglot/gif-signature+svg', { bytes: sig('GIF89a', SVG) }, fail('E_DECODE_FAILED'));
  const phpComment = await base
    .clone()
    .jpeg()
    .withMetadata({ exif: { IFD0: { ImageDescription: '<?php echo 1; ?><script>x</script>' } } })
    .toBuffer();
  await upload('polyglot/jpeg-exif-php', { bytes: phpComment }, ok(W, H));

  // --- Valid but odd images: all decode, at their own size (EXIF orientation applied). ---
  const solid = (width: number, height: number, channels: 3 | 4 = 3): Sharp =>
    sharp({ create: { width, height, channels, background: { r: 200, g: 120, b: 60, alpha: 0.5 } } });
  const valid: Array<[string, Promise<Buffer> | Buffer, number, number]> = [
    ['jpeg', encoded.jpeg, W, H],
    ['jpeg-progressive', encoded['jpeg-progressive'], W, H],
    ['jpeg-420', base.clone().jpeg({ chromaSubsampling: '4:2:0' }).toBuffer(), W, H],
    ['jpeg-444', base.clone().jpeg({ chromaSubsampling: '4:4:4', quality: 95 }).toBuffer(), W, H],
    ['jpeg-grey', base.clone().greyscale().jpeg().toBuffer(), W, H],
    ['jpeg-cmyk', base.clone().toColourspace('cmyk').jpeg().toBuffer(), W, H],
    ['jpeg-icc-p3', base.clone().withIccProfile('p3').jpeg().toBuffer(), W, H],
    ['png', encoded.png, W, H],
    ['png-interlaced', base.clone().png({ progressive: true }).toBuffer(), W, H],
    ['png-16bit', base.clone().toColourspace('rgb16').png().toBuffer(), W, H],
    ['png-16bit-grey', base.clone().toColourspace('grey16').png().toBuffer(), W, H],
    ['png-grey', base.clone().greyscale().png().toBuffer(), W, H],
    ['png-grey-alpha', base.clone().greyscale().ensureAlpha(0.5).png().toBuffer(), W, H],
    ['png-palette', base.clone().png({ palette: true }).toBuffer(), W, H],
    ['png-palette-2-colours', base.clone().png({ palette: true, colours: 2 }).toBuffer(), W, H],
    ['png-alpha', base.clone().ensureAlpha(0.5).png().toBuffer(), W, H],
    ['png-fully-transparent', solid(W, H, 4).png().toBuffer(), W, H],
    ['png-1x64', solid(1, 64).png().toBuffer(), 1, 64],
    ['png-64x1', solid(64, 1).png().toBuffer(), 64, 1],
    ['jpeg-1x48', solid(1, 48).jpeg().toBuffer(), 1, 48],
    ['jpeg-48x1', solid(48, 1).jpeg().toBuffer(), 48, 1],
    ['png-1x1', solid(1, 1).png().toBuffer(), 1, 1],
    ['png-3000x2000-shrunk', solid(3000, 2000).png().toBuffer(), 64, 43],
    ['webp', encoded.webp, W, H],
    ['webp-lossless', encoded['webp-lossless'], W, H],
    ['webp-alpha', base.clone().ensureAlpha(0.5).webp().toBuffer(), W, H],
    ['avif', encoded.avif, W, H],
    ['heif-mif1', heif, W, H],
    ['gif', encoded.gif, W, H],
    ['tiff-deflate', encoded.tiff, W, H],
    ['tiff-lzw', base.clone().tiff({ compression: 'lzw' }).toBuffer(), W, H],
    ['tiff-jpeg', base.clone().tiff({ compression: 'jpeg' }).toBuffer(), W, H],
    ['tiff-uncompressed', base.clone().tiff({ compression: 'none' }).toBuffer(), W, H],
    ['tiff-16bit', base.clone().toColourspace('rgb16').tiff().toBuffer(), W, H],
    ['tiff-cmyk', base.clone().toColourspace('cmyk').tiff().toBuffer(), W, H],
    ['tiff-alpha', base.clone().ensureAlpha(0.5).tiff().toBuffer(), W, H],
    ['bigtiff', base.clone().tiff({ bigtiff: true }).toBuffer(), W, H],
    ['webp-exif-orientation-6', base.clone().webp().withMetadata({ orientation: 6 }).toBuffer(), H, W],
    ['png-exif-orientation-8', base.clone().png().withMetadata({ orientation: 8 }).toBuffer(), H, W],
    ['tiff-exif-orientation-5', base.clone().tiff().withMetadata({ orientation: 5 }).toBuffer(), H, W],
  ];
  for (let orientation = 1; orientation <= 8; orientation++) {
    const turned = orientation >= 5;
    valid.push([
      `jpeg-exif-orientation-${orientation}`,
      base.clone().jpeg().withMetadata({ orientation }).toBuffer(),
      turned ? H : W,
      turned ? W : H,
    ]);
  }
  const frames = [await base.clone().png().toBuffer(), await base.clone().negate().png().toBuffer()];
  valid.push([
    'gif-animated',
    sharp(frames, { join: { animated: true } })
      .gif()
      .toBuffer(),
    W,
    H,
  ]);
  valid.push([
    'webp-animated',
    sharp(frames, { join: { animated: true } })
      .webp()
      .toBuffer(),
    W,
    H,
  ]);
  const pages = await sharp(frames, { join: { animated: true } })
    .tiff()
    .toBuffer();
  valid.push(['tiff-two-pages', pages, W, H]);
  for (const [name, bytes, width, height] of valid) await upload(`valid/${name}`, { bytes: await bytes }, ok(width, height));

  // --- Form fields: duplicates, wrong names, unknown and hostile names (400). ---
  const photoFile = { bytes: encoded.jpeg };
  const form = async (name: string, entries: Array<[string, string]>, files: FilePart[], expected: Expected): Promise<void> => {
    const body = await multipart(entries, ...files);
    cases.push({ name, request: { method: 'POST', url: CARTOON, headers: body.headers, payload: body.payload }, expected });
  };
  const styleAndSide: Array<[string, string]> = [
    ['style', style],
    ['maxSide', String(MAX_SIDE)],
  ];
  await form('fields/style-twice', [...styleAndSide, ['style', style]], [photoFile], fail('E_BAD_OPTION'));
  await form('fields/max-side-twice', [...styleAndSide, ['maxSide', '32']], [photoFile], fail('E_BAD_OPTION'));
  await form('fields/image-twice', styleAndSide, [photoFile, photoFile], fail('E_BAD_OPTION'));
  await form('fields/image-as-text', [...styleAndSide, ['image', 'photo.jpg']], [], fail('E_BAD_OPTION'));
  await form('fields/file-in-photo-field', styleAndSide, [{ ...photoFile, field: 'photo' }], fail('E_BAD_OPTION'));
  await form('fields/file-in-style-field', [['maxSide', '64']], [{ ...photoFile, field: 'style' }], fail('E_BAD_OPTION'));
  await form('fields/no-file', styleAndSide, [], fail('E_BAD_OPTION'));
  await form('fields/no-style', [['maxSide', '64']], [photoFile], fail('E_BAD_OPTION'));
  await form('fields/unknown-field', [...styleAndSide, ['strenght', '1']], [photoFile], fail('E_BAD_OPTION'));
  await form('fields/proto', [['__proto__', '{"polluted":true}'], ...styleAndSide], [photoFile], fail('E_BAD_OPTION'));
  await form('fields/constructor', [['constructor', 'x'], ...styleAndSide], [photoFile], fail('E_BAD_OPTION'));
  await form('fields/empty-name', [['', 'x'], ...styleAndSide], [photoFile], fail('E_BAD_OPTION'));
  await form('fields/style-too-long', [['style', 'x'.repeat(2000)]], [photoFile], fail('E_BAD_OPTION'));
  await form(
    'fields/max-side-not-a-number',
    [
      ['style', style],
      ['maxSide', 'big'],
    ],
    [photoFile],
    fail('E_BAD_OPTION'),
  );
  await form(
    'fields/unknown-style',
    [
      ['style', 'ghibli'],
      ['maxSide', '64'],
    ],
    [photoFile],
    fail('E_UNKNOWN_STYLE'),
  );
  await form(
    'fields/too-many',
    [...styleAndSide, ...Array.from({ length: 20 }, (_, i): [string, string] => [`x${i}`, 'y'])],
    [photoFile],
    fail('E_BAD_OPTION'),
  );

  // --- Multipart framing (400 E_BAD_REQUEST when the body cannot be parsed). ---
  const boundary = 'portoon-hostile-boundary';
  const mp = (b: string = boundary): Record<string, string> => ({ 'content-type': `multipart/form-data; boundary=${b}` });
  const part = (name: string, value: string, b = boundary): string =>
    `--${b}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  const filePart = (b = boundary): Buffer =>
    Buffer.concat([
      latin1(`--${b}\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`),
      encoded.jpeg,
      latin1('\r\n'),
    ]);
  const wellFormed = (b = boundary): Buffer =>
    Buffer.concat([latin1(part('style', style, b) + part('maxSide', '64', b)), filePart(b), latin1(`--${b}--\r\n`)]);
  raw('framing/no-boundary', { 'content-type': 'multipart/form-data' }, wellFormed(), fail('E_BAD_REQUEST'));
  raw('framing/empty-boundary', { 'content-type': 'multipart/form-data; boundary=' }, wellFormed(), fail('E_BAD_REQUEST'));
  raw('framing/boundary-300-chars', mp('b'.repeat(300)), wellFormed('b'.repeat(300)), fail('E_BAD_REQUEST'));
  raw('framing/wrong-boundary', mp('not-the-one-in-the-body'), wellFormed(), fail('E_BAD_REQUEST'));
  raw('framing/no-closing-boundary', mp(), wellFormed().subarray(0, -(boundary.length + 6)), fail('E_BAD_REQUEST'));
  raw('framing/cut-inside-file', mp(), wellFormed().subarray(0, 400), fail('E_BAD_REQUEST'));
  raw('framing/garbage-body', mp(), text('this is not a multipart body at all, just words '.repeat(20)), fail('E_BAD_REQUEST'));
  raw('framing/binary-garbage-body', mp(), encoded.jpeg, fail('E_BAD_REQUEST'));
  raw(
    'framing/header-only-part',
    mp(),
    latin1(`--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\n`),
    fail('E_BAD_REQUEST'),
  );
  raw(
    'framing/part-headers-never-end',
    mp(),
    latin1(`--${boundary}\r\nContent-Disposition: form-data; name="style"\r\nX: ${'y'.repeat(500)}`),
    fail('E_BAD_REQUEST'),
  );
  raw('framing/lf-only-line-ends', mp(), latin1(wellFormed().toString('latin1').replaceAll('\r\n', '\n')), fail('E_BAD_REQUEST'));
  raw('framing/empty-body', mp(), Buffer.alloc(0), fail('E_BAD_OPTION'));
  raw('framing/only-closing-boundary', mp(), latin1(`--${boundary}--\r\n`), fail('E_BAD_OPTION'));
  raw(
    'framing/part-without-disposition',
    mp(),
    Buffer.concat([latin1(`--${boundary}\r\nContent-Type: image/jpeg\r\n\r\n`), encoded.jpeg, latin1(`\r\n--${boundary}--\r\n`)]),
    fail('E_BAD_OPTION'),
  );
  raw(
    'framing/json-field-not-json',
    mp(),
    Buffer.concat([
      latin1(`--${boundary}\r\nContent-Disposition: form-data; name="style"\r\nContent-Type: application/json\r\n\r\n{nope\r\n`),
      filePart(),
      latin1(`--${boundary}--\r\n`),
    ]),
    fail('E_BAD_REQUEST'),
  );
  // Still well-formed: a quoted boundary, and a preamble and epilogue around the parts (RFC 2046).
  raw('framing-valid/quoted-boundary', { 'content-type': `multipart/form-data; boundary="${boundary}"` }, wellFormed(), ok(W, H));
  raw(
    'framing-valid/preamble-epilogue',
    mp(),
    Buffer.concat([latin1('preamble to ignore\r\n'), wellFormed(), latin1('epilogue to ignore')]),
    ok(W, H),
  );

  // --- Not multipart at all (415). ---
  raw('content-type/image-jpeg-body', { 'content-type': 'image/jpeg' }, encoded.jpeg, fail('E_UNSUPPORTED_FORMAT'));
  raw('content-type/json', { 'content-type': 'application/json' }, text(`{"style":"${style}"}`), fail('E_UNSUPPORTED_FORMAT'));
  raw(
    'content-type/urlencoded',
    { 'content-type': 'application/x-www-form-urlencoded' },
    text(`style=${style}`),
    fail('E_UNSUPPORTED_FORMAT'),
  );
  raw('content-type/text', { 'content-type': 'text/plain' }, text('style=cel'), fail('E_UNSUPPORTED_FORMAT'));
  raw(
    'content-type/multipart-mixed',
    { 'content-type': `multipart/mixed; boundary=${boundary}` },
    wellFormed(),
    fail('E_UNSUPPORTED_FORMAT'),
  );
  raw('content-type/none', {}, wellFormed(), fail('E_UNSUPPORTED_FORMAT'));

  // --- Over the upload limit (413). ---
  const over = options.maxUploadBytes + 64 * 1024;
  const big = Buffer.concat([encoded.jpeg, Buffer.alloc(over - encoded.jpeg.length, 0x55)]);
  await upload('oversize/file-over-limit', { bytes: big }, fail('E_FILE_TOO_LARGE'));
  await upload('oversize/file-twice-the-limit', { bytes: Buffer.concat([big, big]) }, fail('E_FILE_TOO_LARGE'));

  // --- URLs and methods. ---
  cases.push({ name: 'url/bad-escape', request: { method: 'GET', url: '/%c0%ae', headers: {} }, expected: fail('E_BAD_REQUEST') });
  cases.push({
    name: 'url/bad-escape-in-api',
    request: { method: 'GET', url: '/api/v1/jobs/%zz', headers: {} },
    expected: fail('E_BAD_REQUEST'),
  });
  cases.push({
    name: 'url/long-job-id',
    request: { method: 'GET', url: `/api/v1/jobs/${'a'.repeat(300)}`, headers: {} },
    expected: fail('E_BAD_REQUEST'),
  });
  cases.push({
    name: 'url/unknown-route',
    request: { method: 'POST', url: '/api/v1/cartoons', headers: {} },
    expected: fail('E_NOT_FOUND'),
  });
  cases.push({ name: 'url/get-upload-route', request: { method: 'GET', url: CARTOON, headers: {} }, expected: fail('E_NOT_FOUND') });
  return cases;
}

export interface RawAnswer {
  status: number;
  /** Lower-case names. */
  headers: Record<string, string>;
  body: string;
}

/** Writes the request body, or keeps writing until the answer has begun (`answered()`). */
export type RawBody = Buffer | ((write: (chunk: Buffer) => boolean, answered: () => boolean) => Promise<void>);

/**
 * Sends raw bytes on a new loopback connection and reads the answer until the server closes the
 * connection: for the malformed requests that only a real socket can carry (`app.inject()` builds
 * well-formed HTTP). Requests that the server would answer on a kept-alive connection must ask for
 * `Connection: close`. Fails after 15 s without the server closing.
 */
export function rawExchange(port: number, head: string, body: RawBody = Buffer.alloc(0)): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server did not answer and close within 15 s; got: ${Buffer.concat(chunks).toString('latin1').slice(0, 300)}`));
    }, 15_000);
    socket.on('data', (data: Buffer) => chunks.push(data));
    // Once the server has answered it may reset a connection that is still being written to.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      const [statusLine = '', ...headerLines] = text.slice(0, split < 0 ? text.length : split).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of headerLines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: split < 0 ? '' : text.slice(split + 4) });
    });
    socket.once('connect', () => {
      socket.write(head);
      if (Buffer.isBuffer(body)) {
        if (body.length > 0) socket.write(body);
      } else {
        body(
          (chunk) => socket.write(chunk),
          () => chunks.length > 0,
        ).catch(reject);
      }
    });
  });
}
