/**
 * The visible "AI-generated" label: a small dark, translucent rounded badge with a sparkle and white
 * text, drawn into a corner of a picture that keeps clear of the faces in it.
 *
 * Pure and platform-neutral: the text is drawn from the hand-written stroke glyphs in
 * `label-font.ts` (no fonts, no canvas), anti-aliased analytically, so Node, the browser worker and
 * every frame of a video get the very same pixels. Deterministic; apart from copying the picture,
 * only the badge rectangle is read and written.
 *
 * Size rule (it depends on the picture's size only, so every frame of a video gets the same label):
 * the cap height of the text is 2.6% of the shorter side, rounded, and at least 9 px, so the label
 * stays legible when the picture is shown as a quarter-size thumbnail; it is then capped so the badge
 * is never wider than 45% of the picture. Pictures whose shorter side is under 96 px are too small
 * for a legible label and get none (see `placeAiLabel`).
 */
import type { RawImage } from '../image.js';
import { LABEL_GLYPHS, LABEL_KERNING, STROKE_WIDTH, type Glyph } from './label-font.js';

export type LabelCorner = 'bottom-right' | 'bottom-left' | 'top-right' | 'top-left';

/** Where the badge goes: its corner and its rectangle in pixels (width and height 0: no label). */
export interface LabelPlacement {
  corner: LabelCorner;
  x: number;
  y: number;
  width: number;
  height: number;
}

type FaceBox = readonly [number, number, number, number];

const LABEL_TEXT = 'AI-generated';
/** Preferred corners, best first. */
const CORNERS: readonly LabelCorner[] = ['bottom-right', 'bottom-left', 'top-right', 'top-left'];

/** Pictures with a shorter side below this get no label. */
const MIN_SIDE = 96;
/** Cap height as a share of the shorter side, and its floor in pixels. */
const CAP_SHARE = 0.026;
const MIN_CAP_PX = 9;
/** The badge is never wider than this share of the picture. */
const MAX_WIDTH_SHARE = 0.45;
/** Opacity of the black badge over the picture. */
const BADGE_OPACITY = 0.6;

/** Badge geometry in cap heights. */
const PAD_X = 0.62;
const BADGE_HEIGHT = 2;
const CORNER_RADIUS = 0.5;
const EDGE_MARGIN = 0.8;
const SPARKLE_RADIUS = 0.56;
const SPARKLE_GAP = 0.3;
/** Baseline below the middle of the badge: the capitals sit a little high, balanced by the tail of the g. */
const BASELINE_DROP = 0.42;
/** Sparkle centre above the baseline (the middle of the capitals). */
const SPARKLE_Y = 0.5;

interface PlacedGlyph {
  glyph: Glyph;
  x: number;
}

interface TextLayout {
  glyphs: PlacedGlyph[];
  /** Ink extent of the whole line in font units (pen starting at 0). */
  inkLeft: number;
  inkRight: number;
}

function layoutText(text: string): TextLayout {
  const glyphs: PlacedGlyph[] = [];
  let pen = 0;
  let inkLeft = Infinity;
  let inkRight = -Infinity;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    const glyph = LABEL_GLYPHS[char];
    if (!glyph) throw new Error(`No label glyph for ${JSON.stringify(char)}`);
    if (i > 0) pen += LABEL_KERNING[text[i - 1]! + char] ?? 0;
    glyphs.push({ glyph, x: pen });
    for (const stroke of glyph.strokes) {
      for (let p = 0; p < stroke.points.length; p += 2) {
        inkLeft = Math.min(inkLeft, pen + stroke.points[p]! - STROKE_WIDTH / 2);
        inkRight = Math.max(inkRight, pen + stroke.points[p]! + STROKE_WIDTH / 2);
      }
    }
    pen += glyph.advance;
  }
  return { glyphs, inkLeft, inkRight };
}

const LAYOUT = layoutText(LABEL_TEXT);
/** Badge width in cap heights. */
const BADGE_WIDTH = PAD_X + 2 * SPARKLE_RADIUS + SPARKLE_GAP + (LAYOUT.inkRight - LAYOUT.inkLeft) + PAD_X;

interface LabelSize {
  /** Cap height in pixels (the unit of every other measure). */
  cap: number;
  width: number;
  height: number;
  margin: number;
}

/** The badge size for a picture of this size, or undefined when it is too small for a label. */
function labelSize(width: number, height: number): LabelSize | undefined {
  if (!Number.isFinite(width) || !Number.isFinite(height)) return undefined;
  const shorter = Math.min(width, height);
  if (!(shorter >= MIN_SIDE)) return undefined;
  const wanted = Math.max(MIN_CAP_PX, Math.round(CAP_SHARE * shorter));
  const cap = Math.min(wanted, Math.floor((MAX_WIDTH_SHARE * width) / BADGE_WIDTH));
  return {
    cap,
    width: Math.round(BADGE_WIDTH * cap),
    height: Math.round(BADGE_HEIGHT * cap),
    margin: Math.round(EDGE_MARGIN * cap),
  };
}

