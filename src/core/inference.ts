/**
 * The engine's view of a neural-network runtime. Adapters implement it with onnxruntime-node (server,
 * CLI) or onnxruntime-web (browser); the engine only ever sees plain typed arrays.
 */
export type TensorType = 'float32' | 'int64' | 'int32' | 'uint8';

export interface TensorData {
  readonly type: TensorType;
  readonly dims: readonly number[];
  readonly data: Float32Array | BigInt64Array | Int32Array | Uint8Array;
}

export interface InferenceBackend {
  /**
   * Runs the model with the given catalogue id. The backend creates one session per model the first
   * time it is needed and reuses it afterwards.
   * @throws PortoonError E_MODEL_MISSING / E_MODEL_CORRUPT when the model file is absent or damaged.
   */
  run(modelId: string, feeds: Readonly<Record<string, TensorData>>): Promise<Record<string, TensorData>>;
  /** Whether the model file is installed (present); used to pick optional helpers like face parsing. */
  has(modelId: string): boolean;
}

export function float32Tensor(data: Float32Array, dims: readonly number[]): TensorData {
  return { type: 'float32', dims, data };
}

/**
 * A backend that calls `checkpoint` before every model run, so work can be stopped between model calls.
 * A neural-network run itself cannot be interrupted safely (killing the thread that runs it takes the
 * whole process down), so cancellation is cooperative and takes effect within one model call.
 */
export function withCheckpoint(backend: InferenceBackend, checkpoint: () => void): InferenceBackend {
  return {
    run: (modelId, feeds) => {
      checkpoint();
      return backend.run(modelId, feeds);
    },
    has: (modelId) => backend.has(modelId),
  };
}
