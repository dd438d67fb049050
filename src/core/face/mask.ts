/**
 * Soft masks in aligned-crop space that decide how much of the stylized face replaces the
 * background pass at each pixel. A face-parsing mask follows the real outline of skin and hair;
 * the ellipse is the fallback when the parsing model is not installed.
 */
import { boxBlurPlane, gaussianBlurPlane } from '../blur.js';
import { createPlane, type FloatPlane } from '../image.js';
import { resizePlane } from './plane-resize.js';

/**
 * Face-parsing labels (CelebAMask-HQ, 19 classes, in the order of the BiSeNet model: 0 background,
 * 1 skin, 2-3 brows, 4-5 eyes, 6 glasses, 7-8 ears, 9 earring, 10 nose, 11 mouth, 12-13 lips, 14 neck,
 * 15 necklace, 16 cloth, 17 hair, 18 hat) that belong to the head: everything but background,
 * neck, neck-wear and cloth.
 */
export const HEAD_LABELS: ReadonlySet<number> = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 17, 18]);
/** The face itself (skin, brows, eyes, glasses, ears, earrings, nose, mouth, lips): where a head region grows from. */
export const FACE_LABELS: ReadonlySet<number> = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
/** Skin labels used to measure skin tone (face skin and nose; not lips, eyes or hair). */
export const SKIN_LABELS: ReadonlySet<number> = new Set([1, 10]);
/**
 * Where a skin-tone correction applies: the whole face. Nothing set in the skin is left out (a region
 * with holes gives the correction an edge: a pale ring around the mouth or the eyes); eye whites and
 * teeth are protected by their colour instead (see `restoreSkinTone`). The neck is out: it runs
 * past the crop, where a correction would end in a line across it, while the jaw hides the edge.
 */
export const TONE_LABELS: ReadonlySet<number> = FACE_LABELS;
/** Hair. */
export const HAIR_LABELS: ReadonlySet<number> = new Set([17]);
/** Eyes and the open mouth: where eye whites and teeth are. */
export const WHITES_LABELS: ReadonlySet<number> = new Set([4, 5, 11]);
/** What a face model redraws and is pasted: the face and the hair (not hats, neck or clothes). */
export const BLEND_LABELS: ReadonlySet<number> = new Set([...FACE_LABELS, 17]);

export interface CropGeometry {
  /** Crop side in pixels. */
  size: number;
  /** Centre of the face template in the crop (mean of the 5 template points). */
  centerX: number;
  centerY: number;
  /** Side of the 112-box face in crop pixels. */
  faceBox: number;
  /** The five framing points in the crop (eyes, nose, mouth corners), when known. */
  points?: ReadonlyArray<readonly [number, number]> | undefined;
}

/** Fraction of the crop side over which every paste mask fades out at the crop edge. */
const BORDER_FADE = 0.1;

/**
 * Fades any mask to zero at the crop border, so the square edge of the crop never shows.
 * @param width fade width in pixels.
 */
export function applyBorderFade(mask: FloatPlane, width: number): void {
  const { width: w, height: h, data } = mask;
  for (let y = 0; y < h; y++) {
    const fy = Math.min(1, Math.min(y + 0.5, h - y - 0.5) / width);
    for (let x = 0; x < w; x++) {
      const fx = Math.min(1, Math.min(x + 0.5, w - x - 0.5) / width);
      data[y * w + x]! *= smooth(Math.min(fx, fy));
    }
  }
}

/**
 * Feathered ellipse around face, forehead and hairline.
 * @param tight when the background is kept: the ellipse fades out at the cheeks and the hairline
 *   instead of beyond them, so no backdrop beside the head is stylized.
 */
export function ellipseMask(geometry: CropGeometry, tight = false): FloatPlane {
  const { size, centerX, faceBox } = geometry;
  // Centre a little above the template centre so the forehead and hairline are covered.
  const cy = geometry.centerY - (tight ? 0.08 : 0.12) * faceBox;
  const rx = (tight ? 0.5 : 0.62) * faceBox;
  const ry = (tight ? 0.7 : 0.78) * faceBox;
  const feather = 0.3;
  const mask = createPlane(size, size);
  for (let y = 0; y < size; y++) {
    const dy = (y + 0.5 - cy) / ry;
    for (let x = 0; x < size; x++) {
      const dx = (x + 0.5 - centerX) / rx;
      const r = Math.sqrt(dx * dx + dy * dy);
      mask.data[y * size + x] = r <= 1 - feather ? 1 : r >= 1 ? 0 : smooth((1 - r) / feather);
    }
  }
  applyBorderFade(mask, size * BORDER_FADE);
  return mask;
}

/**
 * Paste mask over a stylized picture: the face, the hair attached to it and the lower face (see
 * {@link lowerFace}), feathered inside the outline and faded out well inside the crop edge.
 * @returns undefined when no face is found in the labels (the caller falls back to the ellipse).
 */