function rectAt(corner: LabelCorner, width: number, height: number, size: LabelSize): LabelPlacement {
  const left = corner.endsWith('left');
  const top = corner.startsWith('top');
  return {
    corner,
    x: left ? size.margin : width - size.margin - size.width,
    y: top ? size.margin : height - size.margin - size.height,
    width: size.width,
    height: size.height,
  };
}

/** Area of a face box inside a rectangle; boxes with non-finite numbers count for nothing. */
function overlapArea(rect: LabelPlacement, face: FaceBox): number {
  const unchecked: unknown = face;
  if (!Array.isArray(unchecked)) return 0;
  let [fx, fy, fw, fh] = face;
  if (!Number.isFinite(fx) || !Number.isFinite(fy) || !Number.isFinite(fw) || !Number.isFinite(fh)) return 0;
  if (fw < 0) [fx, fw] = [fx + fw, -fw];
  if (fh < 0) [fy, fh] = [fy + fh, -fh];
  const w = Math.min(rect.x + rect.width, fx + fw) - Math.max(rect.x, fx);
  const h = Math.min(rect.y + rect.height, fy + fh) - Math.max(rect.y, fy);
  return w > 0 && h > 0 ? w * h : 0;
}

const NO_LABEL: LabelPlacement = { corner: 'bottom-right', x: 0, y: 0, width: 0, height: 0 };

/**
 * Chooses the corner for the label: the one whose label rectangle overlaps no face (or the least face
 * area), preferring bottom-right, bottom-left, top-right, top-left in that order. Faces are
 * `[x, y, width, height]` boxes in pixels (as in `FaceReport.box`); boxes with non-finite numbers are
 * ignored and negative sizes are taken as boxes reaching the other way. The size of the label depends
 * only on `width` and `height`. A picture whose shorter side is under 96 px (or with sizes that are
 * not finite numbers) is too small for a legible label: the placement then has width and height 0
 * (`{ corner: 'bottom-right', x: 0, y: 0, width: 0, height: 0 }`) and `drawAiLabel` draws nothing.
 * Never throws.
 */
export function placeAiLabel(width: number, height: number, faces: readonly FaceBox[]): LabelPlacement {
  const size = labelSize(width, height);
  if (!size) return { ...NO_LABEL };
  const list: readonly FaceBox[] = Array.isArray(faces) ? faces : [];
  let best: LabelPlacement | undefined;
  let bestArea = Infinity;
  for (const corner of CORNERS) {
    const rect = rectAt(corner, width, height, size);
    let area = 0;
    for (const face of list) area += overlapArea(rect, face);
    if (area === 0) return rect;
    if (area < bestArea) {
      best = rect;
      bestArea = area;
    }
  }
  return best ?? rectAt(CORNERS[0]!, width, height, size);
}

/**
 * The placement actually drawn: a placement from `placeAiLabel` for a picture of this size is used as
 * is; one with width or height 0 means no label; any other (another size, outside the picture, not
 * finite) is moved to the standard rectangle of its corner.
 */
function resolvePlacement(image: RawImage, faces: readonly FaceBox[], placement: LabelPlacement | undefined): LabelPlacement {
  if (!placement) return placeAiLabel(image.width, image.height, faces);
  const corner = CORNERS.includes(placement.corner) ? placement.corner : CORNERS[0]!;
  const size = labelSize(image.width, image.height);
  if (!size || !(placement.width > 0) || !(placement.height > 0)) return { ...NO_LABEL, corner };
  const { x, y } = placement;
  const fits =
    placement.width === size.width &&
    placement.height === size.height &&
    Number.isInteger(x) &&
    Number.isInteger(y) &&
    x >= 0 &&
    y >= 0 &&
    x + size.width <= image.width &&
    y + size.height <= image.height;
  return fits ? { corner, x, y, width: size.width, height: size.height } : rectAt(corner, image.width, image.height, size);
}

/** Anti-aliased coverage (0..1) of the rounded badge at each pixel of its rectangle. */
function badgeCoverage(width: number, height: number, radius: number): Float32Array {
  const out = new Float32Array(width * height).fill(1);
  const r = Math.min(radius, width / 2, height / 2);
  // Only the corners are not fully covered: the straight edges lie on pixel boundaries.
  const reach = Math.ceil(r);
  for (let y = 0; y < reach; y++) {
    const qy = r - (y + 0.5);
    for (let x = 0; x < reach; x++) {
      const qx = r - (x + 0.5);
      let c = 1;
      if (qx > 0 && qy > 0) {
        c = 0.5 - (Math.sqrt(qx * qx + qy * qy) - r);
        c = c <= 0 ? 0 : c >= 1 ? 1 : c;
      }
      out[y * width + x] = c;
      out[y * width + (width - 1 - x)] = c;
      out[(height - 1 - y) * width + x] = c;
      out[(height - 1 - y) * width + (width - 1 - x)] = c;
    }
  }
  return out;
}

