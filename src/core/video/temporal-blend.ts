/**
 * Anti-flicker for stylized video: each stylized frame is blended with the previous OUTPUT, moved
 * onto the current frame along the optical flow of the INPUT frames. The styles are image models
 * with no memory, so the same wall or cheek gets slightly different strokes and colours in every
 * frame; carrying part of the last output forward keeps what did not change steady.
 *
 *   output_t = w · warp(output_{t-1}) + (1 − w) · stylized_t
 *
 * The weight w is set per pixel: zero where the flow cannot be trusted (forward–backward check),
 * falling to zero where the warped previous input does not match the current input (new content,
 * lighting changes, flow errors; this is what prevents ghosting), and never above `maxWeight`, so a
 * share of every new frame always comes through and old content fades out geometrically.
 *
 * Written here rather than taken from a library: which pixels may carry the past forward, and by
 * how much, is Portoon's own product decision, tuned on its own styles (see the options' defaults).
 * The flow estimator itself is a port (`OpticalFlow`); the Node adapter supplies OpenCV's.
 */
import type { FloatPlane, RawImage } from '../image.js';
import { createPlane } from '../image.js';
import type { FlowField, OpticalFlow } from './flow.js';
import { greyAtSize, resampleFlow } from './flow.js';
import type { ConsistencyOptions } from './warp.js';
import { blendWarped, consistencyMask, warpImage } from './warp.js';

export interface TemporalBlendOptions {
  /**
   * Long side of the grey frames the flow is estimated on. Default 320: in the tuning, 360 steadied
   * less and cost 25% more; 256 steadied a little more but cost ~0.7 dB of PSNR on full-size frames.
   */
  flowMaxSide?: number;
  /**
   * Largest share the warped previous output may take, 0..1. Default 0.75: 0.8 lowers the flicker a
   * few points more but takes the output about 1 dB further from the per-frame stylization.
   */
  maxWeight?: number;
  /**
   * Grey-level difference (0..255) between the current input and the warped previous input at which
   * the weight has fallen to zero; it is full up to a third of that. Default 24.
   */
  photometricTolerance?: number;
  /**
   * Flow error, in pixels of the flow field, that is forgiven on edges: the part of the difference
   * that a shift this large explains on the current frame's gradient does not count. Without it every
   * edge fails the photometric test, and the outlines, where styles flicker most, are never
   * steadied. Default 1.
   */
  alignmentSlack?: number;
  /** The forward–backward test, in pixels of the flow field. Defaults as in Lai et al. 2018. */
  consistency?: ConsistencyOptions;
  /**
   * A scene cut is declared when more than this share of the frame differs from the warped previous
   * input by more than `cutDifference` grey levels. Default 0.25: within the shared clips the share
   * stays below 0.05 (also at a third of their frame rate), across a splice of two of them it is
   * above 0.5.
   */
  cutShare?: number;
  /** Grey-level difference that counts towards a cut. Default 40. */
  cutDifference?: number;
}

/** What the comparison of an input frame with the previous one found. */
interface FrameAnalysis {
  input: RawImage;
  grey: RawImage;
  /** Continues the scene: the flow onto the previous frame and the blend weights. */
  motion?: { toPrevious: FlowField; weight: FloatPlane };
  cut: boolean;
}

export class TemporalBlender {
  private readonly flowMaxSide: number;
  private readonly maxWeight: number;
  private readonly photometricTolerance: number;
  private readonly consistency: ConsistencyOptions;
  private readonly cutShare: number;
  private readonly cutDifference: number;
  private readonly alignmentSlack: number;
  /** The only state between frames: the previous input (small, grey) and the previous output. */
  private previous: { grey: RawImage; inputWidth: number; inputHeight: number; output: RawImage } | undefined;
  private pending: FrameAnalysis | undefined;
  private cuts = 0;
  private wasCut = false;
  private meanWeight = 0;

  constructor(
    private readonly flow: OpticalFlow,
    options: TemporalBlendOptions = {},
  ) {
    this.flowMaxSide = options.flowMaxSide ?? 320;
    this.maxWeight = clamp01(options.maxWeight ?? 0.75);
    this.photometricTolerance = options.photometricTolerance ?? 24;
    this.alignmentSlack = options.alignmentSlack ?? 1;
    this.consistency = options.consistency ?? {};
    this.cutShare = options.cutShare ?? 0.25;
    this.cutDifference = options.cutDifference ?? 40;
  }

  /** Scene cuts found so far (the first frame is not one). */
  get sceneCuts(): number {
    return this.cuts;
  }

  /** Whether the last frame blended started a new scene. */
  get lastWasCut(): boolean {
    return this.wasCut;
  }

  /** Mean blend weight of the last frame (0 on a first frame or a cut): how much of the past was kept. */
  get lastMeanWeight(): number {
    return this.meanWeight;
  }

  /**
   * Whether `input` starts a new scene. Optional before `blend` (which calls it itself), and free
   * when followed by `blend` with the same input: the flow is estimated once.
   */
  async detectCut(input: RawImage): Promise<boolean> {
    return (await this.analyse(input)).cut;
  }

