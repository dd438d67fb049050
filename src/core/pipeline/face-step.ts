/**
 * The face step of a pass: each face large enough is cut out on its pass's framing, stylized,
 * and blended into the pass's picture.
 */
import { alignFace, faceMasks, type AlignedFace, type FaceMasks } from '../face/crop.js';
import type { Face } from '../face/detect.js';
import { blendFace, cropKey, stylizeProceduralFace, type FacePlan } from '../face/face-pass.js';
import { chooseCropSize } from '../face/framing.js';
import type { RawImage } from '../image.js';
import type { ModelEntry } from '../models/manifest.js';
import type { FaceReport } from '../report.js';
import { DEFAULT_MIN_FACE_SIZE, type CartoonizeRequest } from '../request.js';
import { runStyleModel } from '../stylize.js';
import type { Pass } from './plan.js';
import type { PipelineRun } from './run.js';

interface FaceCrop {
  face: AlignedFace;
  masks: FaceMasks;
}

/** Aligned crops and their masks, made once and shared by both passes of a mix when they match. */
export class CropCache {
  readonly #crops = new Map<string, FaceCrop>();
  readonly #image: RawImage;
  readonly #run: PipelineRun;

  constructor(image: RawImage, run: PipelineRun) {
    this.#image = image;
    this.#run = run;
  }

  /** Face `index` cut out on the plan's framing at `size` px, with masks from `parser` (or ellipses). */
  async get(face: Face, index: number, plan: FacePlan, size: number, parser: ModelEntry | undefined): Promise<FaceCrop> {
    const key = `${index}:${cropKey(plan, size)}:${parser?.id ?? ''}`;
    let crop = this.#crops.get(key);
    if (!crop) {
      const run = this.#run;
      const aligned = await run.timed('align', () => alignFace(this.#image, face.landmarks, plan.framing, size));
      const masks = await run.timed('parse', () => faceMasks(aligned, run.context.backend, parser, plan.purpose));
      if (parser && masks.source === 'parsing') run.ran(parser.id);
      crop = { face: aligned, masks };
      this.#crops.set(key, crop);
    }
    return crop;
  }
}

/**
 * Stylizes the pass's faces into `picture` (mutated).
 * @returns the crop size of each face stylized, by index into `faces`.
 */
export async function faceStep(
  picture: RawImage,
  faces: readonly Face[],
  pass: Pass,
  request: Pick<CartoonizeRequest, 'minFaceSize' | 'maxFaces'>,
  crops: CropCache,
  run: PipelineRun,
): Promise<Map<number, number>> {
  const sizes = new Map<number, number>();
  const { face: plan, parser } = pass;
  // Passes that only polish faces need the parser to know where skin is; without it they are skipped.
  const canPolish = parser !== undefined && run.context.backend.has(parser.id);
  if (!plan.required && !canPolish) return sizes;
  const eligible = largestFaces(faces, request.minFaceSize ?? DEFAULT_MIN_FACE_SIZE, request.maxFaces);
  for (const [n, [face, index]] of eligible.entries()) {
    const size = chooseCropSize(face.landmarks, plan.framing, plan.limits);
    const { face: aligned, masks } = await crops.get(face, index, plan, size, parser);
    const styled = await run.timed('head', () => stylizeFace(aligned, masks, plan, picture, run));
    const mask = await run.timed('paste', () => blendFace(picture, aligned, masks, styled, plan));
    run.context.onFacePasted?.({ index, imageToCrop: aligned.imageToCrop, cropSize: size, mask });
    sizes.set(index, size);
    run.progress('head', pass.overall((n + 1) / eligible.length));
  }
  return sizes;
}

/**
 * What the report says of each face: stylized when a pass gave it its own treatment, at the
 * largest crop size any pass used.
 * @param cropSizes per pass, the crop size of each face it stylized (see {@link faceStep}).
 */
export function reportFaces(faces: readonly Face[], cropSizes: ReadonlyArray<ReadonlyMap<number, number>>): FaceReport[] {
  return faces.map((face, index) => {
    const sizes = cropSizes.flatMap((bySize) => bySize.get(index) ?? []);
    const report: FaceReport = {
      box: face.box,
      score: face.score,
      landmarks: face.landmarks.map(([x, y]) => [x, y]),
      stylized: sizes.length > 0,
    };
    if (sizes.length > 0) report.cropSize = Math.max(...sizes);
    return report;
  });
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

/**
 * The face's new look in crop space, or undefined for a tone-only pass.
 * @param picture the pass's picture, which has the photo's size.
 */
async function stylizeFace(
  aligned: AlignedFace,
  masks: FaceMasks,
  plan: FacePlan,
  picture: RawImage,
  run: PipelineRun,
): Promise<RawImage | undefined> {
  const { stylizer } = plan;
  if (stylizer.kind === 'tone') return undefined;
  if (stylizer.kind === 'procedural') return stylizeProceduralFace(stylizer, aligned, masks, Math.max(picture.width, picture.height));
  run.ran(stylizer.id);
  return runStyleModel(aligned.image, run.context.catalogue.model(stylizer.id), run.context.backend);
}
