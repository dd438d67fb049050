/**
 * The frame probe (`/call?probe=1`): measures a call end to end, from the sender's drawing of a frame
 * to the receiver's display of it. The sender stamps each frame it sends with a counter and its clock
 * (`Date.now()`), written as black and white blocks in the top-left corner; the receiver reads them
 * back from every frame it displays. Both ends must share a clock (the same machine, as in the tests
 * and the benchmark) for the latency to mean anything; the frame counts hold anywhere.
 *
 * The stamp is 2 rows of 24 blocks, 16x16 px each at 640x480 (one video codec macroblock each, so
 * compression keeps them flat): 48 bits = a 6-bit start pattern, a 16-bit counter, the low 18 bits of
 * the clock in ms (the full time is rebuilt from the receiver's clock, so latencies up to 4 min read
 * right) and a CRC-8 of counter and clock. A frame whose start pattern or CRC does not match is
 * counted as received but not decoded, never misread.
 */

export const PROBE_COLUMNS = 24;
export const PROBE_ROWS = 2;
/** Block side at 640 px of frame width; the stamp scales with the frame. */
export const PROBE_BLOCK = 16;
const REFERENCE_WIDTH = 640;
const START = [1, 0, 1, 1, 0, 0] as const;
const COUNTER_BITS = 16;
const TIME_BITS = 18;
const CRC_BITS = 8;
const COUNTER_MOD = 2 ** COUNTER_BITS;
const TIME_MOD = 2 ** TIME_BITS;
/** Least difference in luma between the start pattern's white and black blocks for a frame to be read. */
const MIN_CONTRAST = 64;

/** What one stamp says. */
export interface ProbeStamp {
  /** The sender's frame counter, modulo 2^16. */
  counter: number;
  /** The sender's `Date.now()` when it drew the frame, modulo 2^18 ms. */
  time: number;
}

function pushBits(bits: number[], value: number, count: number): void {
  for (let i = count - 1; i >= 0; i--) bits.push(Math.floor(value / 2 ** i) % 2);
}

function readBits(bits: readonly number[], from: number, count: number): number {
  let value = 0;
  for (let i = 0; i < count; i++) value = value * 2 + (bits[from + i] ?? 0);
  return value;
}

/** CRC-8 (polynomial x^8 + x^2 + x + 1) of a bit string. */
function crc8(bits: readonly number[]): number {
  let crc = 0;
  for (const bit of bits) {
    const top = ((crc >> 7) & 1) ^ bit;
    crc = (crc << 1) & 0xff;
    if (top) crc ^= 0x07;
  }
  return crc;
}

/** The 48 bits of a stamp, row by row, left to right. */
export function encodeProbe(counter: number, timeMs: number): number[] {
  const payload: number[] = [];
  pushBits(payload, ((counter % COUNTER_MOD) + COUNTER_MOD) % COUNTER_MOD, COUNTER_BITS);
  pushBits(payload, ((Math.floor(timeMs) % TIME_MOD) + TIME_MOD) % TIME_MOD, TIME_BITS);
  const bits = [...START, ...payload];
  pushBits(bits, crc8(payload), CRC_BITS);
  return bits;
}

/** Reads a stamp from its 48 bits; undefined when the start pattern or the CRC does not match. */
export function decodeProbe(bits: readonly number[]): ProbeStamp | undefined {
  if (bits.length !== PROBE_COLUMNS * PROBE_ROWS) return undefined;
  if (START.some((bit, i) => bits[i] !== bit)) return undefined;
  const payload = bits.slice(START.length, START.length + COUNTER_BITS + TIME_BITS);
  if (readBits(bits, START.length + payload.length, CRC_BITS) !== crc8(payload)) return undefined;
  return { counter: readBits(payload, 0, COUNTER_BITS), time: readBits(payload, COUNTER_BITS, TIME_BITS) };
}

/** The sender's full clock time of a stamp, rebuilt from the receiver's clock `nowMs` (the stamp is at most 2^18 ms old). */
export function stampTime(stamp: ProbeStamp, nowMs: number): number {
  const age = ((((Math.floor(nowMs) % TIME_MOD) - stamp.time) % TIME_MOD) + TIME_MOD) % TIME_MOD;
  return Math.floor(nowMs) - age;
}

/** Frames between two counters (1 for consecutive frames), across the counter's wrap. */
export function counterStep(previous: number, next: number): number {
  return (((next - previous) % COUNTER_MOD) + COUNTER_MOD) % COUNTER_MOD;
}

/** Size of the stamp's area for a frame `width` px wide: [width, height] in px. */
export function probeArea(width: number): [number, number] {
  const block = (PROBE_BLOCK * width) / REFERENCE_WIDTH;
  return [block * PROBE_COLUMNS, block * PROBE_ROWS];
}

