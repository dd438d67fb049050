/** JSON schemas of the API's responses (validation, serialization and the OpenAPI document). */
import type { FastifyInstance } from 'fastify';
import { JOB_STATES } from '../core/job.js';
import { STAGES } from '../core/report.js';
import { VIDEO_FORMATS } from '../core/video/types.js';
import { ERROR_TABLE, type ErrorCode } from '../core/errors.js';
import { errorSchema } from './errors.js';
import { ERRORS_OF_EVERY_ROUTE } from './route-config.js';

/** Where the API's route plugins are mounted (see app.ts). */
export const API_PREFIX = '/api/v1';

/** An error response of an operation: the shared error body, and which codes answer with its status. */
export interface ErrorResponse {
  $ref: 'PortoonError#';
  description: string;
  headers?: Record<string, { type: 'integer'; minimum: number; description: string }>;
}

/**
 * The error responses of an operation: one per HTTP status its codes have (plus those of every
 * route), each naming its codes, so the document lists exactly what the operation can answer. The
 * busy answers (429, 503) and "not finished yet" (409) say when to try again in Retry-After.
 */
export function errorResponses(codes: readonly ErrorCode[]): Record<string, ErrorResponse> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set([...ERRORS_OF_EVERY_ROUTE, ...codes])) {
    const { status } = ERROR_TABLE[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: Record<string, ErrorResponse> = {};
  for (const [status, statusCodes] of [...byStatus].sort(([a], [b]) => a - b)) {
    const description = statusCodes.map((code) => `\`${code}\`: ${ERROR_TABLE[code].summary}`).join(' ');
    responses[status] = {
      $ref: 'PortoonError#',
      description,
      ...(status === 429 || status === 503 || statusCodes.includes('E_JOB_NOT_READY')
        ? { headers: { 'retry-after': { type: 'integer', minimum: 0, description: 'Seconds to wait before trying again' } } }
        : {}),
    };
  }
  return responses;
}

const stageMap = {
  type: 'object',
  properties: Object.fromEntries(STAGES.map((stage) => [stage, { type: 'number', minimum: 0, maximum: 1 }])),
  additionalProperties: false,
} as const;

/** The output's provenance marks, in both reports. */
const PROVENANCE_REPORT = {
  type: 'object',
  description: "The output's provenance marks",
  required: ['id', 'label', 'contentCredentials'],
  properties: {
    id: {
      type: 'string',
      pattern: '^[0-9a-f]{12}$',
      description: 'Output id carried by the invisible watermark (and the XMP, and the C2PA manifest); POST /api/v1/verify reads it back',
    },
    label: { type: 'boolean', description: 'The visible "AI-generated" label was drawn' },
    contentCredentials: { type: 'boolean', description: 'The file is signed with C2PA content credentials' },
  },
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
    provenance: PROVENANCE_REPORT,
  },
} as const;

export const videoReportSchema = {
  type: 'object',
  description: 'What the engine did with a video: size, frames, sound, the face tracks (stable ids), scene cuts and time per part',
  required: [
    'kind',
    'width',
    'height',
    'format',
    'style',
    'frames',
    'fps',
    'duration',
    'audio',
    'temporal',
    'sceneCuts',
    'tracks',
    'maxFacesPerFrame',
    'timings',
    'models',
    'inference',
  ],
  properties: {
    kind: { type: 'string', enum: ['video'] },
    width: { type: 'integer' },
    height: { type: 'integer' },
    format: { type: 'string', enum: [...VIDEO_FORMATS] },
    style: { type: 'string' },
    frames: { type: 'integer' },
    fps: { type: 'number' },
    duration: { type: 'number', description: 'Seconds' },
    audio: {
      type: 'string',
      enum: ['copied', 're-encoded', 'none', 'dropped'],
      description: 'The sound track: copied as it is, re-encoded (see audioNote), none in the input, or left out',
    },
    audioCodec: { type: 'string' },
    audioNote: { type: 'string' },
    temporal: { type: 'boolean', description: 'Frames were blended along the motion so the picture does not flicker' },
    sceneCuts: { type: 'integer' },
    tracks: {
      type: 'array',
      description: 'One entry per person followed through the clip (frame numbers of the output)',
      items: {
        type: 'object',
        required: ['id', 'firstFrame', 'lastFrame', 'frames'],
        properties: {
          id: { type: 'integer' },
          firstFrame: { type: 'integer' },
          lastFrame: { type: 'integer' },
          frames: { type: 'integer', description: 'Frames the face was seen in' },
        },
      },
    },
    maxFacesPerFrame: { type: 'integer' },
    timings: {
      type: 'object',
      description: 'Milliseconds per part of the work, summed over frames',
      additionalProperties: { type: 'number' },
    },
    models: { type: 'array', items: { type: 'string' } },
    inference: { type: 'object', additionalProperties: { type: 'number' } },
    warpError: { type: 'number', description: 'Flicker of the output (warping error), when measured' },
    provenance: PROVENANCE_REPORT,
  },
} as const;