/**
 * Adds one stroke of a glyph to a coverage buffer: the union of its segments widened to the stroke
 * weight (round joins), cut flat at the ends of open strokes and to the stroke's clip band. The
 * coverage of a pixel is its signed distance to the outline through a one-pixel box filter, so
 * edges are anti-aliased at any size. Only the pixels near each segment are visited.
 */
function addStroke(
  cov: Float32Array,
  cw: number,
  ch: number,
  points: readonly number[],
  closed: boolean,
  clip: readonly [number, number] | undefined,
  ox: number,
  oy: number,
  scale: number,
): void {
  const n = points.length / 2;
  if (n < 2) return;
  const half = (STROKE_WIDTH / 2) * scale;
  const px = new Float64Array(n);
  const py = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    px[i] = ox + points[2 * i]! * scale;
    py[i] = oy - points[2 * i + 1]! * scale;
  }
  const segments = closed ? n : n - 1;
  // Distance along the stroke to the start of each point, for the flat ends of open strokes.
  const along = new Float64Array(n);
  for (let i = 1; i < n; i++) along[i] = along[i - 1]! + Math.hypot(px[i]! - px[i - 1]!, py[i]! - py[i - 1]!);
  const total = along[n - 1]!;
  const endZone = 2 * half + 1;
  const startLen = Math.hypot(px[1]! - px[0]!, py[1]! - py[0]!) || 1;
  const sx = px[0]!;
  const sy = py[0]!;
  const stx = (px[1]! - sx) / startLen;
  const sty = (py[1]! - sy) / startLen;
  const endLen = Math.hypot(px[n - 1]! - px[n - 2]!, py[n - 1]! - py[n - 2]!) || 1;
  const ex = px[n - 1]!;
  const ey = py[n - 1]!;
  const etx = (ex - px[n - 2]!) / endLen;
  const ety = (ey - py[n - 2]!) / endLen;
  const clipTop = clip ? oy - clip[1] * scale : -Infinity;
  const clipBottom = clip ? oy - clip[0] * scale : Infinity;

  for (let s = 0; s < segments; s++) {
    const a = s;
    const b = (s + 1) % n;
    const ax = px[a]!;
    const ay = py[a]!;
    const dx = px[b]! - ax;
    const dy = py[b]! - ay;
    const len2 = dx * dx + dy * dy;
    const cutStart = !closed && along[a]! <= endZone;
    const cutEnd = !closed && total - along[b]! <= endZone;
    const x0 = Math.max(0, Math.floor(Math.min(ax, ax + dx) - half - 1));
    const x1 = Math.min(cw - 1, Math.ceil(Math.max(ax, ax + dx) + half + 1));
    const y0 = Math.max(0, Math.floor(Math.max(Math.min(ay, ay + dy) - half, clipTop) - 1));
    const y1 = Math.min(ch - 1, Math.ceil(Math.min(Math.max(ay, ay + dy) + half, clipBottom) + 1));
    for (let y = y0; y <= y1; y++) {
      const cy = y + 0.5;
      const row = y * cw;
      for (let x = x0; x <= x1; x++) {
        const cx = x + 0.5;
        let t = len2 > 0 ? ((cx - ax) * dx + (cy - ay) * dy) / len2 : 0;
        t = t < 0 ? 0 : t > 1 ? 1 : t;
        const fx = cx - ax - t * dx;
        const fy = cy - ay - t * dy;
        let d = Math.sqrt(fx * fx + fy * fy) - half;
        if (cutStart) d = Math.max(d, (sx - cx) * stx + (sy - cy) * sty);
        if (cutEnd) d = Math.max(d, (cx - ex) * etx + (cy - ey) * ety);
        if (clip) d = Math.max(d, clipTop - cy, cy - clipBottom);
        const c = 0.5 - d;
        if (c <= 0) continue;
        const v = c >= 1 ? 1 : c;
        if (v > cov[row + x]!) cov[row + x] = v;
      }
    }
  }
}

/** Inside test of the four-pointed sparkle, in units of its radius (concave sides, fuller in the middle). */
function inSparkle(u: number, v: number): boolean {
  const au = Math.abs(u);
  const av = Math.abs(v);
  return Math.sqrt(au) + Math.sqrt(av) <= 1 || au + av <= 0.3;
}

