/**
 * Decoded frames of a clip, streamed from ffmpeg as raw RGB on a pipe: one frame in memory at a time
 * (ffmpeg waits while the pipe is full), turned upright, shrunk to the size asked for with even sides,
 * and refused when the file turns out damaged or cut off rather than ending as a silently short clip.
 */
import { basename } from 'node:path';
import type { FrameSource } from '../../core/media-port.js';
import { PortoonError } from '../../core/errors.js';
import type { RawImage } from '../../core/image.js';
import type { VideoFrame, VideoInfo } from '../../core/video/types.js';
import { abortError, fileArg, fpsModeArgs, locateFfmpeg, secondsArg, startProcess, type FfmpegProcess } from './ffmpeg.js';
import { DEMUXER, sniffVideoFile } from './sniff.js';

export interface FrameReaderOptions {
  /** Shrink so the long side is at most this many pixels (never enlarges). Default: full size. */
  maxSide?: number | undefined;
  /** Output frame rate (frames are dropped or repeated to match). Default: every input frame once. */
  fps?: number | undefined;
  /** Seconds into the clip to begin at. Default 0. */
  start?: number | undefined;
  /** Seconds to read from `start`. Default: to the end. */
  duration?: number | undefined;
  /** Stops decoding (ffmpeg is killed) and makes the iteration throw. */
  signal?: AbortSignal | undefined;
}

/**
 * The frames of a clip, decoded by ffmpeg: the core's frame source port. Its frames are upright,
 * within `maxSide`, with both sides even; `fps` is the asked rate, else the input's average; the
 * frames can be iterated once; `close()` stops ffmpeg and is safe at any time, any number of times.
 */
export type FrameReader = FrameSource;

/**
 * The size frames come out at: the displayed size shrunk so the long side is at most `maxSide`
 * (never enlarged), then each side made even, since H.264 and VP9 in 4:2:0 need even sides. Without
 * shrinking, an odd side loses its last row or column (375x353 becomes 374x352); when shrinking, the
 * even size is the nearest to the exact scaled one, so the aspect ratio is off by less than a pixel.
 */
export function frameSize(width: number, height: number, maxSide?: number): { width: number; height: number; resized: boolean } {
  const evenFloor = (n: number): number => Math.max(2, n - (n % 2));
  const long = Math.max(width, height);
  if (maxSide === undefined || long <= maxSide) return { width: evenFloor(width), height: evenFloor(height), resized: false };
  const scale = maxSide / long;
  const even = (n: number, limit: number): number => Math.min(evenFloor(limit), Math.max(2, 2 * Math.round((n * scale) / 2)));
  return { width: even(width, Math.floor(width * scale)), height: even(height, Math.floor(height * scale)), resized: true };
}

/**
 * How many frames a read is expected to deliver: the probe's count for a whole clip taken as it is,
 * else the span in seconds times the output rate.
 */
export function expectedFrameCount(info: VideoInfo, options: Pick<FrameReaderOptions, 'fps' | 'start' | 'duration'>): number {
  const start = options.start ?? 0;
  if (start === 0 && options.duration === undefined && options.fps === undefined) return info.frames;
  const span = Math.max(0, Math.min(info.duration - start, options.duration ?? Number.POSITIVE_INFINITY));
  return Math.round(span * (options.fps ?? info.fps));
}

/** The filters that turn decoded frames into the output: rate, rotation, size. */
function filterChain(info: VideoInfo, size: ReturnType<typeof frameSize>, fps: number | undefined): string[] {
  const filters: string[] = [];
  // Frames are dropped first, so that those dropped are never turned or scaled.
  if (fps !== undefined) filters.push(`fps=${fps}`);
  // Rotation is applied here from the probe's answer (ffmpeg's own autorotation is off), so the
  // frames are turned exactly as VideoInfo says and their size is the one computed from it.
  if (info.rotation === 90) filters.push('transpose=clock');
  else if (info.rotation === 180) filters.push('hflip', 'vflip');
  else if (info.rotation === 270) filters.push('transpose=cclock');
  if (size.resized) filters.push(`scale=${size.width}:${size.height}:flags=lanczos`);
  else if (size.width !== info.width || size.height !== info.height) filters.push(`crop=${size.width}:${size.height}:0:0`);
  return filters;
}

/**
 * Opens a clip for reading. Nothing runs until `frames()` is iterated; the iteration ends with a
 * PortoonError E_DECODE_FAILED when ffmpeg fails, when it reports errors and delivers fewer frames
 * than expected, or when it delivers far fewer (ffmpeg ends a cut-off MP4 with status 0).
 *
 * Frame times are the frame's index over the output rate: evenly spaced even when the input's were
 * not (a variable-rate clip is read at its average rate, every frame once).
 */
