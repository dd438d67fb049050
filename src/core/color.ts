/**
 * sRGB ↔ CIE Lab (D65) for colour matching. Skin tone is compared and corrected in Lab because
 * equal steps there look equally large, which keeps the correction from tinting faces.
 */
const SRGB_TO_LINEAR = new Float32Array(256);
for (let i = 0; i < 256; i++) {
  const c = i / 255;
  SRGB_TO_LINEAR[i] = c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

const XN = 0.95047,
  YN = 1.0,
  ZN = 1.08883;

function f(t: number): number {
  return t > 0.008856 ? Math.cbrt(t) : 7.787 * t + 16 / 116;
}

function fInv(t: number): number {
  const t3 = t * t * t;
  return t3 > 0.008856 ? t3 : (t - 16 / 116) / 7.787;
}

/**
 * Linear → sRGB (0..255) sampled finely enough that linear interpolation stays within 0.05 of the
 * exact curve: the power function per channel was most of the cost of a per-pixel colour correction.
 */
const LINEAR_STEPS = 4096;
const LINEAR_TO_SRGB = new Float32Array(LINEAR_STEPS + 1);
for (let i = 0; i <= LINEAR_STEPS; i++) {
  const c = i / LINEAR_STEPS;
  LINEAR_TO_SRGB[i] = 255 * (c <= 0.0031308 ? 12.92 * c : 1.055 * c ** (1 / 2.4) - 0.055);
}

function linearToSrgb(c: number): number {
  if (!(c > 0)) return 0;
  if (c >= 1) return 255;
  // The curve is steep near 0: use the exact linear segment there.
  if (c <= 0.0031308) return 12.92 * 255 * c;
  const x = c * LINEAR_STEPS;
  const i = x | 0;
  const t = x - i;
  return LINEAR_TO_SRGB[i]! + (LINEAR_TO_SRGB[i + 1]! - LINEAR_TO_SRGB[i]!) * t;
}

export type Lab = [number, number, number];

/** @param out filled and returned (hot loops pass one array instead of allocating per pixel). */
export function rgbToLab(r: number, g: number, b: number, out: Lab = [0, 0, 0]): Lab {
  const lr = SRGB_TO_LINEAR[r | 0]!,
    lg = SRGB_TO_LINEAR[g | 0]!,
    lb = SRGB_TO_LINEAR[b | 0]!;
  const x = (0.4124564 * lr + 0.3575761 * lg + 0.1804375 * lb) / XN;
  const y = (0.2126729 * lr + 0.7151522 * lg + 0.072175 * lb) / YN;
  const z = (0.0193339 * lr + 0.119192 * lg + 0.9503041 * lb) / ZN;
  const fx = f(x),
    fy = f(y),
    fz = f(z);
  out[0] = 116 * fy - 16;
  out[1] = 500 * (fx - fy);
  out[2] = 200 * (fy - fz);
  return out;
}

/** @param out filled and returned (hot loops pass one array instead of allocating per pixel). */
export function labToRgb(l: number, a: number, b: number, out: [number, number, number] = [0, 0, 0]): [number, number, number] {
  const fy = (l + 16) / 116;
  const x = fInv(fy + a / 500) * XN,
    y = fInv(fy) * YN,
    z = fInv(fy - b / 200) * ZN;
  out[0] = linearToSrgb(3.2404542 * x - 1.5371385 * y - 0.4985314 * z);
  out[1] = linearToSrgb(-0.969266 * x + 1.8760108 * y + 0.041556 * z);
  out[2] = linearToSrgb(0.0556434 * x - 0.2040259 * y + 1.0572252 * z);
  return out;
}

/** Weighted mean Lab colour of an RGB image (weights per pixel, e.g. a skin mask). */
export function meanLab(rgb: Uint8Array, channels: number, weights: Float32Array): Lab | undefined {
  let sl = 0,
    sa = 0,
    sb = 0,
    sw = 0;
  for (let i = 0, p = 0; i < weights.length; i++, p += channels) {
    const w = weights[i]!;
    if (w <= 0.01) continue;
    const [l, a, b] = rgbToLab(rgb[p]!, rgb[p + 1]!, rgb[p + 2]!);
    sl += l * w;
    sa += a * w;
    sb += b * w;
    sw += w;
  }
  return sw < 1 ? undefined : [sl / sw, sa / sw, sb / sw];
}

/** CIE76 colour difference. */
export function deltaE(p: Lab, q: Lab): number {
  return Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]);
}
