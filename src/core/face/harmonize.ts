/**
 * Colour restore for stylized faces: style models lighten, darken or recolour skin (a dark-skinned
 * face can come back pale) and hair, which changes who the person is. Hand-written because it is the
 * product's own colour work and must run the same in Node and in the browser.
 */
import { gaussianBlurPlane } from '../blur.js';
import { labToRgb, rgbToLab, type Lab } from '../color.js';
import { createPlane, type FloatPlane, type RawImage } from '../image.js';
import { resizePlane } from './plane-resize.js';

/**
 * Brings the person's skin colour back into a stylized face crop (mutated), `amount` of the way. The
 * same works for hair: pass the hair as `skin` and no `whites`.
 *
 * The correction is a smooth field in Lab: at each pixel, the difference between the original's and
 * the stylized face's skin colour averaged over the skin around it (a Gaussian of `reach` pixels,
 * skin pixels only). A single mean shift would give a flat-shaded face one average colour, too dark
 * on the lit cheek and too light on the shaded one; the field keeps the photo's light on the skin
 * while the style keeps its lines and shapes. Far from any skin the field falls back to the mean shift.
 * It is applied over `region` (soft 0..1: the whole face, so no edge shows around lips, nose or eyes),
 * except on whites inside `whites` (eye whites and teeth where the parser found eyes and mouth), which
 * keep their brightness: elsewhere a light, nearly grey colour is pale skin and is corrected.
 * @returns the mean Lab shift over the skin, for reports and tests.
 */
export function restoreTone(
  styled: RawImage,
  original: RawImage,
  skin: FloatPlane,
  region: FloatPlane,
  whites: FloatPlane,
  amount: number,
  reach: number,
): [number, number, number] {
  if (amount <= 0) return [0, 0, 0];
  const { width, height } = skin;
  const n = width * height;
  // Skin-weighted differences, one plane per Lab channel, and their global means. Lab is computed
  // only where it is used (skin here, the region below): most of the crop is neither.
  const weight = skin.data;
  let total = 0;
  const mean: [number, number, number] = [0, 0, 0];
  const diffs = [0, 1, 2].map(() => createPlane(width, height));
  const labA: Lab = [0, 0, 0],
    labB: Lab = [0, 0, 0],
    rgb: [number, number, number] = [0, 0, 0];
  const o = original.data,
    sd = styled.data,
    oc = original.channels,
    sc = styled.channels;
  for (let i = 0; i < n; i++) {
    const w = weight[i]!;
    if (w <= 0.001) continue;
    total += w;
    const before = rgbToLab(o[i * oc]!, o[i * oc + 1]!, o[i * oc + 2]!, labA);
    const after = rgbToLab(sd[i * sc]!, sd[i * sc + 1]!, sd[i * sc + 2]!, labB);
    for (let k = 0; k < 3; k++) {
      const d = (before[k]! - after[k]!) * w;
      diffs[k]!.data[i] = d;
      mean[k]! += d;
    }
  }
  if (total < 1) return [0, 0, 0];
  for (let k = 0; k < 3; k++) mean[k]! /= total;
  // Normalised convolution: blur(w·d) / blur(w), leaning on the mean where little skin is near. The
  // field is smooth, so it is computed on a grid `step` times coarser and sampled back bilinearly.
  const step = Math.max(1, Math.floor(reach / 4));
  const smooth = (plane: FloatPlane): Float32Array => resizePlane(gaussianBlurPlane(shrink(plane, step), reach / step), width, height).data;
  const density = smooth(skin);
  const [fieldL, fieldA, fieldB] = diffs.map(smooth) as [Float32Array, Float32Array, Float32Array];
  const prior = 0.05;
  for (let i = 0, p = 0; i < n; i++, p += sc) {
    const r = region.data[i]!;
    if (r < 0.005) continue;
    const [l, a, b] = rgbToLab(sd[p]!, sd[p + 1]!, sd[p + 2]!, labA);
    const w = r * amount * (1 - whites.data[i]! * whiteness(l, Math.hypot(a, b)));
    if (w <= 0) continue;
    const k = w / (density[i]! + prior);
    const [red, green, blue] = labToRgb(
      l + (fieldL[i]! + prior * mean[0]) * k,
      a + (fieldA[i]! + prior * mean[1]) * k,
      b + (fieldB[i]! + prior * mean[2]) * k,
      rgb,
    );
    sd[p] = red + 0.5;
    sd[p + 1] = green + 0.5;
    sd[p + 2] = blue + 0.5;
  }
  return [mean[0] * amount, mean[1] * amount, mean[2] * amount];
}

/** Mean of every `step` x `step` block (the last blocks may be partial). */
function shrink(plane: FloatPlane, step: number): FloatPlane {
  if (step === 1) return plane;
  const width = Math.ceil(plane.width / step),
    height = Math.ceil(plane.height / step);
  const out = createPlane(width, height);
  const count = new Float32Array(width * height);
  for (let y = 0; y < plane.height; y++) {
    const row = ((y / step) | 0) * width;
    for (let x = 0; x < plane.width; x++) {
      const j = row + ((x / step) | 0);
      out.data[j]! += plane.data[y * plane.width + x]!;
      count[j]! += 1;
    }
  }
  for (let j = 0; j < out.data.length; j++) out.data[j]! /= count[j]!;
  return out;
}

/** 0..1: how much a colour is a white: very light and nearly colourless. */
function whiteness(lightness: number, chroma: number): number {
  const light = Math.min(1, Math.max(0, (lightness - 86) / 8));
  const grey = Math.min(1, Math.max(0, (12 - chroma) / 6));
  return light * grey;
}
