/**
 * Threads that check images for provenance marks (`verifyImage`), so that a service's event loop
 * never spends the decode and the watermark search (a fraction of a second of CPU for an image that
 * carries no mark) itself. Separate from the engine's workers: a check does not wait behind
 * cartoonizations, and an API node of a cluster, which has no engine, can check images too.
 */
import { Piscina } from 'piscina';
import { PortoonError, reviveError } from '../core/errors.js';
import type { VerifyOptions, VerifyReport } from './verify.js';
import type { VerifyTask, VerifyTaskResult } from './verify-worker.js';

export interface VerifyPoolOptions {
  /** Threads checking images at once. Default 1. */
  threads?: number;
  /** Checks that may wait for a thread; beyond it `verify` fails at once with E_QUEUE_FULL. Default 16. */
  maxQueue?: number;
}

export class VerifyPool {
  readonly #pool: Piscina;

  constructor(options: VerifyPoolOptions = {}) {
    // Running from TypeScript sources (tests, development): let the thread load .ts through tsx.
    const fromSource = import.meta.url.endsWith('.ts');
    this.#pool = new Piscina({
      filename: new URL(fromSource ? './verify-worker.ts' : './verify-worker.js', import.meta.url).href,
      minThreads: 0,
      maxThreads: options.threads ?? 1,
      maxQueue: options.maxQueue ?? 16,
      // Threads are started on the first check and stopped after a quiet minute.
      idleTimeout: 60_000,
      ...(fromSource ? { execArgv: ['--import', 'tsx'] } : {}),
    });
  }

  /**
   * Checks one image in a pool thread.
   * @throws {PortoonError} what `verifyImage` throws; E_QUEUE_FULL when too many checks are waiting.
   */
  async verify(bytes: Uint8Array, options: VerifyOptions = {}): Promise<VerifyReport> {
    const task: VerifyTask = { bytes, options };
    let result: VerifyTaskResult;
    try {
      result = (await this.#pool.run(task)) as VerifyTaskResult;
    } catch (error) {
      if (error instanceof Error && /queue is at limit/i.test(error.message)) {
        throw new PortoonError('E_QUEUE_FULL', 'Too many images are waiting to be checked; try again in a few seconds');
      }
      throw reviveError(error);
    }
    if (!result.ok) throw reviveError(result.error);
    return result.report;
  }

  async close(): Promise<void> {
    await this.#pool.destroy();
  }
}
