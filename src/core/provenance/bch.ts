/**
 * A binary BCH code of length 127 correcting 6 errors: BCH(127, 85). It protects the watermark's
 * payload, so that a picture that lost a few of its 127 bits to compression still gives them all back,
 * and a picture that carries no mark almost never decodes to a valid codeword.
 *
 * Written here because the core runs unchanged in Node, in the browser and in every video frame, and
 * no maintained JavaScript package offers BCH decoding; the code is the textbook construction
 * (generator = LCM of the minimal polynomials of α¹…α¹², Berlekamp–Massey, Chien search) over
 * GF(2⁷) with the primitive polynomial x⁷ + x³ + 1.
 */

const M = 7;
/** Code length. */
export const BCH_N = (1 << M) - 1;
/** Errors the code corrects. */
export const BCH_T = 6;

const FIELD_POLY = 0b10001001; // x^7 + x^3 + 1
const EXP = new Uint8Array(2 * BCH_N);
const LOG = new Int16Array(BCH_N + 1).fill(-1);
{
  let value = 1;
  for (let i = 0; i < BCH_N; i++) {
    EXP[i] = value;
    LOG[value] = i;
    value <<= 1;
    if (value & (1 << M)) value ^= FIELD_POLY;
  }
  for (let i = BCH_N; i < 2 * BCH_N; i++) EXP[i] = EXP[i - BCH_N]!;
}

function mul(a: number, b: number): number {
  return a === 0 || b === 0 ? 0 : EXP[LOG[a]! + LOG[b]!]!;
}

function div(a: number, b: number): number {
  return a === 0 ? 0 : EXP[(LOG[a]! - LOG[b]! + BCH_N) % BCH_N]!;
}

/** Multiplies two polynomials over GF(2) given as coefficient bit arrays, lowest degree first. */
function polyMulGf2(a: readonly number[], b: readonly number[]): number[] {
  const out = new Array<number>(a.length + b.length - 1).fill(0);
  for (let i = 0; i < a.length; i++) if (a[i]) for (let j = 0; j < b.length; j++) out[i + j]! ^= b[j]!;
  return out;
}

/** The minimal polynomial over GF(2) of α^i: the product of (x − α^j) over i's cyclotomic coset. */
function minimalPolynomial(i: number): number[] {
  const coset: number[] = [];
  for (let j = i % BCH_N; !coset.includes(j); j = (j * 2) % BCH_N) coset.push(j);
  // Coefficients in GF(2^7), lowest degree first; they end up in {0, 1}.
  let poly = [1];
  for (const j of coset) {
    const next = new Array<number>(poly.length + 1).fill(0);
    for (let k = 0; k < poly.length; k++) {
      next[k + 1]! ^= poly[k]!;
      next[k]! ^= mul(poly[k]!, EXP[j]!);
    }
    poly = next;
  }
  return poly;
}

const GENERATOR: readonly number[] = (() => {
  let g = [1];
  const used = new Set<string>();
  for (let i = 1; i <= 2 * BCH_T; i++) {
    const minimal = minimalPolynomial(i);
    const key = minimal.join('');
    if (used.has(key)) continue;
    used.add(key);
    g = polyMulGf2(g, minimal);
  }
  return g;
})();

/** Parity bits (the generator's degree). */
export const BCH_PARITY = GENERATOR.length - 1;
/** Message bits per codeword. */
export const BCH_K = BCH_N - BCH_PARITY;

/**
 * Systematic encoding: the codeword is the `BCH_K` message bits followed by `BCH_PARITY` parity bits
 * (bits are 0/1 values, codeword position p holds the coefficient of x^(BCH_N − 1 − p)).
 */
