/**
 * Prometheus metrics of one service instance, in its own registry (so tests and several instances in
 * one process never share counters).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { JobMetrics } from '../queue/job-metrics.js';
import type { JobQueue, JobStatus } from '../queue/job-queue.js';

export type RejectionReason = 'queue_full' | 'rate_limited' | 'too_large' | 'unauthorized' | 'timeout' | 'bad_request' | 'bad_input';

export class ServiceMetrics {
  readonly registry = new Registry();
  readonly #requests: Counter<'route' | 'method' | 'status'>;
  readonly #requestSeconds: Histogram<'route' | 'method' | 'status'>;
  readonly #rejected: Counter<'reason'>;
  readonly #jobs: JobMetrics;

  constructor(queue: () => JobQueue | undefined) {
    collectDefaultMetrics({ register: this.registry, prefix: 'portoon_' });
    const registers = [this.registry];
    this.#requests = new Counter({
      name: 'portoon_http_requests_total',
      help: 'HTTP requests by route, method and status',
      labelNames: ['route', 'method', 'status'],
      registers,
    });
    this.#requestSeconds = new Histogram({
      name: 'portoon_http_request_duration_seconds',
      help: 'HTTP request duration by route, method and status',
      labelNames: ['route', 'method', 'status'],
      buckets: [0.005, 0.025, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
    this.#rejected = new Counter({
      name: 'portoon_rejected_requests_total',
      help: 'Requests refused before any work was done, by reason',
      labelNames: ['reason'],
      registers,
    });
    this.#jobs = new JobMetrics(this.registry);
    new Gauge({
      name: 'portoon_queue_depth',
      help: 'Images waiting for a worker (state=queued) and being processed (state=running)',
      labelNames: ['state'],
      registers,
      async collect() {
        const counts = await queue()?.counts();
        this.set({ state: 'queued' }, counts?.queued ?? 0);
        this.set({ state: 'running' }, counts?.running ?? 0);
      },
    });
  }

  observeRequest(route: string, method: string, status: number, seconds: number): void {
    const labels = { route, method, status: String(status) };
    this.#requests.inc(labels);
    this.#requestSeconds.observe(labels, seconds);
  }

  reject(reason: RejectionReason): void {
    this.#rejected.inc({ reason });
  }

  /** Called by the queue when a job reaches a final state. */
  observeJob(status: JobStatus, runMs: number): void {
    this.#jobs.observeJob(status, runMs);
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
