/**
 * Cel shading without a neural network: flat colour areas with a few lightness bands and dark ink
 * outlines, the look of a hand-inked cartoon.
 *
 * Pipeline (all in OKLab, see oklab.ts):
 * 1. light edge-preserving smoothing (domain transform, see domain-transform.ts for why that filter):
 *    skin texture and JPEG noise go, eyes, lips and outlines stay;
 * 2. DoG ink lines drawn from the lightness of step 1 (ink.ts), specks removed;
 * 3. strong smoothing guided by step 1, weighting hue changes over lightness changes and treating the
 *    ink lines as walls: shading inside an outlined shape flattens into plateaus, colours do not leak
 *    across outlines;
 * 4. lightness quantised into `levels` bands (bands.ts) with hue and chroma kept, so skin stays
 *    skin-coloured and shading becomes classic 2-3 tone cel shading; band borders are anti-aliased
 *    ramps about a pixel wide;
 * 5. a little extra saturation, then the ink, darkening the local colour rather than painting black.
 * Every radius and line width is a fraction of the long side, so a 512 px and a 4000 px photo look
 * alike (with a floor of about one pixel for lines on small images); a crop of a photo can pass the
 * photo's scale instead (FilterScale). On aligned face crops (runProceduralFace) skin gets its own
 * settings: see skin.ts.
 */
import type { RawImage } from '../image.js';
import { domainTransformFilter, guideGradients } from './domain-transform.js';
import { quantiseLightness } from './bands.js';
import { inkLines } from './ink.js';
import { oklabToSrgb, srgbToOklab } from './oklab.js';
import { resolveParams, type ParamSpecs } from './params.js';
import { complement, faceUnit, restoreSkinTone, skinContext, smoothSkin, type SkinContext } from './skin.js';

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
  levels: { min: 2, max: 12, default: 6, integer: true, doc: 'Number of lightness bands (2..12).' },
  edgeThreshold: {
    min: 0,
    max: 1,
    default: 0.12,
    doc: 'Smallest lightness step (OKLab L, 0..1) that gets an ink line; lower draws more lines.',
  },
  edgeThickness: { min: 0, max: 4, default: 1, doc: 'Ink line width relative to the default; 0 disables ink.' },
  saturation: { min: 0, max: 2, default: 1.1, doc: 'Chroma multiplier (1 = as in the photo).' },
};

/** How the procedural filters are run beyond their params. */
export interface FilterScale {
  /**
   * Pixels per "photo unit" (1/1000 of the photo's long side): every radius and line width is a
   * multiple of it. Default: this image's long side / 1000. A crop of a photo passes the photo's
   * unit times the crop's scale, so its lines and washes match the whole picture's.
   */
  readonly unit?: number | undefined;
}

export function celShade(image: RawImage, params: Partial<CelParams> = {}, options: FilterScale = {}): RawImage {
  const p = resolveParams('cel', CEL_PARAMS, params);
  return celPass(image, p, options.unit);
}

/**
 * The cel filter with resolved params; with `skin` (a 0..1 mask, one value per pixel) the face
 * settings of skin.ts apply.
 */