export function blendMask(labels: ArrayLike<number | bigint>, labelSize: number, geometry: CropGeometry): FloatPlane | undefined {
  const region = attachedRegion(labels, labelSize, geometry, BLEND_LABELS);
  if (!region) return undefined;
  const chin = lowerFace(geometry, labelSize);
  if (chin) for (let i = 0; i < region.data.length; i++) region.data[i] = Math.max(region.data[i]!, chin.data[i]!);
  return featherInside(region, geometry);
}

/**
 * An ellipse over mouth, chin and jaw (`labelSize`²), from the framing's points: the parser often
 * labels a beard or goatee as background, which would cut it off at the mask edge into a smear.
 */
function lowerFace(geometry: CropGeometry, labelSize: number): FloatPlane | undefined {
  const points = geometry.points;
  if (!points || points.length < 5) return undefined;
  const scale = labelSize / geometry.size;
  const [le, re, , lm, rm] = points as ReadonlyArray<readonly [number, number]>;
  const eyeX = (le![0] + re![0]) / 2,
    eyeY = (le![1] + re![1]) / 2;
  const mouthX = (lm![0] + rm![0]) / 2,
    mouthY = (lm![1] + rm![1]) / 2;
  const eyeToMouth = Math.hypot(mouthX - eyeX, mouthY - eyeY);
  const eyeDistance = Math.hypot(re![0] - le![0], re![1] - le![1]);
  // Chin about 0.55 eye-to-mouth below the mouth; the ellipse spans the mouth corners and the jaw.
  const cx = (mouthX + ((mouthX - eyeX) / eyeToMouth) * 0.2 * eyeToMouth) * scale - 0.5;
  const cy = (mouthY + ((mouthY - eyeY) / eyeToMouth) * 0.2 * eyeToMouth) * scale - 0.5;
  const rx = 0.62 * eyeDistance * scale,
    ry = 0.42 * eyeToMouth * scale;
  const plane = createPlane(labelSize, labelSize);
  for (let y = Math.max(0, Math.floor(cy - ry)); y <= Math.min(labelSize - 1, Math.ceil(cy + ry)); y++) {
    for (let x = Math.max(0, Math.floor(cx - rx)); x <= Math.min(labelSize - 1, Math.ceil(cx + rx)); x++) {
      const dx = (x - cx) / rx,
        dy = (y - cy) / ry;
      if (dx * dx + dy * dy <= 1) plane.data[y * labelSize + x] = 1;
    }
  }
  return plane;
}

/**
 * Paste mask for a kept background: only the face and the hair attached to it. The face-parsing
 * model also calls backdrop texture anywhere in the crop "hair" or "hat" (sea, sky, foliage beside
 * the head); with the original photo around the face, every such blob would show as a stylized
 * patch in the backdrop. So only the labelled regions connected to the face are kept (see
 * {@link attachedRegion}), then feathered inside the outline like {@link blendMask}.
 * @returns undefined when no face is found in the labels (the caller falls back to the ellipse).
 */
export function keepMask(labels: ArrayLike<number | bigint>, labelSize: number, geometry: CropGeometry): FloatPlane | undefined {
  const region = attachedRegion(labels, labelSize, geometry);
  return region && featherInside(region, geometry);
}

/**
 * The head in a label map as a binary plane (`labelSize`²): pixels with a {@link HEAD_LABELS} label
 * that are connected to the face labels near the template centre. Connection tolerates small gaps
 * (strands of hair, a glasses frame labelled background). Face labels count only down to a little
 * below the chin (the parser often calls a bare neck and chest "skin"); hair may reach further.
 * Small holes enclosed by the head above that line (a sunglass lens labelled background) are filled.
 * @returns undefined when there is no face label near the template centre.
 */