export function bchEncode(message: ArrayLike<number>): Uint8Array {
  if (message.length !== BCH_K) throw new RangeError(`bchEncode needs ${BCH_K} bits, got ${message.length}`);
  const codeword = new Uint8Array(BCH_N);
  for (let i = 0; i < BCH_K; i++) codeword[i] = message[i]! & 1;
  // Long division of message·x^parity by the generator, highest degree first.
  const remainder = new Uint8Array(BCH_N);
  remainder.set(codeword);
  for (let i = 0; i < BCH_K; i++) {
    if (!remainder[i]) continue;
    for (let j = 0; j <= BCH_PARITY; j++) remainder[i + j]! ^= GENERATOR[BCH_PARITY - j]!;
  }
  for (let i = BCH_K; i < BCH_N; i++) codeword[i] = remainder[i]!;
  return codeword;
}

/** SYNDROME_TERMS[(j − 1) · N + p] = α^(j·(N−1−p)): position p's share of syndrome S_j. */
const SYNDROME_TERMS = new Uint8Array(2 * BCH_T * BCH_N);
for (let j = 1; j <= 2 * BCH_T; j++)
  for (let p = 0; p < BCH_N; p++) SYNDROME_TERMS[(j - 1) * BCH_N + p] = EXP[(j * (BCH_N - 1 - p)) % BCH_N]!;

/**
 * Corrects up to `BCH_T` bit errors in place of a copy.
 * @returns the corrected codeword and how many bits were flipped, or undefined when the word is
 *   farther than `BCH_T` errors from every codeword (detected as uncorrectable).
 */
export function bchDecode(received: ArrayLike<number>): { codeword: Uint8Array; corrected: number } | undefined {
  if (received.length !== BCH_N) throw new RangeError(`bchDecode needs ${BCH_N} bits, got ${received.length}`);
  const word = Uint8Array.from(received, (bit) => bit & 1);
  // Syndromes S_j = r(α^j), j = 1…2t; position p is the coefficient of x^(N−1−p).
  const syndromes = new Array<number>(2 * BCH_T + 1).fill(0);
  let clean = true;
  for (let j = 1; j <= 2 * BCH_T; j++) {
    let s = 0;
    if (j % 2 === 0) {
      // Binary code: S_2k = S_k².
      s = mul(syndromes[j / 2]!, syndromes[j / 2]!);
    } else {
      const base = (j - 1) * BCH_N;
      for (let p = 0; p < BCH_N; p++) if (word[p]) s ^= SYNDROME_TERMS[base + p]!;
    }
    syndromes[j] = s;
    if (s !== 0) clean = false;
  }
  if (clean) return { codeword: word, corrected: 0 };

  // Berlekamp–Massey: the error locator Λ(x) with Λ(0) = 1.
  let locator = [1];
  let previous = [1];
  let length = 0;
  let shift = 1;
  let lastDiscrepancy = 1;
  for (let n = 0; n < 2 * BCH_T; n++) {
    let discrepancy = syndromes[n + 1]!;
    for (let i = 1; i <= length; i++) discrepancy ^= mul(locator[i] ?? 0, syndromes[n + 1 - i]!);
    if (discrepancy === 0) {
      shift++;
      continue;
    }
    const factor = div(discrepancy, lastDiscrepancy);
    const next = locator.slice();
    for (let i = 0; i < previous.length; i++) {
      while (next.length <= i + shift) next.push(0);
      next[i + shift]! ^= mul(factor, previous[i]!);
    }
    if (2 * length <= n) {
      previous = locator;
      length = n + 1 - length;
      lastDiscrepancy = discrepancy;
      shift = 1;
    } else {
      shift++;
    }
    locator = next;
  }
  while (locator.length > 1 && locator[locator.length - 1] === 0) locator.pop();
  const degree = locator.length - 1;
  if (degree > BCH_T || degree !== length) return undefined;

  // Chien search: an error at degree e when Λ(α^−e) = 0.
  let found = 0;
  for (let e = 0; e < BCH_N; e++) {
    let value = 0;
    for (let i = 0; i <= degree; i++) value ^= mul(locator[i]!, EXP[(BCH_N - ((e * i) % BCH_N)) % BCH_N]!);
    if (value === 0) {
      word[BCH_N - 1 - e]! ^= 1;
      found++;
    }
  }
  return found === degree ? { codeword: word, corrected: found } : undefined;
}
