/**
 * The watermark's key schedule: a key string becomes a 128-bit seed (cyrb128, a fast string hash)
 * that drives a small-state generator (sfc32). Everything secret about the mark — which transform
 * coefficients carry which bit, the spreading directions and the dithers — comes from this stream,
 * so a reader without the key sees noise and a forger cannot place valid marks. Written here because
 * the core must derive the same stream synchronously in Node, in the browser and per video frame
 * (SubtleCrypto is asynchronous and absent in some workers).
 */

/** A 128-bit seed from a string (cyrb128). */
function seedFromKey(key: string): [number, number, number, number] {
  let h1 = 1779033703,
    h2 = 3144134277,
    h3 = 1013904242,
    h4 = 2773480762;
  for (let i = 0; i < key.length; i++) {
    const k = key.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

/** A deterministic stream of uniform numbers in [0, 1) for a key (sfc32). */
export function keyedRandom(key: string): () => number {
  let [a, b, c, d] = seedFromKey(key);
  const next = (): number => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  // Discard the first outputs, which still echo the seed.
  for (let i = 0; i < 15; i++) next();
  return next;
}

/** A permutation of 0…n−1 drawn from the stream (Fisher–Yates). */
export function keyedPermutation(n: number, random: () => number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const swap = order[i]!;
    order[i] = order[j]!;
    order[j] = swap;
  }
  return order;
}
