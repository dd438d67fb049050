/**
 * The still-image codec port (src/core/media-port.ts) over the browser's own decoders and encoders:
 * `createImageBitmap` reads, an `OffscreenCanvas` gives the pixels and writes PNG, JPEG and WebP.
 * Like the Node codec (src/node/codec.ts) it reads only the raster formats the first bytes name,
 * refuses images over the pixel limit from their header before decoding them, and refuses damaged
 * files with the same error codes and messages. Shrinking uses the core's resize, not the canvas, so
 * a browser and the core see the same pixels for the same decoded image. The canvas writes no
 * metadata, so the AI-generated label (XMP) is spliced into the encoded bytes by `embedXmp`.
 */
import { PortoonError } from '../core/errors.js';
import { DEFAULT_MAX_INPUT_PIXELS, OUTPUT_FORMATS, mimeTypeOf, type OutputFormat } from '../core/formats.js';
import type { RawImage } from '../core/image.js';
import type { DecodedStill, StillCodec } from '../core/media-port.js';
import { buildXmp, type ProvenanceInfo } from '../core/provenance.js';
import { fitInside, resizeImage } from '../core/resize.js';
import { STILL_BRANDS } from '../core/video/sniff.js';
import { embedXmp, extractXmp } from '../core/xmp-embed.js';

/** What this codec reads: the rasters every current browser's `createImageBitmap` decodes. */
export const BROWSER_INPUT_FORMATS = ['jpeg', 'png', 'webp', 'gif', 'avif', 'bmp'] as const;
export type BrowserInputFormat = (typeof BROWSER_INPUT_FORMATS)[number];

const LABELS: Readonly<Record<BrowserInputFormat, string>> = {
  jpeg: 'JPEG',
  png: 'PNG',
  webp: 'WebP',
  gif: 'GIF',
  avif: 'AVIF',
  bmp: 'BMP',
};

const NOT_AN_IMAGE = `The input is not an image in a supported format (${Object.values(LABELS).join(', ')})`;

/** Sizes of the BMP info headers (core, OS/2 2.x, Windows 3 to 5): "BM" alone starts too many text files. */
const BMP_HEADER_SIZES: ReadonlySet<number> = new Set([12, 16, 40, 52, 56, 64, 108, 124]);

/**
 * Which readable raster format the bytes are, from their first bytes alone; undefined for anything
 * else (SVG, HEIC, TIFF, text…). The browser would sniff on its own, but it also renders SVG, whose
 * scripts and external references have no business in a photo upload, so the allow-list comes first.
 */
