/**
 * The cartoonize request, declared once. The library, the CLI and the HTTP API all parse what their
 * caller sent into it with `parseCartoonizeRequest`; the service's JSON schema and OpenAPI document
 * are generated from `cartoonizeFieldsSchema`. What comes out is a `CartoonizeRequest`, a validated
 * and normalised value (aliases resolved, the preview shorthand expanded, the mix as one object)
 * that the engine, the queue and the pipeline take as it is.
 */
import { z } from 'zod';
import { PortoonError } from './errors.js';
import { OUTPUT_FORMAT_ALIASES, OUTPUT_FORMATS, type OutputFormat } from './formats.js';

export const BACKGROUND_MODES = ['stylize', 'keep', 'blur'] as const;
export type BackgroundMode = (typeof BACKGROUND_MODES)[number];

export const DETECTOR_CHOICES = ['both', 'retinaface', 'yunet'] as const;
export type DetectorChoice = (typeof DETECTOR_CHOICES)[number];

/** The longest side of a preview image (gallery thumbnails). */
export const PREVIEW_MAX_SIDE = 256;
/** JPEG quality of a preview. */
export const PREVIEW_QUALITY = 80;
/** Faces narrower than this (px) are left to the background pass unless the request says otherwise. */
export const DEFAULT_MIN_FACE_SIZE = 40;
/** Weight of the mix style when a request names one without a weight. */
export const DEFAULT_MIX_WEIGHT = 0.5;

/** "a, b or c" */
export function listWords(words: readonly string[]): string {
  return words.length < 2 ? words.join('') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)!}`;
}

const styleId = z.string().min(1).max(64);
const unit = z.number().min(0).max(1);

/** How a field's accepted values are put in messages, when its schema alone would say it badly. */
const wording = z.registry<{ expected: string }>();

/**
 * Every parameter of one cartoonization, as a caller writes it. The field descriptions are the
 * API's documentation (they end up in the OpenAPI document).
 */
export const cartoonizeFieldsSchema = z.strictObject({
  style: styleId.describe('Style id, see GET /api/v1/styles or `portoon styles`').meta({ examples: ['anime'] }),
  strength: unit.optional().describe("How much of the style to apply; 0 gives back the photo. Default: the style's default"),
  mix: styleId
    .optional()
    .describe('A second style to blend toward')
    .meta({ examples: ['sketch'] }),
  mixWeight: unit.optional().describe(`Weight of the mix style (with \`mix\`). Default ${DEFAULT_MIX_WEIGHT}`),
  maxSide: z
    .number()
    .int()
    .min(16)
    .max(100_000)
    .optional()
    .describe('Shrink so the long side is at most this many pixels (never enlarges). Default: full size'),
  background: z
    .enum(BACKGROUND_MODES)
    .optional()
    .describe('stylize everything (default), keep the photo outside faces, or blur the backdrop behind people'),
  detector: z
    .enum(DETECTOR_CHOICES)
    .optional()
    .describe('Face detector: both networks merged (default, a partly hidden face is not missed), retinaface or yunet'),
  format: z
    .enum([...OUTPUT_FORMATS, ...(Object.keys(OUTPUT_FORMAT_ALIASES) as ['jpg'])])
    .optional()
    .describe("Output format (jpg is jpeg). Default: the input's (JPEG/PNG/WebP), else PNG")
    .register(wording, { expected: listWords(OUTPUT_FORMATS) }),
  quality: z.number().int().min(1).max(100).optional().describe('JPEG/WebP quality. Default 90'),
  preview: z
    .boolean()
    .optional()
    .describe(`A cheap thumbnail: at most ${PREVIEW_MAX_SIDE} px, JPEG. For galleries that show each style on the user's photo`),
  minFaceSize: z
    .number()
    .min(0)
    .optional()
    .describe(`Faces narrower than this (px) are left to the background pass. Default ${DEFAULT_MIN_FACE_SIZE}`),
  maxFaces: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe('Most faces stylized one by one (the largest first); the others get the background style. Default: no limit'),
  maxTile: z.number().int().min(128).optional().describe("Largest background tile side. Default: the style's (1024)"),
  label: z
    .boolean()
    .optional()
    .describe(
      'Draw a small visible "AI-generated" label in a corner away from faces. Default: off (a service may turn it on for all requests)',
    ),
});

/** A request as callers write it (the library's `cartoonize` options, the API's form fields). */
export type CartoonizeParams = z.input<typeof cartoonizeFieldsSchema>;

