/**
 * Skin handling for the face variants of the procedural filters. On a face, the whole-photo settings
 * turn skin texture, pores and soft shading into speckled band patches and stray ink; with a skin
 * mask from face parsing the filters instead:
 * - smooth skin much more, confined to the mask (walls at its border, so hair, eyes and lips neither
 *   leak in nor get smoothed), which leaves only the low-frequency shading of the face;
 * - band that smooth lightness with fewer bands whose values come from the skin alone, joined by wide
 *   ramps, so a face reads as two or three soft tones rather than patches;
 * - raise the ink threshold on skin away from the features (eyes, brows, lips, nostrils keep lines);
 * - put the skin's mean colour back where it was, so the person's skin tone survives.
 */
import { gaussianBlurInPlace } from '../blur.js';
import { domainTransformFilter, guideGradients } from './domain-transform.js';

/** Largest unit on a face crop, in multiples of the crop side / 1000 (see faceUnit). */
const FACE_UNIT_CAP = 2.5;

/**
 * The unit a filter uses: as given, except on a face crop (`skin` given) where it is capped at
 * FACE_UNIT_CAP thousandths of the crop side. A face that is small in a big photo is enlarged a lot
 * in its crop; with the photo's unit its lines and washes would be as wide as its eyes (the whole
 * photo's look at that face's size: a few blobs). Capped, such a face is drawn like a face that fills
 * a 1280 px photo, and faces large in the photo (the usual portrait) are unaffected.
 */
export function faceUnit(unit: number, width: number, height: number, skin: Float32Array | undefined): number {
  return skin === undefined ? unit : Math.min(unit, (FACE_UNIT_CAP * Math.max(width, height)) / 1000);
}

export interface SkinContext {
  /** Soft 0..1 skin weight per pixel, as given: walls for the skin smoothing, weights for the mean. */
  readonly skin: Float32Array;
  /**
   * The skin mask feathered over a few px: how much of the skin settings (bands, texture, tone)
   * each pixel gets. Any difference between skin and non-skin settings fades in over this ramp
   * instead of drawing a line along the parsing mask (cheek to neck, face to ear).
   */
  readonly weight: Float32Array;
  /** Skin away from its border (eroded, then softened): where skin-only settings apply in full. */
  readonly core: Float32Array;
  /** Crop side / 1000: radii that must follow the face's size rather than the photo's scale. */
  readonly faceUnit: number;
  /** Skin-weighted mean OKLab of the input, or undefined when there is (almost) no skin. */
  readonly mean: readonly [number, number, number] | undefined;
}

/**
 * @param lab the input in interleaved OKLab (read only).
 * @param skin soft skin mask, one value per pixel (values outside 0..1 are clamped).
 */
export function skinContext(lab: Float32Array, width: number, height: number, skin: Float32Array): SkinContext {
  const n = width * height;
  const s = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = skin[i]!;
    s[i] = v > 0 ? (v < 1 ? v : 1) : 0; // also maps NaN to 0
  }
  const faceUnit = Math.max(width, height) / 1000;
  // Erode by ~1.5 % of the face crop: the line along an eye, a lip or a brow sits on its skin side too.
  const radius = Math.max(1, Math.round(15 * faceUnit));
  const tmp = new Float32Array(n);
  const core = erode(s, width, height, radius);
  gaussianBlurInPlace(core, tmp, width, height, radius / 2);
  const weight = s.slice();
  gaussianBlurInPlace(weight, tmp, width, height, Math.max(1, 10 * faceUnit));
  return { skin: s, weight, core, faceUnit, mean: skinMean(lab, s) };
}

/** Skin-weighted mean OKLab, undefined under a total weight of 16 px. */
export function skinMean(lab: Float32Array, skin: Float32Array): [number, number, number] | undefined {
  let sl = 0;
  let sa = 0;
  let sb = 0;
  let sw = 0;
  for (let p = 0, i = 0; p < skin.length; p++, i += 3) {
    const w = skin[p]!;
    if (w <= 0) continue;
    sl += w * lab[i]!;
    sa += w * lab[i + 1]!;
    sb += w * lab[i + 2]!;
    sw += w;
  }
  return sw < 16 ? undefined : [sl / sw, sa / sw, sb / sw];
}

