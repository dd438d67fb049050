/**
 * Portoon's invisible watermark: a 64-bit payload (a Portoon marker, a format version and a 48-bit
 * output id) hidden in the picture's luma so that it outlives what strips metadata: re-encoding as
 * JPEG or WebP, scaling, stretching, brightness changes, screenshots.
 *
 * Payload → CRC-16 → BCH(127, 85) codeword (6 errors corrected). Each codeword bit is carried by eight
 * spread-transform dither-modulation (STDM) projections: a projection is the correlation of the 8
 * marked transform coefficients of one block (see `watermark-domain.ts`) with a ±1 chip sequence, and
 * the bit is embedded by moving that projection onto one of two dithered lattices of step Δ. The
 * eight blocks of a bit are scattered over the picture. Which blocks, which chips and which dithers
 * come from the key (`keyed-random.ts`).
 *
 * Reading computes the same projections, scores each against both lattices (a soft value in −1…1),
 * sums the copies of every bit that were not lost (outside a cropped copy, or clipped flat), and decodes: hard decisions through BCH, then Chase decoding that
 * flips the least reliable bits when that fails. A multiplicative brightness change scales every
 * projection, so reading tries a range of gains and keeps the best locked one. Only a codeword whose
 * CRC, marker and padding all check counts; an unmarked picture reads as "no watermark", never as
 * random bits (see the false-positive figures in docs/BENCHMARKS.md).
 */
import type { RawImage } from '../image.js';
import { BCH_K, BCH_N, bchDecode, bchEncode } from './bch.js';
import { crc16 } from './crc16.js';
import { keyedPermutation, keyedRandom } from './keyed-random.js';
import {
  approximationBand,
  bandFromCoefficientChanges,
  bandOfCanvas,
  canvasOf,
  type CanvasMapping,
  warpCanvas,
  BLOCK_COUNT,
  COEFFICIENT_COUNT,
  lumaChangeFromBand,
  lumaOf,
  MARKED_FREQUENCIES,
  markClippedBlocks,
  markedCoefficients,
} from './watermark-domain.js';

/**
 * The key every Portoon reads and writes unless configured otherwise. It is public, so anyone can
 * check a default mark; a deployment that wants marks only it can make and read sets its own secret
 * key (`--watermark-key`).
 */
export const DEFAULT_WATERMARK_KEY = 'portoon-watermark-v1';

/** Pictures whose shorter side is below this carry no mark (too few pixels to hold it). */
export const WATERMARK_MIN_SIDE = 96;

/**
 * Coefficients per projection (one block's). One block rather than several: a crop or a clipped
 * region then spoils only its own projections (measured: 10 % crops read, where 16 over two blocks
 * did not), at the same distortion for the lattice step below.
 */
const SPREAD = 8;
/** Projections per codeword bit. */
const COPIES = Math.floor(COEFFICIENT_COUNT / SPREAD / BCH_N);
const PROJECTIONS = COPIES * BCH_N;
/**
 * Lattice step of the projections (band units): about 45 dB PSNR over a picture (faces included:
 * above 42 dB on every face of the shared portraits in every style), and enough margin for JPEG 50
 * and halving of pictures down to about 300 px (see the attack table in docs/BENCHMARKS.md).
 */
const STEP = 82;
/** Marker and version: the first 16 payload bits, "P" and 0xA0 | version. */
const MARKER = [0x50, 0xa0] as const;
const VERSION = 1;
const PAYLOAD_BYTES = 8;
const ID_BYTES = 6;
/** Gains tried when reading (brightness changes scale the coefficients): 0.75…1.33 in 1 % steps. */
const GAINS = (() => {
  const gains = [1];
  for (let g = 1.01; g <= 1.34; g *= 1.01) gains.push(g, 1 / g);
  return gains;
})();
/** Least reliable bits Chase decoding flips (2^5 trial patterns). */
const CHASE_BITS = 5;

interface KeySchedule {
  /** For each projection: its SPREAD coefficient indices. */
  coefficients: Uint32Array;
  /** For each projection: its SPREAD chips (±1). */
  chips: Int8Array;
  /** For each projection: its dither in [0, STEP). */
  dithers: Float64Array;
  /** For each projection: the codeword bit it carries. */
  bits: Uint16Array;
}

const schedules = new Map<string, KeySchedule>();

