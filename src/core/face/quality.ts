/**
 * Face-quality measures: how far a stylized face drifts from the person's skin tone, and how visible
 * the boundary of a pasted face is. Platform-neutral (plain arrays, no models): the face benchmark
 * (bench/faces.ts) runs the models and feeds these functions, and the unit tests feed them synthetic
 * images with known answers.
 *
 * Coordinates follow warpAffine and pasteDelta: pixel (x, y) sits at the point (x, y) (index space).
 * "Left" and "right" are as seen in the image.
 */
import { deltaE, rgbToLab, type Lab } from '../color.js';
import { PortoonError } from '../errors.js';
import type { FloatPlane, RawImage } from '../image.js';
import type { InferenceBackend } from '../inference.js';
import type { ModelEntry } from '../models/manifest.js';
import { fixedInputSize, imageToTensor } from '../tensor.js';
import { applyAffine, estimateSimilarity, invertAffine, warpAffine, type Affine, type Point } from './align.js';
import { ARCFACE_112 } from './framing.js';

/** Face-parsing label of facial skin (CelebAMask-HQ order, as in mask.ts). */
export const SKIN_LABEL = 1;
/**
 * Face-parsing labels of the inner face: skin, brows, eyes, glasses, nose, mouth, lips (not ears,
 * hair, hat, neck or background).
 */
export const INNER_FACE_LABELS: ReadonlySet<number> = new Set([1, 2, 3, 4, 5, 6, 10, 11, 12, 13]);
/**
 * A skin box counts only when at least this fraction of it is parsed as skin, and at least this
 * fraction of its pixels has a skin colour ({@link isSkinColour}).
 */
export const MIN_SKIN_FRACTION = 0.7;

/**
 * The measurement frame: the ArcFace template (a published constant, not the product's framing, so
 * changing how faces are aligned never moves the measurement), re-expressed in unit face
 * coordinates: origin midway between the eyes, x toward the image-right eye, y down, one unit = the
 * distance between the eyes.
 */
const EYE_MID: Point = [(ARCFACE_112[0]![0] + ARCFACE_112[1]![0]) / 2, (ARCFACE_112[0]![1] + ARCFACE_112[1]![1]) / 2];
const EYE_DISTANCE = Math.hypot(ARCFACE_112[1]![0] - ARCFACE_112[0]![0], ARCFACE_112[1]![1] - ARCFACE_112[0]![1]);
/** The template in unit face coordinates (eyes at about (∓0.5, 0), nose tip (0, 0.57), mouth corners (∓0.41, 1.15)). */
export const UNIT_FACE: readonly Point[] = ARCFACE_112.map(([x, y]): Point => [
  (x - EYE_MID[0]) / EYE_DISTANCE,
  (y - EYE_MID[1]) / EYE_DISTANCE,
]);

/**
 * Image → unit face coordinates: the least-squares similarity (rotation, uniform scale, shift) that
 * maps the detector's 5 landmarks onto {@link UNIT_FACE}. Everything placed in this frame turns and
 * scales with the face.
 */
export function faceFrame(landmarks: readonly Point[]): Affine {
  return estimateSimilarity(landmarks, UNIT_FACE);
}

/**
 * Image → crop transform for a square `size`-px crop of the face in the measurement frame, framed
 * like the product's head crops (face box = half the crop, moved down by a tenth of it for the
 * hair), which is what the face-parsing model is used to.
 */
export function measurementCrop(landmarks: readonly Point[], size: number): Affine {
  const box = size / 2;
  const scale = box / 112;
  const offset = (size - box) / 2;
  const template = ARCFACE_112.map(([x, y]): Point => [offset + x * scale, offset + (y + 11.2) * scale]);
  return estimateSimilarity(landmarks, template);
}

/**
 * The face-parsing labels of a face in the photo, in the measurement frame ({@link measurementCrop}),
 * for the skin boxes' "is this skin" test.
 */
