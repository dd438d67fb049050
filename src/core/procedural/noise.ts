/**
 * Deterministic value noise for paper and pigment textures. No Math.random: the lattice comes from an
 * integer hash of (cell x, cell y, seed), so the same photo always gets the same texture (results can
 * be cached and compared byte for byte), in Node and in the browser alike.
 *
 * The field is evaluated a row at a time into a caller-owned buffer, so texturing a 4000x3000 image
 * needs no full-size noise plane.
 */

/** 32-bit integer hash (a lowbias32 variant) -> 0..1. */
function hash(x: number, y: number, seed: number): number {
  let h = (Math.imul(x, 0x27d4eb2d) ^ Math.imul(y, 0x165667b1) ^ Math.imul(seed, 0x9e3779b9)) | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

/** One octave of smooth (smoothstep-interpolated) value noise with cells of `cell` px, values 0..1. */
export class NoiseOctave {
  private readonly lattice: Float32Array;
  private readonly latticeWidth: number;
  private readonly cell: number;
  private readonly col: Int32Array;
  private readonly colWeight: Float32Array;

  constructor(width: number, height: number, cell: number, seed: number) {
    this.cell = Math.max(cell, 0.5);
    this.latticeWidth = Math.ceil(width / this.cell) + 2;
    const latticeHeight = Math.ceil(height / this.cell) + 2;
    this.lattice = new Float32Array(this.latticeWidth * latticeHeight);
    for (let j = 0; j < latticeHeight; j++) {
      for (let i = 0; i < this.latticeWidth; i++) this.lattice[j * this.latticeWidth + i] = hash(i, j, seed);
    }
    // Column cell index and weight are the same on every row: compute them once.
    this.col = new Int32Array(width);
    this.colWeight = new Float32Array(width);
    for (let x = 0; x < width; x++) {
      const f = x / this.cell;
      const i = Math.floor(f);
      const t = f - i;
      this.col[x] = i;
      this.colWeight[x] = t * t * (3 - 2 * t);
    }
  }

  /** Adds `amplitude * noise(x, y)` for every x of row y to `out`. */
  addRow(y: number, out: Float32Array, amplitude: number): void {
    const f = y / this.cell;
    const j = Math.floor(f);
    let t = f - j;
    t = t * t * (3 - 2 * t);
    const w = this.latticeWidth;
    const top = j * w;
    const bottom = top + w;
    const lat = this.lattice;
    const col = this.col;
    const cw = this.colWeight;
    for (let x = 0; x < out.length; x++) {
      const i = col[x]!;
      const s = cw[x]!;
      const a = lat[top + i]! + (lat[top + i + 1]! - lat[top + i]!) * s;
      const b = lat[bottom + i]! + (lat[bottom + i + 1]! - lat[bottom + i]!) * s;
      out[x]! += amplitude * (a + (b - a) * t);
    }
  }
}

/** A sum of octaves (fractal noise) normalised to 0..1 with mean ~0.5. */
export class FractalNoise {
  private readonly octaves: NoiseOctave[] = [];
  private readonly amplitudes: number[] = [];

  /**
   * @param cell size in px of the coarsest octave; each further octave halves it.
   */
  constructor(width: number, height: number, cell: number, octaves: number, seed: number) {
    let total = 0;
    for (let o = 0, amp = 1; o < octaves; o++, amp *= 0.5) {
      this.octaves.push(new NoiseOctave(width, height, cell / 2 ** o, seed + o * 7919));
      this.amplitudes.push(amp);
      total += amp;
    }
    for (let o = 0; o < this.amplitudes.length; o++) this.amplitudes[o]! /= total;
  }

  /** Writes the noise of row y into `out` (length = width). */
  row(y: number, out: Float32Array): void {
    out.fill(0);
    for (let o = 0; o < this.octaves.length; o++) this.octaves[o]!.addRow(y, out, this.amplitudes[o]!);
  }
}