  /**
   * The frame to show for `input`, given its per-frame stylization. On the first frame and after a
   * scene cut, `stylized` itself is returned. The blender keeps the returned image as the next
   * frame's past: do not modify it.
   */
  async blend(input: RawImage, stylized: RawImage): Promise<RawImage> {
    if (input.width !== stylized.width || input.height !== stylized.height) {
      throw new RangeError(
        `Input and stylized frames must have the same size, received ${input.width}x${input.height} and ${stylized.width}x${stylized.height}`,
      );
    }
    const analysis = await this.analyse(input);
    this.pending = undefined;
    const past = this.previous?.output;
    let output = stylized;
    this.meanWeight = 0;
    if (analysis.motion && past && past.channels === stylized.channels) {
      output = blendWarped(stylized, past, analysis.motion.toPrevious, analysis.motion.weight);
      this.meanWeight = mean(analysis.motion.weight.data);
    }
    this.wasCut = analysis.cut;
    if (analysis.cut) this.cuts += 1;
    this.previous = { grey: analysis.grey, inputWidth: input.width, inputHeight: input.height, output };
    return output;
  }

  /** Forgets the past: the next frame is treated as a first frame (not counted as a cut). */
  reset(): void {
    this.previous = undefined;
    this.pending = undefined;
    this.wasCut = false;
    this.meanWeight = 0;
  }

  private async analyse(input: RawImage): Promise<FrameAnalysis> {
    if (this.pending?.input === input) return this.pending;
    this.pending = await this.compare(input, greyAtSize(input, this.flowMaxSide));
    return this.pending;
  }

  private async compare(input: RawImage, grey: RawImage): Promise<FrameAnalysis> {
    const previous = this.previous;
    if (!previous || previous.inputWidth !== input.width || previous.inputHeight !== input.height) {
      return { input, grey, cut: false };
    }
    const toPrevious = await this.flowBetween(grey, previous.grey);
    const mismatch = absoluteDifference(grey, warpImage(previous.grey, toPrevious));
    if (shareAbove(mismatch, this.cutDifference) > this.cutShare) return { input, grey, cut: true };
    const fromPrevious = await this.flowBetween(previous.grey, grey);
    const visible = consistencyMask(toPrevious, fromPrevious, this.consistency);
    const weight = this.weights(visible, forgiveEdges(mismatch, grey, this.alignmentSlack));
    return { input, grey, cut: false, motion: { toPrevious, weight } };
  }

  /** The flow at the grey frames' size, whatever size the estimator returns it at. */
  private async flowBetween(from: RawImage, to: RawImage): Promise<FlowField> {
    const field = await this.flow.compute(from, to);
    return field.width === from.width && field.height === from.height ? field : resampleFlow(field, from.width, from.height);
  }

  /** Per-pixel weight of the past, at the grey frames' size. */
  private weights(visible: FloatPlane, mismatch: Uint8Array): FloatPlane {
    const weight = createPlane(visible.width, visible.height);
    const full = this.photometricTolerance / 3;
    const span = this.photometricTolerance - full;
    for (let i = 0; i < weight.data.length; i++) {
      if (visible.data[i] === 0) continue;
      const excess = mismatch[i]! - full;
      const match = excess <= 0 ? 1 : excess >= span ? 0 : 1 - excess / span;
      weight.data[i] = this.maxWeight * match;
    }
    return weight;
  }
}

function absoluteDifference(a: RawImage, b: RawImage): Uint8Array {
  const out = new Uint8Array(a.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.abs(a.data[i]! - b.data[i]!);
  return out;
}

/** The difference a flow error of `slack` pixels would explain on the current frame's edges is forgiven. */
function forgiveEdges(mismatch: Uint8Array, grey: RawImage, slack: number): Uint8Array {
  if (slack <= 0) return mismatch;
  const { width, height, data } = grey;
  const out = new Uint8Array(mismatch.length);
  for (let y = 0; y < height; y++) {
    const up = Math.max(0, y - 1) * width;
    const down = Math.min(height - 1, y + 1) * width;
    for (let x = 0; x < width; x++) {
      const left = Math.max(0, x - 1);
      const right = Math.min(width - 1, x + 1);
      const gx = Math.abs(data[y * width + right]! - data[y * width + left]!);
      const gy = Math.abs(data[down + x]! - data[up + x]!);
      const explained = (slack * Math.max(gx, gy)) / 2;
      const i = y * width + x;
      out[i] = Math.max(0, mismatch[i]! - explained);
    }
  }
  return out;
}

function shareAbove(values: Uint8Array, threshold: number): number {
  let above = 0;
  for (const v of values) if (v > threshold) above++;
  return above / values.length;
}

function mean(values: Float32Array): number {
  let sum = 0;
  for (const v of values) sum += v;
  return values.length === 0 ? 0 : sum / values.length;
}

function clamp01(value: number): number {
  return Math.min(1, Math.max(0, value));
}
