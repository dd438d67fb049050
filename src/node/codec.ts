/**
 * sharp-based decoding and encoding at the edges of the pipeline. Decoding reads only the raster
 * formats its first bytes name (never SVG, PDF or anything else libvips could load), normalises every
 * input (EXIF orientation, 16-bit, CMYK, grey, alpha) to 8-bit sRGB RGB plus an optional alpha plane,
 * refuses decompression bombs before decoding them and damaged data while decoding it. Encoding
 * never copies input metadata (no GPS, no camera serial) and writes the provenance XMP.
 */
import sharp, { type Metadata } from 'sharp';
import { PortoonError } from '../core/errors.js';
import { ACCEPTED_LABELS, DEFAULT_MAX_INPUT_PIXELS, type OutputFormat } from '../core/formats.js';
import type { RawImage } from '../core/image.js';
import type { StillCodec } from '../core/media-port.js';
import { buildXmp } from '../core/provenance.js';
import { STILL_BRANDS } from '../core/video/sniff.js';

/** Default pixel limit: 50 megapixels (e.g. 8660x5773), as in every codec. sharp's own default is 268 MP. */
export { DEFAULT_MAX_INPUT_PIXELS };

export interface DecodeOptions {
  /** Refuse images with more pixels than this (before decoding). */
  maxInputPixels?: number | undefined;
  /** Shrink so the long side is at most this many pixels (never enlarges). Default: full size. */
  maxSide?: number | undefined;
}

export interface DecodedImage {
  image: RawImage;
  /** Alpha plane when the input had transparency (same width x height). */
  alpha?: Uint8Array;
  /** Detected input format (sharp's name: jpeg, png, webp, gif, tiff, heif, avif…). */
  format: string;
  /** Size of the input before any maxSide shrink, after EXIF orientation. */
  originalWidth: number;
  originalHeight: number;
}

export interface ImageProbe {
  format: string;
  width: number;
  height: number;
  /** EXIF orientation (1 = upright). */
  orientation: number;
  hasAlpha: boolean;
}

/** The raster formats Portoon reads, by the name sharp gives them (`metadata().format`; AVIF is `heif`). */
export const INPUT_FORMATS = ['jpeg', 'png', 'webp', 'gif', 'tiff', 'heif'] as const;
export type InputFormat = (typeof INPUT_FORMATS)[number];

const NOT_AN_IMAGE = `The input is not an image in a supported format (${ACCEPTED_LABELS})`;

/**
 * Which accepted raster format the bytes are, from their first bytes alone; undefined for anything
 * else. Hand-written on purpose: libvips picks a loader by content among every loader it was built
 * with (SVG and svgz, PDF, PostScript, FITS, OpenSlide, ImageMagick, matrix and CSV text, its own .v
 * files…), and sharp can only narrow that process-wide (`sharp.block`), which a library must not do
 * to the application hosting it. A 246-byte SVG filter kept a worker rasterizing for 17 minutes; so
 * the allow-list is Portoon's own and is checked before sharp sees the bytes.
 */
