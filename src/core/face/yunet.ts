/**
 * Output decoding for YuNet (OpenCV Zoo). Anchor-free: one prediction per cell on three feature maps,
 * with separate classification and objectness heads whose geometric mean is the face score.
 */
import type { TensorData } from '../inference.js';
import { floatOutput, type Candidate, type Point } from './candidate.js';

const STRIDES = [8, 16, 32] as const;

/**
 * Decodes `cls_s`, `obj_s` (already sigmoid, [1,A,1]), `bbox_s` ([1,A,4]) and `kps_s` ([1,A,10])
 * for each stride s into candidates scoring at least `minScore`, in input pixels. `width` and
 * `height` must be multiples of 32 (the input is padded to that).
 * @param modelId names the model in the error for an output that does not fit.
 */
export function decodeYuNet(
  outputs: Readonly<Record<string, TensorData>>,
  width: number,
  height: number,
  minScore: number,
  modelId = 'YuNet',
): Candidate[] {
  const found: Candidate[] = [];
  for (const stride of STRIDES) {
    const cols = Math.floor(width / stride);
    const rows = Math.floor(height / stride);
    const count = cols * rows;
    const cls = floatOutput(outputs, `cls_${stride}`, count, modelId);
    const obj = floatOutput(outputs, `obj_${stride}`, count, modelId);
    const bbox = floatOutput(outputs, `bbox_${stride}`, count * 4, modelId);
    const kps = floatOutput(outputs, `kps_${stride}`, count * 10, modelId);
    for (let i = 0; i < count; i++) {
      // Clamp as OpenCV does: the sigmoid outputs can overshoot [0, 1] by float error.
      const score = Math.sqrt(clamp01(cls[i]!) * clamp01(obj[i]!));
      if (!(score >= minScore)) continue;
      const col = i % cols;
      const row = (i - col) / cols;
      const cx = (col + bbox[i * 4]!) * stride;
      const cy = (row + bbox[i * 4 + 1]!) * stride;
      const w = Math.exp(bbox[i * 4 + 2]!) * stride;
      const h = Math.exp(bbox[i * 4 + 3]!) * stride;
      const landmarks: Point[] = [];
      for (let k = 0; k < 5; k++) {
        landmarks.push([(kps[i * 10 + k * 2]! + col) * stride, (kps[i * 10 + k * 2 + 1]! + row) * stride]);
      }
      found.push({ box: [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], score, landmarks });
    }
  }
  return found;
}

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}
