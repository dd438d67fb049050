/**
 * Metrics of finished jobs, wherever they run: in the service's own worker threads, or on a worker
 * node of a cluster. Registered in the registry of the process that runs the jobs.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import type { JobStatus } from '../core/job.js';

export class JobMetrics {
  readonly #inferenceSeconds: Histogram<'model'>;
  readonly #jobs: Counter<'state' | 'style'>;
  readonly #jobSeconds: Histogram<'style'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.#inferenceSeconds = new Histogram({
      name: 'portoon_inference_seconds',
      help: 'Time inside the neural network runtime per image, by model',
      labelNames: ['model'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.#jobs = new Counter({
      name: 'portoon_jobs_total',
      help: 'Finished images by final state and style',
      labelNames: ['state', 'style'],
      registers,
    });
    this.#jobSeconds = new Histogram({
      name: 'portoon_job_run_seconds',
      help: 'Time an image spent running in a worker, by style',
      labelNames: ['style'],
      buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
  }

  /** Called when a job reaches a final state. */
  observeJob(status: JobStatus, runMs: number): void {
    const { style } = status;
    this.#jobs.inc({ state: status.state, style });
    if (status.state !== 'completed' || !status.report) return;
    this.#jobSeconds.observe({ style }, runMs / 1000);
    for (const [model, ms] of Object.entries(status.report.inference)) this.#inferenceSeconds.observe({ model }, ms / 1000);
  }
}