export function sniffBrowserFormat(bytes: Uint8Array): BrowserInputFormat | undefined {
  const has = (offset: number, signature: readonly number[]): boolean => signature.every((byte, i) => bytes[offset + i] === byte);
  const text = (offset: number, length: number): string => String.fromCharCode(...bytes.subarray(offset, offset + length));
  if (has(0, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (has(0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (text(0, 6) === 'GIF87a' || text(0, 6) === 'GIF89a') return 'gif';
  if (text(0, 4) === 'RIFF' && text(8, 4) === 'WEBP') return 'webp';
  if (text(0, 2) === 'BM' && BMP_HEADER_SIZES.has(bytes[14]! | (bytes[15]! << 8)) && has(16, [0, 0])) return 'bmp';
  if (text(4, 4) === 'ftyp' && isAvifBrand(bytes)) return 'avif';
  return undefined;
}

/** An ISO-BMFF still whose major or compatible brands say AVIF (HEIC shares the box but no browser decodes it). */
function isAvifBrand(bytes: Uint8Array): boolean {
  const text = (offset: number): string => String.fromCharCode(...bytes.subarray(offset, offset + 4));
  const major = text(8);
  if (!STILL_BRANDS.has(major)) return false;
  if (major === 'avif' || major === 'avis') return true;
  const boxEnd = Math.min(bytes.length, ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0);
  for (let i = 16; i + 4 <= boxEnd; i += 4) if (text(i) === 'avif' || text(i) === 'avis') return true;
  return false;
}

/**
 * Width and height from the header, without decoding: PNG IHDR, JPEG SOFn, WebP VP8/VP8L/VP8X, GIF
 * logical screen, BMP info header. Undefined for AVIF (its size sits in nested boxes; it is checked
 * on the decoded bitmap instead). A header too short to hold the size is damage.
 */
export function headerSize(bytes: Uint8Array, format: BrowserInputFormat): { width: number; height: number } | undefined {
  const u16le = (o: number): number => bytes[o]! | (bytes[o + 1]! << 8);
  const u16be = (o: number): number => (bytes[o]! << 8) | bytes[o + 1]!;
  const u32be = (o: number): number => ((bytes[o]! << 24) | (bytes[o + 1]! << 16) | (bytes[o + 2]! << 8) | bytes[o + 3]!) >>> 0;
  const i32le = (o: number): number => bytes[o]! | (bytes[o + 1]! << 8) | (bytes[o + 2]! << 16) | (bytes[o + 3]! << 24);
  const require = (length: number): void => {
    if (bytes.length < length) throw damaged(format, 'the header is cut short');
  };
  switch (format) {
    case 'png':
      require(24);
      if (String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') throw damaged(format, 'no IHDR chunk');
      return { width: u32be(16), height: u32be(20) };
    case 'gif':
      require(10);
      return { width: u16le(6), height: u16le(8) };
    case 'bmp':
      require(26);
      // The old core header has 16-bit sizes; the others 32-bit, the height negative for top-down rows.
      if (u16le(14) === 12) return { width: u16le(18), height: u16le(20) };
      return { width: Math.abs(i32le(18)), height: Math.abs(i32le(22)) };
    case 'jpeg':
      return jpegFrameSize(bytes, u16be);
    case 'webp':
      return webpCanvasSize(bytes);
    case 'avif':
      return undefined;
  }
}

/** The frame size in the first SOFn marker, walking the segments before it. */
function jpegFrameSize(bytes: Uint8Array, u16be: (o: number) => number): { width: number; height: number } {
  for (let i = 2; i + 4 <= bytes.length;) {
    if (bytes[i] !== 0xff) break;
    const marker = bytes[i + 1]!;
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame && i + 9 <= bytes.length) return { width: u16be(i + 7), height: u16be(i + 5) };
    if (marker === 0xda || marker === 0xd9) break;
    const length = u16be(i + 2);
    if (length < 2) break;
    i += 2 + length;
  }
  throw damaged('jpeg', 'no frame header (SOF) before the image data');
}

/** The canvas size of a WebP, from VP8X or from the first VP8/VP8L bitstream header. */
function webpCanvasSize(bytes: Uint8Array): { width: number; height: number } {
  const fourcc = String.fromCharCode(...bytes.subarray(12, 16));
  const d = 20;
  const u24le = (o: number): number => bytes[o]! | (bytes[o + 1]! << 8) | (bytes[o + 2]! << 16);
  if (fourcc === 'VP8X' && bytes.length >= d + 10) return { width: u24le(d + 4) + 1, height: u24le(d + 7) + 1 };
  if (fourcc === 'VP8L' && bytes.length >= d + 5 && bytes[d] === 0x2f) {
    const bits = (bytes[d + 1]! | (bytes[d + 2]! << 8) | (bytes[d + 3]! << 16) | (bytes[d + 4]! << 24)) >>> 0;
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (fourcc === 'VP8 ' && bytes.length >= d + 10 && bytes[d + 3] === 0x9d && bytes[d + 4] === 0x01 && bytes[d + 5] === 0x2a) {
    return { width: (bytes[d + 6]! | (bytes[d + 7]! << 8)) & 0x3fff, height: (bytes[d + 8]! | (bytes[d + 9]! << 8)) & 0x3fff };
  }
  throw damaged('webp', 'no VP8, VP8L or VP8X header');
}

function tooLarge(width: number, height: number, maxPixels: number): PortoonError {
  const size = `${width}x${height} (${((width * height) / 1e6).toFixed(1)} MP)`;
  return new PortoonError(
    'E_IMAGE_TOO_LARGE',
    `The image is ${size}, more than the limit of ${(maxPixels / 1e6).toFixed(1)} MP. Resize it first or raise the pixel limit.`,
    { details: { width, height, maxPixels } },
  );
}

function damaged(format: BrowserInputFormat, reason: string, cause?: unknown): PortoonError {
  return new PortoonError('E_DECODE_FAILED', `The ${LABELS[format]} image is damaged or truncated and cannot be decoded (${reason})`, {
    cause,
  });
}

function checkSize(width: number, height: number, maxPixels: number): void {
  if (width <= 0 || height <= 0) throw new PortoonError('E_DECODE_FAILED', 'The image has no pixels (width or height is 0)');
  if (width * height > maxPixels) throw tooLarge(width, height, maxPixels);
}

/**
 * Refuses what the Node codec refuses, before any pixel is decoded: empty input, bytes that are not
 * an accepted raster, headers over the pixel limit, and PNG/JPEG/WebP files whose container is cut
 * short or broken. Returns the format and the bytes to decode.
 */
function admit(bytes: Uint8Array, maxPixels: number): { format: BrowserInputFormat; bytes: Uint8Array } {
  if (bytes.length === 0) throw new PortoonError('E_EMPTY_INPUT', 'The input is empty (0 bytes): expected an image file');
  const format = sniffBrowserFormat(bytes);
  if (!format) throw new PortoonError('E_UNSUPPORTED_FORMAT', NOT_AN_IMAGE);
  const size = headerSize(bytes, format);
  if (size) checkSize(size.width, size.height, maxPixels);
  if (format === 'png') return { format, bytes: completePng(bytes) };
  if (format === 'jpeg' || format === 'webp') checkContainer(bytes, format);
  return { format, bytes };
}

/** PNG's end chunk: length 0, "IEND", CRC. */
const IEND = Uint8Array.of(0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82);

/**
 * A PNG that lacks only its IEND chunk still holds every pixel, and the Node codec reads it; the
 * browser refuses it, so the end chunk is put back. Any other break is damage.
 */
function completePng(bytes: Uint8Array): Uint8Array {
  const ended = bytes.length >= IEND.length && IEND.every((byte, i) => bytes[bytes.length - IEND.length + i] === byte);
  if (ended) {
    checkContainer(bytes, 'png');
    return bytes;
  }
  const patched = new Uint8Array(bytes.length + IEND.length);
  patched.set(bytes);
  patched.set(IEND, bytes.length);
  checkContainer(patched, 'png');
  return patched;
}

/**
 * Walks a container to its end marker (the walk that finds its XMP), so a file cut short is refused
 * as damaged whatever the browser's decoder would make of it: some show a JPEG cut mid-scan with grey
 * below the cut, where sharp (with `failOn: 'warning'`) refuses it.
 */
function checkContainer(bytes: Uint8Array, format: 'png' | 'jpeg' | 'webp'): void {
  try {
    extractXmp(bytes);
  } catch (error) {
    const reason = error instanceof PortoonError ? error.details['reason'] : undefined;
    if (error instanceof PortoonError && error.code === 'E_DECODE_FAILED' && typeof reason === 'string') {
      throw damaged(format, reason, error);
    }
    throw error;
  }
}

async function toBitmap(bytes: Uint8Array, format: BrowserInputFormat): Promise<ImageBitmap> {
  // A copy: Blob takes only ArrayBuffer-backed views, and the caller's bytes may sit on a shared buffer.
  const blob = new Blob([bytes.slice()], { type: `image/${format}` });
  try {
    return await createImageBitmap(blob, { imageOrientation: 'from-image', premultiplyAlpha: 'none', colorSpaceConversion: 'default' });
  } catch (error) {
    throw damaged(format, (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '', error);
  }
}

/**
 * The bitmap's pixels as RGBA (the canvas converts to sRGB; the bitmap is already upright). A 2D
 * canvas stores 8-bit colour premultiplied by alpha, so colour under partial transparency comes back
 * coarser than the file holds (at alpha 1 only 0 or 255 survive); for such images the pixels are read
 * again through a float16 canvas where the browser has one, which gives them back exactly.
 */
function readPixels(bitmap: ImageBitmap): RawImage {
  const rgba = readRgba8(bitmap);
  return hasPartialAlpha(rgba.data) ? (readFloat16(bitmap) ?? rgba) : rgba;
}

/** The bitmap's pixels through an 8-bit canvas, RGBA. */
function readRgba8(bitmap: ImageBitmap): RawImage {
  const { width, height } = bitmap;
  const context = new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true });
  if (!context) throw new PortoonError('E_INTERNAL', 'This browser gives no 2D canvas context, so images cannot be decoded');
  context.drawImage(bitmap, 0, 0);
  const { data } = context.getImageData(0, 0, width, height);
  return { width, height, channels: 4, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** A camera frame as RGB: an opaque picture, so one 8-bit read and no alpha plane. */
export function frameToRgb(frame: ImageBitmap): RawImage {
  return splitAlpha(readRgba8(frame)).image;
}

function hasPartialAlpha(rgba: Uint8Array): boolean {
  for (let i = 3; i < rgba.length; i += 4) if (rgba[i] !== 0 && rgba[i] !== 255) return true;
  return false;
}

/** Canvas options newer than TypeScript's DOM types (Chromium 137+ has them). */
interface Float16Context {
  getContextAttributes?(): { colorType?: string };
  drawImage(image: ImageBitmap, x: number, y: number): void;
  getImageData(x: number, y: number, width: number, height: number, settings: { pixelFormat: 'rgba-float16' }): { data: ArrayLike<number> };
}

/** RGBA read through a float16 canvas, or undefined where the browser has none. */
function readFloat16(bitmap: ImageBitmap): RawImage | undefined {
  const { width, height } = bitmap;
  const settings = { willReadFrequently: true, colorType: 'float16' } as CanvasRenderingContext2DSettings;
  const context = new OffscreenCanvas(width, height).getContext('2d', settings) as unknown as Float16Context | null;
  // A browser that does not know colorType gives an 8-bit context and ignores pixelFormat.
  if (context?.getContextAttributes?.().colorType !== 'float16') return undefined;
  context.drawImage(bitmap, 0, 0);
  const { data } = context.getImageData(0, 0, width, height, { pixelFormat: 'rgba-float16' });
  if (data instanceof Uint8ClampedArray) return undefined;
  const out = new Uint8ClampedArray(data.length); // rounds and clamps on assignment
  for (let i = 0; i < data.length; i++) out[i] = data[i]! * 255;
  return { width, height, channels: 4, data: new Uint8Array(out.buffer) };
}

/** RGB plus an alpha plane, or RGB alone when every pixel is opaque (as the Node codec returns it). */
function splitAlpha(rgba: RawImage): { image: RawImage; alpha?: Uint8Array } {
  const n = rgba.width * rgba.height;
  const rgb = new Uint8Array(n * 3);
  const alpha = new Uint8Array(n);
  let opaque = true;
  for (let i = 0, p = 0, q = 0; i < n; i++, p += 4, q += 3) {
    rgb[q] = rgba.data[p]!;
    rgb[q + 1] = rgba.data[p + 1]!;
    rgb[q + 2] = rgba.data[p + 2]!;
    const a = rgba.data[p + 3]!;
    alpha[i] = a;
    if (a !== 255) opaque = false;
  }
  const image: RawImage = { width: rgba.width, height: rgba.height, channels: 3, data: rgb };
  return opaque ? { image } : { image, alpha };
}

async function decode(
  bytes: Uint8Array,
  options: { maxInputPixels?: number | undefined; maxSide?: number | undefined },
): Promise<DecodedStill> {
  const maxPixels = options.maxInputPixels ?? DEFAULT_MAX_INPUT_PIXELS;
  const { format, bytes: admitted } = admit(bytes, maxPixels);
  const bitmap = await toBitmap(admitted, format);
  let rgba: RawImage;
  try {
    // Again on the decoded size: AVIF has no header check, and a GIF frame may be larger than its screen.
    checkSize(bitmap.width, bitmap.height, maxPixels);
    rgba = readPixels(bitmap);
  } finally {
    bitmap.close();
  }
  if (options.maxSide !== undefined && Math.max(rgba.width, rgba.height) > options.maxSide) {
    const fit = fitInside(rgba.width, rgba.height, options.maxSide);
    rgba = resizeImage(rgba, fit.width, fit.height);
  }
  const { image, alpha } = splitAlpha(rgba);
  return alpha ? { image, alpha, format } : { image, format };
}

/** The output format used when none is asked for: the input's if it can be written, else PNG (as in Node). */
export function defaultOutputFormat(inputFormat: string): OutputFormat {
  if (inputFormat === 'jpeg' || inputFormat === 'jpg') return 'jpeg';
  if (inputFormat === 'webp') return 'webp';
  return 'png';
}

/** RGBA for the canvas; the alpha plane counts except in JPEG, which has none (as in Node). */
function toImageData(image: RawImage, format: OutputFormat, alpha: Uint8Array | undefined): ImageData {
  const n = image.width * image.height;
  const rgba = new Uint8ClampedArray(n * 4);
  const { data, channels } = image;
  for (let i = 0, p = 0, q = 0; i < n; i++, p += channels, q += 4) {
    rgba[q] = data[p]!;
    rgba[q + 1] = data[channels >= 3 ? p + 1 : p]!;
    rgba[q + 2] = data[channels >= 3 ? p + 2 : p]!;
    rgba[q + 3] = format === 'jpeg' ? 255 : (alpha?.[i] ?? (channels === 4 ? data[p + 3]! : 255));
  }
  return new ImageData(rgba, image.width, image.height);
}

/** The output formats this browser's canvas really writes (it answers PNG for a type it cannot). */
let writable: Promise<OutputFormat[]> | undefined;

function writableFormats(): Promise<OutputFormat[]> {
  writable ??= (async () => {
    const canvas = new OffscreenCanvas(1, 1);
    canvas.getContext('2d');
    const types = await Promise.all(OUTPUT_FORMATS.map(async (f) => (await canvas.convertToBlob({ type: mimeTypeOf(f) })).type));
    return OUTPUT_FORMATS.filter((f, i) => types[i] === mimeTypeOf(f));
  })();
  return writable;
}

async function cannotWrite(format: string): Promise<PortoonError> {
  const formats = await writableFormats().catch(() => ['png']);
  return new PortoonError('E_UNSUPPORTED_FORMAT', `This browser cannot write ${format} images; choose one of: ${formats.join(', ')}`, {
    details: { format, writable: formats },
  });
}

async function encode(
  image: RawImage,
  options: { format: OutputFormat; quality?: number | undefined; alpha?: Uint8Array | undefined },
  provenance: ProvenanceInfo,
): Promise<Uint8Array> {
  const { format } = options;
  if (!(OUTPUT_FORMATS as readonly string[]).includes(format)) throw await cannotWrite(format);
  const type = mimeTypeOf(format);
  let blob: Blob;
  try {
    const canvas = new OffscreenCanvas(image.width, image.height);
    const context = canvas.getContext('2d');
    if (!context) throw new Error('no 2D canvas context');
    context.putImageData(toImageData(image, format, options.alpha), 0, 0);
    blob = await canvas.convertToBlob({ type, quality: (options.quality ?? 90) / 100 });
  } catch (error) {
    throw new PortoonError('E_OUTPUT_FAILED', `Could not encode the result as ${format}: ${(error as Error).message}`, { cause: error });
  }
  // Browsers fall back to PNG, silently, for a type they cannot encode.
  if (blob.type !== type) throw await cannotWrite(format);
  return embedXmp(new Uint8Array(await blob.arrayBuffer()), format, buildXmp(provenance));
}

/** The still-image codec port over the browser's canvas; the provenance goes in as XMP. */
export const canvasStillCodec: StillCodec = { decode, defaultFormat: defaultOutputFormat, encode };
