/** Image helpers for tests: decoding real photos, comparing images with tolerances, synthetic inputs. */
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import type { RawImage } from '../../src/core/image.js';

export async function loadRgb(path: string | Buffer): Promise<RawImage> {
  const { data, info } = await sharp(path).rotate().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, channels: 3, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

export async function savePng(image: RawImage, path: string): Promise<void> {
  await sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } })
    .png()
    .toFile(path);
}

/** Mean absolute difference per channel value (0..255) over a region (default: whole image). */
export function meanAbsDiff(a: RawImage, b: RawImage, region?: [number, number, number, number]): number {
  if (a.width !== b.width || a.height !== b.height) throw new Error(`size mismatch ${a.width}x${a.height} vs ${b.width}x${b.height}`);
  const [x0, y0, w, h] = region ?? [0, 0, a.width, a.height];
  let sum = 0;
  for (let y = y0; y < y0 + h; y++) {
    for (let x = x0; x < x0 + w; x++) {
      for (let k = 0; k < 3; k++)
        sum += Math.abs(a.data[(y * a.width + x) * a.channels + k]! - b.data[(y * b.width + x) * b.channels + k]!);
    }
  }
  return sum / (w * h * 3);
}

/** Mean RGB luminance-ish value (0..255) of a region. */
export function meanValue(image: RawImage, [x0, y0, w, h]: [number, number, number, number]): number {
  let sum = 0;
  for (let y = y0; y < y0 + h; y++)
    for (let x = x0; x < x0 + w; x++) for (let k = 0; k < 3; k++) sum += image.data[(y * image.width + x) * image.channels + k]!;
  return sum / (w * h * 3);
}

/** Mean absolute difference between horizontally adjacent columns x-1 and x (an edge/seam detector). */
export function columnStep(image: RawImage, x: number): number {
  let sum = 0;
  for (let y = 0; y < image.height; y++) {
    for (let k = 0; k < 3; k++)
      sum += Math.abs(image.data[(y * image.width + x) * 3 + k]! - image.data[(y * image.width + x - 1) * 3 + k]!);
  }
  return sum / (image.height * 3);
}

/** Same as columnStep for rows y-1 and y. */
export function rowStep(image: RawImage, y: number): number {
  let sum = 0;
  for (let x = 0; x < image.width; x++) {
    for (let k = 0; k < 3; k++)
      sum += Math.abs(image.data[(y * image.width + x) * 3 + k]! - image.data[((y - 1) * image.width + x) * 3 + k]!);
  }
  return sum / (image.width * 3);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A syntactically valid PNG whose header claims width x height, with only a tiny compressed body (a decompression bomb). */
export function pngBomb(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(1024))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
