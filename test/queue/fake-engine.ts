/**
 * A CartoonEngine for queue tests whose timing the test decides. Inputs are read like the real
 * engine reads them (the same header probe, so a bad input fails with the same code), and a run
 * returns a real image of the input's size with a plausible report; but a run takes no time of its
 * own: it finishes at once, or, for a held style, when the test releases it. It records what the
 * queue asked of it (which runs, in which order, how many at once, which were aborted) so tests can
 * check what a queue does to its engine, not only what it reports.
 */
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import sharp from 'sharp';
import type { CancelSignal, CartoonEngine, FileRef, RunOptions, VideoRunOptions } from '../../src/core/engine-port.js';
import { PortoonError } from '../../src/core/errors.js';
import type { CartoonizeOutput, CartoonizeReport, StageProgress } from '../../src/core/report.js';
import type { CartoonizeRequest } from '../../src/core/request.js';
import type { VideoInfo, VideoParams, VideoReport } from '../../src/core/video/types.js';
import { probeImage } from '../../src/node/codec.js';
import { probeVideo } from '../../src/node/video/probe.js';

export interface FakeEngineOptions {
  /** Runs at the same time. Default 1. */
  workers?: number;
  /** Styles whose runs finish at once. */
  styles: readonly string[];
  /** Styles the engine knows but whose model is not installed: `check` refuses them with E_MODEL_MISSING. */
  missingModel?: readonly string[];
}

export interface HoldOptions {
  /**
   * Whether the run stops as soon as it is aborted (default), or only once released, like a real
   * worker that is in the middle of a model run and looks at the abort flag before the next one.
   */
  stopsOnAbort?: boolean;
}

/** A style of the fake engine whose runs wait for `release()`. */
export interface Hold {
  style: string;
  /** Lets every run of the style finish (also the ones that start later). */
  release(): void;
}

export interface RunRecord {
  style: string;
  state: 'running' | 'completed' | 'failed';
  /** The abort reason, when the queue aborted the run. */
  abortedWith?: unknown;
}

/** Progress a held run reports before it waits: decode and detect done, the background half way. */
const HELD_PROGRESS: readonly StageProgress[] = [
  { stage: 'decode', progress: 0 },
  { stage: 'decode', progress: 1 },
  { stage: 'detect', progress: 1 },
  { stage: 'background', progress: 0.5 },
];

const FINAL_PROGRESS: readonly StageProgress[] = [
  { stage: 'background', progress: 1 },
  { stage: 'encode', progress: 0 },
  { stage: 'encode', progress: 1 },
];

export class FakeEngine implements CartoonEngine {
  readonly workers: number;
  /** Every run, in the order they started. */
  readonly runs: RunRecord[] = [];
  /** The most runs seen at the same time. */
  maxConcurrent = 0;
  readonly #styles: Set<string>;
  readonly #missingModel: Set<string>;
  readonly #holds = new Map<string, { released: Promise<void>; stopsOnAbort: boolean }>();
  #active = 0;

  constructor(options: FakeEngineOptions) {
    this.workers = options.workers ?? 1;
    this.#styles = new Set(options.styles);
    this.#missingModel = new Set(options.missingModel);
  }

  /** A new style whose runs report some progress, then wait until `release()` (or an abort). */
  hold(options: HoldOptions = {}): Hold {
    const style = `held-${this.#holds.size + 1}`;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    this.#holds.set(style, { released, stopsOnAbort: options.stopsOnAbort ?? true });
    return { style, release };
  }

