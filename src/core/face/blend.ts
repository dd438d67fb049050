/**
 * Multi-band (Laplacian pyramid) blending of a stylized face crop over what lies under it, after
 * Burt & Adelson. Fine detail switches over at the mask's edge, while colour and shading are mixed
 * over a band that widens with each coarser level: a colour difference between the head model and
 * the background pass becomes a gradient instead of a step at the paste edge, and no soft halo of the
 * head model's own background is pasted. Hand-written because it is the product's paste-back and
 * must run the same in Node and in the browser.
 */
import type { FloatPlane, RawImage } from '../image.js';

interface Level {
  width: number;
  height: number;
  /** Interleaved channels. */
  data: Float32Array;
}

/** 5-tap binomial kernel [1 4 6 4 1] / 16: the classic pyramid filter. */
const KERNEL = [1 / 16, 4 / 16, 6 / 16, 4 / 16, 1 / 16] as const;

/**
 * The change that blends `front` over `back` (same size, RGB) with `mask` (0..1, same size) in
 * `levels` bands: add it to `back` to get the blend. The pyramid is linear, so blending the two
 * pyramids equals adding the masked pyramid of their difference to `back`; only one is built.
 * @returns interleaved RGB floats, not rounded.
 */
export function blendDelta(front: RawImage, back: RawImage, mask: FloatPlane, levels: number): Float32Array {
  const { width, height } = front;
  const diff = new Float32Array(width * height * 3);
  const f = front.data,
    b = back.data,
    fc = front.channels,
    bc = back.channels;
  for (let i = 0; i < width * height; i++) {
    for (let k = 0; k < 3; k++) diff[i * 3 + k] = f[i * fc + k]! - b[i * bc + k]!;
  }
  const pyramid = laplacianPyramid({ width, height, data: diff }, levels);
  let weight: Level = { width, height, data: mask.data.slice() };
  for (let i = 0; i < pyramid.length; i++) {
    const level = pyramid[i]!;
    for (let p = 0, o = 0; p < weight.data.length; p++, o += 3) {
      const m = weight.data[p]!;
      level.data[o]! *= m;
      level.data[o + 1]! *= m;
      level.data[o + 2]! *= m;
    }
    if (i < pyramid.length - 1) weight = reduce(weight);
  }
  return collapse(pyramid);
}

/** Pyramid depth for a crop side: bands down to about 1/16 of it, so the widest colour ramp stays inside the crop. */
export function blendLevels(size: number): number {
  return Math.max(1, Math.min(6, Math.floor(Math.log2(size / 24))));
}

/** [L0, L1, …, G_n]: band-pass levels, then the coarsest low-pass image. */
function laplacianPyramid(image: Level, levels: number): Level[] {
  const pyramid: Level[] = [];
  let current = image;
  for (let i = 0; i < levels && current.width > 2 && current.height > 2; i++) {
    const down = reduce(current);
    const up = expand(down, current.width, current.height);
    const band = new Float32Array(current.data.length);
    for (let k = 0; k < band.length; k++) band[k] = current.data[k]! - up.data[k]!;
    pyramid.push({ width: current.width, height: current.height, data: band });
    current = down;
  }
  pyramid.push(current);
  return pyramid;
}

function collapse(pyramid: readonly Level[]): Float32Array {
  let current = pyramid[pyramid.length - 1]!;
  for (let i = pyramid.length - 2; i >= 0; i--) {
    const band = pyramid[i]!;
    const up = expand(current, band.width, band.height);
    for (let k = 0; k < up.data.length; k++) up.data[k]! += band.data[k]!;
    current = up;
  }
  return current.data;
}

/** Blur with the binomial kernel (edges clamped) and keep every other pixel. */
function reduce(level: Level): Level {
  const { width, height, data } = level;
  const ch = data.length / (width * height);
  const w2 = Math.ceil(width / 2),
    h2 = Math.ceil(height / 2);
  // Horizontal pass at the kept columns, then vertical at the kept rows.
  const rows = new Float32Array(w2 * height * ch);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < w2; x++) {
      const o = (y * w2 + x) * ch;
      for (let t = -2; t <= 2; t++) {
        const sx = clamp(2 * x + t, width - 1);
        const w = KERNEL[t + 2]!;
        const s = (y * width + sx) * ch;
        for (let k = 0; k < ch; k++) rows[o + k]! += data[s + k]! * w;
      }
    }
  }
  const out = new Float32Array(w2 * h2 * ch);
  for (let y = 0; y < h2; y++) {
    for (let t = -2; t <= 2; t++) {
      const sy = clamp(2 * y + t, height - 1);
      const w = KERNEL[t + 2]!;
      const s = sy * w2 * ch,
        o = y * w2 * ch;
      for (let i = 0; i < w2 * ch; i++) out[o + i]! += rows[s + i]! * w;
    }
  }
  return { width: w2, height: h2, data: out };
}

/** Bilinear upsampling to `width`x`height` (pixel centres aligned with `reduce`'s decimation). */
function expand(level: Level, width: number, height: number): Level {
  const { width: sw, height: sh, data } = level;
  const ch = data.length / (sw * sh);
  const out = new Float32Array(width * height * ch);
  for (let y = 0; y < height; y++) {
    const fy = Math.min(sh - 1, y / 2);
    const y0 = fy | 0,
      y1 = Math.min(sh - 1, y0 + 1),
      wy = fy - y0;
    for (let x = 0; x < width; x++) {
      const fx = Math.min(sw - 1, x / 2);
      const x0 = fx | 0,
        x1 = Math.min(sw - 1, x0 + 1),
        wx = fx - x0;
      const o = (y * width + x) * ch;
      const a = (y0 * sw + x0) * ch,
        b = (y0 * sw + x1) * ch,
        c = (y1 * sw + x0) * ch,
        d = (y1 * sw + x1) * ch;
      for (let k = 0; k < ch; k++) {
        const top = data[a + k]! + (data[b + k]! - data[a + k]!) * wx;
        const bottom = data[c + k]! + (data[d + k]! - data[c + k]!) * wx;
        out[o + k] = top + (bottom - top) * wy;
      }
    }
  }
  return { width, height, data: out };
}

function clamp(i: number, max: number): number {
  return i < 0 ? 0 : i > max ? max : i;
}
