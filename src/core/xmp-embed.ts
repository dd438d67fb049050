/**
 * Writes an XMP packet into already-encoded PNG, JPEG and WebP bytes, the way each format's XMP
 * specification says, and reads it back. Encoders that write no metadata of their own (a browser's
 * `OffscreenCanvas.convertToBlob`) still have to carry Portoon's AI-generated label (`buildXmp`), so
 * the packet is spliced into the container here: the pixel data is copied untouched, only the
 * container's segments, chunks and sizes change.
 *
 * Every read is bounds-checked against the input, every declared length is held against the bytes
 * that are really there, and every walk moves forward by at least one header per step, so hostile
 * lengths end in a PortoonError, never in an out-of-range read or a loop that does not finish:
 * - `E_EMPTY_INPUT`: no bytes at all;
 * - `E_UNSUPPORTED_FORMAT`: the bytes do not start like the format (or like any of the three);
 * - `E_DECODE_FAILED`: they start like it but the structure is damaged or cut off.
 */
import { PortoonError } from './errors.js';

export type XmpContainer = 'png' | 'jpeg' | 'webp';

const LABEL: Readonly<Record<XmpContainer, string>> = { png: 'PNG', jpeg: 'JPEG', webp: 'WebP' };

/**
 * Returns a copy of `bytes` (a complete PNG, JPEG or WebP file of `format`) with `xmp` embedded as
 * that format's standard XMP packet, replacing any XMP packet already there:
 * - JPEG: an APP1 segment `http://ns.adobe.com/xap/1.0/\0` right after SOI (after the JFIF APP0 and
 *   Exif APP1 segments that open the file, if any); the packet may be at most 65502 bytes (UTF-8),
 *   else `E_BAD_OPTION`;
 * - PNG: an uncompressed `iTXt` chunk with keyword `XML:com.adobe.xmp` right after IHDR (old XMP in
 *   iTXt, zTXt or tEXt chunks goes);
 * - WebP: an `XMP ` chunk in the extended format; a simple file (`VP8 ` or `VP8L`) gets a `VP8X`
 *   header with the canvas size and alpha flag read from its bitstream.
 * Throws `E_EMPTY_INPUT`, `E_UNSUPPORTED_FORMAT` or `E_DECODE_FAILED` for bytes that are not a
 * well-formed file of `format`.
 * @example
 * import { buildXmp, embedXmp } from 'portoon/core';
 *
 * const blob = await canvas.convertToBlob({ type: 'image/webp', quality: 0.9 });
 * const labelled = embedXmp(new Uint8Array(await blob.arrayBuffer()), 'webp', buildXmp(provenance));
 */
export function embedXmp(bytes: Uint8Array, format: XmpContainer, xmp: string): Uint8Array {
  const packet = encodeUtf8(xmp);
  assertSignature(bytes, format);
  if (format === 'jpeg') return embedJpeg(bytes, packet);
  if (format === 'png') return embedPng(bytes, packet);
  return embedWebp(bytes, packet);
}

/**
 * The XMP packet of a PNG, JPEG or WebP file (recognised by its first bytes), or undefined when the
 * file is well-formed and has none. Only uncompressed PNG packets are read (the core has no inflate):
 * a compressed one (zTXt, as libvips writes it) counts as none, though {@link embedXmp} replaces it.
 * Throws like {@link embedXmp} for anything else, including files cut short after the packet.
 */
export function extractXmp(bytes: Uint8Array): string | undefined {
  const format = sniffContainer(bytes);
  const packet = format === 'jpeg' ? jpegXmp(bytes) : format === 'png' ? pngXmp(bytes) : webpXmp(bytes);
  return packet && decodeUtf8(packet);
}

// ---------------------------------------------------------------------------------------------
// Shared byte handling