  check(request: CartoonizeRequest): void {
    for (const style of [request.style, ...(request.mix ? [request.mix.style] : [])]) {
      if (this.#missingModel.has(style)) throw new PortoonError('E_MODEL_MISSING', `The model of style "${style}" is not installed`);
      if (!this.#styles.has(style) && !this.#holds.has(style)) throw new PortoonError('E_UNKNOWN_STYLE', `Unknown style "${style}"`);
    }
  }

  async probe(input: Uint8Array): Promise<void> {
    await probeImage(input);
  }

  async runFile(input: FileRef, output: FileRef, request: CartoonizeRequest, options: RunOptions = {}): Promise<CartoonizeReport> {
    const { image, report } = await this.run(await readFile(input.path), request, options);
    await writeFile(output.path, image);
    return report;
  }

  async probeVideo(input: FileRef): Promise<VideoInfo> {
    return probeVideo(input.path);
  }

  /**
   * A video run that copies the clip as its "result", reporting one progress message per frame of
   * the probe; held styles wait like image runs do.
   */
  async runVideo(
    input: FileRef,
    output: FileRef,
    request: CartoonizeRequest,
    params: VideoParams,
    options: VideoRunOptions = {},
  ): Promise<VideoReport> {
    return this.#track(request, options.signal, async () => {
      const info = await probeVideo(input.path);
      const hold = this.#holds.get(request.style);
      options.onProgress?.({ framesDone: 1, framesTotal: info.frames, fps: 10 });
      if (hold) await (hold.stopsOnAbort ? untilReleasedOrAborted(hold.released, options.signal) : hold.released);
      options.signal?.throwIfAborted();
      options.onProgress?.({ framesDone: info.frames, framesTotal: info.frames, fps: 10 });
      await copyFile(input.path, output.path);
      return fakeVideoReport(info, request, params);
    });
  }

  async run(input: Uint8Array, request: CartoonizeRequest, options: RunOptions = {}): Promise<CartoonizeOutput> {
    const { onProgress } = options;
    return this.#track(request, options.signal, async () => {
      const probe = await probeImage(input);
      const hold = this.#holds.get(request.style);
      if (hold) {
        for (const progress of HELD_PROGRESS) onProgress?.(progress);
        await (hold.stopsOnAbort ? untilReleasedOrAborted(hold.released, options.signal) : hold.released);
      }
      options.signal?.throwIfAborted();
      for (const progress of FINAL_PROGRESS) onProgress?.(progress);
      return render(probe, request);
    });
  }

  /** Records a run (concurrency, final state, the abort reason) around `work`. */
  async #track<T>(request: CartoonizeRequest, signal: CancelSignal | undefined, work: () => Promise<T>): Promise<T> {
    this.check(request);
    const record: RunRecord = { style: request.style, state: 'running' };
    this.runs.push(record);
    this.#active += 1;
    this.maxConcurrent = Math.max(this.maxConcurrent, this.#active);
    const onAbort = (): void => {
      record.abortedWith = signal?.reason;
    };
    // A run handed a file reads it first: the queue may have aborted it already by the time it starts.
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const output = await work();
      record.state = 'completed';
      return output;
    } catch (error) {
      record.state = 'failed';
      throw error;
    } finally {
      this.#active -= 1;
      signal?.removeEventListener('abort', onAbort);
    }
  }
}

function untilReleasedOrAborted(released: Promise<void>, signal: CancelSignal | undefined): Promise<void> {
  if (!signal) return released;
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    void released.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}

/** A flat image of the size the real engine would return (upright, shrunk to `maxSide`), encoded as asked. */
async function render(
  probe: { width: number; height: number; orientation: number },
  request: CartoonizeRequest,
): Promise<CartoonizeOutput> {
  const [uprightWidth, uprightHeight] = probe.orientation >= 5 ? [probe.height, probe.width] : [probe.width, probe.height];
  const scale = Math.min(1, (request.maxSide ?? Number.POSITIVE_INFINITY) / Math.max(uprightWidth, uprightHeight));
  const width = Math.max(1, Math.round(uprightWidth * scale));
  const height = Math.max(1, Math.round(uprightHeight * scale));
  const format = request.format ?? 'png';
  const image = await sharp({ create: { width, height, channels: 3, background: '#e0904c' } })
    .toFormat(format)
    .toBuffer();
  return {
    image: new Uint8Array(image.buffer, image.byteOffset, image.byteLength),
    report: {
      width,
      height,
      style: request.style,
      format,
      faces: [],
      detected: true,
      timings: { decode: 1, detect: 1, background: 1, encode: 1 },
      models: [],
      inference: {},
    },
  };
}

function fakeVideoReport(info: VideoInfo, request: CartoonizeRequest, params: VideoParams): VideoReport {
  return {
    kind: 'video',
    width: info.width,
    height: info.height,
    format: params.format ?? 'mp4',
    style: request.style,
    frames: info.frames,
    fps: info.fps,
    duration: info.duration,
    audio: info.audio ? 'copied' : 'none',
    temporal: params.temporal !== false,
    sceneCuts: 0,
    tracks: [],
    maxFacesPerFrame: 0,
    timings: { decode: 1, faces: 1, stylize: 1, temporal: 1, provenance: 1, encode: 1, total: 6 },
    inference: {},
    models: [],
  };
}
