/**
 * sharp-based decoding and encoding at the edges of the pipeline. Decoding normalises every input
 * (EXIF orientation, 16-bit, CMYK, grey, alpha) to 8-bit sRGB RGB plus an optional alpha plane, and
 * refuses decompression bombs before decoding them. Encoding never copies input metadata (no GPS,
 * no camera serial) and writes the provenance XMP.
 */
import sharp, { type Metadata } from 'sharp';
import { PortoonError } from '../core/errors.js';
import type { RawImage } from '../core/image.js';

export const OUTPUT_FORMATS = ['png', 'jpeg', 'webp'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** Default pixel limit: 50 megapixels (e.g. 8660x5773). sharp's own default is 268 MP. */
export const DEFAULT_MAX_INPUT_PIXELS = 50_000_000;

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

/**
 * Reads only the header: format and size, without decoding pixels. Rejects empty input, files that
 * are not images, and images over the pixel limit, so a service can refuse them before queueing.
 */
export async function probeImage(bytes: Uint8Array, options: Pick<DecodeOptions, 'maxInputPixels'> = {}): Promise<ImageProbe> {
  if (bytes.length === 0) throw new PortoonError('E_EMPTY_INPUT', 'The input is empty (0 bytes): expected an image file');
  const maxPixels = options.maxInputPixels ?? DEFAULT_MAX_INPUT_PIXELS;
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (error) {
    throw mapSharpError(error);
  }
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  if (width <= 0 || height <= 0) throw new PortoonError('E_DECODE_FAILED', 'The image has no pixels (width or height is 0)');
  if (width * height > maxPixels) {
    throw new PortoonError(
      'E_IMAGE_TOO_LARGE',
      `The image is ${width}x${height} (${((width * height) / 1e6).toFixed(1)} MP), more than the limit of ${(maxPixels / 1e6).toFixed(1)} MP. Resize it first or raise the pixel limit.`,
      { details: { width, height, maxPixels } },
    );
  }
  return { format: meta.format ?? 'unknown', width, height, orientation: meta.orientation ?? 1, hasAlpha: meta.hasAlpha ?? false };
}

export async function decodeImage(bytes: Uint8Array, options: DecodeOptions = {}): Promise<DecodedImage> {
  const maxPixels = options.maxInputPixels ?? DEFAULT_MAX_INPUT_PIXELS;
  const meta = await probeImage(bytes, { maxInputPixels: maxPixels });
  const { width, height } = meta;
  const rotated = meta.orientation >= 5;
  const originalWidth = rotated ? height : width;
  const originalHeight = rotated ? width : height;
  try {
    // failOn 'truncated': a cut-off file is an error, not a grey bottom half.
    let pipeline = sharp(bytes, { limitInputPixels: maxPixels, failOn: 'truncated', pages: 1 }).rotate();
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
    throw mapSharpError(error);
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

function mapSharpError(error: unknown): PortoonError {
  if (error instanceof PortoonError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (/unsupported image format|bad seek|Input file is missing|input buffer is empty/i.test(message)) {
    return new PortoonError(
      'E_UNSUPPORTED_FORMAT',
      'The input is not an image in a supported format (JPEG, PNG, WebP, AVIF, TIFF, GIF, HEIC)',
      { cause: error },
    );
  }
  if (/pixel limit/i.test(message)) {
    return new PortoonError('E_IMAGE_TOO_LARGE', `The image has more pixels than the pixel limit: ${message}`, { cause: error });
  }
  return new PortoonError('E_DECODE_FAILED', `The image is damaged or truncated and cannot be decoded (${message.split('\n')[0]})`, {
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

export function isOutputFormat(value: unknown): value is OutputFormat {
  return typeof value === 'string' && (OUTPUT_FORMATS as readonly string[]).includes(value);
}