/** Draws the stamp of (counter, timeMs) in the top-left corner of a frame `width` px wide. */
export function drawProbe(context: CanvasRenderingContext2D, counter: number, timeMs: number, width: number): void {
  const block = (PROBE_BLOCK * width) / REFERENCE_WIDTH;
  const bits = encodeProbe(counter, timeMs);
  bits.forEach((bit, i) => {
    context.fillStyle = bit ? '#ffffff' : '#000000';
    context.fillRect((i % PROBE_COLUMNS) * block, Math.floor(i / PROBE_COLUMNS) * block, block, block);
  });
}

/**
 * Reads a stamp from RGBA pixels holding exactly the stamp's area (PROBE_COLUMNS x PROBE_ROWS blocks,
 * `width` x `height` px): the mean luma of each block's central half, thresholded halfway between the
 * start pattern's white and black blocks.
 */
export function readProbe(rgba: Uint8ClampedArray, width: number, height: number): ProbeStamp | undefined {
  const blockW = width / PROBE_COLUMNS;
  const blockH = height / PROBE_ROWS;
  const luma: number[] = [];
  for (let row = 0; row < PROBE_ROWS; row++) {
    for (let column = 0; column < PROBE_COLUMNS; column++) {
      const x0 = Math.floor((column + 0.25) * blockW);
      const x1 = Math.max(x0 + 1, Math.floor((column + 0.75) * blockW));
      const y0 = Math.floor((row + 0.25) * blockH);
      const y1 = Math.max(y0 + 1, Math.floor((row + 0.75) * blockH));
      let sum = 0;
      for (let y = y0; y < y1; y++) {
        for (let x = x0; x < x1; x++) {
          const i = (y * width + x) * 4;
          sum += 0.299 * rgba[i]! + 0.587 * rgba[i + 1]! + 0.114 * rgba[i + 2]!;
        }
      }
      luma.push(sum / ((x1 - x0) * (y1 - y0)));
    }
  }
  const ones = START.flatMap((bit, i) => (bit ? [luma[i]!] : []));
  const zeros = START.flatMap((bit, i) => (bit ? [] : [luma[i]!]));
  const white = Math.min(...ones);
  const black = Math.max(...zeros);
  if (white - black < MIN_CONTRAST) return undefined;
  const threshold = (white + black) / 2;
  return decodeProbe(luma.map((value) => (value > threshold ? 1 : 0)));
}

/**
 * Draws a stamp on a busy picture of `width` x `height` (as the frames it rides on), optionally
 * through an image codec (`type`, `quality`) and a resize to `readWidth`, and reads it back: the
 * probe's own check, for the tests.
 */
export async function probeRoundTrip(
  counter: number,
  timeMs: number,
  options: { width?: number; height?: number; type?: string; quality?: number; readWidth?: number } = {},
): Promise<ProbeStamp | undefined> {
  const { width = 640, height = 480, type, quality, readWidth = width } = options;
  const canvas = document.createElement('canvas');
  [canvas.width, canvas.height] = [width, height];
  const context = canvas.getContext('2d')!;
  // Stripes and a gradient under the stamp: what a cartoon frame around it might look like.
  const gradient = context.createLinearGradient(0, 0, width, height);
  gradient.addColorStop(0, '#d04020');
  gradient.addColorStop(1, '#2050c0');
  context.fillStyle = gradient;
  context.fillRect(0, 0, width, height);
  for (let x = 0; x < width; x += 23) {
    context.fillStyle = x % 2 ? '#f0e0a0' : '#103010';
    context.fillRect(x, 0, 7, height);
  }
  drawProbe(context, counter, timeMs, width);
  let source: CanvasImageSource = canvas;
  if (type) {
    const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, type, quality));
    if (!blob) throw new Error(`This browser cannot encode ${type}`);
    source = await createImageBitmap(blob);
  }
  const readHeight = Math.round((readWidth * height) / width);
  const [areaW, areaH] = probeArea(readWidth);
  const scaled = document.createElement('canvas');
  [scaled.width, scaled.height] = [readWidth, readHeight];
  const scaledContext = scaled.getContext('2d', { willReadFrequently: true })!;
  scaledContext.drawImage(source, 0, 0, readWidth, readHeight);
  const [w, h] = probeArea(REFERENCE_WIDTH);
  const area = document.createElement('canvas');
  [area.width, area.height] = [w, h];
  const areaContext = area.getContext('2d', { willReadFrequently: true })!;
  areaContext.drawImage(scaled, 0, 0, areaW, areaH, 0, 0, w, h);
  return readProbe(areaContext.getImageData(0, 0, w, h).data, w, h);
}

