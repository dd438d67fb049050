/**
 * Option parsers for the CLI. Each is made for one flag, so a bad value fails with an E_BAD_OPTION
 * that names the flag, what it expects and what arrived. Commander passes a PortoonError thrown by a
 * parser through unchanged, so these reach the user in the same `portoon: <message> [<code>]` line
 * as every other error.
 */
import { PortoonError } from '../core/errors.js';
import { BACKGROUND_MODES, type BackgroundMode, type StyleMix } from '../core/pipeline.js';
import { OUTPUT_FORMATS, type OutputFormat } from '../node/codec.js';

/** `Expected <what> for <flag> but received <value>`. */
export function expectedError(what: string, flag: string, value: string): PortoonError {
  const received = value.trim() === '' ? 'an empty value' : value;
  return new PortoonError('E_BAD_OPTION', `Expected ${what} for ${flag} but received ${received}`, { details: { option: flag, value } });
}

/** "a, b or c" */
export function listWords(words: readonly string[]): string {
  return words.length < 2 ? words.join('') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)!}`;
}

function unitValue(value: string): number | undefined {
  const n = Number(value);
  return value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1 ? undefined : n;
}

/** A number in [0, 1]. */
export function unitParser(flag: string): (value: string) => number {
  return (value) => {
    const n = unitValue(value);
    if (n === undefined) throw expectedError('a number between 0 and 1', flag, value);
    return n;
  };
}

/** A whole number in [min, max]. */
export function intParser(flag: string, min: number, max?: number): (value: string) => number {
  const what =
    max !== undefined
      ? `a whole number between ${min} and ${max}`
      : min === 1
        ? 'a positive whole number'
        : `a whole number of at least ${min}`;
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || n < min || (max !== undefined && n > max)) throw expectedError(what, flag, value);
    return n;
  };
}

/** One of a fixed list of words (`aliases` maps extra spellings onto them). */
export function choiceParser<T extends string>(
  flag: string,
  choices: readonly T[],
  aliases: Readonly<Record<string, T>> = {},
): (value: string) => T {
  return (value) => {
    const v = value.trim().toLowerCase();
    const found = (choices as readonly string[]).includes(v) ? (v as T) : aliases[v];
    if (found === undefined) throw expectedError(listWords(choices), flag, value);
    return found;
  };
}

/** `<style>` or `<style>:<weight>`, the weight in [0, 1] (default 0.5). */
export function mixParser(flag: string): (value: string) => StyleMix {
  return (value) => {
    const match = /^([a-z0-9][a-z0-9-]*)(?::(.*))?$/.exec(value.trim());
    const weight = match?.[2] === undefined ? 0.5 : unitValue(match[2]);
    if (!match || weight === undefined)
      throw expectedError('<style>:<weight> with a weight between 0 and 1 (e.g. sketch:0.3)', flag, value);
    return { style: match[1]!, weight };
  };
}

export const parseBackground = choiceParser<BackgroundMode>('--background', BACKGROUND_MODES);
export const parseFormat = choiceParser<OutputFormat>('--format', OUTPUT_FORMATS, { jpg: 'jpeg' });
export const parseDetector = choiceParser('--detector', ['both', 'retinaface', 'yunet'] as const);
export const parseDevice = choiceParser('--device', ['cpu', 'cuda'] as const);