export function sniffFormat(bytes: Uint8Array): InputFormat | undefined {
  const has = (offset: number, signature: readonly number[]): boolean => signature.every((byte, i) => bytes[offset + i] === byte);
  const text = (offset: number, length: number): string => String.fromCharCode(...bytes.subarray(offset, offset + length));
  if (has(0, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (has(0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (text(0, 6) === 'GIF87a' || text(0, 6) === 'GIF89a') return 'gif';
  if (text(0, 4) === 'RIFF' && text(8, 4) === 'WEBP') return 'webp';
  // Classic TIFF (42) and BigTIFF (43), little- and big-endian.
  if (has(0, [0x49, 0x49]) && (has(2, [0x2a, 0x00]) || has(2, [0x2b, 0x00]))) return 'tiff';
  if (has(0, [0x4d, 0x4d]) && (has(2, [0x00, 0x2a]) || has(2, [0x00, 0x2b]))) return 'tiff';
  if (text(4, 4) === 'ftyp' && STILL_BRANDS.has(text(8, 4))) return 'heif';
  return undefined;
}

/** Refuses bytes that are not one of the accepted raster formats (415), before any decoder runs. */
function assertRasterFormat(bytes: Uint8Array): InputFormat {
  if (bytes.length === 0) throw new PortoonError('E_EMPTY_INPUT', 'The input is empty (0 bytes): expected an image file');
  const format = sniffFormat(bytes);
  if (!format) throw new PortoonError('E_UNSUPPORTED_FORMAT', NOT_AN_IMAGE);
  return format;
}

/**
 * Reads only the header: format and size, without decoding pixels. Rejects empty input and anything
 * that is not one of the accepted raster formats (415, from the first bytes), damaged headers (422)
 * and images over the pixel limit (422), so a service can refuse them before queueing.
 */
export async function probeImage(bytes: Uint8Array, options: Pick<DecodeOptions, 'maxInputPixels'> = {}): Promise<ImageProbe> {
  const format = assertRasterFormat(bytes);
  const maxPixels = options.maxInputPixels ?? DEFAULT_MAX_INPUT_PIXELS;
  let meta: Metadata;
  try {
    // The header's size is held against the limit below rather than by sharp (limitInputPixels):
    // sharp's refusal names no size, which tells the user how far to shrink the photo, and is an
    // Error told apart from damage only by its message text. Reading a header decodes no pixel.
    meta = await sharp(bytes, { limitInputPixels: false, failOn: 'warning' }).metadata();
  } catch (error) {
    throw damaged(format, error);
  }
  // The loader libvips chose must be the one the first bytes name: a file that starts like a JPEG but
  // is taken by another loader is not read at all.
  if (meta.format !== format) {
    throw new PortoonError('E_UNSUPPORTED_FORMAT', `${NOT_AN_IMAGE}: it starts like ${format} but reads as ${meta.format}`);
  }
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  if (width <= 0 || height <= 0) throw new PortoonError('E_DECODE_FAILED', 'The image has no pixels (width or height is 0)');
  if (width * height > maxPixels) throw tooLarge(width, height, maxPixels);
  return { format, width, height, orientation: meta.orientation ?? 1, hasAlpha: meta.hasAlpha ?? false };
}

export async function decodeImage(bytes: Uint8Array, options: DecodeOptions = {}): Promise<DecodedImage> {
  const maxPixels = options.maxInputPixels ?? DEFAULT_MAX_INPUT_PIXELS;
  const meta = await probeImage(bytes, { maxInputPixels: maxPixels });
  const { width, height } = meta;
  const rotated = meta.orientation >= 5;
  const originalWidth = rotated ? height : width;
  const originalHeight = rotated ? width : height;
  try {
    // failOn 'warning' (sharp's default, which its docs advise for untrusted input): any data the
    // decoder had to make up is an error. 'truncated' lets through a JPEG whose header claims
    // 2000x2000 over 256-px data ("premature end of data segment" is only a warning), which then runs
    // the whole pipeline at 4 MP on grey filler; the header alone cannot tell, and a full decode in
    // the probe would cost a decode per upload on the service's thread pool, so it fails here, fast.
    // The probe has held the header's size against the limit; libvips holds the decoder to it too, so
    // a file that reads larger here than in its header is refused, as damaged.
    let pipeline = sharp(bytes, { limitInputPixels: maxPixels, failOn: 'warning', pages: 1 }).rotate();
    if (options.maxSide !== undefined && Math.max(originalWidth, originalHeight) > options.maxSide) {
      pipeline = pipeline.resize({ width: options.maxSide, height: options.maxSide, fit: 'inside', withoutEnlargement: true });
    }
    pipeline = pipeline.toColourspace('srgb');
    pipeline = meta.hasAlpha ? pipeline.ensureAlpha() : pipeline.removeAlpha();
    const { data, info } = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    const pixels = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const format = meta.format;
    if (info.channels === 4) {
      const { rgb, alpha } = splitAlpha(pixels, info.width, info.height);
      const opaque = alpha.every((a) => a === 255);
      return opaque ? { image: rgb, format, originalWidth, originalHeight } : { image: rgb, alpha, format, originalWidth, originalHeight };
    }
    if (info.channels !== 3)
      throw new PortoonError('E_DECODE_FAILED', `Unexpected ${info.channels}-channel image after conversion to sRGB`);
    return { image: { width: info.width, height: info.height, channels: 3, data: pixels }, format, originalWidth, originalHeight };
  } catch (error) {
    throw damaged(meta.format, error);
  }
}

function splitAlpha(rgba: Uint8Array, width: number, height: number): { rgb: RawImage; alpha: Uint8Array } {
  const n = width * height;
  const rgb = new Uint8Array(n * 3);
  const alpha = new Uint8Array(n);
  for (let i = 0, p = 0, q = 0; i < n; i++, p += 4, q += 3) {
    rgb[q] = rgba[p]!;
    rgb[q + 1] = rgba[p + 1]!;
    rgb[q + 2] = rgba[p + 2]!;
    alpha[i] = rgba[p + 3]!;
  }
  return { rgb: { width, height, channels: 3, data: rgb }, alpha };
}

function tooLarge(width: number, height: number, maxPixels: number): PortoonError {
  const size = `${width}x${height} (${((width * height) / 1e6).toFixed(1)} MP)`;
  return new PortoonError(
    'E_IMAGE_TOO_LARGE',
    `The image is ${size}, more than the limit of ${(maxPixels / 1e6).toFixed(1)} MP. Resize it first or raise the pixel limit.`,
    { details: { width, height, maxPixels } },
  );
}

/**
 * Once the first bytes have named an accepted raster format, whatever stops sharp from reading the
 * file (a cut-off AVIF's "bad seek", a TIFF whose directory is gone and so "unsupported", a corrupt
 * JPEG scan) is damage to that file: 422, never "not an image".
 */
function damaged(format: string, error: unknown): PortoonError {
  if (error instanceof PortoonError) return error;
  const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0];
  const name = format === 'heif' ? 'HEIF/AVIF' : format.toUpperCase();
  return new PortoonError('E_DECODE_FAILED', `The ${name} image is damaged or truncated and cannot be decoded (${reason})`, {
    cause: error,
  });
}

export interface EncodeOptions {
  format: OutputFormat;
  /** JPEG/WebP quality 1..100. Default 90. */
  quality?: number | undefined;
  /** XMP packet to embed. */
  xmp?: string | undefined;
  alpha?: Uint8Array | undefined;
}

export async function encodeImage(image: RawImage, options: EncodeOptions): Promise<Buffer> {
  const quality = options.quality ?? 90;
  let input: RawImage = image;
  if (options.alpha && options.format !== 'jpeg') {
    const n = image.width * image.height;
    const rgba = new Uint8Array(n * 4);
    for (let i = 0, p = 0, q = 0; i < n; i++, p += 3, q += 4) {
      rgba[q] = image.data[p]!;
      rgba[q + 1] = image.data[p + 1]!;
      rgba[q + 2] = image.data[p + 2]!;
      rgba[q + 3] = options.alpha[i]!;
    }
    input = { width: image.width, height: image.height, channels: 4, data: rgba };
  }
  try {
    // sharp writes no input metadata unless asked (keepExif/withMetadata): EXIF, GPS and serials never leave.
    let out = sharp(input.data, { raw: { width: input.width, height: input.height, channels: input.channels } });
    if (options.xmp !== undefined) out = out.withXmp(options.xmp);
    if (options.format === 'jpeg') out = out.jpeg({ quality, chromaSubsampling: quality >= 90 ? '4:4:4' : '4:2:0' });
    else if (options.format === 'webp') out = out.webp({ quality });
    else out = out.png({ compressionLevel: 6 });
    return await out.toBuffer();
  } catch (error) {
    throw new PortoonError('E_OUTPUT_FAILED', `Could not encode the result as ${options.format}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** The output format used when none is asked for: the input's if it can be written, else PNG. */
export function defaultOutputFormat(inputFormat: string): OutputFormat {
  if (inputFormat === 'jpeg' || inputFormat === 'jpg') return 'jpeg';
  if (inputFormat === 'webp') return 'webp';
  return 'png';
}

/** The still-image codec port (src/core/media-port.ts) over sharp; the provenance goes in as XMP. */
export const sharpStillCodec: StillCodec = {
  decode: (bytes, options) => decodeImage(bytes, options),
  defaultFormat: defaultOutputFormat,
  encode: (image, options, provenance) => encodeImage(image, { ...options, xmp: buildXmp(provenance) }),
};
