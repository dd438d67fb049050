/**
 * The engine port: what job queues need of an engine. The Node adapter (`Portoon`, a worker-thread
 * pool) implements it; a queue backend, or a test, can take any other implementation.
 */
import type { CartoonizeOutput, StageProgress } from './report.js';
import type { CartoonizeRequest } from './request.js';

/**
 * The part of the standard `AbortSignal` an engine uses. Declared here because core is compiled
 * without DOM or Node types; every platform's `AbortSignal` fits it.
 */
export interface CancelSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  throwIfAborted(): void;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

export interface RunOptions {
  /** Called as each stage progresses. */
  onProgress?: ((progress: StageProgress) => void) | undefined;
  /** Stops the work at the next step; the run then rejects with the signal's reason. */
  signal?: CancelSignal | undefined;
}

export interface CartoonEngine {
  /** Requests the engine runs at the same time. */
  readonly workers: number;
  /**
   * Checks a validated request against what the engine has, without running it: styles known,
   * their models installed, the engine open.
   * @throws PortoonError E_UNKNOWN_STYLE, E_MODEL_MISSING, E_CLOSED.
   */
  check(request: CartoonizeRequest): void;
  /**
   * Reads only the image's header: refuses what is not an accepted image (E_UNSUPPORTED_FORMAT,
   * E_EMPTY_INPUT) or has too many pixels (E_IMAGE_TOO_LARGE), before any work is queued.
   */
  probe(input: Uint8Array): Promise<void>;
  /** Cartoonizes one encoded image. */
  run(input: Uint8Array, request: CartoonizeRequest, options?: RunOptions): Promise<CartoonizeOutput>;
}
