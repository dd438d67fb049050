/**
 * Which video container a file is, from its first bytes alone. Hand-written on purpose, like the
 * still-image sniffing of the Node codec: ffmpeg guesses a format among every demuxer it was built
 * with, including playlists and concat lists that open other files or URLs (HLS, concat, image
 * sequences, subtitles…), so Portoon checks its own allow-list before ffmpeg sees the bytes, and then
 * names the demuxer to ffmpeg instead of letting it guess again. Pure byte logic, so the service can
 * route an upload (a photo to memory, a video to disk) while it is still arriving.
 */

/** The containers Portoon reads video from. */
export const VIDEO_CONTAINERS = ['mp4', 'mov', 'matroska', 'webm', 'avi', 'gif'] as const;
export type VideoContainer = (typeof VIDEO_CONTAINERS)[number];

/** The ffmpeg demuxer for each container (`-f`), so ffmpeg reads the file as what the sniffing found. */
export const DEMUXER: Readonly<Record<VideoContainer, string>> = {
  mp4: 'mov',
  mov: 'mov',
  matroska: 'matroska',
  webm: 'matroska',
  avi: 'avi',
  gif: 'gif',
};

/** Names for messages: what Portoon accepts as video. */
export const ACCEPTED_VIDEO_LABELS = 'MP4, MOV, MKV, WebM, AVI or animated GIF';

/**
 * ISO-BMFF major brands of HEIF/HEIC and AVIF stills and image sequences (the list libvips's heifload
 * accepts). They share the `ftyp` box with MP4, and they are images: the still codec reads them.
 */
export const STILL_BRANDS: ReadonlySet<string> = new Set([
  'heic',
  'heix',
  'hevc',
  'hevx',
  'heim',
  'heis',
  'hevm',
  'hevs',
  'mif1',
  'msf1',
  'avif',
  'avis',
]);

/** ISO-BMFF brands of audio-only files (iTunes audio, audiobooks, protected audio). */
const AUDIO_BRANDS = new Set(['M4A ', 'M4B ', 'M4P ', 'F4A ', 'F4B ']);

/**
 * ISO-BMFF brands of video files: ISO base media and MP4, QuickTime, Apple and Flash video, 3GPP/3GPP2,
 * MPEG-DASH segments, and the brands cameras write (Sony XAVC and MSNV, Nikon NDxx, Canon CAEP).
 */
const VIDEO_BRANDS = new Set([
  'isom',
  'iso2',
  'iso3',
  'iso4',
  'iso5',
  'iso6',
  'iso7',
  'iso8',
  'iso9',
  'mp41',
  'mp42',
  'mp71',
  'avc1',
  'qt  ',
  'M4V ',
  'M4VH',
  'M4VP',
  'f4v ',
  'mmp4',
  'dash',
  'msdh',
  '3gp4',
  '3gp5',
  '3gp6',
  '3gp7',
  '3gs7',
  '3ge6',
  '3ge7',
  '3gg6',
  '3g2a',
  '3g2b',
  '3g2c',
  'XAVC',
  'MSNV',
  'NDAS',
  'NDSC',
  'NDSH',
  'NDSM',
  'NDSP',
  'NDSS',
  'NDXC',
  'NDXH',
  'NDXM',
  'NDXP',
  'NDXS',
  'CAEP',
]);

/** Top-level atoms an old QuickTime file (from before `ftyp`) may start with. */
const QUICKTIME_FIRST_ATOMS = new Set(['moov', 'mdat', 'wide', 'free', 'skip']);

/**
 * The video container the bytes are, from the first bytes; undefined for anything else, and for a GIF
 * with a single frame (a still: ../codec.ts reads it) or whose second frame lies beyond `bytes`.
 */
export function sniffVideo(bytes: Uint8Array): VideoContainer | undefined {
  const text = (offset: number, length: number): string =>
    offset + length <= bytes.length ? String.fromCharCode(...bytes.subarray(offset, offset + length)) : '';
  if (text(4, 4) === 'ftyp') return isoBmffContainer(bytes);
  if (QUICKTIME_FIRST_ATOMS.has(text(4, 4))) return 'mov';
  if (bytes[0] === 0x1a && bytes[1] === 0x45 && bytes[2] === 0xdf && bytes[3] === 0xa3) return matroskaContainer(bytes);
  if (text(0, 4) === 'RIFF' && text(8, 4) === 'AVI ') return 'avi';
  if (text(0, 6) === 'GIF87a' || text(0, 6) === 'GIF89a') return scanGif(bytes, 2).frames >= 2 ? 'gif' : undefined;
  return undefined;
}

