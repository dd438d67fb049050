/**
 * Watercolour without a neural network: soft, slightly diluted washes laid in a few layers, pigment
 * collecting at the rims of each wash, granulation and paper grain.
 *
 * Pipeline (OKLab, see oklab.ts):
 * 1. edge-preserving smoothing (domain transform) abstracts the photo into washes;
 * 2. lightness split into a few soft layers (bands.ts), each glaze a flat-ish tone, with borders made
 *    to wander by low-frequency noise, as the edge of a drying wash does;
 * 3. the rims of those layers are found while they are still sharp;
 * 4. a light gaussian "bleed" so washes run into each other a little, as wet paint does;
 * 5. pigment density from the rims, low-frequency turbulence and fine granulation, applied with the
 *    colour-darkening model of Bousseau et al. 2006 ("Interactive watercolor rendering with temporal
 *    coherence and abstraction"): C' = C - (C - C^2)(d - 1); then dilution towards the paper white and
 *    paper grain over everything.
 * The textures are deterministic (noise.ts) and, like every radius, scale with the long side (or
 * the photo's scale passed in for a crop, FilterScale). On aligned face crops (runProceduralFace)
 * skin gets its own settings: see skin.ts.
 */
import { gaussianBlurInPlace } from '../blur.js';
import type { RawImage } from '../image.js';
import { quantiseLightness } from './bands.js';
import { domainTransformFilter, guideGradients } from './domain-transform.js';
import { FractalNoise } from './noise.js';
import { oklabToSrgb, srgbToOklab } from './oklab.js';
import type { FilterScale } from './cel.js';
import { resolveParams, type ParamSpecs } from './params.js';
import { complement, faceUnit, restoreSkinTone, skinContext, smoothSkin, type SkinContext } from './skin.js';

export interface WatercolorParams {
  /** 0..1: how much detail the washes abstract away. */
  smoothing: number;
  /** 0..1: how far wet colours bleed into each other (softness of all borders). */
  bleed: number;
  /** 0..1: strength of paper grain, granulation and uneven pigment. */
  paper: number;
  /** 0..1: darkness of the pigment rims at wash borders. */
  edgeDarkening: number;
  /** 0..1: how much the colours are diluted towards the paper white. */
  dilution: number;
}

export const WATERCOLOR_PARAMS: ParamSpecs<keyof WatercolorParams> = {
  smoothing: { min: 0, max: 1, default: 0.5, doc: 'How much detail the washes abstract away (0..1).' },
  bleed: { min: 0, max: 1, default: 0.4, doc: 'How far wet colours bleed into each other (0..1).' },
  paper: { min: 0, max: 1, default: 0.5, doc: 'Strength of paper grain and uneven pigment (0..1).' },
  edgeDarkening: { min: 0, max: 1, default: 0.5, doc: 'Darkness of pigment rims at wash borders (0..1).' },
  dilution: { min: 0, max: 1, default: 0.35, doc: 'How much colours are diluted towards paper white (0..1).' },
};

/** Fixed seed: the texture is part of the style, identical on every run. */
const SEED = 0x5eed;

export function watercolor(image: RawImage, params: Partial<WatercolorParams> = {}, options: FilterScale = {}): RawImage {
  const p = resolveParams('watercolor', WATERCOLOR_PARAMS, params);
  return watercolorPass(image, p, options.unit);
}

/**
 * The watercolour filter with resolved params; with `skin` (a 0..1 mask, one value per pixel) the
 * face settings of skin.ts apply, and skin gets even washes: no wandering layer borders, no uneven
 * pigment blotches, less dilution.
 */
