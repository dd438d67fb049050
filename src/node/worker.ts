/**
 * Worker-thread entry for the piscina pool: each worker owns one NodeEngine (one onnxruntime session
 * per model, created once), so inference and pixel work never run on the caller's event loop. Work
 * arrives by value (a still's bytes) or by reference (files, for queued stills and every video).
 */
import { readFile } from 'node:fs/promises';
import type { MessagePort } from 'node:worker_threads';
import { workerData } from 'node:worker_threads';
import type { FileRef } from '../core/engine-port.js';
import { PortoonError, toPortoonError, type SerializedError } from '../core/errors.js';
import type { CartoonizeReport, StageProgress } from '../core/report.js';
import type { CartoonizeRequest } from '../core/request.js';
import type { VideoInfo, VideoParams, VideoProgress, VideoReport } from '../core/video/types.js';
import { NodeEngine, type EngineConfig } from './engine.js';
import { writeFileAtomically } from './atomic-file.js';

interface ControlledTask {
  request: CartoonizeRequest;
  progress?: MessagePort;
  /** Shared flag (over a SharedArrayBuffer): the caller sets element 0 to 1 to stop the work. */
  cancel?: Int32Array;
}

export type WorkerTask =
  | (ControlledTask & {
      kind: 'cartoonize';
      /** The encoded image, or the file that holds it. */
      input: Uint8Array | FileRef;
      /** Where to write the result; absent: the result comes back in memory. */
      output?: FileRef;
    })
  | (ControlledTask & {
      kind: 'video';
      input: FileRef;
      output: FileRef;
      params: VideoParams;
      /** The input's facts when the caller probed it already. */
      info?: VideoInfo | undefined;
    })
  | { kind: 'preload'; models: string[] };

export type WorkerResult =
  | { ok: true; image: Uint8Array; report: CartoonizeReport }
  | { ok: true; written: FileRef; report: CartoonizeReport }
  | { ok: true; video: VideoReport }
  | { ok: true; preloaded: string[] }
  | { ok: false; error: SerializedError };

let engine: NodeEngine | undefined;

export default async function runTask(task: WorkerTask): Promise<WorkerResult> {
  try {
    engine ??= new NodeEngine(workerData as EngineConfig);
    if (task.kind === 'preload') {
      await engine.preload(task.models);
      return { ok: true, preloaded: task.models };
    }
    const checkpoint = checkpointOf(task.cancel);
    if (task.kind === 'video') {
      const onProgress = task.progress ? (p: VideoProgress): void => task.progress!.postMessage(p) : undefined;
      const video = await engine.processVideo(task.input.path, task.output.path, task.request, task.params, {
        info: task.info,
        onProgress,
        checkpoint,
      });
      return { ok: true, video };
    }
    const onProgress = task.progress ? (p: StageProgress): void => task.progress!.postMessage(p) : undefined;
    const input = task.input instanceof Uint8Array ? task.input : await readInputFile(task.input);
    const { image, report } = await engine.process(input, task.request, onProgress, checkpoint);
    if (task.output) {
      await writeFileAtomically(task.output.path, image);
      return { ok: true, written: task.output, report };
    }
    // Structured clone copies the encoded bytes once: a few ms even for a 20 MB PNG.
    return { ok: true, image, report };
  } catch (error) {
    return { ok: false, error: toPortoonError(error).toJSON() };
  } finally {
    if (task.kind !== 'preload') task.progress?.close();
  }
}

function checkpointOf(cancel: Int32Array | undefined): (() => void) | undefined {
  if (!cancel) return undefined;
  return () => {
    if (Atomics.load(cancel, 0) !== 0) throw new PortoonError('E_CLOSED', 'The work was cancelled');
  };
}

async function readInputFile(file: FileRef): Promise<Uint8Array> {
  try {
    return await readFile(file.path);
  } catch (error) {
    throw new PortoonError('E_INPUT_NOT_FOUND', `The input file ${file.path} cannot be read`, {
      cause: error,
      details: { path: file.path },
    });
  }
}
