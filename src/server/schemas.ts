/** JSON schemas of the API's responses (validation, serialization and the OpenAPI document). */
import type { FastifyInstance } from 'fastify';
import { JOB_STATES } from '../core/job.js';
import { STAGES } from '../core/report.js';
import { errorSchema } from './errors.js';

/** Where the API's route plugins are mounted (see app.ts). */
export const API_PREFIX = '/api/v1';

const errorResponses = {
  '4xx': { $ref: 'PortoonError#', description: 'The request was refused; see error.code' },
  '5xx': { $ref: 'PortoonError#', description: 'The service could not do it now (503: busy, retry after Retry-After seconds)' },
} as const;

export function withErrors<T extends Record<string, unknown>>(responses: T): T & typeof errorResponses {
  return { ...responses, ...errorResponses };
}

const stageMap = {
  type: 'object',
  properties: Object.fromEntries(STAGES.map((stage) => [stage, { type: 'number', minimum: 0, maximum: 1 }])),
  additionalProperties: false,
} as const;

export const reportSchema = {
  type: 'object',
  description: 'What the engine did: size, style, faces found (boxes in output pixels), time per stage and per model',
  properties: {
    width: { type: 'integer' },
    height: { type: 'integer' },
    style: { type: 'string' },
    format: { type: 'string' },
    detected: { type: 'boolean' },
    faces: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          box: { type: 'array', items: { type: 'number' }, minItems: 4, maxItems: 4 },
          score: { type: 'number' },
          landmarks: { type: 'array', items: { type: 'array', items: { type: 'number' } } },
          stylized: { type: 'boolean' },
          cropSize: { type: 'integer', description: 'Side of the aligned face crop the face was stylized at' },
        },
      },
    },
    timings: { type: 'object', additionalProperties: { type: 'number' } },
    models: { type: 'array', items: { type: 'string' } },
    inference: { type: 'object', additionalProperties: { type: 'number' } },
  },
} as const;

export const jobStatusSchema = {
  $id: 'JobStatus',
  type: 'object',
  required: ['id', 'state', 'style', 'progress', 'overall', 'createdAt'],
  properties: {
    id: { type: 'string' },
    state: { type: 'string', enum: [...JOB_STATES] },
    style: { type: 'string' },
    filename: { type: 'string' },
    stage: { type: 'string', enum: [...STAGES], description: 'The stage running now' },
    progress: { ...stageMap, description: 'Progress 0..1 of every stage that has started' },
    overall: { type: 'number', minimum: 0, maximum: 1 },
    createdAt: { type: 'string', format: 'date-time' },
    startedAt: { type: 'string', format: 'date-time' },
    finishedAt: { type: 'string', format: 'date-time' },
    expiresAt: { type: 'string', format: 'date-time', description: 'When the job and its result are forgotten' },
    error: {
      type: 'object',
      properties: { code: { type: 'string' }, message: { type: 'string' } },
    },
    report: reportSchema,
    statusUrl: { type: 'string' },
    resultUrl: { type: 'string' },
  },
} as const;

export const jobIdParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_-]+$' } },
} as const;

export const imageResponse = {
  description: 'The cartoon image, with the report in X-Portoon-* headers',
  content: {
    'image/png': { schema: { type: 'string', format: 'binary' } },
    'image/jpeg': { schema: { type: 'string', format: 'binary' } },
    'image/webp': { schema: { type: 'string', format: 'binary' } },
  },
} as const;

export const styleSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    label: { type: 'string' },
    description: { type: 'string' },
    installed: { type: 'boolean', description: 'Every model the style needs is installed' },
    licenses: { type: 'array', items: { type: 'string' } },
    commercialUse: { type: 'boolean', description: "Every model's licence allows commercial use" },
    models: { type: 'array', items: { type: 'string' } },
    defaultStrength: { type: 'number', minimum: 0, maximum: 1, description: 'The strength used when a request gives none' },
    previewUrl: { type: 'string', description: 'A small sample of the style' },
  },
} as const;

/**
 * Adds the schemas routes refer to by name (`PortoonError#`, `JobStatus#`) to the root instance, so
 * every route plugin can use them; the OpenAPI document lists them under these names.
 */
export function registerSharedSchemas(app: FastifyInstance): void {
  app.addSchema(errorSchema);
  app.addSchema(jobStatusSchema);
}
