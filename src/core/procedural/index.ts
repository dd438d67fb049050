/**
 * Procedural styles: cartoon looks that need no neural model, run by name with params from a style
 * manifest (`background: { procedural, params }`), the CLI or the service.
 */
import { PortoonError } from '../errors.js';
import type { RawImage } from '../image.js';
import { CEL_PARAMS, celShade } from './cel.js';
import type { ParamSpecs } from './params.js';
import { resolveParams } from './params.js';
import { WATERCOLOR_PARAMS, watercolor } from './watercolor.js';

export { celShade, CEL_PARAMS, type CelParams } from './cel.js';
export { watercolor, WATERCOLOR_PARAMS, type WatercolorParams } from './watercolor.js';
export type { ParamSpec, ParamSpecs } from './params.js';

export type ProceduralName = 'cel' | 'watercolor';

/** Parameter tables by filter name, e.g. for `portoon styles --verbose` or form generation. */
export const PROCEDURAL_PARAMS: { readonly [K in ProceduralName]: ParamSpecs<string> } = {
  cel: CEL_PARAMS,
  watercolor: WATERCOLOR_PARAMS,
};

/**
 * Checks params without running the filter (style manifests are validated when loaded, not when
 * the first photo arrives).
 * @throws PortoonError E_BAD_OPTION for an unknown filter, an unknown param or an out-of-range value.
 */
export function validateProceduralParams(name: string, params: Readonly<Record<string, number>>): void {
  resolveParams(name, specsFor(name), params);
}

/**
 * Runs a procedural filter on an RGB image and returns a new RGB image of the same size. Pure and
 * deterministic: the same input and params always give the same bytes.
 * @throws PortoonError E_BAD_OPTION for an unknown filter, an unknown param or an out-of-range value.
 */
export function runProcedural(name: ProceduralName, image: RawImage, params: Readonly<Record<string, number>>): RawImage {
  validateProceduralParams(name, params);
  // The filters re-validate (cheap) so direct calls get the same errors. A non-RGB image is a
  // programming error (the pipeline always works on RGB): the filters throw a RangeError for it.
  return name === 'cel' ? celShade(image, params) : watercolor(image, params);
}

function specsFor(name: string): ParamSpecs<string> {
  if (name === 'cel' || name === 'watercolor') return PROCEDURAL_PARAMS[name];
  throw new PortoonError('E_BAD_OPTION', `Expected "cel" or "watercolor" for the procedural filter but received "${name}"`, {
    details: { filter: name },
  });
}
