/**
 * One model run on an onnxruntime session, for both adapters: onnxruntime-node and onnxruntime-web
 * share onnxruntime-common's API, so the tensor conversion and the error they raise are written once
 * here against its shape (core imports neither package).
 */
import { PortoonError } from './errors.js';
import type { TensorData } from './inference.js';

/** The part of an onnxruntime tensor the engine reads. */
export interface OrtTensorLike {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: unknown;
}

/** The part of an onnxruntime InferenceSession the engine calls. */
export interface OrtSessionLike<T extends OrtTensorLike> {
  run(feeds: Record<string, T>): Promise<Record<string, unknown>>;
}

/**
 * Runs `session` on `feeds`, turning each input into the runtime's tensor with `toTensor` and each
 * output back into plain typed arrays.
 * @throws PortoonError E_INFERENCE_FAILED naming the model when the runtime fails.
 */
export async function runOrtSession<T extends OrtTensorLike>(
  session: OrtSessionLike<T>,
  toTensor: (tensor: TensorData) => T,
  modelId: string,
  feeds: Readonly<Record<string, TensorData>>,
): Promise<Record<string, TensorData>> {
  const ortFeeds: Record<string, T> = {};
  for (const [name, tensor] of Object.entries(feeds)) ortFeeds[name] = toTensor(tensor);
  let results: Record<string, unknown>;
  try {
    results = await session.run(ortFeeds);
  } catch (error) {
    throw new PortoonError('E_INFERENCE_FAILED', `Model ${modelId} failed to run: ${(error as Error).message}`, {
      cause: error,
      details: { model: modelId },
    });
  }
  const out: Record<string, TensorData> = {};
  for (const [name, value] of Object.entries(results)) {
    const tensor = value as OrtTensorLike;
    out[name] = { type: tensor.type as TensorData['type'], dims: tensor.dims, data: tensor.data as TensorData['data'] };
  }
  return out;
}
