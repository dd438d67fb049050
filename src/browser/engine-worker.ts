/**
 * The browser engine's Web Worker: the platform-neutral core pipeline with onnxruntime-web and the
 * canvas codec, so no pixel work or inference ever blocks the page. One request runs at a time
 * (onnxruntime sessions are not re-entrant, and two runs would only share the same cores); `cancel`
 * stops a request at its next model run.
 */
import { PortoonError, toPortoonError } from '../core/errors.js';
import { detectFaces } from '../core/face/detect.js';
import type { RawImage } from '../core/image.js';
import { withCheckpoint } from '../core/inference.js';
import { stylizeLiveFace } from '../core/live-face.js';
import { Catalogue } from '../core/models/catalogue.js';
import { parseManifest } from '../core/models/manifest.js';
import { processStill } from '../core/process-still.js';
import { parseCartoonizeRequest } from '../core/request.js';
import { canvasStillCodec, frameToRgb } from './canvas-codec.js';
import { ModelCache } from './model-cache.js';
import { loadOrt, OrtWebBackend } from './ort-backend.js';
import type { EngineMessage, EngineRequest, EngineResult, EngineSettings } from './protocol.js';

interface WorkerScope {
  postMessage(message: EngineMessage, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<EngineRequest>) => void): void;
}
const scope = globalThis as unknown as WorkerScope;

interface Engine {
  settings: EngineSettings;
  catalogue: Catalogue;
  backend: OrtWebBackend;
}

let engine: Promise<Engine> | undefined;
/** Requests run one after another; each waits for the previous one to settle. */
let queue: Promise<unknown> = Promise.resolve();
const cancelled = new Set<number>();

function post(message: EngineMessage, transfer: Transferable[] = []): void {
  scope.postMessage(message, transfer);
}

async function init(settings: EngineSettings): Promise<{ engine: Engine; result: EngineResult }> {
  const manifests = settings.catalogue.manifests.map((json, i) => ({
    source: `catalogue manifest ${i + 1}`,
    manifest: parseManifest(json, `catalogue manifest ${i + 1}`),
  }));
  const catalogue = new Catalogue(manifests);
  const cache = new ModelCache({
    baseUrl: settings.baseUrl,
    cacheName: settings.cacheName,
    apiKey: settings.apiKey,
    onDownload: (download) => post({ download }),
  });
  const { ort, info } = await loadOrt({ threads: settings.threads, wasmPaths: settings.wasmPaths, device: settings.device });
  const backend = new OrtWebBackend(ort, info.device, catalogue, cache, settings.catalogue.modelUrls);
  return { engine: { settings, catalogue, backend }, result: { kind: 'init', backend: info } };
}

/** The frame's pixels; the frame is closed (its memory freed) once read. */
function readFrame(frame: ImageBitmap): RawImage {
  try {
    return frameToRgb(frame);
  } finally {
    frame.close();
  }
}

async function handle(request: Exclude<EngineRequest, { kind: 'init' | 'cancel' }>, ready: Engine): Promise<void> {
  const { id } = request;
  const checkpoint = (): void => {
    if (cancelled.has(id)) throw new PortoonError('E_CLOSED', 'The work was cancelled');
  };
  checkpoint();
  const started = performance.now();
  switch (request.kind) {
    case 'cartoonize': {
      const output = await processStill(new Uint8Array(request.bytes), parseCartoonizeRequest(request.params), {
        codec: canvasStillCodec,
        backend: ready.backend,
        catalogue: ready.catalogue,
        maxInputPixels: ready.settings.maxInputPixels,
        provenance: (style, models) => ({
          software: 'Portoon',
          version: ready.settings.catalogue.version,
          style,
          models,
          created: new Date().toISOString(),
        }),
        now: () => performance.now(),
        onProgress: (progress) => post({ id, progress }),
        checkpoint,
      });
      const bytes = output.image.slice().buffer;
      post({ id, ok: true, result: { kind: 'cartoonize', bytes, report: output.report } }, [bytes]);
      return;
    }
    case 'preload': {
      for (const model of request.models) {
        checkpoint();
        await ready.backend.load(model);
      }
      post({ id, ok: true, result: { kind: 'preload', models: request.models } });
      return;
    }
    case 'detect': {
      const image = readFrame(request.frame);
      const faces = await detectFaces(image, withCheckpoint(ready.backend, checkpoint), ready.catalogue, {
        detector: 'yunet',
        maxSide: request.maxSide,
        orientations: [0],
      });
      const result: EngineResult = {
        kind: 'detect',
        faces: faces.map((face) => ({ box: face.box, score: face.score, landmarks: face.landmarks })),
        ms: performance.now() - started,
      };
      post({ id, ok: true, result });
      return;
    }
    case 'live-face': {
      const image = readFrame(request.frame);
      const face = await stylizeLiveFace(image, request.landmarks, request.style, request.size, ready.catalogue, ready.backend);
      const rgba = face.rgba.buffer as ArrayBuffer;
      const result: EngineResult = {
        kind: 'live-face',
        rgba,
        size: face.size,
        frameToCrop: face.frameToCrop,
        model: face.model,
        ms: performance.now() - started,
      };
      post({ id, ok: true, result }, [rgba]);
      return;
    }
  }
}

scope.addEventListener('message', (event) => {
  const request = event.data;
  if (request.kind === 'cancel') {
    cancelled.add(request.target);
    return;
  }
  if (request.kind === 'init') {
    const started = init(request.settings);
    engine = started.then(({ engine: ready }) => ready);
    started.then(
      ({ result }) => post({ id: request.id, ok: true, result }),
      (error: unknown) => post({ id: request.id, ok: false, error: toPortoonError(error).toJSON() }),
    );
    return;
  }
  const run = async (): Promise<void> => {
    try {
      if (!engine) throw new PortoonError('E_CLOSED', 'The engine was not started');
      await handle(request, await engine);
    } catch (error) {
      // Frames that were never read are released here, so a failed request leaks no GPU memory.
      if ('frame' in request) request.frame.close();
      post({ id: request.id, ok: false, error: toPortoonError(error).toJSON() });
    } finally {
      cancelled.delete(request.id);
    }
  };
  queue = queue.then(run, run);
});
