/**
 * Parameter tables for the procedural filters. Each filter declares its parameters once (range,
 * default, meaning); the same table validates style manifests, CLI options and direct calls, so the
 * error a user sees always names the filter, the parameter and the accepted range.
 */
import { PortoonError } from '../errors.js';

export interface ParamSpec {
  readonly min: number;
  readonly max: number;
  readonly default: number;
  readonly integer?: boolean;
  readonly doc: string;
}

export type ParamSpecs<K extends string> = { readonly [P in K]: ParamSpec };

/**
 * Fills in defaults and checks every given value.
 * @throws PortoonError E_BAD_OPTION for an unknown name, a non-number, or a value out of range.
 */
export function resolveParams<K extends string>(
  filter: string,
  specs: ParamSpecs<K>,
  given: Readonly<Record<string, unknown>> = {},
): Record<K, number> {
  const names = Object.keys(specs) as K[];
  for (const name of Object.keys(given)) {
    if (!Object.hasOwn(specs, name)) {
      throw new PortoonError('E_BAD_OPTION', `Expected one of ${names.join(', ')} for ${filter} param name but received "${name}"`, {
        details: { filter, param: name },
      });
    }
  }
  const out = {} as Record<K, number>;
  for (const name of names) {
    const spec = specs[name];
    const value = given[name];
    if (value === undefined) {
      out[name] = spec.default;
      continue;
    }
    const ok =
      typeof value === 'number' &&
      Number.isFinite(value) &&
      value >= spec.min &&
      value <= spec.max &&
      (spec.integer !== true || Number.isInteger(value));
    if (!ok) {
      const kind = spec.integer === true ? 'an integer' : 'a number';
      throw new PortoonError(
        'E_BAD_OPTION',
        `Expected ${kind} in ${spec.min}..${spec.max} for ${filter} param ${name} but received ${formatValue(value)}`,
        { details: { filter, param: name, min: spec.min, max: spec.max } },
      );
    }
    out[name] = value;
  }
  return out;
}

function formatValue(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}
