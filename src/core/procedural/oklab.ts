/**
 * sRGB <-> OKLab for whole images. The procedural filters smooth, quantise and detect edges in OKLab
 * because it is perceptual (equal steps look equal, so one edge threshold works for dark and light
 * areas) and its hue stays put when only lightness changes: quantising L alone keeps skin skin-coloured.
 * OKLab (Ottosson 2020) rather than CIELab: same idea, no white point fuss, only cube roots.
 *
 * Layout: interleaved Float32Array [L, a, b, L, a, b, ...], L in 0..1, a/b roughly -0.4..0.4.
 */
import { createImage, type RawImage } from '../image.js';

/** 8-bit sRGB value -> linear light, exact, built once. */
const SRGB_TO_LINEAR = new Float32Array(256);
for (let i = 0; i < 256; i++) {
  const c = i / 255;
  SRGB_TO_LINEAR[i] = c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

/**
 * Linear light -> 8-bit sRGB through a table over sqrt(linear): the square root spreads the dark end
 * (where sRGB is steepest) over many entries, so linear interpolation stays well under one 8-bit step
 * without a pow() per pixel.
 */
const LINEAR_LUT_SIZE = 4096;
const LINEAR_TO_SRGB = new Float32Array(LINEAR_LUT_SIZE + 1);
for (let i = 0; i <= LINEAR_LUT_SIZE; i++) {
  const lin = (i / LINEAR_LUT_SIZE) ** 2;
  LINEAR_TO_SRGB[i] = 255 * (lin <= 0.0031308 ? lin * 12.92 : 1.055 * lin ** (1 / 2.4) - 0.055);
}

function linearToSrgb8(lin: number): number {
  if (!(lin > 0)) return 0;
  if (lin >= 1) return 255;
  const f = Math.sqrt(lin) * LINEAR_LUT_SIZE;
  const i = f | 0;
  const t = f - i;
  return LINEAR_TO_SRGB[i]! * (1 - t) + LINEAR_TO_SRGB[i + 1]! * t;
}

/** RGB (3 channels) -> interleaved OKLab. */
export function srgbToOklab(image: RawImage): Float32Array {
  if (image.channels !== 3) throw new RangeError(`Expected an RGB image (3 channels) but received ${image.channels}`);
  const src = image.data;
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i += 3) {
    const r = SRGB_TO_LINEAR[src[i]!]!;
    const g = SRGB_TO_LINEAR[src[i + 1]!]!;
    const b = SRGB_TO_LINEAR[src[i + 2]!]!;
    const l = Math.cbrt(0.4122214708 * r + 0.5363325363 * g + 0.0514459929 * b);
    const m = Math.cbrt(0.2119034982 * r + 0.6806995451 * g + 0.1073969566 * b);
    const s = Math.cbrt(0.0883024619 * r + 0.2817188376 * g + 0.6299787005 * b);
    out[i] = 0.2104542553 * l + 0.793617785 * m - 0.0040720468 * s;
    out[i + 1] = 1.9779984951 * l - 2.428592205 * m + 0.4505937099 * s;
    out[i + 2] = 0.0259040371 * l + 0.7827717662 * m - 0.808675766 * s;
  }
  return out;
}

/**
 * Interleaved OKLab -> RGB image. Out-of-gamut colours are clipped per channel, which is fine here:
 * the filters only move colours a little outside the gamut they came from.
 */
export function oklabToSrgb(lab: Float32Array, width: number, height: number): RawImage {
  const out = createImage(width, height, 3);
  const dst = out.data;
  for (let i = 0; i < lab.length; i += 3) {
    const L = lab[i]!;
    const A = lab[i + 1]!;
    const B = lab[i + 2]!;
    const l = L + 0.3963377774 * A + 0.2158037573 * B;
    const m = L - 0.1055613458 * A - 0.0638541728 * B;
    const s = L - 0.0894841775 * A - 1.291485548 * B;
    const l3 = l * l * l;
    const m3 = m * m * m;
    const s3 = s * s * s;
    dst[i] = linearToSrgb8(4.0767416621 * l3 - 3.3077115913 * m3 + 0.2309699292 * s3) + 0.5;
    dst[i + 1] = linearToSrgb8(-1.2684380046 * l3 + 2.6097574011 * m3 - 0.3413193965 * s3) + 0.5;
    dst[i + 2] = linearToSrgb8(-0.0041960863 * l3 - 0.7034186147 * m3 + 1.707614701 * s3) + 0.5;
  }
  return out;
}