export interface StyleMix {
  /** Second style to interpolate toward. */
  style: string;
  /** 0 = only the main style, 1 = only the mix style. */
  weight: number;
}

declare const validated: unique symbol;

/**
 * A request that went through `parseCartoonizeRequest`: every value in range, aliases resolved
 * (`format` is one of OUTPUT_FORMATS), the preview shorthand expanded into `maxSide`, `format` and
 * `quality`, and the mix style with its weight as one object. The brand keeps unvalidated objects
 * out of the engine at compile time.
 */
export type CartoonizeRequest = Omit<CartoonizeParams, 'mix' | 'mixWeight' | 'format' | 'preview'> & {
  readonly [validated]: true;
  mix?: StyleMix | undefined;
  format?: OutputFormat | undefined;
};

export interface ParseRequestOptions {
  /**
   * The schema the fields are checked against: `cartoonizeFieldsSchema` (default) or one derived from
   * it by an edge (the API adds its file field and leaves out the library-only ones).
   */
  schema?: z.ZodObject;
  /** How the caller knows a field, for messages (the CLI says `--max-side` where the API says `maxSide`). */
  nameOf?: (field: string) => string;
}

/**
 * Checks what a caller sent and turns it into a `CartoonizeRequest`. The one place a request is
 * validated: the library, the CLI and the HTTP API all call it at their edge.
 * @throws PortoonError E_BAD_OPTION: `Expected <what> for <field> but received <value>`, or
 *   `Unknown parameter "<name>"` / `Missing parameter "<name>"`.
 * @example
 * parseCartoonizeRequest({ style: 'anime', mix: 'sketch', mixWeight: 0.3, format: 'jpg' });
 * // → { style: 'anime', mix: { style: 'sketch', weight: 0.3 }, format: 'jpeg' }
 */
export function parseCartoonizeRequest(raw: unknown, options: ParseRequestOptions = {}): CartoonizeRequest {
  const schema = options.schema ?? cartoonizeFieldsSchema;
  const parsed = schema.safeParse(raw, { reportInput: true });
  if (!parsed.success) throw requestError(parsed.error.issues, schema, options.nameOf ?? ((field) => field));
  return normalize(parsed.data as CartoonizeParams);
}

/**
 * Aliases resolved, the preview shorthand expanded, `mix` + `mixWeight` as one object. Only request
 * fields with a value are kept (not an edge's own, like the API's file field).
 */
function normalize(fields: CartoonizeParams): CartoonizeRequest {
  const { mix, mixWeight, format: formatName, preview } = fields;
  const request: Record<string, unknown> = {};
  for (const key of REQUEST_FIELDS) {
    const value = fields[key];
    if (value !== undefined) request[key] = value;
  }
  if (mix !== undefined) request.mix = { style: mix, weight: mixWeight ?? DEFAULT_MIX_WEIGHT };
  const format = formatName === undefined ? undefined : (OUTPUT_FORMAT_ALIASES[formatName] ?? (formatName as OutputFormat));
  if (format !== undefined) request.format = format;
  if (preview === true) {
    request.maxSide = Math.min(fields.maxSide ?? PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE);
    request.format = format ?? 'jpeg';
    request.quality ??= PREVIEW_QUALITY;
  }
  return request as unknown as CartoonizeRequest;
}

/** The fields carried into the request as they are (the others are normalised above). */
const REQUEST_FIELDS = (Object.keys(cartoonizeFieldsSchema.shape) as Array<keyof CartoonizeParams>).filter(
  (key) => !['mix', 'mixWeight', 'format', 'preview'].includes(key),
);

/**
 * Transport decoding for edges whose values arrive as text (multipart form fields, command-line
 * flags): a field the schema types as a number or a boolean gets one when the text is one. Anything
 * else is left as it is, for the schema to refuse with the text in its message.
 */
export function decodeTextFields(
  fields: Readonly<Record<string, unknown>>,
  schema: z.ZodObject = cartoonizeFieldsSchema,
): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [key, value] of Object.entries(fields)) {
    const type = Object.hasOwn(schema.shape, key) ? jsonTypeOf(schema.shape[key] as z.ZodType) : undefined;
    out[key] = typeof value === 'string' ? decodeText(value, type) : value;
  }
  return out;
}

const NUMBER_TEXT = /^\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?\s*$/i;

