/**
 * Worker-thread entry for the piscina pool: each worker owns one NodeEngine (one onnxruntime session
 * per model, created once), so inference and pixel work never run on the caller's event loop.
 */
import type { MessagePort } from 'node:worker_threads';
import { workerData } from 'node:worker_threads';
import { PortoonError, toPortoonError, type SerializedError } from '../core/errors.js';
import type { CartoonizeReport, StageProgress } from '../core/report.js';
import type { CartoonizeRequest } from '../core/request.js';
import { NodeEngine, type EngineConfig } from './engine.js';

export type WorkerTask =
  | {
      kind: 'cartoonize';
      input: Uint8Array;
      request: CartoonizeRequest;
      progress?: MessagePort;
      /** Shared flag (over a SharedArrayBuffer): the caller sets element 0 to 1 to stop the work. */
      cancel?: Int32Array;
    }
  | { kind: 'preload'; models: string[] };

export type WorkerResult =
  { ok: true; image: Uint8Array; report: CartoonizeReport } | { ok: true; preloaded: string[] } | { ok: false; error: SerializedError };

let engine: NodeEngine | undefined;

export default async function runTask(task: WorkerTask): Promise<WorkerResult> {
  try {
    engine ??= new NodeEngine(workerData as EngineConfig);
    if (task.kind === 'preload') {
      await engine.preload(task.models);
      return { ok: true, preloaded: task.models };
    }
    const onProgress = task.progress ? (p: StageProgress): void => task.progress!.postMessage(p) : undefined;
    const { cancel } = task;
    const checkpoint = cancel
      ? (): void => {
          if (Atomics.load(cancel, 0) !== 0) throw new PortoonError('E_CLOSED', 'The work was cancelled');
        }
      : undefined;
    const { image, report } = await engine.process(task.input, task.request, onProgress, checkpoint);
    task.progress?.close();
    // Structured clone copies the encoded bytes once: a few ms even for a 20 MB PNG.
    return { ok: true, image, report };
  } catch (error) {
    if (task.kind === 'cartoonize') task.progress?.close();
    return { ok: false, error: toPortoonError(error).toJSON() };
  }
}
