/**
 * The video side of `portoon <inputs…>`: which container a video's output gets, which flags fit
 * the inputs given, running one clip through `Portoon.cartoonizeVideo` with a progress bar of its
 * frames, and saying what came out.
 */
import { extname } from 'node:path';
import cliProgress from 'cli-progress';
import { PortoonError } from '../core/errors.js';
import { outputFormatOf } from '../core/formats.js';
import type { CartoonizeParams, CartoonizeRequest } from '../core/request.js';
import { VIDEO_FORMATS, type VideoFormat, type VideoParams, type VideoProgress, type VideoReport } from '../core/video/types.js';
import type { CartoonizeVideoOptions, Portoon } from '../node/portoon.js';
import { ACCEPTED_VIDEO_LABELS } from '../node/video/sniff.js';
import type { Job } from './inputs.js';
import { givenVideoFlags, listWords, PHOTO_ONLY_FLAGS, type RequestFlags, type VideoFlags } from './parse.js';

/** The extension (with its dot) of a video's output when no -o names the file: `--video-format`, else MP4. */
export function videoExtension(params: VideoParams): string {
  return `.${params.format ?? 'mp4'}`;
}

/**
 * The container of a video's output: the one its name says (.mp4, .webm, .gif), else
 * `--video-format`, else MP4.
 * @throws PortoonError E_BAD_OPTION when the name is a photo's (.png, .jpg, .webp) or names another
 *   container than `--video-format`.
 */
export function videoFormatFor(output: string, params: VideoParams): VideoFormat {
  const ext = extname(output).slice(1).toLowerCase();
  const named = (VIDEO_FORMATS as readonly string[]).includes(ext) ? (ext as VideoFormat) : undefined;
  if (named === undefined && outputFormatOf(ext) !== undefined) {
    throw new PortoonError(
      'E_BAD_OPTION',
      `Expected a video's name (${listWords(VIDEO_FORMATS.map((f) => `.${f}`))}) for -o but received ${output}, a photo's name`,
      { details: { option: '-o', value: output } },
    );
  }
  if (named !== undefined && params.format !== undefined && named !== params.format) {
    throw new PortoonError(
      'E_BAD_OPTION',
      `Expected a name ending in .${params.format} for -o (as --video-format ${params.format} asks) but received ${output}`,
      { details: { option: '--video-format', value: params.format } },
    );
  }
  return named ?? params.format ?? 'mp4';
}

/**
 * Refuses flags that fit none of the inputs: video flags when every input is a photo, photo-only
 * flags when every input is a video. In a batch of both, each flag applies to its kind.
 * @throws PortoonError E_BAD_OPTION naming the flag (and, for a photo's flag, what a video uses instead).
 */
export function checkFlagsFitInputs(jobs: readonly Job[], flags: RequestFlags & VideoFlags): void {
  const hasVideo = jobs.some((job) => job.kind === 'video');
  const hasPhoto = jobs.some((job) => job.kind === 'photo');
  const videoFlag = givenVideoFlags(flags)[0];
  if (!hasVideo && videoFlag !== undefined) {
    throw new PortoonError('E_BAD_OPTION', `Expected a video among the inputs for ${videoFlag} but received photos only`, {
      details: { option: videoFlag },
    });
  }
  const photoFlag = PHOTO_ONLY_FLAGS.find(({ given }) => given(flags));
  if (!hasPhoto && photoFlag !== undefined) {
    throw new PortoonError(
      'E_BAD_OPTION',
      `Expected a photo among the inputs for ${photoFlag.flag} but received videos only; ${photoFlag.instead}`,
      { details: { option: photoFlag.flag } },
    );
  }
}

/**
 * Refuses, before any work, a file taken for a video by its name alone (see `classify`).
 * @throws PortoonError E_DECODE_FAILED: a file named like a video whose content is none.
 */
