/**
 * The face source for stills: every face of a single picture, found by the detectors. A video
 * frame gets its faces from a tracker instead (`FaceSource` in ./types.ts), which keeps state
 * between frames; the pipeline itself keeps none between calls.
 */
import { detectStep } from './detect-step.js';
import type { FaceSource } from './types.js';

export const detectorFaceSource: FaceSource = { find: detectStep };
