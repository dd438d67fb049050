/**
 * The video files the page offers to send: their MIME types and names, for the file picker, the hint
 * and the first check of a chosen file. The server recognises a video by its content (see
 * src/core/video/sniff.ts, which the page also runs on the file's first bytes); this table only says
 * which files are worth looking at. An animated GIF stays a photo here, as it is in the field "image".
 */
export interface VideoType {
  mime: string;
  label: string;
  extensions: readonly string[];
}

export const VIDEO_TYPES: readonly VideoType[] = [
  { mime: 'video/mp4', label: 'MP4', extensions: ['mp4', 'm4v'] },
  { mime: 'video/quicktime', label: 'MOV', extensions: ['mov', 'qt'] },
  { mime: 'video/x-matroska', label: 'MKV', extensions: ['mkv'] },
  { mime: 'video/webm', label: 'WebM', extensions: ['webm'] },
  { mime: 'video/x-msvideo', label: 'AVI', extensions: ['avi'] },
];

/** "MP4, MOV, MKV, WebM or AVI" */
export const VIDEO_TYPE_LABELS = ((labels: string[]) => `${labels.slice(0, -1).join(', ')} or ${labels.at(-1)}`)(
  VIDEO_TYPES.map((type) => type.label),
);

/** MIME types and extensions for the file input's accept attribute. */
export const VIDEO_ACCEPT: readonly string[] = [
  ...VIDEO_TYPES.map((type) => type.mime),
  ...VIDEO_TYPES.flatMap((type) => type.extensions.map((ext) => `.${ext}`)),
];

function fileExtension(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? '' : name.slice(dot + 1).toLowerCase();
}

/**
 * Whether a file says it is a video, by its MIME type or, when the browser gives none it knows (as
 * for MKV on many systems), by its name. Its content is checked afterwards.
 */
export function isVideoFile(file: { name: string; type: string }): boolean {
  if (file.type.startsWith('video/')) return true;
  if (file.type.startsWith('image/')) return false;
  const ext = fileExtension(file.name);
  return VIDEO_TYPES.some((type) => type.extensions.includes(ext));
}
