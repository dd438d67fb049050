/**
 * The options a video request adds to a cartoonization, declared once like the request itself
 * (see ../request.ts): the library, the CLI and the jobs API parse them with `parseVideoParams`.
 */
import { z } from 'zod';
import { requestError } from '../request.js';
import { VIDEO_FORMATS, type VideoParams } from './types.js';

/** Encoder quality by container when the request names none (GIF has no such setting). */
export const DEFAULT_VIDEO_CRF = { mp4: 20, webm: 32 } as const;

export const videoFieldsSchema = z.strictObject({
  fps: z.number().min(0.1).max(120).optional().describe("Output frames per second. Default: the input's (every frame kept)"),
  start: z.number().min(0).optional().describe('Seconds into the clip to start at. Default 0'),
  duration: z.number().min(0.01).optional().describe('Seconds to process from the start. Default: to the end of the clip'),
  crf: z
    .number()
    .int()
    .min(0)
    .max(51)
    .optional()
    .describe(
      `Video quality, lower is better (x264/VP9 constant rate factor). Default ${DEFAULT_VIDEO_CRF.mp4} for MP4, ${DEFAULT_VIDEO_CRF.webm} for WebM`,
    ),
  audio: z.boolean().optional().describe('Keep the sound track (copied as it is when the container allows). Default true'),
  videoFormat: z.enum(VIDEO_FORMATS).optional().describe('Output container of a video: mp4 (H.264, default), webm (VP9) or gif'),
  temporal: z
    .boolean()
    .optional()
    .describe('Blend each frame with the previous output along the motion, so the picture does not flicker. Default true'),
  measureFlicker: z.boolean().optional().describe('Measure the flicker of the output (warping error) and report it. Default false'),
});

/** Video options as callers write them. */
export type VideoFields = z.input<typeof videoFieldsSchema>;

/**
 * Checks a caller's video options.
 * @throws PortoonError E_BAD_OPTION worded like the request's errors.
 */
export function parseVideoParams(raw: unknown, nameOf: (field: string) => string = (field) => field): VideoParams {
  const parsed = videoFieldsSchema.safeParse(raw ?? {}, { reportInput: true });
  if (!parsed.success) throw requestError(parsed.error.issues, videoFieldsSchema, nameOf);
  const { videoFormat, ...rest } = parsed.data;
  const params: VideoParams = {};
  for (const [key, value] of Object.entries(rest)) if (value !== undefined) (params as Record<string, unknown>)[key] = value;
  if (videoFormat !== undefined) params.format = videoFormat;
  return params;
}

/** The names of the video options, to tell them apart from a still's in one set of fields. */
export const VIDEO_FIELDS: readonly string[] = Object.keys(videoFieldsSchema.shape);
