/**
 * The cartoonization pipeline, platform-neutral: detect faces → background pass (tiled) → per face
 * align, stylize with the head model, harmonize and paste back → mix styles → apply strength.
 * Decoding and encoding happen in the platform adapters around it.
 */
import { gaussianBlurImage } from './blur.js';
import { PortoonError } from './errors.js';
import { detectFaces, detectorModelIds, type DetectorChoice, type Face } from './face/detect.js';
import type { Affine } from './face/align.js';
import { alignFace, faceMasks, PARSING_MODEL, type AlignedFace, type FaceMasks } from './face/crop.js';
import { blendFace, confirmFaces, cropKey, facePlanOf, stylizeProceduralFace, type FacePlan } from './face/face-pass.js';
import { chooseCropSize } from './face/framing.js';
import { cloneImage, mixImages, type FloatPlane, type RawImage } from './image.js';
import type { InferenceBackend } from './inference.js';
import type { Catalogue } from './models/catalogue.js';
import type { StyleEntry } from './models/manifest.js';
import { runProcedural } from './procedural/index.js';
import { composite, personMask, PERSON_SEGMENTATION_MODEL } from './segment.js';
import { runStyleModel } from './stylize.js';
import { transformTiled } from './tiling.js';

export const BACKGROUND_MODES = ['stylize', 'keep', 'blur'] as const;
export type BackgroundMode = (typeof BACKGROUND_MODES)[number];
/** The stages, in the order they run (align, parse, head and paste repeat per face after the background). */
export const STAGES = ['decode', 'detect', 'background', 'align', 'parse', 'head', 'paste', 'encode'] as const;
export type Stage = (typeof STAGES)[number];

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

export interface StyleMix {
  /** Second style to interpolate toward. */
  style: string;
  /** 0 = only the main style, 1 = only the mix style. */
  weight: number;
}

export interface PipelineOptions {
  style: string;
  /** 0..1 mix with the original photo. Default: the style's default (usually 1). */
  strength?: number | undefined;
  mix?: StyleMix | undefined;
  /**
   * What happens outside the faces: 'stylize' everything (default), 'keep' the original photo, or
   * 'blur': stylize, then throw everything but the people out of focus (person segmentation).
   */
  background?: BackgroundMode | undefined;
  /** Face detector(s). Default 'both' (RetinaFace and YuNet merged, so a partly hidden face is not missed). */
  detector?: DetectorChoice | undefined;
  /** Faces whose box is narrower than this (px) are left to the background pass. Default 40. */
  minFaceSize?: number | undefined;
  /**
   * Most faces stylized one by one (the largest first); the others are left to the background pass.
   * Each face costs a model run, so this bounds the cost of a crowd photo. Default: no limit.
   */
  maxFaces?: number | undefined;
  /** Largest background tile side; default from the style (1024). */
  maxTile?: number | undefined;
}

export interface StageProgress {
  stage: Stage;
  /** 0..1 within the stage. */
  progress: number;
}

export interface PipelineContext {
  backend: InferenceBackend;
  catalogue: Catalogue;
  onProgress?: ((progress: StageProgress) => void) | undefined;
  /** Clock in ms; the adapters pass a high-resolution one. */
  now?: () => number;
  /** Called after each face is blended into a style pass's picture (quality measures, debugging). */
  onFacePasted?: ((info: FacePasteInfo) => void) | undefined;
}

export interface FacePasteInfo {
  /** Index into the result's faces. */
  index: number;
  imageToCrop: Affine;
  cropSize: number;
  /** The paste weight, 0..1 in crop space (`cropSize`²). */
  mask: FloatPlane;
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

export interface PipelineResult {
  image: RawImage;
  style: string;
  faces: FaceReport[];
  timings: Partial<Record<Stage, number>>;
  /** Ids of the models that ran. */
  models: string[];
  /**
   * False when face detection was skipped: the style does not need faces and no detector model is
   * installed (procedural styles work before any model is installed).
   */
  detected: boolean;
  /** Milliseconds spent inside the inference runtime, per model (the rest is pipeline overhead). */
  inference: Record<string, number>;
}

const TILE_OVERLAP = 64;

export function validatePipelineOptions(options: PipelineOptions): void {
  const unit = (name: string, value: unknown): void => {
    if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1)) {
      throw new PortoonError('E_BAD_OPTION', `Expected a number between 0 and 1 for ${name} but received ${String(value)}`);
    }
  };
  if (typeof options.style !== 'string' || options.style === '') {
    throw new PortoonError('E_BAD_OPTION', `Expected a style id but received ${String(options.style)}`);
  }
  unit('strength', options.strength);
  if (options.mix !== undefined) unit('mix weight', options.mix.weight);
  if (options.background !== undefined && !BACKGROUND_MODES.includes(options.background)) {
    throw new PortoonError(
      'E_BAD_OPTION',
      `Expected background to be one of ${BACKGROUND_MODES.join(', ')} but received ${String(options.background)}`,
    );
  }
  if (options.minFaceSize !== undefined && !(options.minFaceSize >= 0)) {
    throw new PortoonError('E_BAD_OPTION', `Expected a non-negative minFaceSize but received ${String(options.minFaceSize)}`);
  }
  if (options.maxFaces !== undefined && !(Number.isInteger(options.maxFaces) && options.maxFaces >= 0)) {
    throw new PortoonError('E_BAD_OPTION', `Expected a non-negative integer for maxFaces but received ${String(options.maxFaces)}`);
  }
  if (options.maxTile !== undefined && !(Number.isInteger(options.maxTile) && options.maxTile >= 128)) {
    throw new PortoonError('E_BAD_OPTION', `Expected an integer of at least 128 for maxTile but received ${String(options.maxTile)}`);
  }
}

