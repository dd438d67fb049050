/**
 * The glyphs of the visible "AI-generated" label, hand-written as stroke centre lines.
 *
 * Why hand-written: the label is drawn by the platform-neutral core, in Node, in the browser worker
 * and into every frame of a video, where no font files, font rasterizer or canvas can be assumed.
 * A handful of monoline strokes for exactly the characters the label needs draws the same label
 * everywhere, pixel for pixel, at any size, with nothing installed.
 *
 * Design: a geometric sans-serif (round single-storey a, d and g, circular bowls slightly squared),
 * drawn with one stroke weight and flat (butt) stroke ends. Units: the cap height is 1, y points up
 * from the baseline, x starts at the glyph's origin; each stroke is a polyline of centre points
 * (curves are flattened here, once) that the renderer widens by `STROKE_WIDTH`.
 */

/** Stroke weight in cap heights (a semi-bold weight that survives being shown as a small thumbnail). */
export const STROKE_WIDTH = 0.16;
/** Lowest point of any glyph (the tail of the g), in cap heights below the baseline. */
export const DESCENDER = 0.28;

export interface GlyphStroke {
  /** Centre line as x, y pairs in font units. */
  readonly points: readonly number[];
  /** A closed stroke (a bowl) has no ends; an open one ends flat, square to its direction. */
  readonly closed: boolean;
  /** Optional horizontal clip [yMin, yMax] in font units (the flat feet and apex of the A). */
  readonly clip?: readonly [number, number];
}

export interface Glyph {
  /** Pen advance in font units. */
  readonly advance: number;
  readonly strokes: readonly GlyphStroke[];
}

const HALF = STROKE_WIDTH / 2;
/** x-height (outer edge of the flat tops of n, r, a), and the overshoot of round shapes past it and the baseline. */
const X_HEIGHT = 0.72;
const OVERSHOOT = 0.012;
/** Bowl of e, a, d, g: centre line radii and the superellipse exponent (2 = ellipse; higher = squarer). */
const BOWL_RX = 0.225;
const BOWL_RY = X_HEIGHT / 2 + OVERSHOOT - HALF;
const BOWL_CY = X_HEIGHT / 2;
const SQUARENESS = 2.3;
/** Flattening step for curves, in degrees. */
const STEP_DEG = 5;

type Point = readonly [number, number];

/** Points of a superellipse arc from angle `from` to `to` (degrees, counter-clockwise, either direction). */
function arc(cx: number, cy: number, rx: number, ry: number, from: number, to: number, exponent = SQUARENESS): Point[] {
  const steps = Math.max(2, Math.ceil(Math.abs(to - from) / STEP_DEG));
  const power = 2 / exponent;
  const out: Point[] = [];
  for (let i = 0; i <= steps; i++) {
    const angle = ((from + ((to - from) * i) / steps) * Math.PI) / 180;
    const c = Math.cos(angle);
    const s = Math.sin(angle);
    out.push([cx + rx * Math.sign(c) * Math.abs(c) ** power, cy + ry * Math.sign(s) * Math.abs(s) ** power]);
  }
  return out;
}

function stroke(points: readonly Point[], closed = false, clip?: readonly [number, number]): GlyphStroke {
  const flat: number[] = [];
  for (const [x, y] of points) {
    const last = flat.length;
    // Skip repeated points (where an arc meets a line) so every segment has a direction.
    if (last >= 2 && Math.abs(flat[last - 2]! - x) < 1e-9 && Math.abs(flat[last - 1]! - y) < 1e-9) continue;
    flat.push(x, y);
  }
  return clip ? { points: flat, closed, clip } : { points: flat, closed };
}

/** A round bowl (e, a, d, g) centred at x = cx, as a closed stroke. */
function bowl(cx: number): GlyphStroke {
  const points = arc(cx, BOWL_CY, BOWL_RX, BOWL_RY, 0, 360);
  points.pop();
  return stroke(points, true);
}

function glyphA(): Glyph {
  const spread = 0.3;
  const apex = 0.03 + HALF / Math.cos(Math.atan(spread)) + spread;
  const below = 0.2;
  const legs = stroke(
    [
      [apex - spread * (1 + below), -below],
      [apex, 1],
      [apex + spread * (1 + below), -below],
    ],
    false,
    [0, 1],
  );
  const barY = 0.28;
  const barHalf = spread * (1 - barY);
  const bar = stroke([
    [apex - barHalf, barY],
    [apex + barHalf, barY],
  ]);
  return { advance: 2 * apex, strokes: [legs, bar] };
}

