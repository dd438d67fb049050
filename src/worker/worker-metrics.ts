/**
 * Prometheus metrics of a worker node: the jobs it finished (by state and style), their run times
 * and model times, the jobs it put back in line for another attempt, the jobs its stalled-job check
 * recovered from lost workers, and the cluster's queue as Redis holds it.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { JobStatus } from '../core/job.js';
import { JobMetrics } from '../queue/job-metrics.js';
import type { JobRecords } from '../queue/redis/job-records.js';

export class WorkerMetrics {
  readonly registry = new Registry();
  readonly #jobs: JobMetrics;
  readonly #retries: Counter<'code'>;
  readonly #stalled: Counter;

  constructor(records: () => JobRecords | undefined, running: () => number) {
    collectDefaultMetrics({ register: this.registry, prefix: 'portoon_' });
    const registers = [this.registry];
    this.#jobs = new JobMetrics(this.registry);
    this.#retries = new Counter({
      name: 'portoon_job_retries_total',
      help: 'Runs that failed for a reason another attempt may not have, put back in line, by error code',
      labelNames: ['code'],
      registers,
    });
    this.#stalled = new Counter({
      name: 'portoon_jobs_stalled_total',
      help: 'Jobs whose worker was lost (killed, out of memory) and that this node put back in line',
      registers,
    });
    new Gauge({
      name: 'portoon_worker_running_jobs',
      help: 'Jobs running on this worker now',
      registers,
      collect() {
        this.set(running());
      },
    });
    new Gauge({
      name: 'portoon_queue_depth',
      help: 'Jobs of the whole cluster waiting for a worker (state=queued) and being processed (state=running)',
      labelNames: ['state'],
      registers,
      async collect() {
        const counts = await records()
          ?.counts()
          .catch(() => undefined);
        this.set({ state: 'queued' }, counts?.queued ?? 0);
        this.set({ state: 'running' }, counts?.running ?? 0);
      },
    });
  }

  observeJob(status: JobStatus, runMs: number): void {
    this.#jobs.observeJob(status, runMs);
  }

  retried(code: string): void {
    this.#retries.inc({ code });
  }

  stalled(): void {
    this.#stalled.inc();
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