export async function measurementLabels(
  image: RawImage,
  landmarks: readonly Point[],
  backend: InferenceBackend,
  entry: ModelEntry,
): Promise<LabelMap> {
  const [size] = fixedInputSize(entry);
  const imageToLabels = measurementCrop(landmarks, size);
  const crop = warpAffine(image, invertAffine(imageToLabels), size, size);
  const outputs = await backend.run(entry.id, { [entry.input.name]: imageToTensor(crop, entry.input) });
  const labels = outputs[entry.output?.name ?? 'final_output'] ?? Object.values(outputs)[0];
  if (!labels) throw new PortoonError('E_INFERENCE_FAILED', `Model ${entry.id} returned no output`);
  return { width: size, height: size, data: labels.data, imageToLabels };
}

export type SkinBoxName = 'left-cheek' | 'right-cheek' | 'forehead';

export interface SkinBox {
  name: SkinBoxName;
  /** Centre in unit face coordinates. */
  center: Point;
  /** Half width and half height in unit face coordinates (multiples of the inter-eye distance). */
  halfWidth: number;
  halfHeight: number;
  /** Corners in image pixels (top-left, top-right, bottom-right, bottom-left of the upright face), for drawing. */
  corners: [Point, Point, Point, Point];
}

/**
 * Where skin is measured, in unit face coordinates. Cheeks: a 0.3 × 0.3 square centred at the
 * height of the nose tip, half-way between eye and mouth corner and a little outward of it, so it
 * stays clear of the nostrils (±0.25), the lower eyelid (≈ 0.15) and the face outline (≈ ±0.9).
 * Forehead: 0.6 wide × 0.3 high, centred 0.7 above the eyes, between the brows (≈ −0.3) and a
 * typical hairline (≈ −1.1).
 */
const SKIN_BOX_LAYOUT: ReadonlyArray<Omit<SkinBox, 'corners'>> = [
  { name: 'left-cheek', center: [-0.5, 0.58], halfWidth: 0.15, halfHeight: 0.15 },
  { name: 'right-cheek', center: [0.5, 0.58], halfWidth: 0.15, halfHeight: 0.15 },
  { name: 'forehead', center: [0, -0.7], halfWidth: 0.3, halfHeight: 0.15 },
];

/**
 * The three skin boxes of a face (two cheeks, one forehead) placed from its 5 landmarks: sized
 * relative to the inter-eye distance and rotated with the face (see {@link SKIN_BOX_LAYOUT}).
 */
export function skinBoxes(landmarks: readonly Point[]): SkinBox[] {
  const toImage = invertAffine(faceFrame(landmarks));
  return SKIN_BOX_LAYOUT.map((box) => {
    const [cx, cy] = box.center;
    const { halfWidth: hw, halfHeight: hh } = box;
    const corner = (u: number, v: number): Point => applyAffine(toImage, [u, v]);
    const corners: [Point, Point, Point, Point] = [
      corner(cx - hw, cy - hh),
      corner(cx + hw, cy - hh),
      corner(cx + hw, cy + hh),
      corner(cx - hw, cy + hh),
    ];
    return { ...box, center: [cx, cy], corners };
  });
}

/** A face-parsing label map and where it sits: `imageToLabels` maps image pixels to label pixels. */
export interface LabelMap {
  width: number;
  height: number;
  /** One label per pixel, row-major. */
  data: ArrayLike<number | bigint>;
  imageToLabels: Affine;
}

/** Label at a point of the label map (nearest pixel), or -1 outside it. */
function labelAt(labels: LabelMap, [x, y]: Point): number {
  const lx = Math.round(x),
    ly = Math.round(y);
  if (lx < 0 || ly < 0 || lx >= labels.width || ly >= labels.height) return -1;
  return Number(labels.data[ly * labels.width + lx]!);
}

