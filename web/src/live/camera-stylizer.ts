/**
 * The live display loop: every new camera frame is drawn once, through WebGL2, with a model-free
 * shader style over the whole frame and the latest stylized faces (made asynchronously elsewhere,
 * e.g. by a neural model in a worker) warped onto it. Driven by `requestVideoFrameCallback`, so it
 * runs at the camera's rate and never draws the same frame twice.
 *
 * The drawing buffer is not preserved between frames (nothing needs it): read the canvas (drawImage,
 * toBlob) during the frame that drew it, in `onFrame` or in a `requestVideoFrameCallback` registered
 * on the same video after the stylizer started (those run after the stylizer's own, in the same
 * batch). `canvas.captureStream()` captures every drawn frame either way.
 */
import { LiveRenderer } from './renderer.js';
import { SHADER_STYLES } from './shaders.js';
import { FrameWindow } from './stats.js';

export { SHADER_STYLES } from './shaders.js';

/** Row-major 2x3 affine [a, b, c, d, e, f]: u = a·x + b·y + c, v = d·x + e·y + f. */
export type Affine = readonly [number, number, number, number, number, number];

/** A stylized face to draw over the current frame. */
export interface FaceOverlay {
  /** The stylized face crop, RGBA, square; alpha is the feathered blend mask (0 outside the face). Not premultiplied. */
  readonly image: ImageBitmap;
  /**
   * Maps display-frame pixels (x, y) (0..video width/height, origin top-left) to crop pixels (u, v)
   * of `image`. Continuous coordinates: the crop's corners are (0, 0) and (image.width, image.height).
   */
  readonly frameToCrop: Affine;
  /** Changes whenever `image` changes, so the texture is re-uploaded only then. */
  readonly version: number;
}

/** Supplies the face overlays for the frame being drawn (called once per displayed frame; must be cheap). */
export interface FaceOverlaySource {
  /**
   * `frameTimeMs`: the camera frame's capture time (performance.now() ms) when the browser reports
   * it, else the time it was presented.
   */
  overlays(frameTimeMs: number): readonly FaceOverlay[];
  /** Stylized-face refreshes per second over the last few seconds (0 when none). */
  refreshRate(): number;
}

export interface CameraStylizerOptions {
  /** A playing <video> showing the camera (srcObject = MediaStream). */
  video: HTMLVideoElement;
  /** Where stylized frames are drawn; the stylizer sizes it to the video's size. */
  canvas: HTMLCanvasElement;
  /** One of SHADER_STYLES' ids (the background/whole-frame filter). */
  shaderStyle: string;
  /** Optional neural face overlays drawn on top of the shader-styled frame. */
  faces?: FaceOverlaySource | undefined;
  /** Called after each frame is drawn (frame number from 1, the camera frame's capture time in performance.now() ms when known). */
  onFrame?: ((frame: number, captureTimeMs: number | undefined) => void) | undefined;
}

export interface StylizerStats {
  /** Frames drawn per second over the last ~2 s. */
  displayFps: number;
  /**
   * Mean ms from camera frame capture (requestVideoFrameCallback metadata.captureTime, else
   * receiveTime for a remote stream, else the presentation time) to the end of drawing it (the draw
   * calls issued), over the last ~2 s.
   */
  latencyMs: number;
  /** Total frames drawn. */
  frames: number;
  /** faces?.refreshRate() or 0. */
  faceRefreshPerSecond: number;
}

export interface CameraStylizer {
  readonly canvas: HTMLCanvasElement;
  /** Throws RangeError for an id not in SHADER_STYLES. */
  setShaderStyle(id: string): void;
  setFaces(source: FaceOverlaySource | undefined): void;
  stats(): StylizerStats;
  /** Stops the loop and frees the GL resources. */
  stop(): void;
}

const NO_OVERLAYS: readonly FaceOverlay[] = [];

function checkStyle(id: string): void {
  if (!SHADER_STYLES.some((style) => style.id === id)) {
    throw new RangeError(`Unknown camera style "${id}" (known: ${SHADER_STYLES.map((s) => s.id).join(', ')})`);
  }
}

export function startCameraStylizer(options: CameraStylizerOptions): CameraStylizer {
  const { video, canvas } = options;
  checkStyle(options.shaderStyle);
  if (typeof video.requestVideoFrameCallback !== 'function') {
    throw new Error(
      'This browser cannot follow the camera frame by frame (no requestVideoFrameCallback): try a current Chrome, Edge, Safari or Firefox.',
    );
  }
  const renderer = new LiveRenderer(canvas, options.shaderStyle);
  const onFrame = options.onFrame;
  const recent = new FrameWindow(2000);
  let faces = options.faces;
  let frames = 0;
  let stopped = false;
  let lastPresented = -1;
  let handle = 0;

  const draw: VideoFrameRequestCallback = (_now, metadata) => {
    if (stopped) return;
    handle = video.requestVideoFrameCallback(draw);
    // One draw per camera frame: a callback for a frame already drawn is skipped.
    if (metadata.presentedFrames === lastPresented) return;
    lastPresented = metadata.presentedFrames;
    const captureTime = metadata.captureTime;
    const frameTime = captureTime ?? metadata.receiveTime ?? metadata.presentationTime;
    const overlays = faces?.overlays(frameTime) ?? NO_OVERLAYS;
    if (!renderer.draw(video, metadata.width, metadata.height, overlays)) return;
    frames++;
    const drawn = performance.now();
    recent.add(drawn, drawn - frameTime);
    onFrame?.(frames, captureTime);
  };
  handle = video.requestVideoFrameCallback(draw);

  return {
    canvas,
    setShaderStyle(id: string): void {
      checkStyle(id);
      renderer.setStyle(id);
    },
    setFaces(source: FaceOverlaySource | undefined): void {
      faces = source;
    },
    stats(): StylizerStats {
      const { fps, latencyMs } = recent.summary(performance.now());
      return { displayFps: fps, latencyMs, frames, faceRefreshPerSecond: faces?.refreshRate() ?? 0 };
    },
    stop(): void {
      if (stopped) return;
      stopped = true;
      video.cancelVideoFrameCallback(handle);
      renderer.dispose();
    },
  };
}

/** Opens the camera (no sound): 640x480 at 30 frames per second unless asked otherwise; clear messages when it cannot. */
export async function openCamera(constraints: { width?: number; height?: number; frameRate?: number } = {}): Promise<MediaStream> {
  const { width = 640, height = 480, frameRate = 30 } = constraints;
  if (!navigator.mediaDevices?.getUserMedia) {
    throw new Error('This browser cannot use a camera on this page: it needs a secure connection (https:// or localhost).');
  }
  try {
    return await navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { width: { ideal: width }, height: { ideal: height }, frameRate: { ideal: frameRate }, facingMode: 'user' },
    });
  } catch (error) {
    throw new Error(cameraErrorMessage(error), { cause: error });
  }
}

function cameraErrorMessage(error: unknown): string {
  const name = error instanceof DOMException || error instanceof Error ? error.name : '';
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'Camera access was denied. Allow the camera for this site (the camera icon in the address bar) and try again.';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'No camera was found. Connect a camera, or check that one is turned on, and try again.';
    case 'NotReadableError':
    case 'AbortError':
      return 'The camera could not be started: another app may be using it. Close that app and try again.';
    default:
      return `The camera could not be opened${error instanceof Error && error.message ? `: ${error.message}` : '.'}`;
  }
}
