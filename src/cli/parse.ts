/**
 * Option parsers for the CLI. The request's own flags (--strength, --format …) are only decoded here
 * (split, trimmed, lower-cased); their values are checked by the one request schema, with the flag
 * named in the message (`requestFromFlags`). The engine's flags (--workers, --threads, --device) are
 * checked here. Commander passes a PortoonError thrown by a parser through unchanged, so every
 * mistake reaches the user in the same `portoon: <message> [<code>]` line.
 */
import { PortoonError } from '../core/errors.js';
import { decodeTextFields, listWords, parseCartoonizeRequest, type CartoonizeRequest } from '../core/request.js';
import { parseVideoParams, videoFieldsSchema } from '../core/video/params.js';
import type { VideoParams } from '../core/video/types.js';

export { listWords };

/** `Expected <what> for <flag> but received <value>`. */
export function expectedError(what: string, flag: string, value: string): PortoonError {
  const received = value.trim() === '' ? 'an empty value' : value;
  return new PortoonError('E_BAD_OPTION', `Expected ${what} for ${flag} but received ${received}`, { details: { option: flag, value } });
}

/** A whole number of at least `min`. */
export function intParser(flag: string, min: number): (value: string) => number {
  const what = min === 1 ? 'a positive whole number' : `a whole number of at least ${min}`;
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || n < min) throw expectedError(what, flag, value);
    return n;
  };
}

/** One of a fixed list of words. */
export function choiceParser<T extends string>(flag: string, choices: readonly T[]): (value: string) => T {
  return (value) => {
    const v = value.trim().toLowerCase();
    if (!(choices as readonly string[]).includes(v)) throw expectedError(listWords(choices), flag, value);
    return v as T;
  };
}

/** Words are matched without regard to case or surrounding blanks (`--format JPG`). */
export const lowerCase = (value: string): string => value.trim().toLowerCase();

/** `<style>` or `<style>:<weight>`: split here, both parts checked by the request schema. */
export function splitMix(value: string): { mix: string; mixWeight?: string } {
  const colon = value.lastIndexOf(':');
  return colon < 0 ? { mix: value.trim() } : { mix: value.slice(0, colon).trim(), mixWeight: value.slice(colon + 1) };
}

export const parseDevice = choiceParser('--device', ['cpu', 'cuda'] as const);

/** The flags that set request fields, as the CLI's user knows them. */
const FLAG_OF: Readonly<Record<string, string>> = {
  style: '--style',
  strength: '--strength',
  mix: '--mix',
  mixWeight: 'the weight of --mix (e.g. sketch:0.3)',
  maxSide: '--max-side',
  background: '--background',
  detector: '--detector',
  format: '--format',
  quality: '--quality',
  preview: '--preview',
};

export interface RequestFlags {
  style: string;
  strength?: string | undefined;
  mix?: { mix: string; mixWeight?: string } | undefined;
  maxSide?: string | undefined;
  background?: string | undefined;
  detector?: string | undefined;
  format?: string | undefined;
  quality?: string | undefined;
  preview?: boolean | undefined;
  label?: boolean | undefined;
}

/**
 * The request the flags ask for, checked by the request schema.
 * @throws PortoonError E_BAD_OPTION naming the flag, e.g. `Expected a number between 0 and 1 for --strength but received 2`.
 */
export function requestFromFlags(flags: RequestFlags): CartoonizeRequest {
  const { style, strength, mix, maxSide, background, detector, format, quality, preview, label } = flags;
  const given = { style, strength, ...mix, maxSide, background, detector, format, quality, preview, label };
  const fields = Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined));
  return parseCartoonizeRequest(decodeTextFields(fields), { nameOf: (field) => FLAG_OF[field] ?? field });
}

/** Flags of the request that only a photo can use; a video refuses them, naming what to use instead. */
export const PHOTO_ONLY_FLAGS: ReadonlyArray<{ flag: string; given: (flags: RequestFlags) => boolean; instead: string }> = [
  { flag: '--format', given: (f) => f.format !== undefined, instead: "a video's container comes from the -o name or --video-format" },
  { flag: '--quality', given: (f) => f.quality !== undefined, instead: "a video's quality is set with --crf" },
  { flag: '--preview', given: (f) => f.preview === true, instead: 'a video is made smaller with --max-side' },
];

/**
 * The video flags as commander hands them over: values as text; `--no-audio` and `--no-temporal`
 * arrive as `audio: false` / `temporal: false` (commander sets `true` when they are not given).
 */
export interface VideoFlags {
  fps?: string | undefined;
  start?: string | undefined;
  duration?: string | undefined;
  crf?: string | undefined;
  audio?: boolean | undefined;
  videoFormat?: string | undefined;
  temporal?: boolean | undefined;
  flicker?: boolean | undefined;
}

/** The video option each flag sets (`parseVideoParams`' field names), in the order of --help. */
const VIDEO_FIELD_OF_FLAG = {
  '--fps': 'fps',
  '--start': 'start',
  '--duration': 'duration',
  '--crf': 'crf',
  '--no-audio': 'audio',
  '--video-format': 'videoFormat',
  '--no-temporal': 'temporal',
  '--flicker': 'measureFlicker',
} as const;

const FLAG_OF_VIDEO_FIELD: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(VIDEO_FIELD_OF_FLAG).map(([flag, field]) => [field, flag]),
);

/** The video options the user set, under their field names; flags left out are absent. */
function videoFieldsOf(flags: VideoFlags): Record<string, unknown> {
  const given: Record<string, unknown> = {
    fps: flags.fps,
    start: flags.start,
    duration: flags.duration,
    crf: flags.crf,
    // Only the negated form exists on the command line: `true` is commander's default, not a choice.
    audio: flags.audio === false ? false : undefined,
    videoFormat: flags.videoFormat,
    temporal: flags.temporal === false ? false : undefined,
    measureFlicker: flags.flicker === true ? true : undefined,
  };
  return Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined));
}

/** The video flags the user gave, e.g. `['--fps', '--no-audio']`. */
export function givenVideoFlags(flags: VideoFlags): string[] {
  return Object.keys(videoFieldsOf(flags)).map((field) => FLAG_OF_VIDEO_FIELD[field] ?? field);
}

/**
 * The video options the flags ask for, checked by the video options' schema (the one the library
 * and the jobs API use).
 * @throws PortoonError E_BAD_OPTION naming the flag, e.g. `Expected a number between 0.1 and 120 for --fps but received 0`.
 */
export function videoParamsFromFlags(flags: VideoFlags): VideoParams {
  const fields = decodeTextFields(videoFieldsOf(flags), videoFieldsSchema);
  return parseVideoParams(fields, (field) => FLAG_OF_VIDEO_FIELD[field] ?? field);
}