/**
 * Fraction of a region of the face (an axis-aligned rectangle in unit face coordinates) whose
 * parsing label is in `accept`: a 16 × 16 grid of points over the rectangle, mapped into the label
 * map. Sampling in face coordinates gives small faces as many samples as large ones.
 */
export function labelFraction(
  frame: Affine,
  labels: LabelMap,
  center: Point,
  halfWidth: number,
  halfHeight: number,
  accept: (label: number) => boolean,
): number {
  const toLabels = compose(labels.imageToLabels, invertAffine(frame));
  const n = 16;
  let hits = 0;
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) {
      const u = center[0] + halfWidth * ((2 * i + 1) / n - 1);
      const v = center[1] + halfHeight * ((2 * j + 1) / n - 1);
      if (accept(labelAt(labels, applyAffine(toLabels, [u, v])))) hits++;
    }
  }
  return hits / (n * n);
}

/**
 * How much of the inner face (unit rectangle from the brows to below the lips, x ±0.6, y −0.2..1.3)
 * the parser calls face ({@link INNER_FACE_LABELS}). A real, visible face scores high; a detection on
 * something that is not a face (a neck, a pattern) scores low. A mask or hand over the mouth lowers it.
 */
export function faceLabelFraction(landmarks: readonly Point[], labels: LabelMap): number {
  return labelFraction(faceFrame(landmarks), labels, [0, 0.55], 0.6, 0.75, (label) => INNER_FACE_LABELS.has(label));
}

/** Indices (y·width + x) of the image pixels whose centre lies inside a skin box. */
export function boxPixels(box: Omit<SkinBox, 'corners'>, frame: Affine, width: number, height: number): Int32Array {
  const toImage = invertAffine(frame);
  const [cx, cy] = box.center;
  const corners = [
    [cx - box.halfWidth, cy - box.halfHeight],
    [cx + box.halfWidth, cy - box.halfHeight],
    [cx + box.halfWidth, cy + box.halfHeight],
    [cx - box.halfWidth, cy + box.halfHeight],
  ].map(([u, v]) => applyAffine(toImage, [u!, v!]));
  const x0 = Math.max(0, Math.floor(Math.min(...corners.map((c) => c[0])))),
    x1 = Math.min(width - 1, Math.ceil(Math.max(...corners.map((c) => c[0]))));
  const y0 = Math.max(0, Math.floor(Math.min(...corners.map((c) => c[1])))),
    y1 = Math.min(height - 1, Math.ceil(Math.max(...corners.map((c) => c[1]))));
  const [a, b, c, d, e, f] = frame;
  const out: number[] = [];
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const u = a * x + b * y + c,
        v = d * x + e * y + f;
      if (Math.abs(u - cx) <= box.halfWidth && Math.abs(v - cy) <= box.halfHeight) out.push(y * width + x);
    }
  }
  return Int32Array.from(out);
}

/**
 * Whether a colour can be skin: a warm hue (Lab hue angle 10°..100°, red through yellow) with some
 * chroma (>= 3). Every skin tone, lit by ordinary light, passes; black, grey, white and blue cloth
 * (face masks), dark lenses and blue or green backgrounds do not. The face-parsing model calls a cloth
 * face mask "skin", so this is the second test a skin box has to pass.
 */
export function isSkinColour([, a, b]: Lab): boolean {
  if (Math.hypot(a, b) < 3) return false;
  const hue = (Math.atan2(b, a) * 180) / Math.PI;
  return hue >= 10 && hue <= 100;
}