export interface SkinSmoothing {
  /** Spatial sigma in px. */
  readonly sigmaS: number;
  /** Range sigma in OKLab L1 units (colour steps well above it stop the smoothing). */
  readonly sigmaR: number;
  /** Optional 0..1 plane of extra walls inside the skin (ink lines: nostrils, creases). */
  readonly barrier?: Float32Array | undefined;
}

/**
 * Strong edge-preserving smoothing of skin only (in place): a domain transform whose guide has walls
 * wherever the skin mask is not 1, blended back by the mask. Colours from outside the skin never
 * enter it, and nothing outside changes.
 */
export function smoothSkin(lab: Float32Array, width: number, height: number, ctx: SkinContext, options: SkinSmoothing): void {
  const n = width * height;
  const { skin } = ctx;
  const wall = new Float32Array(n);
  for (let p = 0; p < n; p++) {
    const w = 1 - skin[p]!;
    const b = options.barrier === undefined ? 0 : options.barrier[p]!;
    wall[p] = w > b ? w : b;
  }
  const smoothed = lab.slice();
  const gradients = guideGradients(smoothed, width, height, { chromaWeight: 1, barrier: wall, barrierWeight: 4 });
  domainTransformFilter(smoothed, width, height, gradients, options.sigmaS, options.sigmaR, 3);
  for (let p = 0, i = 0; p < n; p++, i += 3) {
    const w = skin[p]!;
    if (w <= 0) continue;
    lab[i] = lab[i]! + w * (smoothed[i]! - lab[i]!);
    lab[i + 1] = lab[i + 1]! + w * (smoothed[i + 1]! - lab[i + 1]!);
    lab[i + 2] = lab[i + 2]! + w * (smoothed[i + 2]! - lab[i + 2]!);
  }
}

/**
 * Moves the skin's mean colour back to the input's (in place): one offset, added to every pixel in
 * proportion to its feathered skin weight, sized so the mean over the skin mask lands on target.
 * Smoothing, bands and washes each shift the mean a little (a band value is the mean of its whole
 * band, a wash the mean of its neighbourhood); this keeps the person's skin tone, in dim light as in
 * bright, without touching the shading inside the face.
 */
export function restoreSkinTone(lab: Float32Array, ctx: SkinContext): void {
  const target = ctx.mean;
  if (target === undefined) return;
  const now = skinMean(lab, ctx.skin);
  if (now === undefined) return;
  const { skin, weight } = ctx;
  // Mean over the mask of the feathered weight (< 1: the feather dips below 1 along the border).
  let sw = 0;
  let ss = 0;
  for (let p = 0; p < skin.length; p++) {
    sw += skin[p]! * weight[p]!;
    ss += skin[p]!;
  }
  const gain = ss / Math.max(sw, 1e-6);
  const dL = gain * (target[0] - now[0]);
  const da = gain * (target[1] - now[1]);
  const db = gain * (target[2] - now[2]);
  for (let p = 0, i = 0; p < weight.length; p++, i += 3) {
    const w = weight[p]!;
    if (w <= 0) continue;
    lab[i]! += w * dL;
    lab[i + 1]! += w * da;
    lab[i + 2]! += w * db;
  }
}

/** Complement of a 0..1 plane (1 - v). */
export function complement(plane: Float32Array): Float32Array {
  const out = new Float32Array(plane.length);
  for (let i = 0; i < plane.length; i++) out[i] = 1 - plane[i]!;
  return out;
}

/** Grey-level erosion (min filter) over a (2r+1)² square, separable. */
function erode(src: Float32Array, width: number, height: number, r: number): Float32Array {
  const tmp = new Float32Array(src.length);
  const out = new Float32Array(src.length);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      let m = src[row + x]!;
      const x0 = x - r < 0 ? 0 : x - r;
      const x1 = x + r >= width ? width - 1 : x + r;
      for (let k = x0; k <= x1 && m > 0; k++) {
        const v = src[row + k]!;
        if (v < m) m = v;
      }
      tmp[row + x] = m;
    }
  }
  for (let y = 0; y < height; y++) {
    const y0 = y - r < 0 ? 0 : y - r;
    const y1 = y + r >= height ? height - 1 : y + r;
    for (let x = 0; x < width; x++) {
      let m = tmp[y * width + x]!;
      for (let k = y0; k <= y1 && m > 0; k++) {
        const v = tmp[k * width + x]!;
        if (v < m) m = v;
      }
      out[y * width + x] = m;
    }
  }
  return out;
}
