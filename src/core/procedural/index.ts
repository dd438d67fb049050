/**
 * Procedural styles: cartoon looks that need no neural model, run by name with params from a style
 * manifest (`background: { procedural, params }`), the CLI or the service; runProceduralFace is the
 * face-aware variant for the aligned face crops of the face pass.
 */
import { PortoonError } from '../errors.js';
import type { FloatPlane, RawImage } from '../image.js';
import { CEL_PARAMS, celPass, celShade } from './cel.js';
import type { ParamSpecs } from './params.js';
import { resolveParams } from './params.js';
import { WATERCOLOR_PARAMS, watercolor, watercolorPass } from './watercolor.js';

export { celShade, CEL_PARAMS, type CelParams, type FilterScale } from './cel.js';
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

/**
 * Runs the named filter on an aligned face crop with face-aware settings (see skin.ts): skin gets
 * strong edge-preserving smoothing confined to the mask, at most three soft lightness bands valued
 * from the skin alone, ink only where the features are, and its mean colour put back, so a face
 * reads as two or three smooth tones in the person's own skin tone. Everything that is not skin is
 * filtered as on the whole photo. Pure and deterministic.
 * @param crop RGB face crop (square, face upright and centred, as the face pass aligns it).
 * @param skin soft 0..1 mask of face skin (parsing classes skin + nose), the size of the crop.
 * @param unit pixels per "photo unit" in the crop (the filters scale radii by the long side / 1000):
 *   the photo's long side / 1000 times the crop's scale relative to the photo, so ink lines and
 *   washes match the filter's look on the whole photo.
 * @throws PortoonError E_BAD_OPTION for an unknown filter, an unknown param or an out-of-range value;
 *   RangeError for a non-RGB crop, a mask of another size, or a unit that is not a positive number
 *   (programming errors: the pipeline always passes these right).
 */
export function runProceduralFace(
  name: ProceduralName,
  crop: RawImage,
  skin: FloatPlane,
  params: Readonly<Record<string, number>>,
  unit: number,
): RawImage {
  validateProceduralParams(name, params);
  if (skin.width !== crop.width || skin.height !== crop.height) {
    throw new RangeError(`Expected a ${crop.width}x${crop.height} skin mask but received ${skin.width}x${skin.height}`);
  }
  if (!(unit > 0 && Number.isFinite(unit))) throw new RangeError(`Expected a positive finite unit but received ${unit}`);
  return name === 'cel'
    ? celPass(crop, resolveParams('cel', CEL_PARAMS, params), unit, skin.data)
    : watercolorPass(crop, resolveParams('watercolor', WATERCOLOR_PARAMS, params), unit, skin.data);
}

function specsFor(name: string): ParamSpecs<string> {
  if (name === 'cel' || name === 'watercolor') return PROCEDURAL_PARAMS[name];
  throw new PortoonError('E_BAD_OPTION', `Expected "cel" or "watercolor" for the procedural filter but received "${name}"`, {
    details: { filter: name },
  });
}
