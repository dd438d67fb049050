/**
 * Snapshots of the live picture: the frame as drawn, marked like every Portoon output — the visible
 * "AI-generated" label in a corner (people see it), the invisible watermark (it survives re-encoding)
 * and an XMP packet in the PNG (programs read it: IPTC digital source type trainedAlgorithmicMedia,
 * the software, the style, the models and the output id the watermark carries).
 */
import type { RawImage } from '../../../src/core/image.js';
import { buildXmp } from '../../../src/core/provenance.js';
import { OutputMarks } from '../../../src/core/provenance/output-marks.js';
import { embedXmp } from '../../../src/core/xmp-embed.js';

export interface SnapshotInfo {
  /** Portoon's version (from GET /api/v1/info), or 'web'. */
  version: string;
  /** The style the picture was drawn in. */
  style: string;
  /** Models that made it (none for the model-free camera styles). */
  models: readonly string[];
}

/** Copies `source` (e.g. the live canvas, during the frame that drew it) into a new 2D canvas. Synchronous, so it can run inside that frame. */
export function frameCopy(source: HTMLCanvasElement): HTMLCanvasElement {
  const copy = document.createElement('canvas');
  copy.width = source.width;
  copy.height = source.height;
  const context = copy.getContext('2d', { willReadFrequently: true });
  if (!context) throw new Error('This browser cannot make a snapshot (no 2D canvas).');
  context.drawImage(source, 0, 0);
  return copy;
}

/** Marks a frame copy (label and watermark, the core's `OutputMarks`) and encodes it as PNG with the provenance XMP packet. */
export async function encodeSnapshot(copy: HTMLCanvasElement, info: SnapshotInfo, created = new Date()): Promise<Blob> {
  const context = copy.getContext('2d', { willReadFrequently: true });
  if (!context) throw new Error('This browser cannot make a snapshot (no 2D canvas).');
  const pixels = context.getImageData(0, 0, copy.width, copy.height);
  const frame: RawImage = { width: copy.width, height: copy.height, channels: 4, data: new Uint8Array(pixels.data.buffer) };
  const marks = new OutputMarks({ label: true });
  const marked = marks.mark(frame, []);
  pixels.data.set(marked.data);
  context.putImageData(pixels, 0, 0);
  const png = await new Promise<Blob>((resolve, reject) => {
    copy.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('The snapshot could not be encoded as PNG.'))), 'image/png');
  });
  const xmp = buildXmp({
    software: 'Portoon',
    version: info.version,
    style: info.style,
    models: info.models,
    created: created.toISOString(),
    id: marks.id,
  });
  const bytes = embedXmp(new Uint8Array(await png.arrayBuffer()), 'png', xmp);
  return new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'image/png' });
}

/** `portoon-live-2025-01-31T14-05-09.png`: a file name that sorts by time and is valid everywhere. */
export function timestampedName(extension: string, when = new Date()): string {
  const stamp = when
    .toISOString()
    .replace(/\.\d+Z$/, '')
    .replace(/:/g, '-');
  return `portoon-live-${stamp}.${extension}`;
}