export function assertVideoContent(job: Job): void {
  if (!job.unrecognised) return;
  throw new PortoonError(
    'E_DECODE_FAILED',
    `The video ${job.input} is damaged: its content is no video (${ACCEPTED_VIDEO_LABELS}) or image that can be read`,
    { details: { path: job.input } },
  );
}

/** Request fields a video takes as they are: all but the still image's encoding. */
const STILL_ONLY_FIELDS: ReadonlySet<string> = new Set(['format', 'quality', 'preview']);

/** The request's values as `cartoonizeVideo` takes them (the photo-only ones left to the photos of a batch). */
function videoRequestParams(request: CartoonizeRequest): CartoonizeParams {
  const params: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(request)) {
    if (key === 'mix' && request.mix !== undefined) {
      params.mix = request.mix.style;
      params.mixWeight = request.mix.weight;
    } else if (!STILL_ONLY_FIELDS.has(key)) params[key] = value;
  }
  return params as CartoonizeParams;
}

export interface VideoRun {
  onProgress?: ((progress: VideoProgress) => void) | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * Cartoonizes one clip into `target` (written whole or not at all) in the container `format`.
 * `target` may be a temporary name: the container is set explicitly, not read from the name.
 */
export async function cartoonizeVideoJob(
  portoon: Portoon,
  job: Job,
  target: string,
  format: VideoFormat,
  request: CartoonizeRequest,
  params: VideoParams,
  run: VideoRun,
): Promise<VideoReport> {
  // VideoParams name the container `format`, the library's options `videoFormat` (next to a still's `format`).
  const videoFields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(params)) if (key !== 'format') videoFields[key] = value;
  const options: CartoonizeVideoOptions = {
    ...videoRequestParams(request),
    ...videoFields,
    videoFormat: format,
    ...(run.onProgress ? { onProgress: run.onProgress } : {}),
    ...(run.signal ? { signal: run.signal } : {}),
  };
  return portoon.cartoonizeVideo(job.input, target, options);
}

/** A bar of one clip's frames: done / total, frames per second, time left. Stop it when done. */
export function videoProgressBar(): { onProgress: (progress: VideoProgress) => void; stop: () => void } {
  const bar = new cliProgress.SingleBar(
    { format: ' {bar} {value}/{total} frames | {speed} fps | ETA {eta_formatted}', hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    onProgress: ({ framesDone, framesTotal, fps }) => {
      // The total is known from the first progress on (the clip's probe), so the bar starts there.
      if (!started) {
        bar.start(Math.max(framesTotal, framesDone), framesDone, { speed: fps.toFixed(1) });
        started = true;
        return;
      }
      if (framesDone > bar.getTotal()) bar.setTotal(framesDone);
      bar.update(framesDone, { speed: fps.toFixed(1) });
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}

/** `12/126 frames` for a batch bar's file column. */
export function framesDoneText({ framesDone, framesTotal }: VideoProgress): string {
  return `${framesDone}/${framesTotal} frames`;
}

/** One line for stderr: `clip-cel.mp4  (25 frames at 25 fps, 1 face track, sound copied, 3.2 s)`. */
export function describeVideoResult(output: string, report: VideoReport): string {
  const tracks = report.tracks.length;
  const parts = [
    `${report.frames} frame${report.frames === 1 ? '' : 's'} at ${Number(report.fps.toFixed(2))} fps`,
    `${tracks} face track${tracks === 1 ? '' : 's'}`,
    SOUND_WORDS[report.audio],
    ...(report.warpError !== undefined ? [`warping error ${report.warpError.toFixed(4)}`] : []),
    `${(report.timings.total / 1000).toFixed(1)} s`,
  ];
  return `${output}  (${parts.join(', ')})`;
}

const SOUND_WORDS: Readonly<Record<VideoReport['audio'], string>> = {
  copied: 'sound copied',
  're-encoded': 'sound re-encoded',
  none: 'no sound',
  dropped: 'sound left out',
};
