/**
 * Cel shading without a neural network: flat colour areas with a few lightness bands and dark ink
 * outlines, the look of a hand-inked cartoon.
 *
 * Pipeline (all in OKLab, see oklab.ts):
 * 1. light edge-preserving smoothing (domain transform) -> the lightness that the ink lines are drawn
 *    from: detail such as eyes and lips survives this pass, skin texture and JPEG noise do not;
 * 2. strong smoothing guided by the result of step 1 -> large flat plateaus of colour;
 * 3. lightness quantised into `levels` bands spread over the photo's own lightness range, with hue and
 *    chroma kept (skin stays skin-coloured, shading becomes the classic 2-3 tone cel shading); the band
 *    transition is ~1.5 px wide whatever the local gradient, so band borders are anti-aliased but crisp;
 * 4. DoG ink lines (ink.ts), darkening the local colour rather than painting pure black.
 * Every radius is a fraction of the long side, so a 512 px and a 4000 px photo look alike.
 */
import type { RawImage } from '../image.js';
import { domainTransformFilter, guideGradients } from './domain-transform.js';
import { inkLines } from './ink.js';
import { oklabToSrgb, srgbToOklab } from './oklab.js';
import { resolveParams, type ParamSpecs } from './params.js';

export interface CelParams {
  /** 0..1: how much detail is flattened away (spatial and colour reach of the smoothing). */
  smoothing: number;
  /** 2..12: number of lightness bands. */
  levels: number;
  /** 0..1: smallest lightness step (OKLab L) that gets an ink line; lower = more lines. 1 = no lines. */
  edgeThreshold: number;
  /** 0..4: line width relative to the default; 0 = no ink at all. */
  edgeThickness: number;
  /** 0..2: chroma multiplier; cartoons are a little more saturated than photos. */
  saturation: number;
}

export const CEL_PARAMS: ParamSpecs<keyof CelParams> = {
  smoothing: { min: 0, max: 1, default: 0.5, doc: 'How much detail is flattened away (0..1).' },
  levels: { min: 2, max: 12, default: 5, integer: true, doc: 'Number of lightness bands (2..12).' },
  edgeThreshold: {
    min: 0,
    max: 1,
    default: 0.12,
    doc: 'Smallest lightness step (OKLab L, 0..1) that gets an ink line; lower draws more lines.',
  },
  edgeThickness: { min: 0, max: 4, default: 1, doc: 'Ink line width relative to the default; 0 disables ink.' },
  saturation: { min: 0, max: 2, default: 1.1, doc: 'Chroma multiplier (1 = as in the photo).' },
};

export function celShade(image: RawImage, params: Partial<CelParams> = {}): RawImage {
  const p = resolveParams('cel', CEL_PARAMS, params);
  const { width, height } = image;
  const n = width * height;
  const lab = srgbToOklab(image);
  if (n === 0) return oklabToSrgb(lab, width, height);
  const unit = Math.max(width, height) / 1000;

  // 1. Light smoothing: the base for the ink lines.
  const sigmaR = 0.03 + 0.1 * p.smoothing;
  const sigmaS = Math.max(1, (4 + 36 * p.smoothing) * unit);
  const gradients = guideGradients(lab, width, height, { chromaWeight: 1 });
  domainTransformFilter(lab, width, height, gradients, sigmaS / 3, sigmaR, 2);

  // 2. Ink lines from the lightness of step 1.
  let ink: Float32Array | undefined;
  if (p.edgeThickness > 0 && p.edgeThreshold < 1) {
    const lum = new Float32Array(n);
    for (let i = 0; i < n; i++) lum[i] = lab[i * 3]!;
    const threshold = 0.1 * p.edgeThreshold;
    ink = inkLines(lum, width, height, {
      sigma: Math.max(0.6, 0.9 * p.edgeThickness * unit),
      threshold,
      softness: Math.max(threshold, 0.004),
      minExtent: Math.max(3, 6 * unit),
      thicken: 0.35 * p.edgeThickness * unit,
    });
  }

  // 3. Strong smoothing guided by the cleaned image, with the ink lines as walls: shading inside an
  // outlined shape flattens out, colours do not leak across outlines.
  guideGradients(lab, width, height, {
    chromaWeight: Number(process.env.CW ?? 2),
    ...(ink === undefined ? {} : { barrier: ink, barrierWeight: Number(process.env.BW ?? 1) }),
    reuse: gradients,
  });
  domainTransformFilter(lab, width, height, gradients, sigmaS * Number(process.env.K2 ?? 2), sigmaR * Number(process.env.R2 ?? 2), 3);

  // 4. Lightness bands.
  quantiseLightness(lab, width, height, p.levels, Math.max(0.75, 0.6 * unit));
  if (p.saturation !== 1) {
    for (let i = 0; i < lab.length; i += 3) {
      lab[i + 1]! *= p.saturation;
      lab[i + 2]! *= p.saturation;
    }
  }
  if (ink !== undefined) applyInk(lab, ink);
  return oklabToSrgb(lab, width, height);
}