/** Adds the sparkle to a coverage buffer: 4x4 samples in pixels its outline crosses, one test elsewhere. */
function addSparkle(cov: Float32Array, cw: number, ch: number, cx: number, cy: number, radius: number): void {
  const x0 = Math.max(0, Math.floor(cx - radius) - 1);
  const x1 = Math.min(cw - 1, Math.ceil(cx + radius) + 1);
  const y0 = Math.max(0, Math.floor(cy - radius) - 1);
  const y1 = Math.min(ch - 1, Math.ceil(cy + radius) + 1);
  const inv = 1 / radius;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const u0 = (x - cx) * inv;
      const v0 = (y - cy) * inv;
      const u1 = (x + 1 - cx) * inv;
      const v1 = (y + 1 - cy) * inv;
      const corners = +inSparkle(u0, v0) + +inSparkle(u1, v0) + +inSparkle(u0, v1) + +inSparkle(u1, v1);
      // Corners all outside can still hide a spike tip or the thin middle of a spike: sample those pixels too
      // when they straddle an axis.
      const straddles = (u0 <= 0 && u1 >= 0) || (v0 <= 0 && v1 >= 0);
      let c: number;
      if (corners === 4) c = 1;
      else if (corners === 0 && !straddles) c = 0;
      else {
        let hits = 0;
        for (let sy = 0; sy < 4; sy++) {
          for (let sx = 0; sx < 4; sx++) hits += +inSparkle((x + (sx + 0.5) / 4 - cx) * inv, (y + (sy + 0.5) / 4 - cy) * inv);
        }
        c = hits / 16;
      }
      const i = y * cw + x;
      if (c > cov[i]!) cov[i] = c;
    }
  }
}

/** Coverage of the white ink (sparkle and text) over the badge rectangle. */
function inkCoverage(width: number, height: number, cap: number): Float32Array {
  const cov = new Float32Array(width * height);
  const baseline = Math.round(height / 2 + BASELINE_DROP * cap);
  const sparkleRadius = SPARKLE_RADIUS * cap;
  addSparkle(cov, width, height, (PAD_X + SPARKLE_RADIUS) * cap, baseline - SPARKLE_Y * cap, sparkleRadius);
  const textX = (PAD_X + 2 * SPARKLE_RADIUS + SPARKLE_GAP - LAYOUT.inkLeft) * cap;
  for (const { glyph, x } of LAYOUT.glyphs) {
    for (const stroke of glyph.strokes) {
      addStroke(cov, width, height, stroke.points, stroke.closed, stroke.clip, textX + x * cap, baseline, cap);
    }
  }
  return cov;
}

/**
 * Draws the label into a copy of the image at that placement (or the chosen one) and returns the
 * copy, with the placement used. Only the badge rectangle changes: the picture there is darkened by
 * a black badge at 60% opacity with rounded, anti-aliased corners, then the sparkle and the text are
 * drawn over it in opaque white. Works on RGB, RGBA and grey images; in RGBA the alpha under the badge
 * becomes opaque and elsewhere is kept. A picture too small for a label (shorter side under 96 px, see
 * `placeAiLabel`) comes back as an unchanged copy with a placement of width and height 0, as does a
 * given placement of width or height 0. The label's size depends only on the image's size, so every
 * frame of a video gets the same one: place it once and pass that placement for each frame.
 */
export function drawAiLabel(
  image: RawImage,
  faces: readonly FaceBox[],
  placement?: LabelPlacement,
): { image: RawImage; placement: LabelPlacement } {
  const out: RawImage = { width: image.width, height: image.height, channels: image.channels, data: image.data.slice() };
  const used = resolvePlacement(image, faces, placement);
  const size = labelSize(image.width, image.height);
  if (!size || used.width === 0 || used.height === 0) return { image: out, placement: used };

  const { width: bw, height: bh, cap } = size;
  const shape = badgeCoverage(bw, bh, CORNER_RADIUS * cap);
  const ink = inkCoverage(bw, bh, cap);
  const channels = image.channels;
  const colours = channels === 4 ? 3 : channels;
  const data = out.data;
  for (let y = 0; y < bh; y++) {
    let o = ((used.y + y) * image.width + used.x) * channels;
    for (let x = 0; x < bw; x++, o += channels) {
      const i = y * bw + x;
      const s = shape[i]!;
      if (s === 0) continue;
      const keep = 1 - BADGE_OPACITY * s;
      const t = ink[i]! * s;
      for (let k = 0; k < colours; k++) {
        const dark = data[o + k]! * keep;
        data[o + k] = dark + (255 - dark) * t + 0.5;
      }
      if (channels === 4) data[o + 3] = data[o + 3]! + (255 - data[o + 3]!) * s + 0.5;
    }
  }
  return { image: out, placement: used };
}
