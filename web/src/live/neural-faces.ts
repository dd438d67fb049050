/**
 * The "Neural face styles" of the live page: lists the server's installed styles that have a face
 * model, and when one is chosen starts the face loop (face-loop.ts) on the running camera with two
 * on-device engines, one tracking faces and one stylizing them. Models download once (progress in
 * the status line) and come from Cache Storage afterwards. `?face=<style>` chooses one at start,
 * `?faceSize=<px>` sets the crop size.
 */
import { PortoonWeb, type ModelDownload } from '../../../src/browser/portoon-web.js';
import { loadApiKey } from '../api-key.js';
import { createEngineWorker } from '../device-engine.js';
import { byId } from '../dom.js';
import type { CameraStylizer } from './camera-stylizer.js';
import { FaceLoop, type FaceLoopEngines } from './face-loop.js';
import { renderStyleSwitcher, type StyleOption } from './style-switcher.js';

/**
 * Crop side the faces are stylized at: about five refreshes a second of the cartoon model on two
 * cores (160 px: three), and still finer than the face it covers on a 640x480 camera's picture.
 */
const DEFAULT_CROP_SIZE = 128;
const NONE = 'none';
const DEFAULT_FACE_THREADS = 1;

interface LiveCameraDetail {
  stylizer: CameraStylizer;
  video: HTMLVideoElement;
}

const container = byId('neural-styles');
const status = byId('live-status');
const params = new URLSearchParams(location.search);
const cropSize = Number(params.get('faceSize') ?? DEFAULT_CROP_SIZE);
/** WebAssembly threads of the face model's engine (the tracker always has one). */
const faceThreads = Math.max(1, Number(params.get('faceThreads') ?? DEFAULT_FACE_THREADS) || 1);
let chosen = params.get('face') ?? NONE;
let camera: LiveCameraDetail | undefined;
let loop: FaceLoop | undefined;
let engines: Promise<FaceLoopEngines> | undefined;

function showDownload(download: ModelDownload): void {
  if (download.cached) return;
  const mb = (bytes: number): string => (bytes / 1e6).toFixed(1);
  status.textContent =
    download.loaded < download.total
      ? `Downloading model ${download.model}: ${mb(download.loaded)} of ${mb(download.total)} MB`
      : `Model ${download.model} downloaded; it stays cached for your next visit.`;
}

/**
 * Two engines: tracking needs one thread and must never wait behind a face model run; the
 * stylizer gets the other core.
 */
function startEngines(): Promise<FaceLoopEngines> {
  if (!engines) {
    const apiKey = loadApiKey() ?? undefined;
    const common = { apiKey, createWorker: createEngineWorker, onDownload: showDownload };
    engines = Promise.all([PortoonWeb.create({ ...common, threads: 1 }), PortoonWeb.create({ ...common, threads: faceThreads })]).then(
      ([tracker, stylizer]) => ({ tracker, stylizer }),
    );
    engines.catch(() => {
      engines = undefined;
    });
  }
  return engines;
}

/** The model that redraws a style's faces live: its head model, else its picture model (as core/live-face.ts). */
function faceModelOf(catalogue: PortoonWeb['catalogue'], styleId: string): string | undefined {
  for (const manifest of catalogue.manifests) {
    const style = manifest.styles.find((s) => s.id === styleId);
    if (style) return style.head?.model ?? ('model' in style.background ? style.background.model : undefined);
  }
  return undefined;
}

/** The server's styles whose faces a model can redraw and whose model the server has. */
function faceStyles(catalogue: PortoonWeb['catalogue']): StyleOption[] {
  return catalogue.manifests
    .flatMap((manifest) => manifest.styles)
    .filter((style) => catalogue.styles.includes(style.id))
    .filter((style) => {
      const model = faceModelOf(catalogue, style.id);
      return model !== undefined && Object.hasOwn(catalogue.modelUrls, model);
    })
    .map((style) => ({ id: style.id, label: style.label }));
}

async function choose(style: string): Promise<void> {
  chosen = style;
  if (style === NONE) {
    stopLoop();
    return;
  }
  if (!camera) return;
  const current = camera;
  try {
    const ready = await startEngines();
    if (camera !== current || chosen !== style) return;
    container.dataset.style = style;
    container.dataset.models = ['yunet-face', faceModelOf(ready.stylizer.catalogue, style)].join(',');
    if (loop) {
      loop.setStyle(style);
      return;
    }
    loop = new FaceLoop(ready, {
      video: current.video,
      style,
      cropSize,
      onError: (error) => {
        status.textContent = `The face style stopped: ${error.message}`;
        stopLoop();
      },
    });
    current.stylizer.setFaces(loop);
    status.textContent = `Face style: ${style}. The face refreshes a few times a second; the camera runs at full rate.`;
  } catch (error) {
    status.textContent = `Face styles are unavailable: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/** The face loop's own numbers, for whoever reads the page (tests, benchmarks, curious users). */
function publishLoopStats(): void {
  if (!loop) return;
  const { trackMs, styleMs } = loop.timings();
  container.dataset.trackRate = loop.trackRate().toFixed(1);
  container.dataset.refreshRate = loop.refreshRate().toFixed(1);
  container.dataset.trackMs = trackMs.toFixed(0);
  container.dataset.styleMs = styleMs.toFixed(0);
}
setInterval(publishLoopStats, 500);

function stopLoop(): void {
  loop?.stop();
  loop = undefined;
  camera?.stylizer.setFaces(undefined);
  delete container.dataset.style;
  delete container.dataset.models;
}

async function listStyles(): Promise<void> {
  try {
    const ready = await startEngines();
    const options = [{ id: NONE, label: 'None' }, ...faceStyles(ready.stylizer.catalogue)];
    if (!options.some((o) => o.id === chosen)) chosen = NONE;
    renderStyleSwitcher(container, 'face-style', options, chosen, (id) => void choose(id));
    if (chosen !== NONE) await choose(chosen);
  } catch (error) {
    container.textContent = `Face styles are unavailable: ${error instanceof Error ? error.message : String(error)}`;
  }
}

document.addEventListener('portoon:live-camera', (event) => {
  camera = (event as CustomEvent<LiveCameraDetail>).detail;
  void listStyles();
});
document.addEventListener('portoon:live-camera-stopped', () => {
  stopLoop();
  camera = undefined;
});
