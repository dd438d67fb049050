/**
 * Lightness bands: posterising only L in OKLab, so hue and chroma stay as they were (skin stays
 * skin-coloured). Gives the flat tones of cel shading and the layered washes of watercolour.
 */

export interface BandOptions {
  /** Number of bands, >= 2. */
  readonly levels: number;
  /** Width in px of the anti-aliased ramp between two bands. */
  readonly aaPx: number;
  /** Largest change of any pixel's lightness (OKLab L units). */
  readonly maxShift: number;
  /**
   * Smallest half-width of the ramp between two bands, in band units (0..0.5). Default 0.002 (crisp
   * steps); larger values turn every border into a soft gradient over that share of the band.
   */
  readonly minHalfWidth?: number;
  /** Per-pixel weights of the lightness histogram the band values come from (default: all 1). */
  readonly weights?: Float32Array;
  /** Per-pixel 0..1 share of the banded value in the result (default: all 1); 0 leaves L as it was. */
  readonly mix?: Float32Array;
}

/**
 * Replaces L (interleaved OKLab, in place) by `levels` bands. The band values are a 1-D k-means of the photo's lightness histogram,
 * so boundaries fall where few pixels are and each band keeps the mean lightness of what it covers
 * (highlights do not turn chalky, the face keeps its average tone). Between two bands the value ramps
 * over about `aaPx` pixels, measured with the local lightness gradient: crisp, anti-aliased borders,
 * and a plain gradient still turns into bands rather than a blur. No pixel moves by more than
 * `maxShift`, so a wide band cannot flatten a soft highlight into a patch of another tone.
 */
export function quantiseLightness(lab: Float32Array, width: number, height: number, options: BandOptions): void {
  const { levels, aaPx, maxShift, minHalfWidth = 0.002, weights, mix } = options;
  const centres = lightnessCentres(lab, levels, weights);
  // Piecewise-linear "band coordinate" t(L) with t(centre k) = k, tabulated with its slope.
  const size = 2048;
  const coord = new Float32Array(size + 1);
  const slope = new Float32Array(size + 1);
  for (let q = 0, k = 0; q <= size; q++) {
    const L = q / size;
    while (k < levels - 2 && L > centres[k + 1]!) k++;
    const c0 = centres[k]!;
    const c1 = centres[k + 1]!;
    const d = Math.max(c1 - c0, 1e-4);
    const t = k + (L - c0) / d;
    coord[q] = t < 0 ? 0 : t > levels - 1 ? levels - 1 : t;
    slope[q] = t < 0 || t > levels - 1 ? 0 : 1 / d;
  }
  const stride = width * 3;
  const out = new Float32Array(width); // one row of results, written back a row late
  const prev = new Float32Array(width);
  for (let y = 0; y < height; y++) {
    const row = y * stride;
    const down = y < height - 1 ? row + stride : row;
    for (let x = 0; x < width; x++) {
      const i = row + x * 3;
      const L = lab[i]!;
      const left = x > 0 ? i - 3 : i;
      const right = x < width - 1 ? i + 3 : i;
      // The row above was already replaced: use the saved original for its gradient.
      const above = y > 0 ? prev[x]! : L;
      const gx = (lab[right]! - lab[left]!) * 0.5;
      const gy = (lab[down + x * 3]! - above) * 0.5;
      const q = Math.round((L < 0 ? 0 : L > 1 ? 1 : L) * size);
      const t = coord[q]!;
      const grad = Math.sqrt(gx * gx + gy * gy) * slope[q]!; // band units per px
      const halfWidth = Math.min(0.5, Math.max(minHalfWidth, aaPx * grad * 0.5));
      const k = Math.min(levels - 2, Math.floor(t));
      let s = (t - k - 0.5 + halfWidth) / (2 * halfWidth);
      s = s <= 0 ? 0 : s >= 1 ? 1 : s * s * (3 - 2 * s);
      const c0 = centres[k]!;
      const v = c0 + s * (centres[k + 1]! - c0);
      const clamped = v > L + maxShift ? L + maxShift : v < L - maxShift ? L - maxShift : v;
      out[x] = mix === undefined ? clamped : L + mix[y * width + x]! * (clamped - L);
    }
    for (let x = 0; x < width; x++) {
      const i = row + x * 3;
      prev[x] = lab[i]!;
      lab[i] = out[x]!;
    }
  }
}

/**
 * `levels` lightness values by Lloyd's 1-D k-means over a 1024-bin histogram, started from an even
 * spread over the 1st..99th percentile (at least 0.3 wide, so a flat photo keeps its flat tones).
 * With `weights`, each pixel counts with its weight (e.g. only skin).
 */
function lightnessCentres(lab: Float32Array, levels: number, weights?: Float32Array): Float64Array {
  const bins = 1024;
  const hist = new Float64Array(bins);
  let n = 0;
  for (let i = 0, p = 0; i < lab.length; i += 3, p++) {
    const w = weights === undefined ? 1 : weights[p]!;
    if (!(w > 0)) continue;
    const b = Math.floor(lab[i]! * bins);
    hist[b < 0 ? 0 : b >= bins ? bins - 1 : b]! += w;
    n += w;
  }
  const percentile = (q: number): number => {
    let acc = 0;
    for (let b = 0; b < bins; b++) {
      acc += hist[b]!;
      if (acc >= q * n) return (b + 0.5) / bins;
    }
    return 1;
  };
  let lo = percentile(0.01);
  let hi = percentile(0.99);
  if (hi - lo < 0.3) {
    const mid = (lo + hi) / 2;
    lo = mid - 0.15;
    hi = mid + 0.15;
  }
  const centres = new Float64Array(levels);
  for (let k = 0; k < levels; k++) centres[k] = lo + ((k + 0.5) * (hi - lo)) / levels;
  const sum = new Float64Array(levels);
  const count = new Float64Array(levels);
  for (let iter = 0; iter < 20; iter++) {
    sum.fill(0);
    count.fill(0);
    let k = 0;
    for (let b = 0; b < bins; b++) {
      const v = (b + 0.5) / bins;
      while (k < levels - 1 && v > (centres[k]! + centres[k + 1]!) / 2) k++;
      sum[k]! += hist[b]! * v;
      count[k]! += hist[b]!;
    }
    // Empty bands keep their place, so the centres stay sorted.
    for (let j = 0; j < levels; j++) if (count[j]! > 0) centres[j] = sum[j]! / count[j]!;
  }
  return centres;
}
