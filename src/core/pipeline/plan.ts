/**
 * What a request will run, decided before any pixel is touched: one pass per style that shows in
 * the result, how each pass treats faces, and which helper models it uses. The engine's adapters
 * ask the same plan which models a request needs, so they and the pipeline agree.
 */
import { DETECTOR_ROLES, detectorsOf } from '../face/detect.js';
import { facePlanOf, type FacePlan } from '../face/face-pass.js';
import { requireHelper, type Catalogue } from '../models/catalogue.js';
import type { ModelEntry, StyleEntry } from '../models/manifest.js';
import type { BackgroundMode, CartoonizeRequest, DetectorChoice } from '../request.js';

/** One stylization of the whole picture; a mix runs two and blends them. */
export interface Pass {
  style: StyleEntry;
  /** The pass's share of the result. */
  weight: number;
  face: FacePlan;
  /** The face parser for the pass's face masks; undefined when the catalogue has none (ellipse masks). */
  parser: ModelEntry | undefined;
  /** The person segmenter, for a blurred background only. */
  segmenter: ModelEntry | undefined;
  /** Where a fraction of this pass's work lies in its stage's progress (the passes share each stage). */
  overall: (fraction: number) => number;
}

export interface RunPlan {
  /** The requested style: the one reported, and the source of the default strength. */
  style: StyleEntry;
  passes: Pass[];
  mode: BackgroundMode;
  detector: DetectorChoice;
  /**
   * Whether a pass cannot work without faces (see {@link stylesNeedFaces}): detection then runs even
   * when its models are not installed, and fails for it. Otherwise it runs only when they are.
   */
  needFaces: boolean;
}

/** The fields of a request that decide which models run. */
export type ModelChoices = Pick<CartoonizeRequest, 'style' | 'mix' | 'detector' | 'background'>;

/**
 * Plans a request: the mix style's weight decides the passes (at 0 or 1 only one style shows).
 * @throws PortoonError E_UNKNOWN_STYLE; E_MODEL_MISSING for a blurred background when the catalogue
 *   has no person segmenter.
 */
export function planRun(catalogue: Catalogue, request: ModelChoices): RunPlan {
  const style = catalogue.style(request.style);
  const mix = request.mix && { style: catalogue.style(request.mix.style), weight: request.mix.weight };
  const mode = request.background ?? 'stylize';
  const shares: Array<[StyleEntry, number]> =
    !mix || mix.weight <= 0
      ? [[style, 1]]
      : mix.weight >= 1
        ? [[mix.style, 1]]
        : [
            [style, 1 - mix.weight],
            [mix.style, mix.weight],
          ];
  const passes = shares.map(([passStyle, weight], index): Pass => ({
    style: passStyle,
    weight,
    face: facePlanOf(passStyle, mode, catalogue),
    parser: catalogue.helperFor(passStyle, 'faceParser'),
    segmenter:
      mode === 'blur' ? (catalogue.helperFor(passStyle, 'personSegmenter') ?? requireHelper(catalogue, 'person-segmenter')) : undefined,
    overall: (fraction) => (index + fraction) / shares.length,
  }));
  const needFaces = stylesNeedFaces(
    passes.map((pass) => pass.style),
    mode,
  );
  return { style, passes, mode, detector: request.detector ?? 'both', needFaces };
}

/** Whether any of the styles needs faces detected to work at all (a head model, or faces stylized over a kept photo). */
export function stylesNeedFaces(styles: readonly StyleEntry[], mode: BackgroundMode): boolean {
  return styles.some((style) => style.head !== undefined || mode === 'keep');
}

/**
 * The models of the detector choice, in the order they run; undefined for a detector no model
 * plays.
 */
export function detectorModels(catalogue: Catalogue, choice: DetectorChoice): Array<ModelEntry | undefined> {
  return detectorsOf(choice).map((detector) => catalogue.helper(DETECTOR_ROLES[detector]));
}

/**
 * Ids of the models a request cannot run without: the style models of its passes, the face
 * detectors when a pass needs faces, and the person segmenter for a blurred background. The face
 * parser is not among them: without it faces are pasted through ellipses.
 * @throws PortoonError E_UNKNOWN_STYLE; E_MODEL_MISSING when the catalogue has no model for a
 *   needed role.
 */
export function modelsForRequest(catalogue: Catalogue, request: ModelChoices): string[] {
  const plan = planRun(catalogue, request);
  const styles = plan.passes.flatMap((pass) => catalogue.modelsOf(pass.style));
  const detectors = plan.needFaces
    ? detectorsOf(plan.detector).map((detector) => requireHelper(catalogue, DETECTOR_ROLES[detector]).id)
    : [];
  const segmenters = plan.passes.flatMap((pass) => (pass.segmenter ? [pass.segmenter.id] : []));
  return [...new Set([...styles, ...detectors, ...segmenters])];
}
