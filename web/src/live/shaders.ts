/**
 * GLSL ES 3.0 sources of the live camera styles: model-free filters cheap enough to run on every
 * camera frame, even on a software GL (a 640x480 frame is 307 200 fragments per full-size pass).
 *
 * Every style but 'original' runs three passes, and the expensive work happens at half size, where
 * a fragment costs a quarter of a full-size one:
 * 1. smooth (half size): an edge-preserving smoothing of the camera frame that flattens skin texture
 *    and sensor noise and keeps outlines, as the CPU styles' domain-transform filter does;
 * 2. analyse (half size): the smoothed frame in OKLab plus an edge strength (a Sobel of its
 *    lightness, or its local contrast), packed into one RGBA texture;
 * 3. draw (full size): one bilinear tap of the analysis (upsampling is a free extra blur, and
 *    thresholds applied to the interpolated edge strength give smooth, anti-aliased lines), then the
 *    style's colour work and procedural textures.
 *
 * 'cel' and 'watercolor' approximate in real time the product's CPU filters of the same names
 * (src/core/procedural/cel.ts and watercolor.ts): the same steps in the same colour space (OKLab),
 * with fixed instead of image-adaptive band values and a few texture taps instead of wide filters.
 *
 * Conventions: `v_uv` is (0, 0) at the top-left of the camera frame, textures hold rows top first
 * (as `texImage2D(video)` uploads them, without UNPACK_FLIP_Y), `u_size` is the frame's size in
 * pixels. Texture units: 0 the camera frame, 1 the smoothed frame, 2 the analysis, 3 the paper
 * texture (paper.ts), 4 face overlays.
 */

/** A model-free style listed on the page (the background / whole-frame filter). */
export interface ShaderStyle {
  readonly id: string;
  readonly label: string;
}

/** Every shader style, in the order the page lists them. */
export const SHADER_STYLES: readonly ShaderStyle[] = [
  { id: 'original', label: 'Camera (no filter)' },
  { id: 'cel', label: 'Cel shading' },
  { id: 'watercolor', label: 'Watercolour' },
  { id: 'comic', label: 'Comic ink and halftone' },
  { id: 'sketch', label: 'Pencil sketch' },
];

/** Settings of the half-size passes of a style. */
export interface AnalysisSettings {
  /** Spacing of the smoothing taps, in frame pixels. */
  readonly radius: number;
  /** Colour range of the smoothing, as 1 / (2σ²) over RGB differences: higher keeps more edges. */
  readonly range: number;
  /** 0: edge strength is the Sobel gradient magnitude; 1: the local contrast (no gap in thin strokes). */
  readonly contrastEdges: number;
}

/** The GLSL and settings of one style: `analysis` absent means the camera frame is drawn directly. */
export interface StyleProgram {
  readonly analysis?: AnalysisSettings | undefined;
  readonly draw: string;
}

/**
 * Full-screen triangle without vertex buffers (positions from gl_VertexID). `u_flipY` is 1 when
 * drawing into the canvas (whose row 0 is the bottom) and 0 when drawing into a texture.
 */
export const FULLSCREEN_VERTEX = /* glsl */ `#version 300 es
uniform float u_flipY;
out vec2 v_uv;
void main() {
  vec2 p = vec2(float((gl_VertexID << 1) & 2), float(gl_VertexID & 2));
  gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
  v_uv = vec2(p.x, mix(p.y, 1.0 - p.y, u_flipY));
}
`;

/**
 * A face overlay's quad: the corners of the crop (0..u_cropSize) mapped by u_cropToClip (crop pixels
 * to clip space, computed on the CPU from the inverse of the overlay's frameToCrop affine).
 */
export const OVERLAY_VERTEX = /* glsl */ `#version 300 es
uniform mat3 u_cropToClip;
uniform vec2 u_cropSize;
out vec2 v_uv;
void main() {
  vec2 corner = vec2(float(gl_VertexID & 1), float(gl_VertexID >> 1));
  vec3 clip = u_cropToClip * vec3(corner * u_cropSize, 1.0);
  gl_Position = vec4(clip.xy, 0.0, 1.0);
  v_uv = corner;
}
`;

/** The stylized face crop, blended by its own (straight, not premultiplied) alpha. */
export const OVERLAY_FRAGMENT = /* glsl */ `#version 300 es
precision highp float;
uniform sampler2D u_image;
in vec2 v_uv;
out vec4 outColor;
void main() {
  outColor = texture(u_image, v_uv);
}
`;