/** Mean Lab colour (the mean of every pixel's Lab) over the given pixels, and the fraction of them with a skin colour. */
export function meanLabOf(image: RawImage, pixels: ArrayLike<number>): { lab: Lab; skinColour: number } | undefined {
  if (pixels.length === 0) return undefined;
  const ch = image.channels,
    d = image.data;
  let sl = 0,
    sa = 0,
    sb = 0,
    skin = 0;
  for (let i = 0; i < pixels.length; i++) {
    const p = pixels[i]! * ch;
    const lab = rgbToLab(d[p]!, d[p + 1]!, d[p + 2]!);
    sl += lab[0];
    sa += lab[1];
    sb += lab[2];
    if (isSkinColour(lab)) skin++;
  }
  const n = pixels.length;
  return { lab: [sl / n, sa / n, sb / n], skinColour: skin / n };
}

export interface SkinBoxMeasure {
  name: SkinBoxName;
  /** Image pixels inside the box (clipped to the image). */
  pixels: number;
  /** Fraction of the box parsed as skin (label 1); undefined without a label map. */
  skin: number | undefined;
  /** Fraction of its pixels with a skin colour in the input ({@link isSkinColour}). */
  skinColour: number;
  /** Whether the box counts toward the face's ΔE (enough pixels in the image, parsed as skin, skin-coloured). */
  used: boolean;
  input: Lab | undefined;
  output: Lab | undefined;
  /** CIE76 ΔE between the input's and the output's mean Lab in this box. */
  deltaE: number | undefined;
}

export interface SkinMeasure {
  /** Mean ΔE over the boxes that count; undefined when none does. */
  deltaE: number | undefined;
  boxes: SkinBoxMeasure[];
}

export interface SkinOptions {
  /** Parsing of the input face; without it every box inside the image counts. */
  labels?: LabelMap | undefined;
  /** Least fraction of a box that must be parsed as skin, and have a skin colour. Default {@link MIN_SKIN_FRACTION}. */
  minSkin?: number | undefined;
  /** Least fraction of a box's area that must lie inside the image. Default 0.7. */
  minInside?: number | undefined;
  /** Least pixels a box must hold. Default 4. */
  minPixels?: number | undefined;
}

/**
 * Skin ΔE: how far the stylized output moved the person's skin tone. For each skin box
 * ({@link skinBoxes}), the CIE76 distance between the mean Lab colour of the input and the mean Lab
 * colour of the output over the same pixels. A box counts only when at least `minInside` of its
 * area lies in the image, at least `minSkin` of its input pixels have a skin colour
 * ({@link isSkinColour}) and, with a label map, at least `minSkin` of it is parsed as skin (so boxes on
 * hair, a face mask, glasses or a hand are left out). The face's ΔE is the mean over the boxes that
 * count.
 */
export function skinDeltaE(input: RawImage, output: RawImage, landmarks: readonly Point[], options: SkinOptions = {}): SkinMeasure {
  if (input.width !== output.width || input.height !== output.height) {
    throw new RangeError(
      `Expected images of the same size but received ${input.width}x${input.height} and ${output.width}x${output.height}`,
    );
  }
  const { labels, minSkin = MIN_SKIN_FRACTION, minInside = 0.7, minPixels = 4 } = options;
  const frame = faceFrame(landmarks);
  // Unit-frame area → image pixels: the frame's scale is sqrt(a² + d²) units per pixel.
  const unitsPerPixel = Math.hypot(frame[0], frame[3]);
  const boxes = SKIN_BOX_LAYOUT.map((box): SkinBoxMeasure => {
    const pixels = boxPixels(box, frame, input.width, input.height);
    const area = (4 * box.halfWidth * box.halfHeight) / (unitsPerPixel * unitsPerPixel);
    const skin = labels && labelFraction(frame, labels, box.center, box.halfWidth, box.halfHeight, (label) => label === SKIN_LABEL);
    const before = meanLabOf(input, pixels);
    const after = meanLabOf(output, pixels);
    const skinColour = before?.skinColour ?? 0;
    const used =
      pixels.length >= minPixels && pixels.length >= minInside * area && skinColour >= minSkin && (skin === undefined || skin >= minSkin);
    return {
      name: box.name,
      pixels: pixels.length,
      skin,
      skinColour,
      used,
      input: before?.lab,
      output: after?.lab,
      deltaE: before && after ? deltaE(before.lab, after.lab) : undefined,
    };
  });
  const counted = boxes.filter((b) => b.used && b.deltaE !== undefined).map((b) => b.deltaE!);
  return { deltaE: counted.length > 0 ? counted.reduce((s, v) => s + v, 0) / counted.length : undefined, boxes };
}