function scheduleFor(key: string): KeySchedule {
  const cached = schedules.get(key);
  if (cached) return cached;
  const random = keyedRandom(key);
  // A projection takes every marked coefficient of blocks drawn at random (one block: SPREAD equals the
  // coefficients per block): local, so that a crop or a damaged region spoils only the projections
  // there, while the copies of a bit lie far apart.
  const blockOrder = keyedPermutation(BLOCK_COUNT, random);
  const perBlock = MARKED_FREQUENCIES.length;
  const blocksPerProjection = SPREAD / perBlock;
  const coefficients = new Uint32Array(PROJECTIONS * SPREAD);
  for (let j = 0; j < PROJECTIONS; j++) {
    for (let b = 0; b < blocksPerProjection; b++) {
      const block = blockOrder[j * blocksPerProjection + b]!;
      for (let k = 0; k < perBlock; k++) coefficients[j * SPREAD + b * perBlock + k] = block * perBlock + k;
    }
  }
  const chips = new Int8Array(PROJECTIONS * SPREAD);
  for (let i = 0; i < chips.length; i++) chips[i] = random() < 0.5 ? -1 : 1;
  const dithers = new Float64Array(PROJECTIONS);
  for (let j = 0; j < PROJECTIONS; j++) dithers[j] = random() * STEP;
  const bits = new Uint16Array(PROJECTIONS);
  for (let j = 0; j < PROJECTIONS; j++) bits[j] = j % BCH_N;
  const schedule = { coefficients, chips, dithers, bits };
  if (schedules.size > 8) schedules.clear();
  schedules.set(key, schedule);
  return schedule;
}

/** A fresh random 48-bit output id, as 12 lowercase hex digits. */
export function newOutputId(random: () => number = Math.random): string {
  let id = '';
  for (let i = 0; i < ID_BYTES; i++)
    id += Math.floor(random() * 256)
      .toString(16)
      .padStart(2, '0');
  return id;
}

const ID_PATTERN = /^[0-9a-f]{12}$/;

/** The 127 codeword bits for an output id. */
function codewordFor(id: string): Uint8Array {
  if (!ID_PATTERN.test(id)) throw new RangeError(`A watermark id is 12 lowercase hex digits, not ${JSON.stringify(id)}`);
  const payload = [...MARKER, ...Array.from({ length: ID_BYTES }, (_, i) => parseInt(id.slice(2 * i, 2 * i + 2), 16))];
  payload[1] = MARKER[1] | VERSION;
  const crc = crc16(payload);
  const bytes = [...payload, crc >> 8, crc & 0xff];
  const message = new Uint8Array(BCH_K); // the bits past the 80 payload+CRC bits stay 0 (checked on reading)
  for (let i = 0; i < bytes.length * 8; i++) message[i] = (bytes[i >> 3]! >> (7 - (i & 7))) & 1;
  return bchEncode(message);
}

/** The id in a corrected codeword, when its padding, marker and CRC all check. */
function idFromCodeword(codeword: Uint8Array): string | undefined {
  for (let i = (PAYLOAD_BYTES + 2) * 8; i < BCH_K; i++) if (codeword[i]) return undefined;
  const bytes = new Array<number>(PAYLOAD_BYTES + 2).fill(0);
  for (let i = 0; i < bytes.length * 8; i++) bytes[i >> 3]! |= codeword[i]! << (7 - (i & 7));
  if (bytes[0] !== MARKER[0] || bytes[1] !== (MARKER[1] | VERSION)) return undefined;
  if (crc16(bytes.slice(0, PAYLOAD_BYTES)) !== ((bytes[PAYLOAD_BYTES]! << 8) | bytes[PAYLOAD_BYTES + 1]!)) return undefined;
  return bytes
    .slice(2, PAYLOAD_BYTES)
    .map((b) => b.toString(16).padStart(2, '0'))
    .join('');
}

function projections(coefficients: Float64Array, schedule: KeySchedule): Float64Array {
  const out = new Float64Array(PROJECTIONS);
  const norm = 1 / Math.sqrt(SPREAD);
  for (let j = 0; j < PROJECTIONS; j++) {
    let sum = 0;
    for (let k = j * SPREAD; k < (j + 1) * SPREAD; k++) sum += schedule.chips[k]! * coefficients[schedule.coefficients[k]!]!;
    out[j] = sum * norm;
  }
  return out;
}

