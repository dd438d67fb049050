/** Real portraits carrying Portoon's marks, made in the tests: a watermark embedded in the pixels, or an XMP label. */
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { buildXmp, type ProvenanceInfo } from '../../src/core/provenance.js';
import { embedWatermark } from '../../src/core/provenance/watermark.js';
import { VERSION } from '../../src/node/version.js';
import { portrait } from './env.js';
import { loadRgb } from './images.js';

/** The provenance a Portoon output of the anime style carries. */
export function portoonProvenance(id: string): ProvenanceInfo {
  return {
    software: 'Portoon',
    version: VERSION,
    style: 'anime',
    models: ['animeganv3-jpface-v1', 'animeganv3-hayao36'],
    created: '2025-01-02T03:04:05.000Z',
    id,
  };
}

/** The portrait with the watermark for `id` in its pixels, as a JPEG without any metadata. */
export async function watermarkedJpeg(name: string, id: string, options: { key?: string; quality?: number } = {}): Promise<Buffer> {
  const marked = embedWatermark(await loadRgb(portrait(name)), id, { key: options.key });
  return sharp(marked.data, { raw: { width: marked.width, height: marked.height, channels: 3 } })
    .jpeg({ quality: options.quality ?? 90 })
    .toBuffer();
}

/** The portrait as it is: its own bytes, no mark of any kind. */
export function unmarkedPhoto(name: string): Buffer {
  return readFileSync(portrait(name));
}

/** The portrait, pixels untouched by any watermark, labelled with the XMP packet of `info` (as sharp writes it into a PNG). */
export async function xmpLabelledPng(name: string, info: ProvenanceInfo): Promise<Buffer> {
  return sharp(portrait(name)).withXmp(buildXmp(info)).png().toBuffer();
}
