/**
 * The instruments of one pipeline run: stage timings, the time inside the inference runtime per
 * model, the models that ran and progress reports. The steps do their work through it.
 */
import type { InferenceBackend } from '../inference.js';
import type { FaceReport, Stage } from '../report.js';
import type { RawImage } from '../image.js';
import type { PipelineContext, PipelineResult, StepRun } from './types.js';

export class PipelineRun implements StepRun {
  /** The caller's context with a backend that times every model call. */
  readonly context: PipelineContext;
  readonly #now: () => number;
  readonly #timings: Partial<Record<Stage, number>> = {};
  readonly #inference: Record<string, number> = {};
  readonly #models = new Set<string>();

  constructor(context: PipelineContext) {
    this.#now = context.now ?? Date.now;
    const runtime = context.backend;
    // Time inside the runtime, per model, so reports can separate model time from overhead.
    const backend: InferenceBackend = {
      has: (id) => runtime.has(id),
      run: async (id, feeds) => {
        const start = this.#now();
        try {
          return await runtime.run(id, feeds);
        } finally {
          this.#inference[id] = (this.#inference[id] ?? 0) + (this.#now() - start);
        }
      },
    };
    this.context = { ...context, backend };
  }

  /** Runs `work`, adding its wall time to `stage` (stages repeat per face and per style pass). */
  async timed<T>(stage: Stage, work: () => Promise<T> | T): Promise<T> {
    const start = this.#now();
    try {
      return await work();
    } finally {
      this.#timings[stage] = (this.#timings[stage] ?? 0) + (this.#now() - start);
    }
  }

  progress(stage: Stage, value: number): void {
    this.context.onProgress?.({ stage, progress: value });
  }

  /** Notes a model as used, for the report and the picture's provenance (in first-use order). */
  ran(id: string): void {
    this.#models.add(id);
  }

  result(image: RawImage, style: string, faces: FaceReport[], detected: boolean): PipelineResult {
    return { image, style, faces, detected, timings: this.#timings, models: [...this.#models], inference: this.#inference };
  }
}
