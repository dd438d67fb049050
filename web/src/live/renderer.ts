/**
 * Draws camera frames through WebGL2: the frame uploaded as a texture, the selected shader style
 * (two half-size analysis passes and one full-size pass, see shaders.ts), then each stylized face
 * overlay as a quad warped onto the frame and blended by its alpha.
 *
 * Everything is created once (programs for every style, textures, the half-size framebuffers) and
 * only resized when the frame size changes; an overlay's texture is re-uploaded only when its
 * `version` (or its image) changes. After a lost context (`webglcontextlost`), drawing is skipped
 * until the browser restores it, then everything is created again.
 */
import type { Affine, FaceOverlay } from './camera-stylizer.js';
import { PAPER_SIZE, paperTexels } from './paper.js';
import {
  ANALYSE_FRAGMENT,
  FULLSCREEN_VERTEX,
  OVERLAY_FRAGMENT,
  OVERLAY_VERTEX,
  SMOOTH_FRAGMENT,
  STYLE_PROGRAMS,
  type AnalysisSettings,
} from './shaders.js';

export interface RendererOptions {
  /** Keep the drawn frame readable after it has been shown (costs a copy per frame). */
  preserveDrawingBuffer?: boolean | undefined;
}

interface Program {
  readonly program: WebGLProgram;
  readonly uniforms: ReadonlyMap<string, WebGLUniformLocation>;
}

interface OverlaySlot {
  readonly texture: WebGLTexture;
  image: ImageBitmap | undefined;
  version: number;
}

/** A half-size texture and the framebuffer that draws into it. */
interface Target {
  readonly texture: WebGLTexture;
  readonly framebuffer: WebGLFramebuffer;
}

interface Resources {
  readonly draw: ReadonlyMap<string, Program>;
  readonly smooth: Program;
  readonly analyse: Program;
  readonly overlay: Program;
  readonly camera: WebGLTexture;
  readonly smoothed: Target;
  readonly analysis: Target;
  readonly paper: WebGLTexture;
  readonly vao: WebGLVertexArrayObject;
  readonly slots: OverlaySlot[];
  /** Size the camera texture and the half-size targets were allocated for (0 before the first frame). */
  width: number;
  height: number;
}

/** Texture units, assigned once: each texture stays bound to its own. */
const UNITS = { u_camera: 0, u_smooth: 1, u_analysis: 2, u_paper: 3, u_image: 4 } as const;

export class LiveRenderer {
  readonly canvas: HTMLCanvasElement;
  private readonly gl: WebGL2RenderingContext;
  private resources: Resources | undefined;
  private style: string;
  private lost = false;
  private disposed = false;
  /** Scratch for the overlays' crop → clip matrices. */
  private readonly matrix = new Float32Array(9);
  private readonly onLost = (event: Event): void => {
    // Without preventDefault the browser never restores the context.
    event.preventDefault();
    this.lost = true;
    this.resources = undefined;
  };
  private readonly onRestored = (): void => {
    this.lost = false;
    if (!this.disposed) this.resources = this.create();
  };

  constructor(canvas: HTMLCanvasElement, style: string, options: RendererOptions = {}) {
    if (!(style in STYLE_PROGRAMS)) throw new RangeError(`Unknown camera style "${style}"`);
    const gl = canvas.getContext('webgl2', {
      alpha: false,
      antialias: false,
      depth: false,
      stencil: false,
      premultipliedAlpha: false,
      preserveDrawingBuffer: options.preserveDrawingBuffer ?? false,
      powerPreference: 'high-performance',
    });
    if (!gl) throw new Error('This browser cannot draw the live styles: WebGL 2 is not available (it may be turned off in its settings).');
    this.canvas = canvas;
    this.gl = gl;
    this.style = style;
    canvas.addEventListener('webglcontextlost', this.onLost);
    canvas.addEventListener('webglcontextrestored', this.onRestored);
    this.lost = gl.isContextLost();
    if (!this.lost) this.resources = this.create();
  }

  /** Selects one of STYLE_PROGRAMS' ids; throws RangeError for an unknown one. */
  setStyle(id: string): void {
    if (!(id in STYLE_PROGRAMS)) throw new RangeError(`Unknown camera style "${id}"`);
    this.style = id;
  }