export function celPass(image: RawImage, p: CelParams, unitOverride?: number, skin?: Float32Array): RawImage {
  const { width, height } = image;
  const n = width * height;
  const lab = srgbToOklab(image);
  if (n === 0) return oklabToSrgb(lab, width, height);
  const photoUnit = unitOverride ?? Math.max(width, height) / 1000;
  const unit = faceUnit(photoUnit, width, height, skin);
  const face: SkinContext | undefined = skin === undefined ? undefined : skinContext(lab, width, height, skin);

  // 1. Light smoothing: the base for the ink lines. At the default smoothing the strong pass (step 3)
  // reaches ~4 % of the long side and merges colours up to ~0.16 OKLab apart (L1 over L, a, b);
  // this pass a sixth of that reach and half the colour range, so features the size of an eye survive.
  const sigmaR = 0.03 + 0.1 * p.smoothing;
  const sigmaS = Math.max(1, (4 + 36 * p.smoothing) * unit);
  const gradients = guideGradients(lab, width, height, { chromaWeight: 1 });
  domainTransformFilter(lab, width, height, gradients, sigmaS / 3, sigmaR, 2);

  // 2. Ink lines from the lightness of step 1.
  let ink: Float32Array | undefined;
  if (p.edgeThickness > 0 && p.edgeThreshold < 1) {
    const lum = new Float32Array(n);
    for (let i = 0; i < n; i++) lum[i] = lab[i * 3]!;
    // A DoG with the 1 : 1.6 sigma ratio answers a lightness step c with a dip of ~0.1 c, so this makes
    // edgeThreshold the smallest step that gets ink (fully opaque from 2.5x that: a soft ramp keeps
    // lines continuous where the response hovers around the threshold, instead of beaded).
    // Face crops: in dim light (or on dark skin) every lightness step is smaller in proportion, so the
    // threshold follows the skin's lightness and eyes, brows and lips keep their lines there too. A
    // face enlarged beyond the photo's resolution (unit capped, see faceUnit) is blurred over about
    // photoUnit px, which weakens the DoG's answer at the finer sigma by about unit / photoUnit.
    const threshold = 0.1 * p.edgeThreshold * (face === undefined ? 1 : skinContrast(face) * (unit / photoUnit));
    ink = inkLines(lum, width, height, {
      sigma: Math.max(0.8, 0.9 * p.edgeThickness * unit),
      threshold,
      softness: Math.max(1.5 * threshold, 0.004),
      minExtent: Math.max(3, 6 * unit),
      thicken: 0.35 * p.edgeThickness * unit,
      // Skin away from the features needs a much stronger edge: shading and pores get no lines.
      ...(face === undefined ? {} : { thresholdScale: scalePlane(face.core, SKIN_INK_THRESHOLD - 1, 1) }),
    });
  }

  // 3. Strong smoothing guided by the cleaned image, with the ink lines as walls: shading inside an
  // outlined shape flattens out, colours do not leak across outlines.
  guideGradients(lab, width, height, {
    // Lightness steps inside an object are shading to flatten; hue changes are object borders to keep.
    chromaWeight: 4,
    ...(ink === undefined ? {} : { barrier: ink, barrierWeight: 1 }),
    reuse: gradients,
  });
  domainTransformFilter(lab, width, height, gradients, 2 * sigmaS, 2 * sigmaR, 3);
  if (face !== undefined) {
    // Skin: heavier smoothing within the mask, so only the broad shading of the face is left.
    smoothSkin(lab, width, height, face, {
      sigmaS: (20 + 30 * p.smoothing) * face.faceUnit,
      sigmaR: 0.08 + 0.16 * p.smoothing,
      barrier: ink,
    });
  }

  // 4. Lightness bands.
  // Band values are means over the whole photo, so a wide band (say, everything from skin highlights to
  // white walls) would turn a soft highlight on a cheek into a chalky patch; capping the change keeps a
  // faint trace of the shading and the skin's own tone, while band borders stay crisp steps.
  if (face === undefined) {
    quantiseLightness(lab, width, height, { levels: p.levels, aaPx: Math.max(0.75, 0.6 * unit), maxShift: 0.05 });
  } else {
    // Skin: at most three bands, valued from the skin alone, joined by soft ramps; then everything
    // else with the usual bands valued from the rest of the crop.
    quantiseLightness(lab, width, height, {
      levels: Math.min(3, p.levels),
      aaPx: 6 * face.faceUnit,
      maxShift: 0.05,
      minHalfWidth: 0.12,
      weights: face.skin,
      mix: face.weight,
    });
    const rest = complement(face.weight);
    quantiseLightness(lab, width, height, {
      levels: p.levels,
      aaPx: Math.max(0.75, 0.6 * unit),
      maxShift: 0.05,
      weights: rest,
      mix: rest,
    });
  }
  if (p.saturation !== 1) {
    for (let i = 0; i < lab.length; i += 3) {
      lab[i + 1]! *= p.saturation;
      lab[i + 2]! *= p.saturation;
    }
  }
  // The skin keeps the person's own tone (after the saturation boost, which is for everything else).
  if (face !== undefined) restoreSkinTone(lab, face);
  if (ink !== undefined) applyInk(lab, ink);
  return oklabToSrgb(lab, width, height);
}

/** Ink threshold on skin away from the features, as a multiple of the usual one. */
const SKIN_INK_THRESHOLD = 2.5;

/** Skin lightness (OKLab L) at which features get the whole-photo ink threshold. */
const SKIN_L_REFERENCE = 0.65;

/** 0.35..1: the skin's mean lightness relative to SKIN_L_REFERENCE. */
function skinContrast(face: SkinContext): number {
  const L = face.mean?.[0] ?? SKIN_L_REFERENCE;
  return Math.min(1, Math.max(0.35, L / SKIN_L_REFERENCE));
}

/** offset + gain * v for every v. */
function scalePlane(plane: Float32Array, gain: number, offset: number): Float32Array {
  const out = new Float32Array(plane.length);
  for (let i = 0; i < plane.length; i++) out[i] = offset + gain * plane[i]!;
  return out;
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