export interface SeamOptions {
  /** Mask values strictly between these are the transition band. Default 0.1 and 0.9. */
  bandLow?: number;
  bandHigh?: number;
  /** The inner point is where the mask first reaches this, the outer where it first drops to `outer`. Default 0.95 / 0.05. */
  inner?: number;
  outer?: number;
  /** At most this many band pixels are used (evenly spread in raster order). Default 4000. */
  maxSamples?: number;
  /** Longest march from a band pixel to its inner or outer point, in crop pixels. Default a quarter of the crop. */
  maxMarch?: number;
  /** The input step is floored to this ΔE before dividing (about one just-noticeable difference). Default 1. */
  minInputStep?: number;
}

export interface SeamMeasure {
  /** Boundary samples used. */
  samples: number;
  /** Mean ΔE between the inner and the outer point in the output. */
  outputStep: number;
  /** Mean ΔE between the same two points in the input. */
  inputStep: number;
  /** outputStep / max(inputStep, minInputStep). */
  ratio: number;
}

/**
 * Seam ratio: how much colour step the paste boundary adds. Every pixel of the mask's transition
 * band (bandLow < mask < bandHigh, crop space) is a boundary sample. From it the measure walks up the
 * mask gradient to the first point where the mask reaches `inner` (just inside the paste: pure
 * stylized face) and down it to the first point where the mask drops to `outer` (just outside: pure
 * background pass). Both points are mapped to the image (inverse of `imageToCrop`), and the colour
 * there (mean of the 3 × 3 pixels around it) is compared as CIE76 ΔE, in the output and, at the same
 * positions, in the input. The seam step is the mean over samples; the ratio is output step / input
 * step. ≈ 1: the paste adds no step beyond the edge that is in the photo (hair against a wall, say);
 * ≫ 1: a visible seam. The input step is floored (`minInputStep`) so a flat photo cannot divide by ~0.
 * Samples whose walk leaves the crop or the image, or never reaches the threshold, are skipped.
 * @param mask paste weight 0..1 in crop space (crop pixel = mask pixel).
 * @returns undefined when no sample could be measured (no soft band, or the band is off the image).
 */
export function seamRatio(
  input: RawImage,
  output: RawImage,
  mask: FloatPlane,
  imageToCrop: Affine,
  options: SeamOptions = {},
): SeamMeasure | undefined {
  if (input.width !== output.width || input.height !== output.height) {
    throw new RangeError(
      `Expected images of the same size but received ${input.width}x${input.height} and ${output.width}x${output.height}`,
    );
  }
  const {
    bandLow = 0.1,
    bandHigh = 0.9,
    inner = 0.95,
    outer = 0.05,
    maxSamples = 4000,
    maxMarch = mask.width / 4,
    minInputStep = 1,
  } = options;
  const { width: mw, height: mh, data: md } = mask;
  const band: number[] = [];
  for (let y = 1; y < mh - 1; y++) {
    for (let x = 1; x < mw - 1; x++) {
      const m = md[y * mw + x]!;
      if (m > bandLow && m < bandHigh) band.push(y * mw + x);
    }
  }
  const stride = Math.max(1, Math.ceil(band.length / maxSamples));
  const cropToImage = invertAffine(imageToCrop);
  const step = 0.5;
  let samples = 0,
    outSum = 0,
    inSum = 0;
  for (let k = 0; k < band.length; k += stride) {
    const i = band[k]!;
    const x = i % mw,
      y = (i - x) / mw;
    const gx = (md[i + 1]! - md[i - 1]!) / 2;
    const gy = (md[i + mw]! - md[i - mw]!) / 2;
    const g = Math.hypot(gx, gy);
    if (g < 1e-6) continue;
    const nx = gx / g,
      ny = gy / g;
    const inside = march(mask, x, y, nx, ny, step, maxMarch, (m) => m >= inner);
    const outside = march(mask, x, y, -nx, -ny, step, maxMarch, (m) => m <= outer);
    if (!inside || !outside) continue;
    const pIn = applyAffine(cropToImage, inside);
    const pOut = applyAffine(cropToImage, outside);
    if (!inImage(input, pIn) || !inImage(input, pOut)) continue;
    outSum += deltaE(labAround(output, pIn), labAround(output, pOut));
    inSum += deltaE(labAround(input, pIn), labAround(input, pOut));
    samples++;
  }
  if (samples === 0) return undefined;
  const outputStep = outSum / samples,
    inputStep = inSum / samples;
  return { samples, outputStep, inputStep, ratio: outputStep / Math.max(inputStep, minInputStep) };
}