  /**
   * Draws one frame of `source` (`width` x `height`, the canvas is sized to it) with the current
   * style, then the overlays. Returns false when nothing could be drawn (context lost).
   */
  draw(source: TexImageSource, width: number, height: number, overlays: readonly FaceOverlay[]): boolean {
    const r = this.resources;
    // isContextLost() turns true at once; the webglcontextlost event comes a task later, and a frame
    // drawn in between would be drawn into nothing.
    if (this.lost || this.disposed || !r || width <= 0 || height <= 0 || this.gl.isContextLost()) return false;
    const gl = this.gl;
    if (this.canvas.width !== width) this.canvas.width = width;
    if (this.canvas.height !== height) this.canvas.height = height;

    // The camera frame: texSubImage2D into the allocated texture, texImage2D when the size changes.
    gl.activeTexture(gl.TEXTURE0 + UNITS.u_camera);
    if (r.width !== width || r.height !== height) {
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, gl.RGBA, gl.UNSIGNED_BYTE, source);
      this.resizeTargets(r, width, height);
    } else {
      gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, gl.RGBA, gl.UNSIGNED_BYTE, source);
    }

    const style = STYLE_PROGRAMS[this.style]!;
    gl.bindVertexArray(r.vao);
    gl.disable(gl.BLEND);
    if (style.analysis) this.analyse(r, style.analysis, width, height);
    const program = r.draw.get(this.style)!;
    gl.viewport(0, 0, width, height);
    gl.useProgram(program.program);
    setFloat(gl, program, 'u_flipY', 1);
    setVec2(gl, program, 'u_size', width, height);
    setVec2(gl, program, 'u_paperSize', PAPER_SIZE, PAPER_SIZE);
    gl.drawArrays(gl.TRIANGLES, 0, 3);

    if (overlays.length > 0) this.drawOverlays(r, overlays, width, height);
    return true;
  }

  /** Frees every GL resource (the context itself stays with the canvas). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.canvas.removeEventListener('webglcontextlost', this.onLost);
    this.canvas.removeEventListener('webglcontextrestored', this.onRestored);
    const r = this.resources;
    this.resources = undefined;
    if (!r || this.lost) return;
    const gl = this.gl;
    for (const program of [...r.draw.values(), r.smooth, r.analyse, r.overlay]) gl.deleteProgram(program.program);
    const textures = [r.camera, r.smoothed.texture, r.analysis.texture, r.paper, ...r.slots.map((slot) => slot.texture)];
    for (const texture of textures) gl.deleteTexture(texture);
    gl.deleteFramebuffer(r.smoothed.framebuffer);
    gl.deleteFramebuffer(r.analysis.framebuffer);
    gl.deleteVertexArray(r.vao);
  }

  /** The two half-size passes: smoothing, then colour and edges (see shaders.ts). */
  private analyse(r: Resources, settings: AnalysisSettings, width: number, height: number): void {
    const gl = this.gl;
    const halfWidth = Math.ceil(width / 2);
    const halfHeight = Math.ceil(height / 2);
    gl.viewport(0, 0, halfWidth, halfHeight);
    gl.bindFramebuffer(gl.FRAMEBUFFER, r.smoothed.framebuffer);
    gl.useProgram(r.smooth.program);
    setFloat(gl, r.smooth, 'u_flipY', 0);
    setVec2(gl, r.smooth, 'u_size', width, height);
    setFloat(gl, r.smooth, 'u_radius', settings.radius);
    setFloat(gl, r.smooth, 'u_range', settings.range);
    gl.drawArrays(gl.TRIANGLES, 0, 3);
    gl.bindFramebuffer(gl.FRAMEBUFFER, r.analysis.framebuffer);
    gl.useProgram(r.analyse.program);
    setFloat(gl, r.analyse, 'u_flipY', 0);
    setVec2(gl, r.analyse, 'u_size', width, height);
    setVec2(gl, r.analyse, 'u_texel', 1 / halfWidth, 1 / halfHeight);
    setFloat(gl, r.analyse, 'u_contrastEdges', settings.contrastEdges);
    gl.drawArrays(gl.TRIANGLES, 0, 3);
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
  }

  private drawOverlays(r: Resources, overlays: readonly FaceOverlay[], width: number, height: number): void {
    const gl = this.gl;
    gl.enable(gl.BLEND);
    gl.blendFunc(gl.SRC_ALPHA, gl.ONE_MINUS_SRC_ALPHA);
    gl.useProgram(r.overlay.program);
    gl.activeTexture(gl.TEXTURE0 + UNITS.u_image);
    for (let i = 0; i < overlays.length; i++) {
      const overlay = overlays[i]!;
      const toClip = cropToClip(overlay.frameToCrop, width, height, this.matrix);
      if (!toClip) continue; // a degenerate affine maps the crop onto nothing
      const slot = r.slots[i] ?? this.addSlot(r);
      gl.bindTexture(gl.TEXTURE_2D, slot.texture);
      if (slot.image !== overlay.image || slot.version !== overlay.version) {
        // Straight alpha in, straight alpha sampled: blended with SRC_ALPHA, ONE_MINUS_SRC_ALPHA.
        gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, gl.RGBA, gl.UNSIGNED_BYTE, overlay.image);
        slot.image = overlay.image;
        slot.version = overlay.version;
      }
      gl.uniformMatrix3fv(r.overlay.uniforms.get('u_cropToClip') ?? null, false, toClip);
      setVec2(gl, r.overlay, 'u_cropSize', overlay.image.width, overlay.image.height);
      gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
    }
    gl.disable(gl.BLEND);
  }

  private addSlot(r: Resources): OverlaySlot {
    // Created on unit u_image, which is active while overlays are drawn.
    const slot: OverlaySlot = { texture: this.texture(this.gl.CLAMP_TO_EDGE), image: undefined, version: Number.NaN };
    r.slots.push(slot);
    return slot;
  }

  /** Resizes the half-size targets (each texture stays bound to its own unit). */
  private resizeTargets(r: Resources, width: number, height: number): void {
    const gl = this.gl;
    for (const unit of [UNITS.u_smooth, UNITS.u_analysis]) {
      gl.activeTexture(gl.TEXTURE0 + unit);
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, Math.ceil(width / 2), Math.ceil(height / 2), 0, gl.RGBA, gl.UNSIGNED_BYTE, null);
    }
    r.width = width;
    r.height = height;
  }

  /** A new texture with linear filtering, bound to the active unit. */
  private texture(wrap: number): WebGLTexture {
    const gl = this.gl;
    const texture = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, texture);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.LINEAR);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.LINEAR);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, wrap);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, wrap);
    return texture;
  }

  /** A half-size render target on `unit` (1x1 until the first frame gives the size). */
  private target(unit: number): Target {
    const gl = this.gl;
    gl.activeTexture(gl.TEXTURE0 + unit);
    const texture = this.texture(gl.CLAMP_TO_EDGE);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, 1, 1, 0, gl.RGBA, gl.UNSIGNED_BYTE, null);
    const framebuffer = gl.createFramebuffer();
    gl.bindFramebuffer(gl.FRAMEBUFFER, framebuffer);
    gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, texture, 0);
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    return { texture, framebuffer };
  }

  private create(): Resources {
    const gl = this.gl;
    const draw = new Map<string, Program>();
    for (const [id, style] of Object.entries(STYLE_PROGRAMS)) draw.set(id, this.program(FULLSCREEN_VERTEX, style.draw, id));
    const smooth = this.program(FULLSCREEN_VERTEX, SMOOTH_FRAGMENT, 'smoothing');
    const analyse = this.program(FULLSCREEN_VERTEX, ANALYSE_FRAGMENT, 'analysis');
    const overlay = this.program(OVERLAY_VERTEX, OVERLAY_FRAGMENT, 'face overlay');
    // Straight alpha everywhere: camera frames are opaque, overlays are blended by their own alpha.
    gl.pixelStorei(gl.UNPACK_PREMULTIPLY_ALPHA_WEBGL, false);

    gl.activeTexture(gl.TEXTURE0 + UNITS.u_paper);
    const paper = this.texture(gl.REPEAT);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, PAPER_SIZE, PAPER_SIZE, 0, gl.RGBA, gl.UNSIGNED_BYTE, paperTexels());
    const smoothed = this.target(UNITS.u_smooth);
    const analysis = this.target(UNITS.u_analysis);
    gl.activeTexture(gl.TEXTURE0 + UNITS.u_camera);
    const camera = this.texture(gl.CLAMP_TO_EDGE);
    const vao = gl.createVertexArray();
    return { draw, smooth, analyse, overlay, camera, smoothed, analysis, paper, vao, slots: [], width: 0, height: 0 };
  }

  private program(vertexSource: string, fragmentSource: string, name: string): Program {
    const gl = this.gl;
    const program = gl.createProgram();
    const shaders = [this.shader(gl.VERTEX_SHADER, vertexSource, name), this.shader(gl.FRAGMENT_SHADER, fragmentSource, name)];
    for (const shader of shaders) gl.attachShader(program, shader);
    gl.linkProgram(program);
    for (const shader of shaders) gl.deleteShader(shader);
    if (!gl.getProgramParameter(program, gl.LINK_STATUS) && !gl.isContextLost()) {
      throw new Error(`The ${name} shaders do not link: ${gl.getProgramInfoLog(program) ?? ''}`);
    }
    const uniforms = new Map<string, WebGLUniformLocation>();
    const count = (gl.getProgramParameter(program, gl.ACTIVE_UNIFORMS) as number | null) ?? 0;
    for (let i = 0; i < count; i++) {
      const info = gl.getActiveUniform(program, i);
      if (!info) continue;
      const location = gl.getUniformLocation(program, info.name);
      if (location) uniforms.set(info.name.replace(/\[0\]$/, ''), location);
    }
    // Samplers point at their fixed units once and for all.
    gl.useProgram(program);
    for (const [name, unit] of Object.entries(UNITS)) {
      const location = uniforms.get(name);
      if (location) gl.uniform1i(location, unit);
    }
    return { program, uniforms };
  }

  private shader(type: number, source: string, name: string): WebGLShader {
    const gl = this.gl;
    const shader = gl.createShader(type);
    if (!shader) throw new Error('Could not create a WebGL shader (the context may be lost).');
    gl.shaderSource(shader, source);
    gl.compileShader(shader);
    if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS) && !gl.isContextLost()) {
      throw new Error(`The ${name} shader does not compile: ${gl.getShaderInfoLog(shader) ?? ''}`);
    }
    return shader;
  }
}