/** Runs the whole pipeline on a decoded RGB image. */
export async function cartoonizeImage(image: RawImage, options: PipelineOptions, context: PipelineContext): Promise<PipelineResult> {
  validatePipelineOptions(options);
  if (image.channels !== 3) throw new PortoonError('E_BAD_OPTION', `Expected an RGB image but received ${image.channels} channels`);
  const { catalogue } = context;
  const now = context.now ?? Date.now;
  const inference: Record<string, number> = {};
  // Measures time inside the runtime per model, so reports can separate model time from overhead.
  const runtime = context.backend;
  const backend: InferenceBackend = {
    has: (id) => runtime.has(id),
    run: async (id, feeds) => {
      const start = now();
      try {
        return await runtime.run(id, feeds);
      } finally {
        inference[id] = (inference[id] ?? 0) + (now() - start);
      }
    },
  };
  // Every model call below goes through the timed backend.
  const timedContext: PipelineContext = { ...context, backend };
  const timings: Partial<Record<Stage, number>> = {};
  const models = new Set<string>();
  const timed = async <T>(stage: Stage, work: () => Promise<T> | T): Promise<T> => {
    const start = now();
    try {
      return await work();
    } finally {
      timings[stage] = (timings[stage] ?? 0) + (now() - start);
    }
  };
  const progress = (stage: Stage, value: number): void => context.onProgress?.({ stage, progress: value });
  const model = (id: string) => catalogue.model(id);

  const main = catalogue.style(options.style);
  const mixStyle = options.mix ? catalogue.style(options.mix.style) : undefined;
  const weight = mixStyle ? options.mix!.weight : 0;
  const strength = options.strength ?? main.defaults.strength;
  const mode = options.background ?? 'stylize';
  const passes: Array<{ style: StyleEntry; weight: number }> =
    !mixStyle || weight <= 0
      ? [{ style: main, weight: 1 }]
      : weight >= 1
        ? [{ style: mixStyle, weight: 1 }]
        : [
            { style: main, weight: 1 - weight },
            { style: mixStyle, weight },
          ];

  progress('detect', 0);
  const detector = options.detector ?? 'both';
  const detectorIds = detectorModelIds(detector);
  const detected =
    stylesNeedFaces(
      passes.map((p) => p.style),
      mode,
    ) || detectorIds.every((id) => backend.has(id));
  // Every detection is checked on its own aligned crop: false faces go, landmarks get refined.
  // RetinaFace checks unless the user chose YuNet alone (it refuses more non-faces on a crop).
  const checker = detector === 'yunet' ? 'yunet' : 'retinaface';
  const faces = detected
    ? await timed('detect', async () =>
        confirmFaces(image, await detectFaces(image, backend, model, { detector }), backend, model, checker),
      )
    : [];
  if (detected) for (const id of detectorIds) models.add(id);
  progress('detect', 1);
  const minFace = options.minFaceSize ?? 40;
  const reports: FaceReport[] = faces.map((f) => ({
    box: f.box,
    score: f.score,
    landmarks: f.landmarks.map(([x, y]) => [x, y]),
    stylized: false,
  }));

  if (strength <= 0) {
    // Nothing of the style would survive the blend: skip all stylization work.
    return { image: cloneImage(image), style: main.id, faces: reports, detected, timings, models: [...models], inference };
  }

  // Aligned crops and their masks are shared by both styles of a mix when the framing matches.
  const crops = new Map<string, { face: AlignedFace; masks: FaceMasks }>();
  const cropFor = async (face: Face, index: number, plan: FacePlan, size: number): Promise<{ face: AlignedFace; masks: FaceMasks }> => {
    const key = `${index}:${cropKey(plan, size)}`;
    let crop = crops.get(key);
    if (!crop) {
      const aligned = await timed('align', () => alignFace(image, face.landmarks, plan.framing, size));
      const masks = await timed('parse', () => faceMasks(aligned, backend, model, plan.purpose));
      if (masks.source === 'parsing') models.add(PARSING_MODEL);
      crop = { face: aligned, masks };
      crops.set(key, crop);
    }
    return crop;
  };
  // Passes that only polish faces need the parsing model to know where skin is; without it they are skipped.
  const canPolish = backend.has(PARSING_MODEL);

  const results: Array<{ image: RawImage; weight: number }> = [];
  for (const [passIndex, pass] of passes.entries()) {
    const style = pass.style;
    const base = await timed('background', () =>
      backgroundPass(
        image,
        style,
        mode,
        options.maxTile,
        timedContext,
        (p) => progress('background', (passIndex + p) / passes.length),
        models,
      ),
    );
    const plan = facePlanOf(style, mode, catalogue);
    if (plan.required || canPolish) {
      const eligible = largestFaces(faces, minFace, options.maxFaces);
      for (const [n, [face, index]] of eligible.entries()) {
        const size = chooseCropSize(face.landmarks, plan.framing, plan.limits);
        const { face: aligned, masks } = await cropFor(face, index, plan, size);
        const styled = await timed('head', () => stylizeFace(aligned, masks, plan, image, timedContext, models));
        const mask = await timed('paste', () => blendFace(base, aligned, masks, styled, plan));
        context.onFacePasted?.({ index, imageToCrop: aligned.imageToCrop, cropSize: size, mask });
        reports[index]!.stylized = true;
        reports[index]!.cropSize = Math.max(reports[index]!.cropSize ?? 0, size);
        progress('head', (passIndex + (n + 1) / eligible.length) / passes.length);
      }
    }
    results.push({ image: base, weight: pass.weight });
  }

  let output = results[0]!.image;
  if (results.length === 2) output = mixImages(results[0]!.image, results[1]!.image, results[1]!.weight);
  if (strength < 1) output = mixImages(image, output, strength);
  return { image: output, style: main.id, faces: reports, detected, timings, models: [...models], inference };
}

