/**
 * The one image type that flows through the whole engine: 8-bit, interleaved, row-major, no padding.
 * Decoders (sharp in Node, canvas in the browser) produce it and encoders consume it; everything in
 * between (detection, alignment, tiling, blending) works on it without knowing the platform.
 */
export interface RawImage {
  readonly width: number;
  readonly height: number;
  /** 3 = RGB, 4 = RGBA, 1 = grey. The pipeline itself always works on RGB. */
  readonly channels: 1 | 3 | 4;
  readonly data: Uint8Array;
}

/** A single-channel float plane, used for masks (0..1) and blend weights. */
export interface FloatPlane {
  readonly width: number;
  readonly height: number;
  readonly data: Float32Array;
}

export function createImage(width: number, height: number, channels: 1 | 3 | 4 = 3): RawImage {
  return { width, height, channels, data: new Uint8Array(width * height * channels) };
}

export function createPlane(width: number, height: number, fill = 0): FloatPlane {
  const data = new Float32Array(width * height);
  if (fill !== 0) data.fill(fill);
  return { width, height, data };
}

export function cloneImage(image: RawImage): RawImage {
  return { width: image.width, height: image.height, channels: image.channels, data: image.data.slice() };
}

/** Copies a rectangle out of an image; the rectangle must lie inside it. */
export function cropImage(image: RawImage, x: number, y: number, width: number, height: number): RawImage {
  const { channels } = image;
  const out = createImage(width, height, channels);
  const rowBytes = width * channels;
  for (let row = 0; row < height; row++) {
    const from = ((y + row) * image.width + x) * channels;
    out.data.set(image.data.subarray(from, from + rowBytes), row * rowBytes);
  }
  return out;
}

/** Linear mix `a * (1 - t) + b * t` of two images of the same shape, t in 0..1. */
export function mixImages(a: RawImage, b: RawImage, t: number): RawImage {
  assertSameShape(a, b);
  if (t <= 0) return cloneImage(a);
  if (t >= 1) return cloneImage(b);
  const out = createImage(a.width, a.height, a.channels);
  const ad = a.data;
  const bd = b.data;
  const od = out.data;
  for (let i = 0; i < od.length; i++) {
    const av = ad[i]!;
    od[i] = av + (bd[i]! - av) * t + 0.5;
  }
  return out;
}

export function assertSameShape(a: RawImage, b: RawImage): void {
  if (a.width !== b.width || a.height !== b.height || a.channels !== b.channels) {
    throw new RangeError(
      `Expected images of the same shape but received ${a.width}x${a.height}x${a.channels} and ${b.width}x${b.height}x${b.channels}`,
    );
  }
}