/** Walks from (x, y) along (dx, dy) until `stop` holds for the (bilinear) mask value; undefined if it leaves the mask or goes too far. */
function march(
  mask: FloatPlane,
  x: number,
  y: number,
  dx: number,
  dy: number,
  step: number,
  maxDistance: number,
  stop: (m: number) => boolean,
): Point | undefined {
  for (let t = step; t <= maxDistance; t += step) {
    const px = x + dx * t,
      py = y + dy * t;
    const m = samplePlane(mask, px, py);
    if (m === undefined) return undefined;
    if (stop(m)) return [px, py];
  }
  return undefined;
}

function samplePlane(plane: FloatPlane, x: number, y: number): number | undefined {
  const { width: w, height: h, data } = plane;
  if (x < 0 || y < 0 || x > w - 1 || y > h - 1) return undefined;
  const x0 = Math.floor(x),
    y0 = Math.floor(y);
  const x1 = Math.min(x0 + 1, w - 1),
    y1 = Math.min(y0 + 1, h - 1);
  const fx = x - x0,
    fy = y - y0;
  const top = data[y0 * w + x0]! + (data[y0 * w + x1]! - data[y0 * w + x0]!) * fx;
  const bottom = data[y1 * w + x0]! + (data[y1 * w + x1]! - data[y1 * w + x0]!) * fx;
  return top + (bottom - top) * fy;
}

function inImage(image: RawImage, [x, y]: Point): boolean {
  return x >= 0 && y >= 0 && x <= image.width - 1 && y <= image.height - 1;
}

/** Lab of the mean RGB of the 3 × 3 pixels around a point (clamped to the image). */
function labAround(image: RawImage, [x, y]: Point): Lab {
  const cx = Math.round(x),
    cy = Math.round(y);
  const ch = image.channels,
    d = image.data;
  let r = 0,
    g = 0,
    b = 0,
    n = 0;
  for (let yy = Math.max(0, cy - 1); yy <= Math.min(image.height - 1, cy + 1); yy++) {
    for (let xx = Math.max(0, cx - 1); xx <= Math.min(image.width - 1, cx + 1); xx++) {
      const p = (yy * image.width + xx) * ch;
      r += d[p]!;
      g += d[p + 1]!;
      b += d[p + 2]!;
      n++;
    }
  }
  return rgbToLab(Math.round(r / n), Math.round(g / n), Math.round(b / n));
}

/** The affine `outer ∘ inner` (apply `inner` first). */
function compose(outer: Affine, inner: Affine): Affine {
  const [a, b, c, d, e, f] = outer;
  const [p, q, r, s, t, u] = inner;
  return [a * p + b * s, a * q + b * t, a * r + b * u + c, d * p + e * s, d * q + e * t, d * r + e * u + f];
}