function decodeText(value: string, type: string | undefined): unknown {
  if ((type === 'number' || type === 'integer') && NUMBER_TEXT.test(value)) return Number(value);
  if (type === 'boolean' && (value === 'true' || value === 'false')) return value === 'true';
  return value;
}

function jsonTypeOf(field: z.ZodType): string | undefined {
  const json = fieldJson(field);
  return typeof json.type === 'string' ? json.type : undefined;
}

const jsonCache = new WeakMap<z.ZodType, Record<string, unknown>>();

/** The JSON schema of one field. */
function fieldJson(field: z.ZodType): Record<string, unknown> {
  let json = jsonCache.get(field);
  if (!json) {
    json = z.toJSONSchema(field, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
    jsonCache.set(field, json);
  }
  return json;
}

/**
 * One error for the first problem: unknown fields first, then missing ones, then bad values. Shared
 * by every parser of caller-written fields (the video options too), so they all word errors alike.
 */
export function requestError(issues: readonly z.core.$ZodIssue[], schema: z.ZodObject, nameOf: (field: string) => string): PortoonError {
  const unknown = issues.find((issue) => issue.code === 'unrecognized_keys');
  if (unknown) {
    const key = unknown.keys[0]!;
    return new PortoonError('E_BAD_OPTION', `Unknown parameter "${nameOf(key)}"`, { details: { parameter: key } });
  }
  const missing = issues.find((issue) => issue.code === 'invalid_type' && issue.input === undefined && issue.path.length === 1);
  if (missing) {
    const key = String(missing.path[0]);
    const what = key === 'image' ? ' (the photo file)' : '';
    return new PortoonError('E_BAD_OPTION', `Missing parameter "${nameOf(key)}"${what}`, { details: { parameter: key } });
  }
  const issue = issues[0]!;
  const key = issue.path.length > 0 ? String(issue.path[0]) : '';
  const field = key && Object.hasOwn(schema.shape, key) ? (schema.shape[key] as z.ZodType) : undefined;
  if (!field) {
    return new PortoonError('E_BAD_OPTION', `Expected an object of request parameters but received ${received(issue.input)}`);
  }
  return new PortoonError('E_BAD_OPTION', `Expected ${expectedOf(field)} for ${nameOf(key)} but received ${received(issue.input)}`, {
    details: { parameter: key },
  });
}

/** "a number between 0 and 1", "a whole number of at least 16", "stylize, keep or blur" … from the field's schema. */
export function expectedOf(field: z.ZodType): string {
  const json = fieldJson(field);
  const custom = wording.get(field)?.expected;
  if (custom !== undefined) return custom;
  if (Array.isArray(json.enum)) return listWords(json.enum.map(String));
  // zod bounds every integer by the safe-integer range: that is no limit a person needs to hear of.
  const bound = (value: unknown): number | undefined =>
    typeof value === 'number' && Math.abs(value) < Number.MAX_SAFE_INTEGER ? value : undefined;
  const [minimum, maximum] = [bound(json.minimum), bound(json.maximum)];
  if (json.type === 'number' || json.type === 'integer') {
    const kind = json.type === 'integer' ? 'a whole number' : 'a number';
    if (minimum !== undefined && maximum !== undefined) return `${kind} between ${minimum} and ${maximum}`;
    if (minimum !== undefined)
      return json.type === 'integer' && minimum === 1 ? 'a positive whole number' : `${kind} of at least ${minimum}`;
    return kind;
  }
  if (json.type === 'boolean') return 'true or false';
  if (json.type === 'string') {
    const { minLength, maxLength } = json as { minLength?: number; maxLength?: number };
    return maxLength !== undefined ? `a text of ${minLength ?? 0} to ${maxLength} characters` : 'a text';
  }
  return 'a valid value';
}

function received(value: unknown): string {
  if (value === undefined) return 'none';
  if (typeof value === 'string') return value.trim() === '' ? 'an empty value' : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  try {
    return JSON.stringify(value) ?? typeof value;
  } catch {
    return typeof value;
  }
}

/** The fields' JSON schema (draft 2020-12, as OpenAPI 3.1 uses), for documents and route schemas. */
export function requestJsonSchema(schema: z.ZodObject = cartoonizeFieldsSchema): Record<string, unknown> {
  // The `$schema` dialect line is dropped: the OpenAPI document declares its dialect itself.
  const json = z.toJSONSchema(schema, { io: 'input' }) as Record<string, unknown>;
  delete json.$schema;
  return json;
}
