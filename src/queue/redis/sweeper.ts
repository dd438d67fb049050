/**
 * Keeps a distributed queue's Redis and blob store from growing: every node runs a sweeper, and one
 * of them (whichever takes the round's lock) each round
 * - removes finished jobs past their expiry: the record, the input and the result files;
 * - fails jobs that nothing will finish any more: accepted by an API node that died before handing
 *   them to BullMQ, or dropped by BullMQ after losing their worker too many times;
 * - removes files nothing refers to (left by a process killed while writing, or by a job whose
 *   record was lost), once they are older than `orphanAgeMs`.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { PortoonError } from '../../core/errors.js';
import { isFinished } from '../../core/job.js';
import type { BlobStore } from '../blob/blob-store.js';
import { finishStatus } from '../job-status.js';
import { connectRedis } from './connection.js';
import { DEFAULT_NAMESPACE, EVENT_STREAM_LENGTH, inputKey, jobIdOfKey, type QueuedJob, type QueueNamespace } from './job-data.js';
import { JobRecords } from './job-records.js';

export interface SweeperOptions {
  url: string;
  namespace?: QueueNamespace | undefined;
  store: BlobStore;
  /** Time between rounds, in ms. Default 30 000. */
  intervalMs?: number;
  /** Files nothing refers to are removed once older than this, in ms. Default 24 hours. */
  orphanAgeMs?: number;
  /** A job queued or running this long without BullMQ knowing it is failed, in ms. Default 60 000. */
  lostAfterMs?: number;
  /** How long the record of a job failed by the sweeper is kept, in ms. Default 900 000. */
  ttlMs?: number;
  /** Called after each round this node swept (logs). */
  onSwept?: (report: SweepReport) => void;
}

export interface SweepReport {
  /** Expired jobs removed with their files. */
  expired: number;
  /** Jobs failed because nothing would finish them. */
  lost: number;
  /** Files removed that nothing referred to. */
  orphans: number;
}

type Settings = Required<Pick<SweeperOptions, 'intervalMs' | 'orphanAgeMs' | 'lostAfterMs' | 'ttlMs'>> & {
  store: BlobStore;
  onSwept: SweeperOptions['onSwept'];
  redis: Redis;
  records: JobRecords;
  queue: Queue<QueuedJob>;
};

export class Sweeper {
  readonly #options: Settings;
  #timer: NodeJS.Timeout | undefined;
  #round: Promise<unknown> | undefined;
  /** Whether BullMQ's connection got ready: only then may the queue be closed (see RedisJobQueue.close). */
  #queueReady = false;

  constructor(options: SweeperOptions) {
    const namespace = options.namespace ?? DEFAULT_NAMESPACE;
    const redis = connectRedis(options.url, 'commands', 'portoon-sweeper');
    this.#options = {
      intervalMs: options.intervalMs ?? 30_000,
      orphanAgeMs: options.orphanAgeMs ?? 24 * 3_600_000,
      lostAfterMs: options.lostAfterMs ?? 60_000,
      ttlMs: options.ttlMs ?? 900_000,
      store: options.store,
      onSwept: options.onSwept,
      redis,
      records: new JobRecords(redis, namespace),
      queue: new Queue<QueuedJob>(namespace.name, {
        connection: redis,
        prefix: namespace.prefix,
        streams: { events: { maxLen: EVENT_STREAM_LENGTH } },
      }),
    };
    this.#options.queue.on('error', () => undefined);
    void this.#options.queue.waitUntilReady().then(
      () => (this.#queueReady = true),
      () => undefined,
    );
  }

  start(): void {
    this.#timer = setInterval(() => {
      this.#round ??= this.#takeTurn()
        .catch(() => undefined)
        .finally(() => (this.#round = undefined));
    }, this.#options.intervalMs);
    this.#timer.unref();
  }

  /** Stops the rounds (waiting for one under way) and closes the connection. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#round;
    if (this.#queueReady) await this.#options.queue.close().catch(() => undefined);
    this.#options.redis.disconnect();
  }

  /** One round, if no other node holds this round's lock. */
  async #takeTurn(): Promise<void> {
    const lock = `${this.#options.records.channel}:sweep-lock`;
    const taken = await this.#options.redis.set(lock, String(process.pid), 'PX', this.#options.intervalMs, 'NX');
    if (taken !== 'OK') return;
    this.#options.onSwept?.(await this.sweep());
  }

  /** Sweeps now (tests and operators call it directly). */
  async sweep(now = Date.now()): Promise<SweepReport> {
    const report: SweepReport = { expired: 0, lost: 0, orphans: 0 };
    await this.#removeExpired(now, report);
    await this.#failLost(now, report);
    await this.#removeOrphans(now, report);
    return report;
  }

  async #removeExpired(now: number, report: SweepReport): Promise<void> {
    const { records, store } = this.#options;
    for (;;) {
      const ids = await records.expired(now);
      if (ids.length === 0) return;
      for (const id of ids) {
        const record = await records.get(id);
        // Still kept (a later run of the same id cannot happen, but a clock skew between nodes can).
        if (record?.status.expiresAt !== undefined && Date.parse(record.status.expiresAt) > now) continue;
        await Promise.all([store.delete(inputKey(id)), record?.result ? store.delete(record.result.key) : undefined]);
        await records.remove(id);
        report.expired += 1;
      }
      await records.forgetExpired(ids);
      if (ids.length < 500) return;
    }
  }

  async #failLost(now: number, report: SweepReport): Promise<void> {
    const { records, queue, store, ttlMs } = this.#options;
    const { queued, running } = await records.stale(now - this.#options.lostAfterMs);
    for (const id of [...queued, ...running]) {
      const state = await queue.getJobState(id);
      if (state !== 'unknown' && state !== 'failed' && state !== 'completed') continue;
      const record = await records.get(id);
      // Gone, or unreadable: only its places in line are left, and they would hold a slot for ever.
      if (!record) await records.remove(id);
      if (!record || isFinished(record.state)) continue;
      const status = structuredClone(record.status);
      const wasRunning = record.state === 'running';
      const error = wasRunning
        ? new PortoonError('E_INTERNAL', 'The job stopped its worker repeatedly (killed, or out of memory) and is not retried again')
        : new PortoonError('E_CLOSED', 'The service stopped before this job was handed to a worker; send it again');
      status.error = { code: error.code, message: error.message };
      finishStatus(status, 'failed', ttlMs, now);
      if (await records.finish(status, ttlMs)) {
        await store.delete(inputKey(id));
        report.lost += 1;
      }
    }
  }

  async #removeOrphans(now: number, report: SweepReport): Promise<void> {
    const { records, store, orphanAgeMs } = this.#options;
    const before = now - orphanAgeMs;
    for (const prefix of ['inputs/', 'results/']) {
      for (const key of await store.listOlderThan(prefix, before)) {
        const id = jobIdOfKey(key);
        if (id === undefined) continue;
        const record = await records.get(id);
        const waitingInput = key === inputKey(id) && record !== undefined && !isFinished(record.state);
        if (waitingInput || record?.result?.key === key) continue;
        await store.delete(key);
        report.orphans += 1;
      }
    }
    // Files of writers that died before renaming them into place.
    for (const key of await store.listOlderThan('.tmp/', before)) {
      await store.delete(key);
      report.orphans += 1;
    }
  }
}
