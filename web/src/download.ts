/**
 * Names the downloaded result after the photo or video and the style: "photo.jpg" + anime →
 * "photo-anime.png", "clip.mov" + cel → "clip-cel.mp4".
 */
import { extensionOf, mimeTypeOf, OUTPUT_FORMATS } from '../../src/core/formats.js';

/** The containers a video job can make (see VIDEO_FORMATS), by the type the server sends them with. */
const VIDEO_EXTENSIONS: Readonly<Record<string, string>> = { 'video/mp4': 'mp4', 'video/webm': 'webm', 'image/gif': 'gif' };

/** The file extension for a result's MIME type (`image/jpeg` → `jpg`); PNG when the type is not an output format. */
function extensionForMime(mimeType: string): string {
  const video = VIDEO_EXTENSIONS[mimeType];
  if (video) return video;
  const format = OUTPUT_FORMATS.find((f) => mimeTypeOf(f) === mimeType);
  return format ? extensionOf(format) : 'png';
}

export function resultFileName(original: string, style: string, mimeType: string): string {
  const stem =
    original
      .replace(/\.[^.]*$/, '')
      .replace(/[^\p{L}\p{N}_-]+/gu, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 80) || 'portrait';
  return `${stem}-${style}.${extensionForMime(mimeType)}`;
}

export function setDownload(link: HTMLAnchorElement, url: string, fileName: string): void {
  link.href = url;
  link.download = fileName;
  link.setAttribute('aria-label', `Download ${fileName}`);
}
