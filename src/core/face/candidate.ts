/**
 * What the detector decoders hand to `detectFaces`: raw detections in the pixel space of the
 * network input (the resized, padded image), before they are merged and mapped back to the photo.
 */
import { PortoonError } from '../errors.js';
import type { TensorData } from '../inference.js';
import type { Corners } from './nms.js';

export type Point = [number, number];

export interface Candidate {
  /** Corners in network-input pixels. */
  readonly box: Corners;
  readonly score: number;
  /** Five points in the ArcFace order (see `Face.landmarks`), network-input pixels. */
  readonly landmarks: Point[];
}

/**
 * A float32 output of the expected length.
 * @throws PortoonError E_INFERENCE_FAILED when the model did not produce it, which means the file
 *   is not the model the catalogue entry describes.
 */
export function floatOutput(outputs: Readonly<Record<string, TensorData>>, name: string, length: number, modelId: string): Float32Array {
  const tensor = outputs[name];
  if (tensor === undefined || !(tensor.data instanceof Float32Array) || tensor.data.length !== length) {
    const got = tensor === undefined ? 'nothing' : `${tensor.type} [${tensor.dims.join(', ')}]`;
    throw new PortoonError(
      'E_INFERENCE_FAILED',
      `Model ${modelId} output "${name}" should be float32 with ${length} values but is ${got}`,
      { details: { model: modelId, output: name } },
    );
  }
  return tensor.data;
}
