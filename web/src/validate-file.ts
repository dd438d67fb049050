/**
 * Client-side checks before anything is uploaded: type (by MIME type, file name, and the first bytes),
 * and size. The server checks again; this only saves the user a pointless upload and gives a clearer
 * message sooner.
 */

/** What the server accepts when it does not say otherwise. */
export const DEFAULT_ACCEPTED_TYPES = [
  'image/jpeg',
  'image/png',
  'image/webp',
  'image/gif',
  'image/avif',
  'image/tiff',
  'image/heic',
  'image/heif',
];

export const DEFAULT_MAX_UPLOAD_BYTES = 10 * 1024 * 1024;

const EXTENSIONS: Record<string, readonly string[]> = {
  'image/jpeg': ['jpg', 'jpeg', 'jpe', 'jfif'],
  'image/png': ['png'],
  'image/webp': ['webp'],
  'image/gif': ['gif'],
  'image/avif': ['avif'],
  'image/tiff': ['tif', 'tiff'],
  'image/heic': ['heic'],
  'image/heif': ['heif', 'heic'],
};

const LABELS: Record<string, string> = {
  'image/jpeg': 'JPEG',
  'image/png': 'PNG',
  'image/webp': 'WebP',
  'image/gif': 'GIF',
  'image/avif': 'AVIF',
  'image/tiff': 'TIFF',
  'image/heic': 'HEIC',
  'image/heif': 'HEIF',
};

export interface UploadRules {
  acceptedTypes: readonly string[];
  maxUploadBytes: number;
}

export type Validation = { ok: true } | { ok: false; message: string };

/** "JPEG, PNG, WebP or GIF": for hints and error messages. */
export function describeTypes(types: readonly string[]): string {
  const labels = [...new Set(types.map((t) => LABELS[t] ?? t.replace(/^image\//, '').toUpperCase()))];
  if (labels.length <= 1) return labels.join('');
  return `${labels.slice(0, -1).join(', ')} or ${labels.at(-1)}`;
}

/** Value for the file input's accept attribute: MIME types plus extensions (some systems only know one). */
export function acceptAttribute(types: readonly string[]): string {
  return [...types, ...types.flatMap((t) => (EXTENSIONS[t] ?? []).map((ext) => `.${ext}`))].join(',');
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1).replace(/\.0$/, '')} MB`;
}

function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? '' : name.slice(dot + 1).toLowerCase();
}

/** Type and size, from what the browser tells us about the file. */
export function checkFile(file: { name: string; type: string; size: number }, rules: UploadRules): Validation {
  const ext = extensionOf(file.name);
  const typeOk = rules.acceptedTypes.includes(file.type) || rules.acceptedTypes.some((t) => (EXTENSIONS[t] ?? []).includes(ext));
  if (!typeOk) {
    return { ok: false, message: `“${file.name}” is not a supported photo. Please choose a ${describeTypes(rules.acceptedTypes)} image.` };
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