/** The nearest point of bit `bit`'s lattice (step STEP, offset dither + bit·STEP/2) to `value`. */
function latticePoint(value: number, dither: number, bit: number): number {
  const offset = dither + (bit * STEP) / 2;
  return Math.round((value - offset) / STEP) * STEP + offset;
}

export interface EmbedOptions {
  /** The key (default `DEFAULT_WATERMARK_KEY`). */
  key?: string | undefined;
}

/** Every projection's target: the nearest point of its bit's lattice. */
function projectionTargets(values: Float64Array, codeword: Uint8Array, schedule: KeySchedule): Float64Array {
  const targets = new Float64Array(PROJECTIONS);
  for (let j = 0; j < PROJECTIONS; j++) targets[j] = latticePoint(values[j]!, schedule.dithers[j]!, codeword[schedule.bits[j]!]!);
  return targets;
}

/** The coefficient changes that move every projection onto its target, along its chip direction. */
function coefficientChanges(values: Float64Array, targets: Float64Array, schedule: KeySchedule): Float64Array {
  const changes = new Float64Array(COEFFICIENT_COUNT);
  const norm = 1 / Math.sqrt(SPREAD);
  for (let j = 0; j < PROJECTIONS; j++) {
    const delta = targets[j]! - values[j]!;
    if (delta === 0) continue;
    // The chip direction has unit length, so moving along it by delta moves the projection by delta.
    for (let k = j * SPREAD; k < (j + 1) * SPREAD; k++) changes[schedule.coefficients[k]!]! += delta * schedule.chips[k]! * norm;
  }
  return changes;
}

function addLumaChange(image: RawImage, change: Float32Array): RawImage {
  const { width, height, channels, data } = image;
  const out = new Uint8Array(data.length);
  out.set(data);
  const colour = Math.min(channels, 3);
  for (let i = 0, p = 0; i < width * height; i++, p += channels) {
    const d = change[i]!;
    // Adding the same amount to R, G and B changes the luma by that amount and leaves the hue alone.
    for (let c = 0; c < colour; c++) out[p + c] = Math.min(255, Math.max(0, Math.round(data[p + c]! + d)));
  }
  return { width, height, channels, data: out };
}

/**
 * Embeds the mark for `id` (12 hex digits, see `newOutputId`) and returns a marked copy. Pictures with
 * a side shorter than `WATERMARK_MIN_SIDE` come back unchanged (a copy). Two passes towards the same
 * targets: the second re-embeds what rounding, clipping and resampling took from the first.
 */
export function embedWatermark(image: RawImage, id: string, options: EmbedOptions = {}): RawImage {
  const codeword = codewordFor(id);
  const { width, height } = image;
  if (Math.min(width, height) < WATERMARK_MIN_SIDE) return { ...image, data: image.data.slice() };
  const schedule = scheduleFor(options.key ?? DEFAULT_WATERMARK_KEY);
  let marked = image;
  let targets: Float64Array | undefined;
  for (let pass = 0; pass < 2; pass++) {
    const coefficients = markedCoefficients(approximationBand(lumaOf(marked), width, height));
    const values = projections(coefficients, schedule);
    targets ??= projectionTargets(values, codeword, schedule);
    const band = bandFromCoefficientChanges(coefficientChanges(values, targets, schedule));
    marked = addLumaChange(marked, lumaChangeFromBand(band, width, height));
  }
  return marked;
}

export interface WatermarkReading {
  /** True when a valid Portoon mark was read (marker, CRC and padding check). */
  found: boolean;
  /** The output id it carries. */
  id?: string;
  /**
   * How clearly the mark is there, 0…1: the mean agreement of every projection with the decoded
   * codeword (about 0 for an unmarked picture, near 1 for an untouched output).
   */
  confidence: number;
  /** Codeword bits that had to be corrected (of 127). */
  correctedBits?: number;
  /** The brightness gain the reading locked onto (1 = unchanged). */
  gain?: number;
  /** The alignment it was read under ('none', or the crop, rotation or shift the reader undid). */
  alignment?: string;
}

/** How close projection j lies to bit 0's lattice (+1) or bit 1's (−1), at a gain. */
function softValue(values: Float64Array, j: number, gain: number, schedule: KeySchedule): number {
  return Math.cos((2 * Math.PI * (values[j]! / gain - schedule.dithers[j]!)) / STEP);
}