/** Faces wide enough to stylize on their own, at most `maxFaces` of them (the widest), in detection order. */
function largestFaces(faces: readonly Face[], minWidth: number, maxFaces: number | undefined): Array<readonly [Face, number]> {
  const wide = faces.map((face, index) => [face, index] as const).filter(([face]) => face.box[2] >= minWidth);
  if (maxFaces === undefined || wide.length <= maxFaces) return wide;
  const kept = new Set(
    [...wide]
      .sort(([a], [b]) => b.box[2] - a.box[2])
      .slice(0, maxFaces)
      .map(([, index]) => index),
  );
  return wide.filter(([, index]) => kept.has(index));
}

/** Whether any of the styles needs faces detected to work at all (a head model, or faces stylized over a kept photo). */
export function stylesNeedFaces(styles: readonly StyleEntry[], mode: BackgroundMode): boolean {
  return styles.some((style) => style.head !== undefined || mode === 'keep');
}

/** The face's new look in crop space, or undefined for a tone-only pass. */
async function stylizeFace(
  aligned: AlignedFace,
  masks: FaceMasks,
  plan: FacePlan,
  image: RawImage,
  context: PipelineContext,
  models: Set<string>,
): Promise<RawImage | undefined> {
  const { stylizer } = plan;
  if (stylizer.kind === 'tone') return undefined;
  if (stylizer.kind === 'procedural') return stylizeProceduralFace(stylizer, aligned, masks, Math.max(image.width, image.height));
  models.add(stylizer.id);
  return runStyleModel(aligned.image, context.catalogue.model(stylizer.id), context.backend);
}

async function backgroundPass(
  image: RawImage,
  style: StyleEntry,
  mode: BackgroundMode,
  maxTile: number | undefined,
  context: PipelineContext,
  onProgress: (fraction: number) => void,
  models: Set<string>,
): Promise<RawImage> {
  onProgress(0);
  let out: RawImage;
  if (mode === 'keep') out = cloneImage(image);
  else {
    const bg = style.background;
    if ('procedural' in bg) out = runProcedural(bg.procedural, image, bg.params);
    else {
      const entry = context.catalogue.model(bg.model);
      models.add(entry.id);
      out = await transformTiled(
        image,
        (tile) => runStyleModel(tile, entry, context.backend),
        { maxTile: maxTile ?? bg.maxTile, overlap: TILE_OVERLAP, multiple: entry.input.sizeMultiple },
        ({ done, total }) => onProgress(done / total),
      );
    }
    if (mode === 'blur') {
      // Portrait-mode look: the stylized picture, with everything but the people out of focus.
      models.add(PERSON_SEGMENTATION_MODEL);
      const mask = await personMask(image, context.backend, (id) => context.catalogue.model(id));
      out = composite(out, gaussianBlurImage(out, Math.max(2, Math.max(image.width, image.height) * 0.012)), mask);
    }
  }
  onProgress(1);
  return out;
}