const HEADER = /* glsl */ `#version 300 es
precision highp float;
precision highp sampler2D;
in vec2 v_uv;
out vec4 outColor;
uniform vec2 u_size;
`;

/**
 * sRGB <-> OKLab (Björn Ottosson's matrices). The transfer curve is approximated by a gamma of 2
 * (square and square root: no pow, which a software GL computes slowly); the error is far below
 * what the styles change.
 */
const COLOUR = /* glsl */ `
const vec3 LUMA = vec3(0.299, 0.587, 0.114);
/** a and b are stored as ab * AB_SCALE + 0.5 in the analysis texture. */
const float AB_SCALE = 1.5;

vec3 oklabFromRgb(vec3 srgb) {
  vec3 c = srgb * srgb;
  vec3 lms = mat3(0.4122214708, 0.2119034982, 0.0883024619,
                  0.5363325363, 0.6806995451, 0.2817188376,
                  0.0514459929, 0.1073969566, 0.6299787005) * c;
  lms = pow(max(lms, vec3(1e-7)), vec3(1.0 / 3.0));
  return mat3(0.2104542553, 1.9779984951, 0.0259040371,
              0.7936177850, -2.4285922050, 0.7827717662,
              -0.0040720468, 0.4505937099, -0.8086757660) * lms;
}

vec3 rgbFromOklab(vec3 lab) {
  vec3 lms = mat3(1.0, 1.0, 1.0,
                  0.3963377774, -0.1055613458, -0.0894841775,
                  0.2158037573, -0.0638541728, -1.2914855480) * lab;
  lms = lms * lms * lms;
  vec3 c = mat3(4.0767416621, -1.2684380046, -0.0041960863,
                -3.3077115913, 2.6097574011, -0.7034186147,
                0.2309699292, -0.3413193965, 1.7076147010) * lms;
  return sqrt(clamp(c, 0.0, 1.0));
}

/**
 * Lightness quantised into bands of width 1/levels, anti-aliased over ±aa (in band units) at the
 * band borders, moved by at most maxShift so a trace of the shading survives inside a band (as
 * bands.ts caps it in the CPU styles).
 */
float bands(float L, float levels, float aa, float maxShift) {
  float x = L * levels;
  float border = floor(x + 0.5);
  float q = (border + smoothstep(-aa, aa, x - border) - 0.5) / levels;
  return L + clamp(q - L, -maxShift, maxShift);
}
`;

/** The analysis at this fragment: OKLab colour of the smoothed frame, and the edge strength. */
const ANALYSIS_READ = /* glsl */ `
uniform sampler2D u_analysis;
void readAnalysis(out vec3 lab, out float edge) {
  vec4 s = texture(u_analysis, v_uv);
  lab = vec3(s.x, (s.yz - 0.5) / AB_SCALE);
  edge = s.w;
}
`;

/**
 * Pass 1, half size: a 9-tap cross-bilateral smoothing of the camera frame. Taps `u_radius` frame
 * pixels apart land between texels, so each bilinear tap already averages a 2x2 block; neighbours
 * whose colour differs from the centre's weigh less, so outlines stay sharp while skin texture and
 * noise flatten.
 */
export const SMOOTH_FRAGMENT = /* glsl */ `${HEADER}
uniform sampler2D u_camera;
uniform float u_radius;
uniform float u_range;
const vec2 TAPS[8] = vec2[8](vec2(-1.0, -1.0), vec2(0.0, -1.0), vec2(1.0, -1.0), vec2(-1.0, 0.0),
                             vec2(1.0, 0.0), vec2(-1.0, 1.0), vec2(0.0, 1.0), vec2(1.0, 1.0));
void main() {
  vec2 t = u_radius / u_size;
  vec3 centre = texture(u_camera, v_uv).rgb;
  vec3 sum = centre;
  float weights = 1.0;
  for (int i = 0; i < 8; i++) {
    vec3 c = texture(u_camera, v_uv + TAPS[i] * t).rgb;
    vec3 d = c - centre;
    float w = exp(-dot(d, d) * u_range);
    sum += c * w;
    weights += w;
  }
  outColor = vec4(sum / weights, 1.0);
}
`;

/**
 * Pass 2, half size: four bilinear taps half a texel off diagonally cover the 3x3 neighbourhood,
 * and together they make a Sobel operator (each tap is a 2x2 mean) and a tent-blurred colour.
 * Output: OKLab L, a and b (scaled into 0..1) and the edge strength.
 */