/** Soft values (positive = bit 0) of every codeword bit, summed over its copies that were not lost, at a gain. */
function softBits(values: Float64Array, schedule: KeySchedule, gain: number, lost?: Uint8Array): Float64Array {
  const soft = new Float64Array(BCH_N);
  for (let j = 0; j < PROJECTIONS; j++) if (!lost?.[j]) soft[schedule.bits[j]!]! += softValue(values, j, gain, schedule);
  return soft;
}

/** The projections that touch a lost block (their coefficients are erased, not evidence). */
function lostProjections(lostBlocks: Uint8Array | undefined, schedule: KeySchedule): Uint8Array | undefined {
  if (!lostBlocks?.includes(1)) return undefined;
  const lost = new Uint8Array(PROJECTIONS);
  const perBlock = MARKED_FREQUENCIES.length;
  for (let j = 0; j < PROJECTIONS; j++) {
    for (let k = j * SPREAD; k < (j + 1) * SPREAD; k += perBlock)
      if (lostBlocks[Math.floor(schedule.coefficients[k]! / perBlock)]) lost[j] = 1;
  }
  return lost;
}

/** BCH on the hard decisions, then Chase: flip patterns of the least reliable bits. */
function decodeSoft(soft: Float64Array): { id: string; codeword: Uint8Array; corrected: number } | undefined {
  const hard = Uint8Array.from(soft, (s) => (s < 0 ? 1 : 0));
  const weakest = Array.from(soft.keys())
    .sort((a, b) => Math.abs(soft[a]!) - Math.abs(soft[b]!))
    .slice(0, CHASE_BITS);
  for (let pattern = 0; pattern < 1 << CHASE_BITS; pattern++) {
    const trial = hard.slice();
    for (let b = 0; b < CHASE_BITS; b++) if (pattern & (1 << b)) trial[weakest[b]!]! ^= 1;
    const decoded = bchDecode(trial);
    if (!decoded) continue;
    const id = idFromCodeword(decoded.codeword);
    if (id === undefined) continue;
    let corrected = 0;
    for (let i = 0; i < BCH_N; i++) if (decoded.codeword[i] !== hard[i]) corrected++;
    return { id, codeword: decoded.codeword, corrected };
  }
  return undefined;
}

interface Alignment {
  /** What the reader assumed had happened to the picture. */
  name: string;
  mapping?: CanvasMapping;
}

/**
 * What the reader tries, in order, when the picture as it is gives no mark: sub-pixel shifts (an
 * enlargement that placed its samples differently), crops of the same share on every side, and small
 * rotations about the centre (on a canvas grown to hold the turned picture, or cut back to its size).
 * A bounded list, so reading an unmarked picture costs a known, small time.
 */
function alignments(width: number, height: number): Alignment[] {
  const list: Alignment[] = [{ name: 'none' }];
  const move = (dx: number, dy: number): CanvasMapping => ({ a: 1, b: 0, c: dx, d: 0, e: 1, f: dy });
  for (const [dx, dy] of [
    [0.5, 0],
    [-0.5, 0],
    [0, 0.5],
    [0, -0.5],
    [0.5, 0.5],
    [-0.5, -0.5],
    [0.5, -0.5],
    [-0.5, 0.5],
  ] as const) {
    list.push({ name: `shift ${dx},${dy} px`, mapping: move(dx / width, dy / height) });
  }
  for (const crop of [0.025, 0.05, 0.075, 0.1, 0.125]) {
    // The copy shows the original's [crop, 1 − crop]: u ↦ (u − crop) / (1 − 2·crop).
    const kept = 1 - 2 * crop;
    list.push({
      name: `crop ${crop * 100}% per side`,
      mapping: { a: 1 / kept, b: 0, c: -crop / kept, d: 0, e: 1 / kept, f: -crop / kept },
    });
  }
  for (const degrees of [1, -1, 2, -2, 3, -3]) {
    const angle = (degrees * Math.PI) / 180;
    const cos = Math.cos(angle);
    const sin = Math.sin(angle);
    const abs = Math.abs(sin);
    // The original's size inside a grown canvas: width' = w·cos + h·|sin|, height' = w·|sin| + h·cos.
    const det = cos * cos - abs * abs;
    const grown: readonly [number, number] = [(width * cos - height * abs) / det, (height * cos - width * abs) / det];
    for (const [name, [w, h]] of [
      ['grown', grown],
      ['same size', [width, height] as const],
    ] as const) {
      // (u, v) ↦ centre + R(angle)·((u − ½)·w, (v − ½)·h), in the copy's normalized coordinates.
      const a = (cos * w) / width;
      const b = (-sin * h) / width;
      const d = (sin * w) / height;
      const e = (cos * h) / height;
      list.push({ name: `rotation ${degrees}° (${name})`, mapping: { a, b, c: 0.5 - (a + b) / 2, d, e, f: 0.5 - (d + e) / 2 } });
    }
  }
  return list;
}