export const jobStatusSchema = {
  $id: 'JobStatus',
  type: 'object',
  required: ['id', 'state', 'kind', 'style', 'progress', 'overall', 'createdAt'],
  properties: {
    id: { type: 'string' },
    state: { type: 'string', enum: [...JOB_STATES] },
    kind: { type: 'string', enum: ['image', 'video'], description: 'What the job makes' },
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
    frames: {
      type: 'object',
      description: "A video job's progress in frames, from its first frame on",
      required: ['done', 'total', 'fps'],
      properties: {
        done: { type: 'integer', minimum: 0 },
        total: { type: 'integer', minimum: 0, description: 'Frames expected in the asked range' },
        fps: { type: 'number', minimum: 0, description: 'Frames processed per second so far' },
      },
    },
    report: reportSchema,
    video: videoReportSchema,
    statusUrl: { type: 'string' },
    resultUrl: { type: 'string' },
  },
  examples: [
    {
      id: '0f6c2a7e-3b9d-4c5e-9a41-2d8f0b7c6e15',
      state: 'running',
      kind: 'image',
      style: 'anime',
      filename: 'me.jpg',
      stage: 'background',
      progress: { decode: 1, detect: 1, background: 0.5 },
      overall: 0.33,
      createdAt: '2026-11-30T09:00:00.000Z',
      startedAt: '2026-11-30T09:00:00.120Z',
      statusUrl: '/api/v1/jobs/0f6c2a7e-3b9d-4c5e-9a41-2d8f0b7c6e15',
      resultUrl: '/api/v1/jobs/0f6c2a7e-3b9d-4c5e-9a41-2d8f0b7c6e15/result',
    },
    {
      id: '5b1e9d40-7c2a-4f8e-b3d6-91a0c4e2f718',
      state: 'running',
      kind: 'video',
      style: 'cartoon',
      filename: 'clip.mp4',
      progress: {},
      frames: { done: 120, total: 300, fps: 4.2 },
      overall: 0.4,
      createdAt: '2026-11-30T09:00:00.000Z',
      startedAt: '2026-11-30T09:00:00.200Z',
      statusUrl: '/api/v1/jobs/5b1e9d40-7c2a-4f8e-b3d6-91a0c4e2f718',
      resultUrl: '/api/v1/jobs/5b1e9d40-7c2a-4f8e-b3d6-91a0c4e2f718/result',
    },
  ],
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

export const jobResultResponse = {
  description: "The job's cartoon image, or its video (MP4, WebM or GIF), with the report's key facts in X-Portoon-* headers",
  content: {
    ...imageResponse.content,
    'video/mp4': { schema: { type: 'string', format: 'binary' } },
    'video/webm': { schema: { type: 'string', format: 'binary' } },
    'image/gif': { schema: { type: 'string', format: 'binary' } },
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
  examples: [
    {
      id: 'anime',
      label: 'Anime',
      description: 'Anime face with a painted background',
      installed: true,
      licenses: ['MIT'],
      commercialUse: true,
      models: ['animeganv3-jpface-v1', 'animeganv3-hayao36'],
      defaultStrength: 1,
      previewUrl: '/api/v1/styles/anime/preview',
    },
  ],
} as const;

/**
 * Adds the schemas routes refer to by name (`PortoonError#`, `JobStatus#`) to the root instance, so
 * every route plugin can use them; the OpenAPI document lists them under these names.
 */
export function registerSharedSchemas(app: FastifyInstance): void {
  app.addSchema(errorSchema);
  app.addSchema(jobStatusSchema);
}