function setFloat(gl: WebGL2RenderingContext, program: Program, name: string, value: number): void {
  const location = program.uniforms.get(name);
  if (location) gl.uniform1f(location, value);
}

function setVec2(gl: WebGL2RenderingContext, program: Program, name: string, x: number, y: number): void {
  const location = program.uniforms.get(name);
  if (location) gl.uniform2f(location, x, y);
}

/**
 * The column-major 3x3 matrix taking crop pixels (u, v) to clip space: the inverse of `frameToCrop`
 * (crop → frame pixels, origin top-left), then frame pixels to clip coordinates (y up). Undefined
 * when `frameToCrop` cannot be inverted.
 */
export function cropToClip(frameToCrop: Affine, width: number, height: number, out = new Float32Array(9)): Float32Array | undefined {
  const [a, b, c, d, e, f] = frameToCrop;
  const det = a * e - b * d;
  if (!Number.isFinite(det) || Math.abs(det) < 1e-12) return undefined;
  // x = ia·u + ib·v + ic, y = id·u + ie·v + if_
  const ia = e / det;
  const ib = -b / det;
  const id = -d / det;
  const ie = a / det;
  const ic = -(ia * c + ib * f);
  const if_ = -(id * c + ie * f);
  // X = 2x/width - 1, Y = 1 - 2y/height
  const sx = 2 / width;
  const sy = -2 / height;
  out[0] = sx * ia;
  out[1] = sy * id;
  out[2] = 0;
  out[3] = sx * ib;
  out[4] = sy * ie;
  out[5] = 0;
  out[6] = sx * ic - 1;
  out[7] = sy * if_ + 1;
  out[8] = 1;
  return out;
}
