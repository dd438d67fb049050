/** Option parsers for the CLI: each turns a string into a typed value or a usage error. */
import { InvalidArgumentError } from 'commander';
import { BACKGROUND_MODES, type BackgroundMode, type StyleMix } from '../core/pipeline.js';
import { OUTPUT_FORMATS, type OutputFormat } from '../node/codec.js';

export function parseUnit(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1)
    throw new InvalidArgumentError(`expected a number between 0 and 1, got "${value}"`);
  return n;
}

export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}

export function parseMix(value: string): StyleMix {
  const match = /^([a-z0-9][a-z0-9-]*)(?::([0-9.]+))?$/.exec(value.trim());
  if (!match) throw new InvalidArgumentError(`expected <style>:<weight>, e.g. sketch:0.3, got "${value}"`);
  const weight = match[2] === undefined ? 0.5 : parseUnit(match[2]);
  return { style: match[1]!, weight };
}

export function parseBackground(value: string): BackgroundMode {
  if (!(BACKGROUND_MODES as readonly string[]).includes(value))
    throw new InvalidArgumentError(`expected one of ${BACKGROUND_MODES.join(', ')}, got "${value}"`);
  return value as BackgroundMode;
}

export function parseFormat(value: string): OutputFormat {
  const v = value.toLowerCase() === 'jpg' ? 'jpeg' : value.toLowerCase();
  if (!(OUTPUT_FORMATS as readonly string[]).includes(v))
    throw new InvalidArgumentError(`expected one of ${OUTPUT_FORMATS.join(', ')}, got "${value}"`);
  return v as OutputFormat;
}

export function parseDetector(value: string): 'both' | 'retinaface' | 'yunet' {
  if (value !== 'both' && value !== 'retinaface' && value !== 'yunet')
    throw new InvalidArgumentError(`expected both, retinaface or yunet, got "${value}"`);
  return value;
}