export function attachedRegion(
  labels: ArrayLike<number | bigint>,
  labelSize: number,
  geometry: CropGeometry,
  labelsIncluded: ReadonlySet<number> = HEAD_LABELS,
): FloatPlane | undefined {
  const n = labelSize * labelSize;
  const scale = labelSize / geometry.size;
  const faceBox = geometry.faceBox * scale;
  const cx = geometry.centerX * scale - 0.5,
    cy = geometry.centerY * scale - 0.5;
  // The template centre is at nose level; the chin lies about 0.35 face boxes below it.
  const neckLine = Math.max(0, Math.min(labelSize, Math.ceil(cy + 0.55 * faceBox)));
  const include = labelPlane(labels, labelSize, labelsIncluded);
  for (let i = neckLine * labelSize; i < n; i++) if (FACE_LABELS.has(Number(labels[i]!))) include.data[i] = 0;
  // Seeds: face labels within the inner face (the landmarks put the eyes, nose and mouth there).
  const rx = 0.4 * faceBox,
    ry = 0.5 * faceBox;
  const reached = new Uint8Array(n);
  const queue = new Int32Array(n);
  let tail = 0;
  for (let y = Math.max(0, Math.floor(cy - ry)); y <= Math.min(labelSize - 1, Math.ceil(cy + ry)); y++) {
    for (let x = Math.max(0, Math.floor(cx - rx)); x <= Math.min(labelSize - 1, Math.ceil(cx + rx)); x++) {
      const dx = (x - cx) / rx,
        dy = (y - cy) / ry;
      const i = y * labelSize + x;
      if (dx * dx + dy * dy <= 1 && FACE_LABELS.has(Number(labels[i]!))) {
        reached[i] = 1;
        queue[tail++] = i;
      }
    }
  }
  if (tail === 0) return undefined;
  // Grow through the head labels, bridging gaps of up to `gap` px: flood fill on the dilated label
  // plane (box mean > 0 is a max filter), keeping only the pixels that carry a head label.
  const gap = Math.max(1, Math.round(0.02 * faceBox));
  const bridged = boxBlurPlane(include, gap).data;
  floodFill(reached, queue, tail, labelSize, (i) => bridged[i]! > 1e-4);
  const region = createPlane(labelSize, labelSize);
  for (let i = 0; i < n; i++) region.data[i] = reached[i]! && include.data[i]! > 0 ? 1 : 0;
  fillSmallHoles(region, 0.1 * faceBox * faceBox, neckLine);
  return region;
}

/**
 * Breadth-first 8-connected fill from the `tail` seeds already in `queue` (and marked in `reached`),
 * over pixels where `passable` holds.
 */
function floodFill(reached: Uint8Array, queue: Int32Array, tail: number, size: number, passable: (i: number) => boolean): number {
  let head = 0;
  while (head < tail) {
    const i = queue[head++]!;
    const x = i % size,
      y = (i - x) / size;
    for (let dy = -1; dy <= 1; dy++) {
      const yy = y + dy;
      if (yy < 0 || yy >= size) continue;
      for (let dx = -1; dx <= 1; dx++) {
        const xx = x + dx;
        if (xx < 0 || xx >= size) continue;
        const j = yy * size + xx;
        if (reached[j] || !passable(j)) continue;
        reached[j] = 1;
        queue[tail++] = j;
      }
    }
  }
  return tail;
}

/**
 * Sets to 1 every 4-connected region of zeros that touches neither the border nor the rows from
 * `endRow` down, and has fewer than `maxArea` pixels.
 */
function fillSmallHoles(region: FloatPlane, maxArea: number, endRow: number): void {
  const { width: size, data } = region;
  const n = size * size;
  const seen = new Uint8Array(n);
  const queue = new Int32Array(n);
  for (let start = 0; start < n; start++) {
    if (seen[start] || data[start]! > 0) continue;
    // Collect one zero component.
    seen[start] = 1;
    queue[0] = start;
    let head = 0,
      tail = 1,
      border = false;
    while (head < tail) {
      const i = queue[head++]!;
      const x = i % size,
        y = (i - x) / size;
      if (x === 0 || y === 0 || x === size - 1 || y >= Math.min(endRow, size - 1)) border = true;
      for (const j of [x > 0 ? i - 1 : -1, x < size - 1 ? i + 1 : -1, y > 0 ? i - size : -1, y < size - 1 ? i + size : -1]) {
        if (j < 0 || seen[j] || data[j]! > 0) continue;
        seen[j] = 1;
        queue[tail++] = j;
      }
    }
    if (!border && tail < maxArea) for (let k = 0; k < tail; k++) data[queue[k]!] = 1;
  }
}

/**
 * A binary head plane (any square size) scaled to the crop and feathered inside its outline, faded
 * out at the crop border.
 */
function featherInside(binary: FloatPlane, geometry: CropGeometry): FloatPlane {
  const scaled = resizePlane(binary, geometry.size, geometry.size);
  // Feather relative to the face so small and large crops blend alike.
  const soft = gaussianBlurPlane(scaled, Math.max(1, geometry.faceBox * 0.04));
  // Move the feather inside the head outline: at the true edge (0.5 after blurring) the weight is
  // already 0, so the head model's own background (often a pale halo) never leaks past the hair.
  const d = soft.data;
  for (let i = 0; i < d.length; i++) d[i] = smooth((d[i]! - 0.5) / 0.45);
  applyBorderFade(soft, geometry.size * BORDER_FADE);
  return soft;
}

/** 1 where the label is in `include`, else 0. */
export function labelPlane(labels: ArrayLike<number | bigint>, labelSize: number, include: ReadonlySet<number>): FloatPlane {
  const plane = createPlane(labelSize, labelSize);
  for (let i = 0; i < plane.data.length; i++) plane.data[i] = include.has(Number(labels[i]!)) ? 1 : 0;
  return plane;
}

function smooth(t: number): number {
  const c = t <= 0 ? 0 : t >= 1 ? 1 : t;
  return c * c * (3 - 2 * c);
}