/**
 * Replaces L by `levels` bands. The band values are a 1-D k-means of the photo's lightness histogram,
 * so boundaries fall where few pixels are and each band keeps the mean lightness of what it covers
 * (highlights do not turn chalky, the face keeps its average tone). Between two bands the value ramps
 * over about `aaPx` pixels, measured with the local lightness gradient: crisp, anti-aliased borders,
 * and a plain gradient still turns into bands rather than a blur.
 */
function quantiseLightness(lab: Float32Array, width: number, height: number, levels: number, aaPx: number): void {
  const centres = lightnessCentres(lab, levels);
  // Piecewise-linear "band coordinate" t(L) with t(centre k) = k, tabulated with its slope.
  const size = 2048;
  const coord = new Float32Array(size + 1);
  const slope = new Float32Array(size + 1);
  for (let q = 0, k = 0; q <= size; q++) {
    const L = q / size;
    while (k < levels - 2 && L > centres[k + 1]!) k++;
    const c0 = centres[k]!;
    const c1 = centres[k + 1]!;
    const d = Math.max(c1 - c0, 1e-4);
    const t = k + (L - c0) / d;
    coord[q] = t < 0 ? 0 : t > levels - 1 ? levels - 1 : t;
    slope[q] = t < 0 || t > levels - 1 ? 0 : 1 / d;
  }
  const stride = width * 3;
  const out = new Float32Array(width); // one row of results, written back a row late
  const prev = new Float32Array(width);
  for (let y = 0; y < height; y++) {
    const row = y * stride;
    const down = y < height - 1 ? row + stride : row;
    for (let x = 0; x < width; x++) {
      const i = row + x * 3;
      const L = lab[i]!;
      const left = x > 0 ? i - 3 : i;
      const right = x < width - 1 ? i + 3 : i;
      // The row above was already replaced: use the saved original for its gradient.
      const above = y > 0 ? prev[x]! : L;
      const gx = (lab[right]! - lab[left]!) * 0.5;
      const gy = (lab[down + x * 3]! - above) * 0.5;
      const q = Math.round((L < 0 ? 0 : L > 1 ? 1 : L) * size);
      const t = coord[q]!;
      const grad = Math.sqrt(gx * gx + gy * gy) * slope[q]!; // band units per px
      const halfWidth = Math.min(0.5, Math.max(0.002, aaPx * grad * 0.5));
      const k = Math.min(levels - 2, Math.floor(t));
      let s = (t - k - 0.5 + halfWidth) / (2 * halfWidth);
      s = s <= 0 ? 0 : s >= 1 ? 1 : s * s * (3 - 2 * s);
      const c0 = centres[k]!;
      out[x] = c0 + s * (centres[k + 1]! - c0);
    }
    for (let x = 0; x < width; x++) {
      const i = row + x * 3;
      prev[x] = lab[i]!;
      lab[i] = out[x]!;
    }
  }
}

/**
 * `levels` lightness values by Lloyd's 1-D k-means over a 1024-bin histogram, started from an even
 * spread over the 1st..99th percentile (at least 0.3 wide, so a flat photo keeps its flat tones).
 */
function lightnessCentres(lab: Float32Array, levels: number): Float64Array {
  const bins = 1024;
  const hist = new Float64Array(bins);
  const n = lab.length / 3;
  for (let i = 0; i < lab.length; i += 3) {
    const b = Math.floor(lab[i]! * bins);
    hist[b < 0 ? 0 : b >= bins ? bins - 1 : b]!++;
  }
  const percentile = (q: number): number => {
    let acc = 0;
    for (let b = 0; b < bins; b++) {
      acc += hist[b]!;
      if (acc >= q * n) return (b + 0.5) / bins;
    }
    return 1;
  };
  let lo = percentile(0.01);
  let hi = percentile(0.99);
  if (hi - lo < 0.3) {
    const mid = (lo + hi) / 2;
    lo = mid - 0.15;
    hi = mid + 0.15;
  }
  const centres = new Float64Array(levels);
  for (let k = 0; k < levels; k++) centres[k] = lo + ((k + 0.5) * (hi - lo)) / levels;
  const sum = new Float64Array(levels);
  const count = new Float64Array(levels);
  for (let iter = 0; iter < 20; iter++) {
    sum.fill(0);
    count.fill(0);
    let k = 0;
    for (let b = 0; b < bins; b++) {
      const v = (b + 0.5) / bins;
      while (k < levels - 1 && v > (centres[k]! + centres[k + 1]!) / 2) k++;
      sum[k]! += hist[b]! * v;
      count[k]! += hist[b]!;
    }
    // Empty bands keep their place, so the centres stay sorted.
    for (let j = 0; j < levels; j++) if (count[j]! > 0) centres[j] = sum[j]! / count[j]!;
  }
  return centres;
}

/** Darkens towards a deep, slightly desaturated version of the local colour. */
function applyInk(lab: Float32Array, ink: Float32Array): void {
  for (let p = 0, i = 0; p < ink.length; p++, i += 3) {
    const v = ink[p]!;
    if (v <= 0) continue;
    lab[i]! *= 1 - 0.82 * v;
    lab[i + 1]! *= 1 - 0.6 * v;
    lab[i + 2]! *= 1 - 0.6 * v;
  }
}
