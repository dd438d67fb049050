/**
 * Output decoding for RetinaFace (biubug6/Pytorch_Retinaface, MobileNet-0.25). The network predicts
 * offsets from fixed prior boxes: two square priors per cell on three feature maps.
 */
import type { TensorData } from '../inference.js';
import { floatOutput, type Candidate, type Point } from './candidate.js';

const STEPS = [8, 16, 32] as const;
const MIN_SIZES = [
  [16, 32],
  [64, 128],
  [256, 512],
] as const;
/** Prior-box encoding variances: centre offsets are scaled by 0.1, log sizes by 0.2. */
const CENTER_VARIANCE = 0.1;
const SIZE_VARIANCE = 0.2;

/** Number of priors for an input of this size (the length of every output's second axis). */
export function retinaFacePriorCount(width: number, height: number): number {
  let n = 0;
  STEPS.forEach((step, level) => {
    n += Math.ceil(height / step) * Math.ceil(width / step) * MIN_SIZES[level]!.length;
  });
  return n;
}

/**
 * Decodes `output0` (box offsets [1,N,4]), `output1` (softmaxed [background, face] [1,N,2]) and
 * `output2` (landmark offsets [1,N,10]) into candidates scoring at least `minScore`, in input pixels.
 * Priors are enumerated in the exported graph's order: level, row, column, min size.
 * @param modelId names the model in the error for an output that does not fit.
 */
export function decodeRetinaFace(
  outputs: Readonly<Record<string, TensorData>>,
  width: number,
  height: number,
  minScore: number,
  modelId = 'RetinaFace',
): Candidate[] {
  const count = retinaFacePriorCount(width, height);
  const loc = floatOutput(outputs, 'output0', count * 4, modelId);
  const conf = floatOutput(outputs, 'output1', count * 2, modelId);
  const landm = floatOutput(outputs, 'output2', count * 10, modelId);
  const found: Candidate[] = [];
  let n = 0;
  STEPS.forEach((step, level) => {
    const sizes = MIN_SIZES[level]!;
    const rows = Math.ceil(height / step);
    const cols = Math.ceil(width / step);
    for (let row = 0; row < rows; row++) {
      for (let col = 0; col < cols; col++) {
        for (const size of sizes) {
          const i = n++;
          const score = conf[i * 2 + 1]!;
          if (!(score >= minScore)) continue;
          const cx = (col + 0.5) * step;
          const cy = (row + 0.5) * step;
          const bx = cx + loc[i * 4]! * CENTER_VARIANCE * size;
          const by = cy + loc[i * 4 + 1]! * CENTER_VARIANCE * size;
          const bw = size * Math.exp(loc[i * 4 + 2]! * SIZE_VARIANCE);
          const bh = size * Math.exp(loc[i * 4 + 3]! * SIZE_VARIANCE);
          const landmarks: Point[] = [];
          for (let k = 0; k < 5; k++) {
            landmarks.push([
              cx + landm[i * 10 + k * 2]! * CENTER_VARIANCE * size,
              cy + landm[i * 10 + k * 2 + 1]! * CENTER_VARIANCE * size,
            ]);
          }
          found.push({ box: [bx - bw / 2, by - bh / 2, bx + bw / 2, by + bh / 2], score, landmarks });
        }
      }
    }
  });
  return found;
}