/** I with short bars at top and bottom (as in Verdana), so "AI" cannot be read as "Al". */
function glyphI(): Glyph {
  const bar = 0.15;
  const x = 0.06 + bar;
  return {
    advance: 2 * x,
    strokes: [
      stroke([
        [x, 0],
        [x, 1],
      ]),
      stroke([
        [x - bar, 1 - HALF],
        [x + bar, 1 - HALF],
      ]),
      stroke([
        [x - bar, HALF],
        [x + bar, HALF],
      ]),
    ],
  };
}

function glyphHyphen(): Glyph {
  const y = 0.34;
  return {
    advance: 0.48,
    strokes: [
      stroke([
        [0.08, y],
        [0.4, y],
      ]),
    ],
  };
}

/** Single-storey a, d and g: a bowl with a stem on its right; `stemTop` and an optional descending hook. */
function bowlAndStem(stemTop: number, hook: boolean): Glyph {
  const cx = 0.06 + HALF + BOWL_RX;
  const stemX = cx + BOWL_RX;
  const strokes: GlyphStroke[] = [bowl(cx)];
  if (hook) {
    const hookRy = DESCENDER + OVERSHOOT - HALF - 0.02;
    strokes.push(stroke([[stemX, stemTop], ...arc(cx, 0, BOWL_RX, hookRy, 0, -150)]));
  } else {
    strokes.push(
      stroke([
        [stemX, 0],
        [stemX, stemTop],
      ]),
    );
  }
  return { advance: stemX + HALF + 0.09, strokes };
}

function glyphE(): Glyph {
  const cx = 0.06 + HALF + BOWL_RX;
  const bar: Point[] = [
    [cx - BOWL_RX, BOWL_CY],
    [cx + BOWL_RX, BOWL_CY],
  ];
  return { advance: cx + BOWL_RX + HALF + 0.06, strokes: [stroke([...bar, ...arc(cx, BOWL_CY, BOWL_RX, BOWL_RY, 0, 322)])] };
}

/** n: a stem and an arch coming back down to the baseline. */
function glyphN(): Glyph {
  const x0 = 0.09 + HALF;
  const rx = 0.205;
  const ry = 0.25;
  const top = X_HEIGHT + OVERSHOOT - HALF;
  const cy = top - ry;
  const x1 = x0 + 2 * rx;
  return {
    advance: x1 + HALF + 0.09,
    strokes: [
      stroke([
        [x0, 0],
        [x0, X_HEIGHT],
      ]),
      stroke([...arc(x0 + rx, cy, rx, ry, 180, 0), [x1, 0]]),
    ],
  };
}

/** r: a stem and the start of an arch, ending as a short arm. */
function glyphR(): Glyph {
  const x0 = 0.09 + HALF;
  const rx = 0.25;
  const ry = 0.25;
  const top = X_HEIGHT + OVERSHOOT - HALF;
  const cy = top - ry;
  return {
    advance: 0.5,
    strokes: [
      stroke([
        [x0, 0],
        [x0, X_HEIGHT],
      ]),
      stroke(arc(x0 + rx, cy, rx, ry, 180, 72)),
    ],
  };
}

function glyphT(): Glyph {
  const x = 0.19;
  const hook = 0.13;
  return {
    advance: 0.44,
    strokes: [
      stroke([[x, 0.94], [x, HALF + hook], ...arc(x + hook, HALF + hook, hook, hook, 180, 270, 2), [x + hook + 0.07, HALF]]),
      stroke([
        [x - 0.16, X_HEIGHT - HALF],
        [x + 0.2, X_HEIGHT - HALF],
      ]),
    ],
  };
}

/** The glyphs, keyed by character. */
export const LABEL_GLYPHS: Readonly<Record<string, Glyph>> = {
  A: glyphA(),
  I: glyphI(),
  '-': glyphHyphen(),
  g: bowlAndStem(X_HEIGHT, true),
  e: glyphE(),
  n: glyphN(),
  r: glyphR(),
  a: bowlAndStem(X_HEIGHT, false),
  t: glyphT(),
  d: bowlAndStem(1, false),
};

/** Pair kerning in font units, keyed by the two characters. */
export const LABEL_KERNING: Readonly<Record<string, number>> = {
  ra: -0.05,
  te: -0.02,
  'I-': -0.02,
};
