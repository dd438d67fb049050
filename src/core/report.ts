/**
 * What one cartoonization reports back: the stages it went through (with progress on the way), the
 * faces it found and what it did with them, and where the time went. Shared by the engine, the
 * queues, the service and its clients (the web UI compiles against these types).
 */
import type { OutputFormat } from './formats.js';

/** The stages, in the order they run (align, parse, head and paste repeat per face after the background). */
export const STAGES = ['decode', 'detect', 'background', 'align', 'parse', 'head', 'paste', 'encode'] as const;
export type Stage = (typeof STAGES)[number];

export interface StageProgress {
  stage: Stage;
  /** 0..1 within the stage. */
  progress: number;
}

/**
 * Where each stage sits in a typical run, as fractions of its time (from the stage benchmark: the
 * background and head models take nearly all of it). Only decode, detect, background, head and
 * encode report progress; the per-face steps are folded into the head span.
 */
const STAGE_SPANS: Readonly<Record<Stage, readonly [number, number]>> = {
  decode: [0, 0.03],
  detect: [0.03, 0.05],
  background: [0.05, 0.6],
  align: [0.6, 0.61],
  parse: [0.61, 0.62],
  head: [0.62, 0.95],
  paste: [0.95, 0.96],
  encode: [0.96, 1],
};

/** One overall figure 0..1 for progress reported per stage (progress bars, job status). */
export function overallProgress({ stage, progress }: StageProgress): number {
  const [from, to] = STAGE_SPANS[stage];
  return from + (to - from) * Math.min(1, Math.max(0, progress));
}

export interface FaceReport {
  box: [number, number, number, number];
  score: number;
  landmarks: Array<[number, number]>;
  /**
   * Whether the face got its own pass (redrawn by a face model or filter, or its skin tone restored);
   * false when it was too small (or beyond `maxFaces`) and left to the background pass.
   */
  stylized: boolean;
  /** Side of the aligned crop the face was stylized at (chosen from the face's size in the photo). */
  cropSize?: number | undefined;
}

export interface CartoonizeReport {
  width: number;
  height: number;
  style: string;
  format: OutputFormat;
  faces: FaceReport[];
  /** False when detection was skipped (style needs no faces and no detector is installed). */
  detected: boolean;
  /** Milliseconds per stage. */
  timings: Partial<Record<Stage, number>>;
  models: string[];
  /** Milliseconds inside the inference runtime per model (included in the stage timings). */
  inference: Record<string, number>;
  /** The output's provenance marks: the id its invisible watermark carries, the visible label, C2PA. */
  provenance?: OutputProvenanceReport | undefined;
}

export interface OutputProvenanceReport {
  /** The output id (12 hex digits) in the watermark, the XMP and the C2PA manifest. */
  id: string;
  /** Whether the visible "AI-generated" label was drawn. */
  label: boolean;
  /** Whether the bytes carry signed C2PA content credentials. */
  contentCredentials: boolean;
}

/** An encoded image with its report: what an engine returns for one request. */
export interface CartoonizeOutput {
  image: Uint8Array;
  report: CartoonizeReport;
}