/** MP4 or QuickTime from the `ftyp` box: its major brand, else the first known compatible brand. */
function isoBmffContainer(bytes: Uint8Array): VideoContainer | undefined {
  const size = readUint32(bytes, 0);
  const end = Math.min(bytes.length, size >= 16 ? size : 16);
  const brand = (offset: number): string => String.fromCharCode(...bytes.subarray(offset, offset + 4));
  const major = brand(8);
  if (STILL_BRANDS.has(major) || AUDIO_BRANDS.has(major)) return undefined;
  if (VIDEO_BRANDS.has(major)) return major === 'qt  ' ? 'mov' : 'mp4';
  // An unknown major brand: the compatible brands (after the 4-byte minor version) decide, and any
  // still-image brand among them makes it an image.
  const compatible: string[] = [];
  for (let offset = 16; offset + 4 <= end; offset += 4) compatible.push(brand(offset));
  if (compatible.some((b) => STILL_BRANDS.has(b))) return undefined;
  if (compatible.includes('qt  ')) return 'mov';
  return compatible.some((b) => VIDEO_BRANDS.has(b)) ? 'mp4' : undefined;
}

function readUint32(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0;
}

/**
 * Matroska or WebM from the EBML header's DocType (element 0x4282). A header without one is Matroska,
 * the EBML default; a DocType that is neither is not a video Portoon reads.
 */
function matroskaContainer(bytes: Uint8Array): VideoContainer | undefined {
  const limit = Math.min(bytes.length, 64);
  for (let i = 4; i + 2 < limit; i++) {
    if (bytes[i] !== 0x42 || bytes[i + 1] !== 0x82) continue;
    const first = bytes[i + 2]!;
    // The size is an EBML variable-length integer: its first byte's leading zeros give its width.
    const width = Math.clz32(first) - 23;
    if (width < 1 || width > 8 || i + 2 + width > limit) return undefined;
    let length = first & (0xff >> width);
    for (let k = 1; k < width; k++) length = length * 256 + bytes[i + 2 + k]!;
    const start = i + 2 + width;
    const docType = String.fromCharCode(...bytes.subarray(start, Math.min(start + length, bytes.length))).replace(/\0+$/, '');
    if (docType === 'webm') return 'webm';
    if (docType === 'matroska') return 'matroska';
    return undefined;
  }
  return 'matroska';
}

export interface GifScan {
  /** Image descriptors found (frames), counted up to the limit asked for. */
  frames: number;
  /** The scan stopped because the bytes ran out before the limit or the trailer: more bytes may tell more. */
  needsMore: boolean;
}

/**
 * Counts a GIF's frames by walking its blocks (header, colour tables, extensions, image descriptors,
 * each block's data sub-blocks) without decoding any pixel, stopping at `limit` frames, the trailer,
 * or the end of `bytes`. Bounded: one step per block of at most 255 bytes.
 */
export function scanGif(bytes: Uint8Array, limit: number): GifScan {
  const length = bytes.length;
  if (length < 13) return { frames: 0, needsMore: true };
  let p = 13 + colorTableSize(bytes[10]!);
  let frames = 0;
  // Skips data sub-blocks (a size byte, then that many bytes) up to the zero-size terminator.
  const skipSubBlocks = (from: number): number => {
    let q = from;
    while (q < length) {
      const size = bytes[q]!;
      q += 1;
      if (size === 0) return q;
      q += size;
    }
    return Number.POSITIVE_INFINITY;
  };
  while (p < length) {
    const introducer = bytes[p]!;
    if (introducer === 0x3b) return { frames, needsMore: false };
    if (introducer === 0x21) {
      p = skipSubBlocks(p + 2);
    } else if (introducer === 0x2c) {
      frames += 1;
      if (frames >= limit) return { frames, needsMore: false };
      if (p + 10 > length) break;
      // Descriptor (10 bytes), optional local colour table, LZW minimum code size (1 byte), data.
      p = skipSubBlocks(p + 10 + colorTableSize(bytes[p + 9]!) + 1);
    } else {
      return { frames, needsMore: false };
    }
  }
  return { frames, needsMore: true };
}

/** Bytes of the colour table a GIF screen or image descriptor's packed field announces. */
function colorTableSize(packed: number): number {
  return packed & 0x80 ? 3 * (1 << ((packed & 0x07) + 1)) : 0;
}

/** Whether the bytes start like a GIF (still or animated). */
export function isGifHeader(bytes: Uint8Array): boolean {
  return bytes[0] === 0x47 && bytes[1] === 0x49 && bytes[2] === 0x46;
}