export const ANALYSE_FRAGMENT = /* glsl */ `${HEADER}${COLOUR}
uniform sampler2D u_smooth;
uniform vec2 u_texel;
uniform float u_contrastEdges;
void main() {
  vec2 t = 0.5 * u_texel;
  vec3 tl = texture(u_smooth, v_uv + vec2(-t.x, -t.y)).rgb;
  vec3 tr = texture(u_smooth, v_uv + vec2(t.x, -t.y)).rgb;
  vec3 bl = texture(u_smooth, v_uv + vec2(-t.x, t.y)).rgb;
  vec3 br = texture(u_smooth, v_uv + vec2(t.x, t.y)).rgb;
  vec4 l = vec4(dot(tl, LUMA), dot(tr, LUMA), dot(bl, LUMA), dot(br, LUMA));
  // Sobel, normalised so that a step of c in lightness answers about c.
  float gx = l.y + l.w - l.x - l.z;
  float gy = l.z + l.w - l.x - l.y;
  float sobel = length(vec2(gx, gy));
  float contrast = max(max(l.x, l.y), max(l.z, l.w)) - min(min(l.x, l.y), min(l.z, l.w));
  vec3 lab = oklabFromRgb(0.25 * (tl + tr + bl + br));
  outColor = vec4(lab.x, lab.yz * AB_SCALE + 0.5, mix(sobel, contrast, u_contrastEdges));
}
`;

/** 'original': the camera frame unchanged. */
const ORIGINAL = /* glsl */ `${HEADER}
uniform sampler2D u_camera;
void main() {
  outColor = vec4(texture(u_camera, v_uv).rgb, 1.0);
}
`;

/**
 * 'cel' (real-time counterpart of src/core/procedural/cel.ts): on the smoothed frame, OKLab
 * lightness quantised into 6 bands with hue and chroma kept, a little extra chroma, and ink where
 * the smoothed lightness changes sharply (the Sobel of the half-size analysis, whose smoothing acts
 * as the blur of a difference of gaussians), darkening the local colour rather than painting black.
 */
const CEL = /* glsl */ `${HEADER}${COLOUR}${ANALYSIS_READ}
void main() {
  vec3 lab;
  float edge;
  readAnalysis(lab, edge);
  lab.x = bands(lab.x, 6.0, 0.12, 0.07);
  lab.yz *= 1.12;
  float ink = smoothstep(0.045, 0.1, edge);
  lab.x *= 1.0 - 0.82 * ink;
  lab.yz *= 1.0 - 0.6 * ink;
  outColor = vec4(rgbFromOklab(lab), 1.0);
}
`;

/** The paper texture (paper.ts): R turbulence, G granulation, B grain, pinned to the frame. */
const PAPER_READ = /* glsl */ `
uniform sampler2D u_paper;
uniform vec2 u_paperSize;
vec4 paperAt(vec2 uv) {
  return texture(u_paper, uv * u_size / u_paperSize);
}
`;

/**
 * 'watercolor' (real-time counterpart of src/core/procedural/watercolor.ts): washes from the
 * smoothed frame (smoothed wider than for cel, so colours bleed); lightness in 5 soft glaze layers
 * whose borders wander with low-frequency noise; pigment density from the rims of the washes (their
 * local contrast), turbulence and granulation, applied with Bousseau et al.'s darkening model
 * C' = C - (C - C²)(d - 1); then dilution towards the paper white and paper grain everywhere. The
 * noise comes from a fixed, deterministic paper texture pinned to the frame, as paper would be.
 */
