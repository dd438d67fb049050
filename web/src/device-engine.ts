/**
 * "Process on this device": the browser engine (`portoon/web`) started once, on first use, with the
 * page's API key. Models download with progress the first time and come from Cache Storage after.
 */
import { PortoonWeb, type ModelDownload } from '../../src/browser/portoon-web.js';

let engine: Promise<PortoonWeb> | undefined;
let downloadListener: ((download: ModelDownload) => void) | undefined;

/** Where model download progress goes (one listener: the page's progress bar). */
export function onModelDownload(listener: ((download: ModelDownload) => void) | undefined): void {
  downloadListener = listener;
}

/** A new engine worker; Vite bundles it from its TypeScript source. */
export function createEngineWorker(): Worker {
  return new Worker(new URL('../../src/browser/engine-worker.ts', import.meta.url), { type: 'module', name: 'portoon-engine' });
}

/** The page's engine, started on first call; a failed start is not kept, so the next call retries. */
export function deviceEngine(apiKey: string | undefined): Promise<PortoonWeb> {
  if (!engine) {
    engine = PortoonWeb.create({
      apiKey,
      onDownload: (download) => downloadListener?.(download),
      // Vite bundles the worker from its TypeScript source.
      createWorker: () =>
        new Worker(new URL('../../src/browser/engine-worker.ts', import.meta.url), { type: 'module', name: 'portoon-engine' }),
    });
    engine.catch(() => {
      engine = undefined;
    });
  }
  return engine;
}

/** Whether this browser can run the engine at all (Web Workers, WebAssembly, OffscreenCanvas). */
export function deviceModeSupported(): boolean {
  return typeof Worker !== 'undefined' && typeof WebAssembly !== 'undefined' && typeof OffscreenCanvas !== 'undefined';
}