interface Decoded {
  id: string;
  codeword: Uint8Array;
  corrected: number;
  gain: number;
}

/** Decodes the projections at the best-locking gains. */
function decodeProjections(values: Float64Array, schedule: KeySchedule, lost: Uint8Array | undefined): Decoded | undefined {
  const ranked = GAINS.map((gain) => {
    const soft = softBits(values, schedule, gain, lost);
    let lock = 0;
    for (const s of soft) lock += Math.abs(s);
    return { gain, soft, lock };
  }).sort((a, b) => b.lock - a.lock);
  for (const { gain, soft } of ranked.slice(0, 3)) {
    const decoded = decodeSoft(soft);
    if (decoded) return { ...decoded, gain };
  }
  return undefined;
}

function isReadable(image: RawImage): boolean {
  const { width, height } = image;
  return (
    Number.isInteger(width) && Number.isInteger(height) && width >= 8 && height >= 8 && image.data.length >= width * height * image.channels
  );
}

/** The projections of a picture under each alignment in turn, with the ones that lost their block. */
function* alignedProjections(
  image: RawImage,
  schedule: KeySchedule,
): Generator<{ alignment: string; values: Float64Array; lost: Uint8Array | undefined }> {
  const { width, height } = image;
  const canvas = canvasOf(lumaOf(image), width, height);
  for (const alignment of alignments(width, height)) {
    const aligned = alignment.mapping ? warpCanvas(canvas, alignment.mapping) : { canvas, lostBlocks: undefined };
    yield {
      alignment: alignment.name,
      values: projections(markedCoefficients(bandOfCanvas(aligned.canvas)), schedule),
      lost: lostProjections(markClippedBlocks(aligned.canvas, aligned.lostBlocks), schedule),
    };
  }
}

/**
 * Reads the mark, if any: first from the picture as it is, then under the alignments a crop, a small
 * rotation or a shifted enlargement would need. Never throws on a picture of any size or content.
 */
export function readWatermark(image: RawImage, options: { key?: string | undefined } = {}): WatermarkReading {
  if (!isReadable(image)) return { found: false, confidence: 0 };
  const schedule = scheduleFor(options.key ?? DEFAULT_WATERMARK_KEY);
  for (const { alignment, values, lost } of alignedProjections(image, schedule)) {
    const decoded = decodeProjections(values, schedule, lost);
    if (!decoded) continue;
    let agreement = 0;
    let counted = 0;
    for (let j = 0; j < PROJECTIONS; j++) {
      if (lost?.[j]) continue;
      const soft = softValue(values, j, decoded.gain, schedule);
      agreement += decoded.codeword[schedule.bits[j]!] ? -soft : soft;
      counted++;
    }
    return {
      found: true,
      id: decoded.id,
      confidence: Math.round(Math.max(0, Math.min(1, agreement / Math.max(1, counted))) * 1000) / 1000,
      correctedBits: decoded.corrected,
      gain: Math.round(decoded.gain * 1000) / 1000,
      alignment,
    };
  }
  return { found: false, confidence: 0 };
}

/**
 * For measuring robustness: the share of the 127 codeword bits for `id` that read right (hard
 * decisions before error correction), at the best gain and alignment.
 */
export function watermarkBitAccuracy(image: RawImage, id: string, options: { key?: string | undefined } = {}): number {
  if (!isReadable(image)) return 0;
  const codeword = codewordFor(id);
  const schedule = scheduleFor(options.key ?? DEFAULT_WATERMARK_KEY);
  let best = 0;
  for (const { values, lost } of alignedProjections(image, schedule)) {
    for (const gain of GAINS) {
      const soft = softBits(values, schedule, gain, lost);
      let right = 0;
      for (let i = 0; i < BCH_N; i++) if ((soft[i]! < 0 ? 1 : 0) === codeword[i]) right++;
      best = Math.max(best, right);
    }
  }
  return best / BCH_N;
}
