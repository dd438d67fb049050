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

function linearToSrgb(c: number): number {
  const v = c <= 0.0031308 ? 12.92 * c : 1.055 * c ** (1 / 2.4) - 0.055;
  const s = v * 255;
  return s <= 0 ? 0 : s >= 255 ? 255 : s;
}

export type Lab = [number, number, number];

export function rgbToLab(r: number, g: number, b: number): Lab {
  const lr = SRGB_TO_LINEAR[r | 0]!,
    lg = SRGB_TO_LINEAR[g | 0]!,
    lb = SRGB_TO_LINEAR[b | 0]!;
  const x = (0.4124564 * lr + 0.3575761 * lg + 0.1804375 * lb) / XN;
  const y = (0.2126729 * lr + 0.7151522 * lg + 0.072175 * lb) / YN;
  const z = (0.0193339 * lr + 0.119192 * lg + 0.9503041 * lb) / ZN;
  const fx = f(x),
    fy = f(y),
    fz = f(z);
  return [116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)];
}

export function labToRgb(l: number, a: number, b: number): [number, number, number] {
  const fy = (l + 16) / 116;
  const x = fInv(fy + a / 500) * XN,
    y = fInv(fy) * YN,
    z = fInv(fy - b / 200) * ZN;
  return [
    linearToSrgb(3.2404542 * x - 1.5371385 * y - 0.4985314 * z),
    linearToSrgb(-0.969266 * x + 1.8760108 * y + 0.041556 * z),
    linearToSrgb(0.0556434 * x - 0.2040259 * y + 1.0572252 * z),
  ];
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
