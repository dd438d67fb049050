/**
 * Client-side checks before anything is uploaded: type (by MIME type, file name, and the first bytes),
 * and size, each kind against its own limit (photos are held in memory on the server, videos go to
 * disk, so a video may be far larger). The server checks again; this only saves the user a pointless
 * upload and gives a clearer message sooner.
 */
import { ACCEPTED_MIME_TYPES, INPUT_IMAGE_TYPES, type InputImageType } from '../../src/core/formats.js';
import { sniffVideo } from '../../src/core/video/sniff.js';
import { VIDEO_TYPE_LABELS } from './video-types.js';

/** What the server accepts when it does not say otherwise (the service lists the same table in /api/v1/info). */
export const DEFAULT_ACCEPTED_TYPES: readonly string[] = ACCEPTED_MIME_TYPES;

export const DEFAULT_MAX_UPLOAD_BYTES = 10 * 1024 * 1024;

/** The server's default video limit, for a server that does not say (see /api/v1/info). */
export const DEFAULT_MAX_VIDEO_UPLOAD_BYTES = 512 * 1024 * 1024;

/** The row of the shared input-type table for a MIME type. */
const inputType = (mime: string): InputImageType | undefined => INPUT_IMAGE_TYPES.find((type) => type.mime === mime);

/** File extensions a MIME type goes by (none for a type the table does not know). */
const extensionsOf = (mime: string): readonly string[] => inputType(mime)?.extensions ?? [];

export interface UploadRules {
  acceptedTypes: readonly string[];
  maxUploadBytes: number;
}

export interface VideoUploadRules {
  maxVideoUploadBytes: number;
}

export type Validation = { ok: true } | { ok: false; message: string };

/** "JPEG, PNG, WebP or GIF": for hints and error messages. */
export function describeTypes(types: readonly string[]): string {
  const labels = [...new Set(types.map((t) => inputType(t)?.label ?? t.replace(/^image\//, '').toUpperCase()))];
  if (labels.length <= 1) return labels.join('');
  return `${labels.slice(0, -1).join(', ')} or ${labels.at(-1)}`;
}

/** Value for the file input's accept attribute: MIME types plus extensions (some systems only know one). */
export function acceptAttribute(types: readonly string[]): string {
  return [...types, ...types.flatMap((t) => extensionsOf(t).map((ext) => `.${ext}`))].join(',');
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1).replace(/\.0$/, '')} MB`;
}

function fileExtension(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? '' : name.slice(dot + 1).toLowerCase();
}

/** Type and size, from what the browser tells us about the file. */
export function checkFile(file: { name: string; type: string; size: number }, rules: UploadRules): Validation {
  const ext = fileExtension(file.name);
  const typeOk = rules.acceptedTypes.includes(file.type) || rules.acceptedTypes.some((t) => extensionsOf(t).includes(ext));
  if (!typeOk) {
    return {
      ok: false,
      message: `“${file.name}” is not a supported photo. Please choose a ${describeTypes(rules.acceptedTypes)} image, or a video (${VIDEO_TYPE_LABELS}).`,
    };
  }
  if (file.size === 0) return { ok: false, message: `“${file.name}” is empty.` };
  if (file.size > rules.maxUploadBytes) {
    return {
      ok: false,
      message: `“${file.name}” is ${formatBytes(file.size)}; the limit is ${formatBytes(rules.maxUploadBytes)}. Please choose a smaller photo.`,
    };
  }
  return { ok: true };
}

/**
 * The file's first bytes, checked against the image signatures we accept. A text file renamed to .jpg
 * passes the name check; this catches it before upload.
 */
export function looksLikeImage(head: Uint8Array): boolean {
  const ascii = (from: number, to: number): string => String.fromCharCode(...head.subarray(from, to));
  const starts = (...bytes: number[]): boolean => bytes.every((b, i) => head[i] === b);
  if (starts(0xff, 0xd8, 0xff)) return true; // JPEG
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return true; // PNG
  if (ascii(0, 6) === 'GIF87a' || ascii(0, 6) === 'GIF89a') return true;
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return true;
  if (starts(0x49, 0x49, 0x2a, 0x00) || starts(0x4d, 0x4d, 0x00, 0x2a)) return true; // TIFF (II / MM)
  if (starts(0x49, 0x49, 0x2b, 0x00) || starts(0x4d, 0x4d, 0x00, 0x2b)) return true; // BigTIFF
  if (ascii(4, 8) === 'ftyp') return true; // ISO-BMFF: AVIF, HEIC, HEIF
  return false;
}

export async function checkContents(file: Blob & { name: string }): Promise<Validation> {
  const head = new Uint8Array(await file.slice(0, 16).arrayBuffer());
  if (looksLikeImage(head)) return { ok: true };
  return { ok: false, message: `“${file.name}” does not contain an image, even though its name says so. Please choose a photo.` };
}

/** Size of a file already known to be a video by its type or name (see video-types.ts). */
export function checkVideoFile(file: { name: string; size: number }, rules: VideoUploadRules): Validation {
  if (file.size === 0) return { ok: false, message: `“${file.name}” is empty.` };
  if (file.size > rules.maxVideoUploadBytes) {
    return {
      ok: false,
      message: `“${file.name}” is ${formatBytes(file.size)}; the limit for videos is ${formatBytes(rules.maxVideoUploadBytes)}. Please choose a shorter or smaller video.`,
    };
  }
  return { ok: true };
}

/** Enough of the file for every container's signature (the server decides on as many bytes). */
const VIDEO_HEAD_BYTES = 4096;

/** The first bytes, checked with the server's own container sniffing: a text file named .mp4 is caught here. */
export async function checkVideoContents(file: Blob & { name: string }): Promise<Validation> {
  const head = new Uint8Array(await file.slice(0, VIDEO_HEAD_BYTES).arrayBuffer());
  if (sniffVideo(head) !== undefined) return { ok: true };
  return { ok: false, message: `“${file.name}” does not contain a video, even though its name says so. Please choose a video file.` };
}
