/**
 * How much a video flickers, and how far one picture is from another. Both meters stream: they keep
 * at most the previous frame, so a long clip costs no more memory than a short one.
 */
import type { RawImage } from '../image.js';
import { assertSameShape } from '../image.js';
import type { OpticalFlow } from './flow.js';
import { greyAtSize } from './flow.js';
import type { ConsistencyOptions } from './warp.js';
import { consistencyMask, warpImage } from './warp.js';

/** Peak signal-to-noise ratio of two 8-bit images over all channels, in dB; Infinity when identical. */
export function psnr(a: RawImage, b: RawImage): number {
  assertSameShape(a, b);
  const ad = a.data;
  const bd = b.data;
  let sum = 0;
  for (let i = 0; i < ad.length; i++) {
    const d = ad[i]! - bd[i]!;
    sum += d * d;
  }
  if (sum === 0) return Infinity;
  return 10 * Math.log10((255 * 255 * ad.length) / sum);
}

/**
 * Mean PSNR over a sequence of frame pairs. Identical frames (infinite PSNR) are counted but left
 * out of the mean, which would otherwise be infinite; the mean is then over the frames that differ.
 */
export class PsnrMeter {
  private sum = 0;
  private differing = 0;
  private worst = Infinity;
  private count = 0;

  add(a: RawImage, b: RawImage): void {
    const value = psnr(a, b);
    this.count += 1;
    this.worst = Math.min(this.worst, value);
    if (value === Infinity) return;
    this.sum += value;
    this.differing += 1;
  }

  /** Mean PSNR (dB) of the frames that differ; Infinity if none did, NaN before the first frame. */
  value(): number {
    if (this.count === 0) return NaN;
    return this.differing === 0 ? Infinity : this.sum / this.differing;
  }

  /** The lowest PSNR of any frame (dB). */
  min(): number {
    return this.count === 0 ? NaN : this.worst;
  }

  get frames(): number {
    return this.count;
  }
}

export interface WarpErrorOptions {
  /** Long side of the grey frames the flow is estimated on. Default 360. */
  flowMaxSide?: number;
  /** The forward–backward test; its tolerance is in output pixels. */
  consistency?: Omit<ConsistencyOptions, 'pixelScale'>;
}

/**
 * The warping error of Lai et al. 2018 ("Learning Blind Video Temporal Consistency"), streamed.
 * For each pair of consecutive frames, the flow is estimated on the INPUT frames in both directions
 * (the output is what is being judged, so it must not steer the flow), output t+1 is warped back
 * onto output t, and the squared colour difference (pixels in [0, 1], summed over the channels) is
 * averaged over the pixels the forward–backward check keeps. The value is the mean over pairs.
 *
 * Pass a flow algorithm other than the one that made the output, or the measure shares its errors.
 */
export class WarpErrorMeter {
  private readonly flowMaxSide: number;
  private readonly consistency: Omit<ConsistencyOptions, 'pixelScale'>;
  private previous: { grey: RawImage; output: RawImage } | undefined;
  private sum = 0;
  private count = 0;
  private keptSum = 0;

  constructor(
    private readonly flow: OpticalFlow,
    options: WarpErrorOptions = {},
  ) {
    this.flowMaxSide = options.flowMaxSide ?? 360;
    this.consistency = options.consistency ?? {};
  }

  async add(input: RawImage, output: RawImage): Promise<void> {
    if (input.width !== output.width || input.height !== output.height) {
      throw new RangeError(
        `Input and output frames must have the same size, received ${input.width}x${input.height} and ${output.width}x${output.height}`,
      );
    }
    const grey = greyAtSize(input, this.flowMaxSide);
    const previous = this.previous;
    this.previous = { grey, output };
    if (!previous || !sameShape(previous.output, output)) return;

    const forward = await this.flow.compute(previous.grey, grey);
    const backward = await this.flow.compute(grey, previous.grey);
    const kept = consistencyMask(forward, backward, { ...this.consistency, pixelScale: output.width / forward.width });
    const warped = warpImage(output, forward);
    const error = maskedSquaredError(previous.output, warped, kept.data, kept.width, kept.height);
    if (error === undefined) return; // nothing visible in both frames: the pair says nothing
    this.sum += error.value;
    this.keptSum += error.kept;
    this.count += 1;
  }

  /** Starts a new run of pairs: the next frame is not compared with the last (after a scene cut). */
  restart(): void {
    this.previous = undefined;
  }

  /** Mean warping error over the pairs so far; 0 before the first pair. */
  value(): number {
    return this.count === 0 ? 0 : this.sum / this.count;
  }

  /** Pairs measured. */
  get pairs(): number {
    return this.count;
  }

  /** Mean share of pixels the consistency check kept, 0..1 (how much of the picture was judged). */
  get keptShare(): number {
    return this.count === 0 ? 0 : this.keptSum / this.count;
  }
}

function sameShape(a: RawImage, b: RawImage): boolean {
  return a.width === b.width && a.height === b.height && a.channels === b.channels;
}

/** Mean over kept pixels of the squared difference summed over channels, in [0, 1] units. */
function maskedSquaredError(
  a: RawImage,
  b: RawImage,
  mask: Float32Array,
  maskWidth: number,
  maskHeight: number,
): { value: number; kept: number } | undefined {
  const { width, height, channels } = a;
  // Nearest mask pixel for each image column and row.
  const columns = new Int32Array(width);
  for (let x = 0; x < width; x++) columns[x] = Math.min(maskWidth - 1, Math.floor(((x + 0.5) * maskWidth) / width));
  let sum = 0;
  let kept = 0;
  for (let y = 0; y < height; y++) {
    const maskRow = Math.min(maskHeight - 1, Math.floor(((y + 0.5) * maskHeight) / height)) * maskWidth;
    for (let x = 0; x < width; x++) {
      if (mask[maskRow + columns[x]!] === 0) continue;
      kept += 1;
      const p = (y * width + x) * channels;
      for (let c = 0; c < channels; c++) {
        const d = a.data[p + c]! - b.data[p + c]!;
        sum += d * d;
      }
    }
  }
  if (kept === 0) return undefined;
  return { value: sum / (255 * 255) / kept, kept: kept / (width * height) };
}
