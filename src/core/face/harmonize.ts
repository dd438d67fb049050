/**
 * Colour corrections applied to a stylized face before paste-back:
 * - tone matching restores the person's mean skin colour (head models tend to lighten dark skin);
 * - seam matching shifts the face's edge colours toward the background pass so the blend zone
 *   shows no colour step.
 */
import { labToRgb, meanLab, rgbToLab } from '../color.js';
import { gaussianBlurPlane } from '../blur.js';
import type { FloatPlane, RawImage } from '../image.js';

/**
 * Moves the stylized face's mean skin colour `amount` of the way back to the original's (in Lab),
 * applied through a soft skin mask. Returns the Lab shift applied (for reports and tests).
 */
export function matchSkinTone(styled: RawImage, original: RawImage, skin: FloatPlane, amount: number): [number, number, number] {
  if (amount <= 0) return [0, 0, 0];
  const before = meanLab(original.data, original.channels, skin.data);
  const after = meanLab(styled.data, styled.channels, skin.data);
  if (!before || !after) return [0, 0, 0];
  const shift: [number, number, number] = [
    (before[0] - after[0]) * amount,
    (before[1] - after[1]) * amount,
    (before[2] - after[2]) * amount,
  ];
  // Feather the correction just enough that it has no edge, but not so much that it reaches far
  // into eyes and teeth (which would turn grey).
  const weight = gaussianBlurPlane(skin, styled.width * 0.012);
  const d = styled.data,
    ch = styled.channels;
  for (let i = 0, p = 0; i < weight.data.length; i++, p += ch) {
    const w = Math.min(1, weight.data[i]! * 1.2);
    if (w < 0.01) continue;
    const [l, a, b] = rgbToLab(d[p]!, d[p + 1]!, d[p + 2]!);
    const [r, g, bl] = labToRgb(l + shift[0] * w, a + shift[1] * w, b + shift[2] * w);
    d[p] = r + 0.5;
    d[p + 1] = g + 0.5;
    d[p + 2] = bl + 0.5;
  }
  return shift;
}

/**
 * Shifts the face's colours near the mask edge by the mean difference to the background measured
 * in the blend zone, fading to no change where the mask is fully opaque.
 */
export function matchSeam(styled: RawImage, background: RawImage, mask: FloatPlane): void {
  const ch = styled.channels;
  const diff = [0, 0, 0];
  let total = 0;
  const m = mask.data,
    s = styled.data,
    bg = background.data;
  for (let i = 0, p = 0; i < m.length; i++, p += ch) {
    const v = m[i]!;
    const w = v * (1 - v);
    if (w < 0.01) continue;
    for (let k = 0; k < 3; k++) diff[k]! += (bg[p + k]! - s[p + k]!) * w;
    total += w;
  }
  if (total < 1) return;
  for (let k = 0; k < 3; k++) diff[k]! /= total;
  for (let i = 0, p = 0; i < m.length; i++, p += ch) {
    const w = 1 - m[i]!;
    if (w <= 0.001 || m[i]! <= 0.001) continue;
    for (let k = 0; k < 3; k++) {
      const v = s[p + k]! + diff[k]! * w;
      s[p + k] = v <= 0 ? 0 : v >= 255 ? 255 : v + 0.5;
    }
  }
}
