/**
 * The image formats Portoon reads and writes, declared once: the service lists the accepted types,
 * the web UI checks a file before sending it, the CLI picks images out of a folder by extension, and
 * the codec names them in its refusal, all from this table.
 */

/** Raster types accepted as input (recognised by content, not by name; the names help clients check early). */
export const INPUT_IMAGE_TYPES = [
  { mime: 'image/jpeg', label: 'JPEG', extensions: ['jpg', 'jpeg', 'jpe', 'jfif'] },
  { mime: 'image/png', label: 'PNG', extensions: ['png'] },
  { mime: 'image/webp', label: 'WebP', extensions: ['webp'] },
  { mime: 'image/avif', label: 'AVIF', extensions: ['avif'] },
  { mime: 'image/gif', label: 'GIF', extensions: ['gif'] },
  { mime: 'image/tiff', label: 'TIFF', extensions: ['tif', 'tiff'] },
  { mime: 'image/heic', label: 'HEIC', extensions: ['heic'] },
  { mime: 'image/heif', label: 'HEIF', extensions: ['heif', 'heic'] },
] as const;

export type InputImageType = (typeof INPUT_IMAGE_TYPES)[number];

/** MIME types of the accepted inputs. */
export const ACCEPTED_MIME_TYPES: readonly string[] = INPUT_IMAGE_TYPES.map((type) => type.mime);

/** File extensions (lowercase, without the dot) of the accepted inputs. */
export const ACCEPTED_EXTENSIONS: readonly string[] = [...new Set(INPUT_IMAGE_TYPES.flatMap((type) => type.extensions))];

/** "JPEG, PNG, WebP, AVIF, GIF, TIFF, HEIC, HEIF" */
export const ACCEPTED_LABELS: string = INPUT_IMAGE_TYPES.map((type) => type.label).join(', ');

export const OUTPUT_FORMATS = ['png', 'jpeg', 'webp'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** Other spellings of an output format that requests may use. */
export const OUTPUT_FORMAT_ALIASES: Readonly<Record<string, OutputFormat>> = { jpg: 'jpeg' };

const OUTPUT_EXTENSIONS: Readonly<Record<OutputFormat, string>> = { png: 'png', jpeg: 'jpg', webp: 'webp' };

/** The usual file extension of an output format, without the dot (`jpeg` → `jpg`). */
export function extensionOf(format: OutputFormat): string {
  return OUTPUT_EXTENSIONS[format];
}

/** The output format a name or extension stands for (`jpg`, `.JPEG`, `photo.webp`), if any. */
export function outputFormatOf(nameOrExtension: string): OutputFormat | undefined {
  const ext = /(?:^|\.)([^./\\]+)$/.exec(nameOrExtension.toLowerCase())?.[1] ?? '';
  if ((OUTPUT_FORMATS as readonly string[]).includes(ext)) return ext as OutputFormat;
  return OUTPUT_FORMAT_ALIASES[ext];
}

/** The MIME type of an output format. */
export function mimeTypeOf(format: OutputFormat): string {
  return `image/${format}`;
}

/** Inputs with more pixels than this are refused unless configured otherwise (every codec, every platform). */
export const DEFAULT_MAX_INPUT_PIXELS = 50_000_000;