const SIGNATURES: Readonly<Record<XmpContainer, (bytes: Uint8Array) => boolean>> = {
  jpeg: (b) => startsWith(b, 0, [0xff, 0xd8, 0xff]),
  png: (b) => startsWith(b, 0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  webp: (b) => ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP',
};

function startsWith(bytes: Uint8Array, offset: number, signature: readonly number[]): boolean {
  return offset + signature.length <= bytes.length && signature.every((byte, i) => bytes[offset + i] === byte);
}

/** `length` bytes at `offset` as Latin-1 text ('' when they are not all there). */
function ascii(bytes: Uint8Array, offset: number, length: number): string {
  if (offset < 0 || offset + length > bytes.length) return '';
  return String.fromCharCode(...bytes.subarray(offset, offset + length));
}

function assertNotEmpty(bytes: Uint8Array): void {
  if (bytes.length === 0) throw new PortoonError('E_EMPTY_INPUT', 'The image is empty (0 bytes): expected a PNG, JPEG or WebP file');
}

function assertSignature(bytes: Uint8Array, format: XmpContainer): void {
  assertNotEmpty(bytes);
  if (!SIGNATURES[format](bytes)) {
    throw new PortoonError('E_UNSUPPORTED_FORMAT', `The bytes are not a ${LABEL[format]} file, so no XMP packet can be written into them`);
  }
}

function sniffContainer(bytes: Uint8Array): XmpContainer {
  assertNotEmpty(bytes);
  const format = (['jpeg', 'png', 'webp'] as const).find((f) => SIGNATURES[f](bytes));
  if (!format) throw new PortoonError('E_UNSUPPORTED_FORMAT', 'The bytes are not a PNG, JPEG or WebP file');
  return format;
}

function damaged(format: XmpContainer, what: string): PortoonError {
  return new PortoonError('E_DECODE_FAILED', `The ${LABEL[format]} file is damaged or truncated (${what}); encode it again`, {
    details: { format, reason: what },
  });
}

/** Throws unless `length` bytes from `offset` lie inside `bytes`. */
function need(bytes: Uint8Array, offset: number, length: number, format: XmpContainer, what: string): void {
  if (offset + length > bytes.length) throw damaged(format, `${what} at byte ${offset} runs past the end of the file`);
}

function u16be(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

function u32be(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

function u32le(b: Uint8Array, o: number): number {
  return ((b[o + 3]! << 24) | (b[o + 2]! << 16) | (b[o + 1]! << 8) | b[o]!) >>> 0;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function latin1(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

/** Whether `bytes` at `offset` holds `prefix` (Latin-1). */
function hasPrefix(bytes: Uint8Array, offset: number, end: number, prefix: Uint8Array): boolean {
  return offset + prefix.length <= end && prefix.every((byte, i) => bytes[offset + i] === byte);
}

/**
 * UTF-8 by hand: the core is type-checked without DOM or Node types, so neither TextEncoder nor
 * Buffer is there. A lone surrogate becomes U+FFFD, as TextEncoder would make it.
 */
function encodeUtf8(text: string): Uint8Array {
  const out: number[] = [];
  for (const char of text) {
    let cp = char.codePointAt(0)!;
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
    if (cp < 0x80) out.push(cp);
    else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 63));
    else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
    else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
  }
  return Uint8Array.from(out);
}

/** UTF-8 to text; each malformed sequence becomes U+FFFD (like TextDecoder without `fatal`). */
function decodeUtf8(bytes: Uint8Array): string {
  const points: number[] = [];
  for (let i = 0; i < bytes.length;) {
    const lead = bytes[i]!;
    const extra = lead < 0x80 ? 0 : lead >= 0xf0 && lead < 0xf5 ? 3 : lead >= 0xe0 ? 2 : lead >= 0xc2 && lead < 0xe0 ? 1 : -1;
    let cp = extra === 0 ? lead : extra === 1 ? lead & 31 : extra === 2 ? lead & 15 : lead & 7;
    let k = 1;
    for (; k <= extra && i + k < bytes.length && (bytes[i + k]! & 0xc0) === 0x80; k++) cp = (cp << 6) | (bytes[i + k]! & 63);
    const min = [0, 0x80, 0x800, 0x10000][extra] ?? 0;
    const valid = extra >= 0 && k === extra + 1 && cp >= min && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
    points.push(valid ? cp : 0xfffd);
    i += valid ? k : Math.max(1, k - 1);
  }
  let text = '';
  // In slices: String.fromCodePoint with a whole packet's worth of arguments could overflow the stack.
  for (let i = 0; i < points.length; i += 8192) text += String.fromCodePoint(...points.slice(i, i + 8192));
  return text;
}

// ---------------------------------------------------------------------------------------------
// JPEG: APP1 "http://ns.adobe.com/xap/1.0/\0" + packet (XMP spec part 3, 1.1.3)

const JPEG_XMP_ID = latin1('http://ns.adobe.com/xap/1.0/\0');
/** Extended XMP (the overflow of packets too big for one segment): an old one is dropped as well. */
const JPEG_XMP_EXT_ID = latin1('http://ns.adobe.com/xmp/extension/\0');
const EXIF_ID = latin1('Exif\0\0');
/** The largest packet one APP1 segment holds, as the XMP specification states it. */
export const JPEG_MAX_XMP_BYTES = 65502;

interface JpegSegment {
  marker: number;
  /** Offset of the 0xFF that starts the marker. */
  start: number;
  /** Offset just past the segment (its payload, not the entropy-coded data after an SOS). */
  end: number;
}

/**
 * Every marker segment of a JPEG up to EOI, skipping the entropy-coded data after each SOS (where a
 * 0xFF is followed by 0x00 stuffing or a restart marker). Throws when EOI is never reached: a file
 * cut anywhere loses it.
 */
function jpegSegments(bytes: Uint8Array): JpegSegment[] {
  const segments: JpegSegment[] = [];
  let i = 2;
  for (;;) {
    need(bytes, i, 2, 'jpeg', 'a marker');
    if (bytes[i] !== 0xff) throw damaged('jpeg', `no marker at byte ${i}`);
    const start = i;
    while (i + 1 < bytes.length && bytes[i + 1] === 0xff) i++; // fill bytes before a marker
    need(bytes, i, 2, 'jpeg', 'a marker');
    const marker = bytes[i + 1]!;
    i += 2;
    if (marker === 0xd9) return segments;
    if (marker === 0xd8 || marker === 0x00) throw damaged('jpeg', `unexpected marker 0x${marker.toString(16)} at byte ${start}`);
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue; // no payload
    need(bytes, i, 2, 'jpeg', 'a segment length');
    const length = u16be(bytes, i);
    if (length < 2) throw damaged('jpeg', `segment length ${length} at byte ${i}`);
    need(bytes, i, length, 'jpeg', 'a segment');
    i += length;
    segments.push({ marker, start, end: i });
    if (marker === 0xda) i = skipEntropyData(bytes, i);
  }
}

/** The offset of the first marker after entropy-coded data (the end of the file when there is none). */
function skipEntropyData(bytes: Uint8Array, from: number): number {
  for (let i = from; i + 1 < bytes.length; i++) {
    if (bytes[i] !== 0xff) continue;
    const next = bytes[i + 1]!;
    if (next === 0x00 || next === 0xff || (next >= 0xd0 && next <= 0xd7)) continue;
    return i;
  }
  return bytes.length;
}

/** Offset of a segment's payload: after its (fill bytes,) marker and length. */
function jpegPayload(bytes: Uint8Array, segment: JpegSegment): number {
  let i = segment.start;
  while (bytes[i + 1] === 0xff) i++;
  return i + 4;
}

/** A standard or extended XMP segment (an old packet to drop). */
function isJpegXmp(bytes: Uint8Array, segment: JpegSegment): boolean {
  const payload = jpegPayload(bytes, segment);
  return (
    segment.marker === 0xe1 &&
    (hasPrefix(bytes, payload, segment.end, JPEG_XMP_ID) || hasPrefix(bytes, payload, segment.end, JPEG_XMP_EXT_ID))
  );
}

function jpegXmp(bytes: Uint8Array): Uint8Array | undefined {
  for (const segment of jpegSegments(bytes)) {
    const payload = jpegPayload(bytes, segment);
    if (segment.marker === 0xe1 && hasPrefix(bytes, payload, segment.end, JPEG_XMP_ID)) {
      return bytes.slice(payload + JPEG_XMP_ID.length, segment.end);
    }
  }
  return undefined;
}

function embedJpeg(bytes: Uint8Array, packet: Uint8Array): Uint8Array {
  if (packet.length > JPEG_MAX_XMP_BYTES) {
    throw new PortoonError(
      'E_BAD_OPTION',
      `The XMP packet is ${packet.length} bytes; a JPEG holds at most ${JPEG_MAX_XMP_BYTES} bytes in one segment. Shorten the metadata (fewer or shorter model ids)`,
      { details: { bytes: packet.length, limit: JPEG_MAX_XMP_BYTES } },
    );
  }
  const segments = jpegSegments(bytes);
  // JFIF and Exif each require their segment right after SOI, so the packet goes after the APP0
  // (JFIF, JFXX) and Exif APP1 segments that open the file.
  let insertAt = 2;
  for (const segment of segments) {
    const leading =
      segment.marker === 0xe0 || (segment.marker === 0xe1 && hasPrefix(bytes, jpegPayload(bytes, segment), segment.end, EXIF_ID));
    if (segment.start !== insertAt || !leading) break;
    insertAt = segment.end;
  }
  const header = new Uint8Array(4 + JPEG_XMP_ID.length);
  const length = 2 + JPEG_XMP_ID.length + packet.length;
  header.set([0xff, 0xe1, length >> 8, length & 0xff]);
  header.set(JPEG_XMP_ID, 4);
  const parts: Uint8Array[] = [bytes.subarray(0, insertAt), header, packet];
  let from = insertAt;
  for (const segment of segments) {
    if (segment.start < insertAt || !isJpegXmp(bytes, segment)) continue;
    parts.push(bytes.subarray(from, segment.start));
    from = segment.end;
  }
  parts.push(bytes.subarray(from));
  return concat(parts);
}

// ---------------------------------------------------------------------------------------------
// PNG: iTXt "XML:com.adobe.xmp", uncompressed (XMP spec part 3, 1.1.5)

const PNG_XMP_KEYWORD = latin1('XML:com.adobe.xmp\0');
/** PNG caps chunk lengths at 2^31 - 1. */
const PNG_MAX_CHUNK = 0x7fffffff;

interface PngChunk {
  type: string;
  /** Offset of the chunk's length field. */
  start: number;
  /** Offset of its data. */
  data: number;
  /** Offset just past its CRC. */
  end: number;
}

/**
 * The chunks of a PNG from IHDR to IEND. CRCs are not checked: the walk is about structure, and a
 * decoder checks them anyway; lengths are, against the bytes that are there.
 */
function pngChunks(bytes: Uint8Array): PngChunk[] {
  const chunks: PngChunk[] = [];
  for (let i = 8; ;) {
    need(bytes, i, 12, 'png', 'a chunk header');
    const length = u32be(bytes, i);
    if (length > PNG_MAX_CHUNK) throw damaged('png', `chunk length ${length} at byte ${i}`);
    need(bytes, i + 8, length + 4, 'png', 'a chunk');
    const chunk = { type: ascii(bytes, i + 4, 4), start: i, data: i + 8, end: i + 12 + length };
    if (chunks.length === 0 && (chunk.type !== 'IHDR' || length !== 13)) throw damaged('png', 'the first chunk is not IHDR');
    chunks.push(chunk);
    if (chunk.type === 'IEND') return chunks;
    i = chunk.end;
  }
}

/**
 * A chunk holding XMP: the standard iTXt, or the zTXt and tEXt chunks some writers use instead
 * (libvips writes zTXt). All of them are replaced, so that readers that prefer one find the new packet.
 */
function isPngXmp(bytes: Uint8Array, chunk: PngChunk): boolean {
  return (
    (chunk.type === 'iTXt' || chunk.type === 'zTXt' || chunk.type === 'tEXt') &&
    hasPrefix(bytes, chunk.data, chunk.end - 4, PNG_XMP_KEYWORD)
  );
}

/** The first readable packet: an uncompressed iTXt, or a tEXt (zTXt would need inflate). */
function pngXmp(bytes: Uint8Array): Uint8Array | undefined {
  for (const chunk of pngChunks(bytes)) {
    if (!isPngXmp(bytes, chunk)) continue;
    const from = chunk.data + PNG_XMP_KEYWORD.length;
    const text =
      chunk.type === 'iTXt' ? itxtText(bytes, from, chunk.end - 4) : chunk.type === 'tEXt' ? bytes.slice(from, chunk.end - 4) : undefined;
    if (text) return text;
  }
  return undefined;
}

/**
 * The text of an iTXt chunk from its compression flag on (flag, method, language tag\0, translated
 * keyword\0, text); undefined when it is compressed or its fields are cut short.
 */
function itxtText(bytes: Uint8Array, from: number, end: number): Uint8Array | undefined {
  if (from + 2 > end || bytes[from] !== 0) return undefined;
  let i = from + 2;
  for (let nul = 0; nul < 2; i++) {
    if (i >= end) return undefined;
    if (bytes[i] === 0) nul++;
  }
  return bytes.slice(i, end);
}

function embedPng(bytes: Uint8Array, packet: Uint8Array): Uint8Array {
  const chunks = pngChunks(bytes);
  const ihdr = chunks[0]!;
  // keyword\0, uncompressed (0, 0), empty language tag\0, empty translated keyword\0, then the text.
  const data = concat([PNG_XMP_KEYWORD, Uint8Array.of(0, 0, 0, 0), packet]);
  const parts: Uint8Array[] = [bytes.subarray(0, ihdr.end), pngChunk('iTXt', data)];
  let from = ihdr.end;
  for (const chunk of chunks) {
    if (!isPngXmp(bytes, chunk)) continue;
    parts.push(bytes.subarray(from, chunk.start));
    from = chunk.end;
  }
  parts.push(bytes.subarray(from));
  return concat(parts);
}

function pngChunk(type: string, data: Uint8Array): Uint8Array {
  if (data.length > PNG_MAX_CHUNK)
    throw new PortoonError('E_BAD_OPTION', `The XMP packet is too large for a PNG chunk (${data.length} bytes)`);
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(latin1(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/**
 * CRC-32 (ISO-HDLC, the one PNG uses) with a 256-entry table. Written here because the core runs in
 * the browser too and may not import Node's zlib; the few kilobytes of a packet make speed moot.
 */
const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// WebP: "XMP " chunk in the extended (VP8X) format (WebP container specification)

const VP8X_XMP = 0x04;
const VP8X_ALPHA = 0x10;
/** Chunks the container spec places before XMP; anything after them is an unknown chunk, kept last. */
const WEBP_KNOWN = new Set(['VP8X', 'ICCP', 'ANIM', 'ANMF', 'ALPH', 'VP8 ', 'VP8L', 'EXIF']);

interface RiffChunk {
  fourcc: string;
  /** Offset of the chunk header. */
  start: number;
  /** Offset of its payload. */
  data: number;
  /** Declared payload size (without padding). */
  size: number;
  /** Offset just past the payload and its padding byte. */
  end: number;
}

/** The top-level chunks of a WebP file; trailing bytes beyond the RIFF size are not part of it. */
function webpChunks(bytes: Uint8Array): RiffChunk[] {
  need(bytes, 0, 12, 'webp', 'the RIFF header');
  const riffEnd = 8 + u32le(bytes, 4);
  if (riffEnd > bytes.length) throw damaged('webp', `the RIFF size says ${riffEnd} bytes but the file has ${bytes.length}`);
  const chunks: RiffChunk[] = [];
  for (let i = 12; i < riffEnd;) {
    if (i + 8 > riffEnd) throw damaged('webp', `a chunk header at byte ${i} runs past the RIFF size`);
    const size = u32le(bytes, i + 4);
    const end = i + 8 + size + (size & 1);
    if (end > riffEnd) throw damaged('webp', `the ${JSON.stringify(ascii(bytes, i, 4))} chunk at byte ${i} runs past the RIFF size`);
    chunks.push({ fourcc: ascii(bytes, i, 4), start: i, data: i + 8, size, end });
    i = end;
  }
  const first = chunks[0]?.fourcc;
  if (first !== 'VP8 ' && first !== 'VP8L' && first !== 'VP8X') throw damaged('webp', 'no VP8, VP8L or VP8X chunk first');
  if (!chunks.some((c) => c.fourcc === 'VP8 ' || c.fourcc === 'VP8L' || c.fourcc === 'ANMF')) throw damaged('webp', 'no image data');
  return chunks;
}

function webpXmp(bytes: Uint8Array): Uint8Array | undefined {
  const chunk = webpChunks(bytes).find((c) => c.fourcc === 'XMP ');
  return chunk && bytes.slice(chunk.data, chunk.data + chunk.size);
}

function embedWebp(bytes: Uint8Array, packet: Uint8Array): Uint8Array {
  const chunks = webpChunks(bytes);
  const kept = chunks.filter((c) => c.fourcc !== 'XMP ' && c.fourcc !== 'VP8X');
  const lastKnown = kept.reduce((last, c, index) => (WEBP_KNOWN.has(c.fourcc) ? index : last), -1);
  const body: Uint8Array[] = [vp8xChunk(bytes, chunks)];
  kept.forEach((c, index) => {
    body.push(bytes.subarray(c.start, c.end));
    if (index === lastKnown) body.push(riffChunk('XMP ', packet));
  });
  const riffSize = 4 + body.reduce((sum, part) => sum + part.length, 0);
  if (riffSize > 0xfffffffe) throw new PortoonError('E_BAD_OPTION', 'The WebP file with its XMP packet would exceed the 4 GB RIFF limit');
  const header = concat([latin1('RIFF'), u32leBytes(riffSize), latin1('WEBP')]);
  return concat([header, ...body]);
}

/** The VP8X chunk of the output: the file's own with the XMP flag set, or one made for a simple file. */
function vp8xChunk(bytes: Uint8Array, chunks: readonly RiffChunk[]): Uint8Array {
  const first = chunks[0]!;
  if (first.fourcc === 'VP8X') {
    if (first.size < 10) throw damaged('webp', `VP8X chunk of ${first.size} bytes`);
    const chunk = bytes.slice(first.start, first.end);
    chunk[8] = chunk[8]! | VP8X_XMP;
    return chunk;
  }
  const { width, height, alpha } = simpleWebpCanvas(bytes, first);
  const hasAlph = chunks.some((c) => c.fourcc === 'ALPH');
  const payload = new Uint8Array(10);
  payload[0] = VP8X_XMP | (alpha || hasAlph ? VP8X_ALPHA : 0);
  payload.set(u24le(width - 1), 4);
  payload.set(u24le(height - 1), 7);
  return riffChunk('VP8X', payload);
}

/** Canvas size and alpha hint from the bitstream header of a simple (VP8 or VP8L) WebP. */
function simpleWebpCanvas(bytes: Uint8Array, chunk: RiffChunk): { width: number; height: number; alpha: boolean } {
  const d = chunk.data;
  if (chunk.fourcc === 'VP8L') {
    // Signature 0x2f, then 14 bits width-1, 14 bits height-1, 1 bit alpha_is_used, 3 bits version.
    if (chunk.size < 5 || bytes[d] !== 0x2f) throw damaged('webp', 'the VP8L header is missing');
    const bits = u32le(bytes, d + 1);
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1, alpha: ((bits >>> 28) & 1) === 1 };
  }
  // Key frame: 3-byte frame tag (bit 0 clear), start code 9d 01 2a, then 14-bit width and height.
  if (chunk.size < 10 || (bytes[d]! & 1) !== 0 || !startsWith(bytes, d + 3, [0x9d, 0x01, 0x2a])) {
    throw damaged('webp', 'the VP8 key frame header is missing');
  }
  const width = (bytes[d + 6]! | (bytes[d + 7]! << 8)) & 0x3fff;
  const height = (bytes[d + 8]! | (bytes[d + 9]! << 8)) & 0x3fff;
  if (width === 0 || height === 0) throw damaged('webp', `a VP8 frame of ${width}x${height}`);
  return { width, height, alpha: false };
}

function riffChunk(fourcc: string, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + payload.length + (payload.length & 1)); // padded to even, with 0
  out.set(latin1(fourcc));
  out.set(u32leBytes(payload.length), 4);
  out.set(payload, 8);
  return out;
}

function u32leBytes(value: number): Uint8Array {
  return Uint8Array.of(value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff);
}

function u24le(value: number): Uint8Array {
  return Uint8Array.of(value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff);
}