/** What the receiver measured, as `window.__portoonCallStats` holds it. */
export interface CallProbeStats {
  /** Frames displayed (as requestVideoFrameCallback counts them: `presentedFrames`). */
  received: number;
  /** Of those, the ones whose stamp was read. */
  decoded: number;
  /** Frames the sender drew that were never displayed here: the counter's advance less the frames displayed. */
  dropped: number;
  /** Frames displayed per second over the last 2 s. */
  fps: number;
  /** Sender's drawing to display here, in ms: median and 95th percentile of the frames since the last reset. */
  latencyP50: number;
  latencyP95: number;
  /** The counter of the last frame read; -1 before any. */
  lastCounter: number;
  /** Frames displayed between two callbacks (too close together for the page to see each): shown, but not read. */
  unseen: number;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** Reads the stamp of every frame a <video> displays and keeps the numbers. */
export class ProbeReader {
  #received = 0;
  #decoded = 0;
  #lastCounter = -1;
  /** Frames the sender drew from the first frame read here to the last (the counter's advance). */
  #advance = 0;
  /** `#received` when the first frame was read. */
  #receivedAtFirst = 0;
  #unseen = 0;
  #latencies: number[] = [];
  /** When frames were displayed over the last 2 s: [performance.now(), frames]. */
  #times: [number, number][] = [];
  #handle = 0;
  #lastPresented = -1;
  #stopped = false;
  readonly #canvas = document.createElement('canvas');
  readonly #context: CanvasRenderingContext2D;

  constructor(private readonly video: HTMLVideoElement) {
    [this.#canvas.width, this.#canvas.height] = probeArea(REFERENCE_WIDTH);
    const context = this.#canvas.getContext('2d', { willReadFrequently: true });
    if (!context) throw new Error('This browser has no 2D canvas');
    this.#context = context;
    this.#handle = video.requestVideoFrameCallback(this.#onFrame);
  }

  #onFrame = (_now: number, metadata: VideoFrameCallbackMetadata): void => {
    if (this.#stopped) return;
    this.#handle = this.video.requestVideoFrameCallback(this.#onFrame);
    const now = Date.now();
    // Frames presented since the last callback; more than one when the page could not keep up with them.
    const presented = this.#lastPresented < 0 ? 1 : metadata.presentedFrames - this.#lastPresented;
    if (presented <= 0) return;
    this.#lastPresented = metadata.presentedFrames;
    this.#received += presented;
    this.#unseen += presented - 1;
    this.#times.push([performance.now(), presented]);
    // The stamp's area of the frame as displayed (it may arrive smaller than it was sent), scaled to a fixed size.
    const [areaW, areaH] = probeArea(metadata.width);
    const { width, height } = this.#canvas;
    this.#context.drawImage(this.video, 0, 0, areaW, areaH, 0, 0, width, height);
    const stamp = readProbe(this.#context.getImageData(0, 0, width, height).data, width, height);
    if (!stamp) return;
    this.#decoded++;
    this.#latencies.push(now - stampTime(stamp, now));
    if (this.#lastCounter < 0) {
      this.#lastCounter = stamp.counter;
      this.#receivedAtFirst = this.#received;
      return;
    }
    // A callback that runs late reads the frame on screen by then, which may be the next one: the same
    // counter can be read twice, or one ahead. Only forward steps count (a step back is a stale read).
    const step = counterStep(this.#lastCounter, stamp.counter);
    if (step > 0 && step < COUNTER_MOD / 2) {
      this.#advance += step;
      this.#lastCounter = stamp.counter;
    }
    if (this.#latencies.length > 10_000) this.#latencies.splice(0, 5_000);
  };

  /** Starts the latency percentiles afresh (e.g. once the call has settled). */
  resetLatency(): void {
    this.#latencies = [];
  }

  stats(): CallProbeStats {
    const now = performance.now();
    while (this.#times.length > 0 && this.#times[0]![0] < now - 2000) this.#times.shift();
    const first = this.#times[0];
    const span = first && this.#times.length > 1 ? (now - first[0]) / 1000 : 0;
    const frames = this.#times.reduce((sum, [, count]) => sum + count, 0) - (first?.[1] ?? 0);
    const sorted = [...this.#latencies].sort((a, b) => a - b);
    return {
      received: this.#received,
      decoded: this.#decoded,
      // Frames drawn by the sender that never reached the screen: the counter's advance beyond the
      // frames displayed since the first one read (robust to stamps read late or not at all).
      dropped: Math.max(0, this.#advance - (this.#received - this.#receivedAtFirst)),
      fps: span > 0 ? frames / span : 0,
      latencyP50: percentile(sorted, 0.5),
      latencyP95: percentile(sorted, 0.95),
      lastCounter: this.#lastCounter,
      unseen: this.#unseen,
    };
  }

  stop(): void {
    this.#stopped = true;
    this.video.cancelVideoFrameCallback(this.#handle);
  }
}