const WATERCOLOR = /* glsl */ `${HEADER}${COLOUR}${ANALYSIS_READ}${PAPER_READ}
void main() {
  vec3 lab;
  float contrast;
  readAnalysis(lab, contrast);
  vec4 paper = paperAt(v_uv);
  float turbulence = paper.r;
  float granulation = paper.g;
  float grain = paper.b;

  lab.x += 0.05 * (turbulence - 0.5);
  lab.x = bands(lab.x, 5.0, 0.25, 0.05);

  // Pigment density (> 1 darkens): uneven pigment, granulation where there is pigment to settle
  // (less on light washes such as skin), and pigment collected at the rims of the washes.
  float rims = 0.6 * smoothstep(0.03, 0.15, contrast);
  float density = 1.0 + 0.35 * (turbulence - 0.5) + 0.5 * (1.0 - lab.x) * (granulation - 0.5) + rims;
  float L = lab.x;
  L = L - (L - L * L) * (density - 1.0);
  const float dilute = 0.22;
  L = L + (1.0 - L) * dilute;
  L *= 1.0 - 0.06 * grain;
  lab.x = L;
  lab.yz *= (1.0 + 0.5 * rims) * (1.0 - 0.6 * dilute);
  vec3 rgb = rgbFromOklab(lab);
  // Warm paper white showing through the thinnest washes.
  rgb *= mix(vec3(1.0), vec3(1.0, 0.985, 0.95), L);
  outColor = vec4(rgb, 1.0);
}
`;

/**
 * 'comic': flat colours in 4 lightness bands with a strong chroma boost, a halftone dot screen
 * (rotated 45°) in the darker bands, and black ink outlines.
 */
const COMIC = /* glsl */ `${HEADER}${COLOUR}${ANALYSIS_READ}
void main() {
  vec3 lab;
  float edge;
  readAnalysis(lab, edge);
  lab.x = bands(lab.x, 4.0, 0.06, 0.2);
  float L = lab.x;
  lab.yz *= 1.45;
  vec3 rgb = rgbFromOklab(lab);

  // Halftone: one dot per 6 px cell on a 45° grid, larger where darker.
  float cell = 6.0 * max(1.0, u_size.y / 480.0);
  vec2 rotated = mat2(0.7071, -0.7071, 0.7071, 0.7071) * (v_uv * u_size) / cell;
  float dist = length(fract(rotated) - 0.5);
  float radius = 0.62 * sqrt(clamp((0.6 - L) / 0.5, 0.0, 1.0));
  float aa = 0.75 / cell;
  float dotMask = 1.0 - smoothstep(radius - aa, radius + aa, dist);
  rgb *= 1.0 - 0.45 * dotMask;

  float ink = smoothstep(0.05, 0.11, edge);
  rgb = mix(rgb, vec3(0.06, 0.05, 0.08), ink);
  outColor = vec4(rgb, 1.0);
}
`;

/**
 * 'sketch': graphite on paper. Outlines where the smoothed lightness changes, diagonal hatching
 * whose lines thicken with darkness, cross-hatching in the shadows, paper grain.
 */
const SKETCH = /* glsl */ `${HEADER}${COLOUR}${ANALYSIS_READ}${PAPER_READ}
float hatch(vec2 px, vec2 direction, float spacing, float tone) {
  float d = abs(fract(dot(px, direction) / spacing) - 0.5) * spacing;
  float width = tone * spacing * 0.4;
  return 1.0 - smoothstep(width - 0.6, width + 0.6, d);
}
void main() {
  vec3 lab;
  float edge;
  readAnalysis(lab, edge);
  float tone = 0.85 * pow(clamp((0.86 - lab.x) / 0.7, 0.0, 1.0), 1.3);
  vec2 px = v_uv * u_size;
  float scale = max(1.0, u_size.y / 480.0);
  float lines = hatch(px, vec2(0.7071, 0.7071), 5.0 * scale, tone);
  lines = max(lines, hatch(px, vec2(0.7071, -0.7071), 6.0 * scale, tone - 0.5));
  float outline = smoothstep(0.05, 0.12, edge);
  vec4 paper = paperAt(v_uv);
  float graphite = max(outline, 0.5 * lines) * (0.8 + 0.4 * paper.g);
  vec3 white = vec3(0.975, 0.965, 0.94) * (1.0 - 0.05 * paper.b);
  outColor = vec4(mix(white, vec3(0.2, 0.2, 0.24), clamp(graphite, 0.0, 1.0)), 1.0);
}
`;

/** Every style in SHADER_STYLES, by id. */
export const STYLE_PROGRAMS: Readonly<Record<string, StyleProgram>> = {
  original: { draw: ORIGINAL },
  cel: { analysis: { radius: 2, range: 60, contrastEdges: 0 }, draw: CEL },
  watercolor: { analysis: { radius: 3, range: 30, contrastEdges: 1 }, draw: WATERCOLOR },
  comic: { analysis: { radius: 2, range: 60, contrastEdges: 0 }, draw: COMIC },
  sketch: { analysis: { radius: 2, range: 40, contrastEdges: 0 }, draw: SKETCH },
};
