/**
 * Snapshots of the live picture: the frame as drawn, with a small "AI-generated" label in a corner
 * (people see it) and an XMP packet saying the same in the PNG (programs read it: IPTC digital
 * source type trainedAlgorithmicMedia, the software, the style and the models).
 */
import { buildXmp } from '../../../src/core/provenance.js';
import { embedXmp } from '../../../src/core/xmp-embed.js';

export interface SnapshotInfo {
  /** Portoon's version (from GET /api/v1/info), or 'web'. */
  version: string;
  /** The style the picture was drawn in. */
  style: string;
  /** Models that made it (none for the model-free camera styles). */
  models: readonly string[];
}

/** The label drawn on every snapshot. */
export const AI_LABEL = 'AI-generated';

/**
 * Copies `source` (e.g. the live canvas, during the frame that drew it) into a new 2D canvas and
 * labels it. Synchronous, so it can run inside that frame.
 */
export function labelledCopy(source: HTMLCanvasElement): HTMLCanvasElement {
  const copy = document.createElement('canvas');
  copy.width = source.width;
  copy.height = source.height;
  const context = copy.getContext('2d');
  if (!context) throw new Error('This browser cannot make a snapshot (no 2D canvas).');
  context.drawImage(source, 0, 0);
  drawLabel(context, copy.width, copy.height);
  return copy;
}

/**
 * A dark, semi-transparent pill with white text in the bottom-right corner, 13 px tall text on a
 * 640 px wide picture and in proportion on others (never below 11 px).
 */
export function drawLabel(context: CanvasRenderingContext2D, width: number, height: number): void {
  const scale = Math.max(width, height * (4 / 3)) / 640;
  const fontPx = Math.max(11, Math.round(13 * scale));
  const padX = Math.round(fontPx * 0.75);
  const padY = Math.round(fontPx * 0.4);
  const margin = Math.round(fontPx * 0.9);
  context.save();
  context.font = `600 ${fontPx}px system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif`;
  context.textBaseline = 'middle';
  const textWidth = Math.ceil(context.measureText(AI_LABEL).width);
  const boxWidth = textWidth + 2 * padX;
  const boxHeight = fontPx + 2 * padY;
  const x = width - margin - boxWidth;
  const y = height - margin - boxHeight;
  context.fillStyle = 'rgb(18 20 19 / 0.62)';
  context.beginPath();
  context.roundRect(x, y, boxWidth, boxHeight, boxHeight / 2);
  context.fill();
  context.fillStyle = '#ffffff';
  context.fillText(AI_LABEL, x + padX, y + boxHeight / 2 + 0.5);
  context.restore();
}

/** Encodes a labelled copy as PNG with the provenance XMP packet in it. */
export async function encodeSnapshot(copy: HTMLCanvasElement, info: SnapshotInfo, created = new Date()): Promise<Blob> {
  const png = await new Promise<Blob>((resolve, reject) => {
    copy.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('The snapshot could not be encoded as PNG.'))), 'image/png');
  });
  const xmp = buildXmp({
    software: 'Portoon',
    version: info.version,
    style: info.style,
    models: info.models,
    created: created.toISOString(),
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