export function watercolorPass(image: RawImage, p: WatercolorParams, unitOverride?: number, skin?: Float32Array): RawImage {
  const { width, height } = image;
  const n = width * height;
  const lab = srgbToOklab(image);
  if (n === 0) return oklabToSrgb(lab, width, height);
  const unit = faceUnit(unitOverride ?? Math.max(width, height) / 1000, width, height, skin);
  const face: SkinContext | undefined = skin === undefined ? undefined : skinContext(lab, width, height, skin);

  // 1. Washes.
  const gradients = guideGradients(lab, width, height, { chromaWeight: 2 });
  domainTransformFilter(lab, width, height, gradients, Math.max(1, (6 + 30 * p.smoothing) * unit), 0.04 + 0.12 * p.smoothing, 3);
  if (face !== undefined) {
    smoothSkin(lab, width, height, face, { sigmaS: (20 + 30 * p.smoothing) * face.faceUnit, sigmaR: 0.08 + 0.16 * p.smoothing });
  }

  // 2. Glaze layers. Low-frequency noise added to the lightness first makes the layer borders wander
  // like the edges of a wash drying on paper instead of following the photo's iso-lines exactly.
  // Noise scales follow the long side, with a floor so tiny images get texture, not pixel noise.
  const turbulence = new FractalNoise(width, height, Math.max(12, 50 * unit), 3, SEED);
  const row = new Float32Array(width);
  const wobble = 0.05 * p.paper;
  for (let y = 0; y < height; y++) {
    turbulence.row(y, row);
    for (let x = 0, i = y * width * 3; x < width; x++, i += 3) {
      // On skin the wandering borders would read as blotches: much less wobble there.
      const w = face === undefined ? wobble : wobble * (1 - SKIN_CALM * face.weight[y * width + x]!);
      lab[i]! += w * (row[x]! - 0.5);
    }
  }
  if (face === undefined) quantiseLightness(lab, width, height, { levels: 5, aaPx: Math.max(1, 1.5 * unit), maxShift: 0.04 });
  else {
    quantiseLightness(lab, width, height, {
      levels: 3,
      aaPx: 8 * face.faceUnit,
      maxShift: 0.04,
      minHalfWidth: 0.25,
      weights: face.skin,
      mix: face.weight,
    });
    const rest = complement(face.weight);
    quantiseLightness(lab, width, height, { levels: 5, aaPx: Math.max(1, 1.5 * unit), maxShift: 0.04, weights: rest, mix: rest });
  }

  // 3. Rims: gradient magnitude of the layered lightness, spread so the rim sits on both sides of the
  // border (measured before the bleed, while borders are still sharp).
  const rim = new Float32Array(n);
  const tmp = new Float32Array(n);
  for (let y = 0; y < height; y++) {
    const up = (y > 0 ? y - 1 : y) * width;
    const down = (y < height - 1 ? y + 1 : y) * width;
    for (let x = 0; x < width; x++) {
      const left = x > 0 ? x - 1 : x;
      const right = x < width - 1 ? x + 1 : x;
      const gx = lab[(y * width + right) * 3]! - lab[(y * width + left) * 3]!;
      const gy = lab[(down + x) * 3]! - lab[(up + x) * 3]!;
      rim[y * width + x] = Math.sqrt(gx * gx + gy * gy);
    }
  }
  gaussianBlurInPlace(rim, tmp, width, height, Math.max(0.8, 1.5 * unit));

  // 4. Bleed.
  if (p.bleed > 0) {
    const plane = new Float32Array(n);
    const sigma = (0.5 + 2.5 * p.bleed) * unit;
    for (let c = 0; c < 3; c++) {
      for (let i = 0, j = c; i < n; i++, j += 3) plane[i] = lab[j]!;
      gaussianBlurInPlace(plane, tmp, width, height, sigma);
      for (let i = 0, j = c; i < n; i++, j += 3) lab[j] = plane[i]!;
    }
  }

  // 5. Pigment density, dilution, paper.
  const granulation = new FractalNoise(width, height, Math.max(3, 5 * unit), 2, SEED + 1);
  const grain = new FractalNoise(width, height, Math.max(2, 2.5 * unit), 2, SEED + 2);
  const granRow = new Float32Array(width);
  const grainRow = new Float32Array(width);
  // The rim map is a gradient of a step blurred over ~1.5 units: scale it so a strong border reads ~1.
  const rimGain = 2.2 * p.edgeDarkening * Math.max(0.8, 1.5 * unit) * 2.5;
  const baseDilute = 0.45 * p.dilution;
  for (let y = 0; y < height; y++) {
    turbulence.row(y, row);
    granulation.row(y, granRow);
    grain.row(y, grainRow);
    for (let x = 0; x < width; x++) {
      const q = y * width + x;
      const i = q * 3;
      const r = rim[q]! * rimGain;
      // Skin: even pigment (turbulence makes blotches on a face) and less dilution (keeps the tone).
      const calm = face === undefined ? 1 : 1 - SKIN_CALM * face.weight[q]!;
      const dilute = baseDilute * calm;
      // Pigment density: > 1 darkens (more pigment), < 1 lightens; see Bousseau et al.
      const d = 1 + p.paper * (0.5 * calm * (row[x]! - 0.5) + 0.5 * (granRow[x]! - 0.5)) + (r > 0.6 ? 0.6 : r);
      let L = lab[i]!;
      L = L - (L - L * L) * (d - 1);
      // Dilution: transparent paint over white paper.
      L = L + (1 - L) * dilute;
      // Paper grain shows everywhere, paint or not (slight shadows in the paper's tooth).
      L *= 1 - 0.08 * p.paper * grainRow[x]!;
      const chroma = (1 + 0.5 * (d - 1)) * (1 - 0.6 * dilute);
      lab[i] = L;
      lab[i + 1]! *= chroma;
      lab[i + 2]! *= chroma;
    }
  }
  // Rims, pigment and dilution all move the skin's mean (dilution lightens, rims darken, most at
  // large scales): the face keeps the person's own tone, the wash look stays in its texture.
  if (face !== undefined) restoreSkinTone(lab, face);
  return oklabToSrgb(lab, width, height);
}

/** Share of the texture and dilution taken off skin in the face variant. */
const SKIN_CALM = 0.7;