export function openFrameReader(path: string, info: VideoInfo, options: FrameReaderOptions = {}): FrameReader {
  const size = frameSize(info.width, info.height, options.maxSide);
  const fps = options.fps ?? info.fps;
  const expectedFrames = expectedFrameCount(info, options);
  const frameBytes = size.width * size.height * 3;
  const exact = options.start === undefined && options.duration === undefined && options.fps === undefined;
  let child: FfmpegProcess | undefined;
  let started = false;
  let closed = false;

  async function* frames(): AsyncGenerator<VideoFrame> {
    if (started) throw new PortoonError('E_INTERNAL', 'The frames of a reader can be iterated only once');
    started = true;
    if (closed) return;
    const { signal } = options;
    signal?.throwIfAborted();
    const [tools, container] = await Promise.all([locateFfmpeg(), sniffVideoFile(path)]);
    if (container === undefined)
      throw new PortoonError('E_UNSUPPORTED_FORMAT', `${basename(path)} is no longer a video`, { details: { path } });
    if (closed) return;
    const seek = options.start !== undefined && options.start > 0 ? ['-ss', secondsArg(options.start)] : [];
    const limit = options.duration !== undefined ? ['-t', secondsArg(options.duration)] : [];
    const filters = filterChain(info, size, options.fps);
    const args = [
      ...['-nostdin', '-hide_banner', '-loglevel', 'error', '-noautorotate'],
      // Seeking before the input is fast (from the keyframe before) and still exact: ffmpeg decodes
      // from there and drops the frames before `start`.
      ...seek,
      ...limit,
      ...['-f', DEMUXER[container], '-protocol_whitelist', 'file', '-i', fileArg(path)],
      ...['-map', '0:V:0', '-an', '-sn', '-dn'],
      ...(filters.length > 0 ? ['-vf', filters.join(',')] : []),
      // Every decoded frame once, none repeated to fill gaps (unless a rate is asked for: `fps` above).
      ...fpsModeArgs(tools, 'passthrough'),
      ...['-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'],
    ];
    const decoder = startProcess(tools.ffmpeg, args, {
      what: `Decoding ${basename(path)}`,
      failureCode: 'E_DECODE_FAILED',
      signal,
      paths: [path],
    });
    child = decoder;
    let index = 0;
    let frame = new Uint8Array(frameBytes);
    let filled = 0;
    try {
      // The stream is read only as fast as frames are taken: while the caller works on one, the pipe
      // fills and ffmpeg waits, so memory stays at a frame or two whatever the clip's length.
      for await (const chunk of stopQuietly(decoder.stdout as AsyncIterable<Buffer>, () => closed || signal?.aborted === true)) {
        let offset = 0;
        while (offset < chunk.length) {
          const take = Math.min(frameBytes - filled, chunk.length - offset);
          frame.set(chunk.subarray(offset, offset + take), filled);
          filled += take;
          offset += take;
          if (filled === frameBytes) {
            // Frames already in the pipe are not handed out once the work is cancelled.
            if (signal?.aborted) throw abortError(signal);
            const image: RawImage = { width: size.width, height: size.height, channels: 3, data: frame };
            yield { index, time: index / fps, image };
            index += 1;
            frame = new Uint8Array(frameBytes);
            filled = 0;
          }
        }
      }
      if (closed) return;
      await decoder.succeeded().catch((error: unknown) => {
        const reason = error instanceof PortoonError && typeof error.details.reason === 'string' ? error.details.reason : String(error);
        throw damaged(path, reason, error);
      });
      if (signal?.aborted) throw abortError(signal);
      if (filled !== 0) throw damaged(path, `the last frame is incomplete (${filled} of ${frameBytes} bytes)`);
      const missing = expectedFrames - index;
      // ffmpeg decodes what it can of a cut-off or corrupt file and may still exit with status 0, so
      // the count is checked: any shortfall counts when it also reported errors, and more than a
      // small one (2 %, at least 2 frames: rounding of a range, frames an edit list hides) always.
      const reportedErrors = decoder.errorLineCount > 0;
      const allowed = reportedErrors ? (exact ? 0 : 1) : Math.max(2, Math.ceil(expectedFrames * 0.02));
      if (missing > allowed) {
        const said = reportedErrors ? `: ${decoder.errorLines.slice(-3).join('; ')}` : '';
        throw damaged(path, `only ${index} of ${expectedFrames} frames could be decoded${said}`);
      }
    } finally {
      decoder.kill();
    }
  }

  return {
    width: size.width,
    height: size.height,
    fps,
    expectedFrames,
    frames,
    async close(): Promise<void> {
      closed = true;
      if (!child) return;
      child.kill();
      await child.exited;
    },
  };
}

function damaged(path: string, reason: string, cause?: unknown): PortoonError {
  if (cause instanceof PortoonError && cause.code !== 'E_DECODE_FAILED') return cause;
  return new PortoonError('E_DECODE_FAILED', `The video ${basename(path)} is damaged or truncated and cannot be decoded: ${reason}`, {
    ...(cause === undefined ? {} : { cause }),
    details: { path },
  });
}

/**
 * The chunks of ffmpeg's output; once the reader is closed or aborted, the pipe torn down under
 * the iteration ("premature close") just ends it: the caller learns of the abort from the signal.
 */
async function* stopQuietly(chunks: AsyncIterable<Buffer>, stopped: () => boolean): AsyncGenerator<Buffer> {
  try {
    yield* chunks;
  } catch (error) {
    if (!stopped()) throw error;
  }
}
