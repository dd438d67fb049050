/**
 * The paper texture of the live styles: a tileable RGBA noise made once at start-up from a fixed
 * seed (the texture is part of the style, identical on every run), so the shaders read their noise
 * with one texture tap instead of computing it per fragment.
 * R: low-frequency turbulence (uneven pigment, features of 30-130 px), G: granulation (pigment
 * settling in the paper's tooth, 4-8 px), B: fine paper grain (1-2 px). Values 0..255 around a mean
 * of 128. One texel per frame pixel.
 */

/** Side of the square texture, in texels (a power of two, so it tiles with REPEAT). */
export const PAPER_SIZE = 512;

/** Deterministic 32-bit PRNG (mulberry32). */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Tileable fractal value noise of `size`² texels, 0..1: octaves with lattice periods `periods`
 * (cells across the tile; each must divide `size`), amplitudes halving from one to the next.
 */
function tileableNoise(size: number, periods: readonly number[], seed: number): Float32Array {
  const random = mulberry32(seed);
  const out = new Float32Array(size * size);
  let total = 0;
  let amplitude = 1;
  for (const period of periods) {
    const lattice = new Float32Array(period * period);
    for (let i = 0; i < lattice.length; i++) lattice[i] = random();
    const cell = size / period;
    for (let y = 0; y < size; y++) {
      const gy = y / cell;
      const y0 = Math.floor(gy);
      const fy = gy - y0;
      const sy = fy * fy * (3 - 2 * fy);
      const r0 = (y0 % period) * period;
      const r1 = ((y0 + 1) % period) * period;
      for (let x = 0; x < size; x++) {
        const gx = x / cell;
        const x0 = Math.floor(gx);
        const fx = gx - x0;
        const sx = fx * fx * (3 - 2 * fx);
        const c0 = x0 % period;
        const c1 = (x0 + 1) % period;
        const top = lattice[r0 + c0]! + (lattice[r0 + c1]! - lattice[r0 + c0]!) * sx;
        const bottom = lattice[r1 + c0]! + (lattice[r1 + c1]! - lattice[r1 + c0]!) * sx;
        out[y * size + x]! += amplitude * (top + (bottom - top) * sy);
      }
    }
    total += amplitude;
    amplitude /= 2;
  }
  for (let i = 0; i < out.length; i++) out[i]! /= total;
  return out;
}

/** Spreads noise values around 0.5 to a fuller 0..1 range (fractal sums bunch up in the middle). */
function stretch(value: number, gain: number): number {
  return Math.min(1, Math.max(0, 0.5 + (value - 0.5) * gain));
}

let texels: Uint8Array | undefined;

/** The paper texture's RGBA bytes, PAPER_SIZE² texels, rows top first (made on first use). */
export function paperTexels(): Uint8Array {
  texels ??= makePaper();
  return texels;
}

function makePaper(): Uint8Array {
  const n = PAPER_SIZE * PAPER_SIZE;
  const turbulence = tileableNoise(PAPER_SIZE, [4, 8, 16], 0x5eed);
  const granulation = tileableNoise(PAPER_SIZE, [64, 128], 0x5eee);
  const grain = tileableNoise(PAPER_SIZE, [256, 512], 0x5eef);
  const out = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    out[i * 4] = Math.round(255 * stretch(turbulence[i]!, 2));
    out[i * 4 + 1] = Math.round(255 * stretch(granulation[i]!, 2.2));
    out[i * 4 + 2] = Math.round(255 * stretch(grain[i]!, 2.2));
    out[i * 4 + 3] = 255;
  }
  return out;
}
