/**
 * Encodes frames into a video file with ffmpeg: raw RGB frames go in on a pipe (one at a time, at
 * ffmpeg's pace), the sound track comes straight from the input file, and the output's provenance
 * goes into the container's tags. The file is written under a hidden temporary name next to the
 * target and renamed into place only when ffmpeg has finished it: a failure or an abort leaves no
 * partial output, and an existing file is replaced only by a complete one.
 */
import { rename, rm } from 'node:fs/promises';
import { basename } from 'node:path';
import { PortoonError } from '../../core/errors.js';
import type { RawImage } from '../../core/image.js';
import type { AudioHandling, AudioInfo, VideoFormat } from '../../core/video/types.js';
import { temporarySibling } from '../atomic-file.js';
import { abortError, fileArg, locateFfmpeg, secondsArg, startProcess, type FfmpegProcess } from './ffmpeg.js';
import { DEMUXER, sniffVideoFile } from './sniff.js';

/** Where the sound track comes from: the input clip, over the same range as its frames. */
export interface AudioSource {
  from: string;
  /** Seconds into `from`; as the frame reader's `start`. */
  start?: number | undefined;
  /** Seconds from `start`; as the frame reader's `duration`. */
  duration?: number | undefined;
  info: AudioInfo;
}

export interface FrameWriterOptions {
  /** Frame size; both sides even for MP4 and WebM (4:2:0 chroma). */
  width: number;
  height: number;
  /** Output frames per second: frame i is shown at i / fps. */
  fps: number;
  format: VideoFormat;
  /** Constant rate factor, lower is better. Default 20 for MP4 (x264), 32 for WebM (VP9); GIF has none. */
  crf?: number | undefined;
  /** The sound track to carry over; absent for none. GIF drops it. */
  audio?: AudioSource | undefined;
  /** Container tags (the provenance label); MP4 and WebM keep them, ffprobe shows them as format tags. */
  metadata: Record<string, string>;
  /** Aborting stops ffmpeg and removes the temporary file. */
  signal?: AbortSignal | undefined;
}

export interface WrittenVideo {
  audio: AudioHandling;
  /** Codec of the output's sound track, when it has one. */
  audioCodec?: string | undefined;
  /** Why the sound track was re-encoded or dropped, when it was. */
  audioNote?: string | undefined;
}

export interface FrameWriter {
  /** Hands one frame (RGB, the writer's size) to the encoder; resolves once the pipe has taken it. */
  write(frame: RawImage): Promise<void>;
  /** Ends the stream, waits for ffmpeg and moves the file into place. */
  finish(): Promise<WrittenVideo>;
  /** Stops ffmpeg and removes the temporary file; does nothing after a successful `finish`. */
  abort(): Promise<void>;
}

/**
 * x264 preset. Measured on this project's 2-core machine on the 1280x720 test clip (126 frames, crf
 * 20, CPU time per frame including the RGB to YUV conversion): veryfast 16 ms, medium 39 ms. medium
 * gives 3 dB more PSNR at a 7 % larger file (48.7 vs 45.7 dB); veryfast needs 60 % more bytes (crf 16)
 * to match it. A stylized frame costs on the order of a second of inference, so medium's extra
 * ~23 ms per frame is a few percent of the work and is spent once, while the file is kept.
 */
const X264_PRESET = 'medium';

/**
 * libvpx VP9 speed. Measured as above: realtime deadline with cpu-used 5 costs 25 ms per 720p frame;
 * the "good" deadline (cpu-used 4) costs 107 ms for a 26 % smaller file. Realtime keeps WebM in the
 * same cost range as MP4.
 */
const VP9_SPEED = ['-deadline', 'realtime', '-cpu-used', '5', '-row-mt', '1'];

const DEFAULT_CRF: Readonly<Record<Exclude<VideoFormat, 'gif'>, number>> = { mp4: 20, webm: 32 };

/** Audio codecs each container takes as they are (stream copy, bit-exact). */
const COPYABLE_AUDIO: Readonly<Record<Exclude<VideoFormat, 'gif'>, ReadonlySet<string>>> = {
  mp4: new Set(['aac', 'mp3', 'alac', 'ac3', 'eac3', 'opus', 'flac']),
  webm: new Set(['opus', 'vorbis']),
};

/** What a sound track the container cannot take is re-encoded to. */
const AUDIO_ENCODER: Readonly<Record<Exclude<VideoFormat, 'gif'>, { codec: string; args: string[]; label: string }>> = {
  mp4: { codec: 'aac', args: ['-c:a', 'aac', '-b:a', '192k'], label: 'AAC' },
  webm: { codec: 'opus', args: ['-c:a', 'libopus', '-b:a', '128k'], label: 'Opus' },
};

const CONTAINER_LABEL: Readonly<Record<VideoFormat, string>> = { mp4: 'MP4', webm: 'WebM', gif: 'GIF' };

interface AudioPlan {
  result: WrittenVideo;
  /** ffmpeg's output options for the sound track; undefined when there is none. */
  args?: string[] | undefined;
}

/** How the sound track is carried over: copied when the container takes its codec, else re-encoded. */
export function planAudio(format: VideoFormat, audio: AudioSource | undefined): AudioPlan {
  if (!audio) return { result: { audio: 'none' } };
  if (format === 'gif') return { result: { audio: 'dropped', audioNote: 'GIF has no sound track, so the sound was left out' } };
  const { codec } = audio.info;
  if (COPYABLE_AUDIO[format].has(codec)) {
    // FLAC in MP4 is standard (and plays in browsers) but ffmpeg 5.1 still calls its muxing experimental.
    const strict = format === 'mp4' && codec === 'flac' ? ['-strict', 'experimental'] : [];
    return { result: { audio: 'copied', audioCodec: codec }, args: ['-c:a', 'copy', ...strict] };
  }
  const encoder = AUDIO_ENCODER[format];
  return {
    result: {
      audio: 're-encoded',
      audioCodec: encoder.codec,
      audioNote: `The sound track (${codec}) cannot be stored in ${CONTAINER_LABEL[format]} as it is, so it was re-encoded to ${encoder.label}`,
    },
    args: encoder.args,
  };
}

/** The video encoder's options for each container. */
function videoEncoderArgs(options: FrameWriterOptions): string[] {
  // Frames are converted to limited-range BT.709 Y'CbCr and tagged so, so players show the colours
  // that were written (untagged video is guessed at, differently by each player).
  const bt709 = ['-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709', '-color_range', 'tv'];
  const toYuv = ['-vf', 'scale=out_color_matrix=bt709:out_range=tv,format=yuv420p'];
  if (options.format === 'mp4') {
    const crf = String(options.crf ?? DEFAULT_CRF.mp4);
    return [...toYuv, '-c:v', 'libx264', '-preset', X264_PRESET, '-crf', crf, '-pix_fmt', 'yuv420p', ...bt709];
  }
  if (options.format === 'webm') {
    const crf = String(options.crf ?? DEFAULT_CRF.webm);
    return [...toYuv, '-c:v', 'libvpx-vp9', '-crf', crf, '-b:v', '0', ...VP9_SPEED, '-pix_fmt', 'yuv420p', ...bt709];
  }
  // One palette for the whole clip (from the pixels that change), applied with an ordered dither that
  // does not crawl from frame to frame. The palette is known only at the end, so ffmpeg holds the
  // clip's frames until then: GIF is for short, small clips.
  const palette =
    '[0:v]split[frames][sample];[sample]palettegen=stats_mode=diff[palette];' +
    '[frames][palette]paletteuse=dither=bayer:bayer_scale=5:diff_mode=rectangle[gif]';
  return ['-filter_complex', palette, '-map', '[gif]', '-loop', '0'];
}

const MUXER: Readonly<Record<VideoFormat, string>> = { mp4: 'mp4', webm: 'webm', gif: 'gif' };

function assertOptions(options: FrameWriterOptions): void {
  const { width, height, fps, format, crf } = options;
  const bad = (message: string): PortoonError => new PortoonError('E_BAD_OPTION', message, { details: { width, height, fps, format } });
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw bad(`Cannot write ${width}x${height} frames: the size must be whole, positive pixels`);
  }
  if (format !== 'gif' && (width % 2 !== 0 || height % 2 !== 0)) {
    throw bad(`Cannot write ${width}x${height} frames as ${CONTAINER_LABEL[format]}: both sides must be even (4:2:0 chroma)`);
  }
  if (!Number.isFinite(fps) || fps <= 0) throw bad(`Cannot write at ${fps} frames per second`);
  if (crf !== undefined && (!Number.isInteger(crf) || crf < 0 || crf > 63)) throw bad(`crf ${crf} is not a quality the encoders take`);
  for (const key of Object.keys(options.metadata)) {
    // "key=value" is one ffmpeg argument: a key may not hold "=" (nor be empty or hold control characters).
    if (!/^[A-Za-z0-9_.:-]+$/.test(key)) throw bad(`Cannot write the metadata key ${JSON.stringify(key)}`);
  }
}

/**
 * Opens an encoder that writes `outputPath` (MP4: H.264 4:2:0 with the index at the front for
 * streaming; WebM: VP9; GIF: one palette). The output has exactly the frames written, evenly spaced
 * at `fps`: a variable-rate clip comes out constant-rate, its duration kept when `fps` is its frame
 * count over its duration. ffmpeg starts at once; a failure to start shows at the first `write`.
 * @throws {PortoonError} E_BAD_OPTION for a size, rate, crf or metadata key that cannot be written.
 */
export function openFrameWriter(outputPath: string, options: FrameWriterOptions): FrameWriter {
  assertOptions(options);
  const temporary = temporarySibling(outputPath);
  const frameBytes = options.width * options.height * 3;
  const audio = planAudio(options.format, options.audio);
  const { signal } = options;
  // An object, not a variable: the start-up below reads what cleanUp and finish set later.
  const lifecycle: { state: 'open' | 'finishing' | 'finished' | 'aborted' } = { state: 'open' };
  let encoder: FfmpegProcess | undefined;
  let framesWritten = 0;

  const started = (async (): Promise<FfmpegProcess> => {
    signal?.throwIfAborted();
    const tools = await locateFfmpeg();
    const audioInput = audio.args ? await audioInputArgs(options.audio!) : [];
    if (lifecycle.state === 'aborted') throw signal?.aborted ? abortError(signal) : aborted();
    const metadata = Object.entries(options.metadata).flatMap(([key, value]) => ['-metadata', `${key}=${value}`]);
    // Raw frames on stdin, stamped i / fps by the demuxer: exactly the frames written, evenly spaced.
    const size = `${options.width}x${options.height}`;
    const frameInput = ['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', size, '-framerate', String(options.fps), '-i', 'pipe:0'];
    const args = [
      ...['-nostdin', '-hide_banner', '-loglevel', 'error'],
      ...frameInput,
      ...audioInput,
      ...videoEncoderArgs(options),
      ...(options.format === 'gif' ? [] : ['-map', '0:v:0']),
      ...(audio.args ? ['-map', '1:a:0', ...audio.args] : []),
      // Nothing of the input's own tags or chapters is carried over; only the given tags are written.
      ...['-map_metadata', '-1', '-map_chapters', '-1', ...metadata],
      // faststart: the index goes before the media, so a browser can play while downloading;
      // use_metadata_tags: any key is written as is, not only the few iTunes ones.
      ...(options.format === 'mp4' ? ['-movflags', '+faststart+use_metadata_tags'] : []),
      ...['-f', MUXER[options.format], '-y', fileArg(temporary)],
    ];
    encoder = startProcess(tools.ffmpeg, args, {
      what: `Encoding ${basename(outputPath)}`,
      failureCode: 'E_OUTPUT_FAILED',
      stdin: true,
      signal,
      paths: [temporary, outputPath, ...(options.audio ? [options.audio.from] : [])],
    });
    return encoder;
  })();
  // A failure to start is reported by the first write or finish; it must not count as unhandled meanwhile.
  started.catch(() => undefined);

  const onAbort = (): void => void cleanUp();
  signal?.addEventListener('abort', onAbort, { once: true });

  async function cleanUp(): Promise<void> {
    if (lifecycle.state === 'finished') return;
    lifecycle.state = 'aborted';
    signal?.removeEventListener('abort', onAbort);
    if (encoder) {
      encoder.kill();
      await encoder.exited;
    }
    await rm(temporary, { force: true });
  }

  /** The error to throw after a failure: the abort's, or ffmpeg's own with its stderr. */
  async function failure(error: unknown): Promise<PortoonError> {
    await cleanUp();
    if (signal?.aborted) return abortError(signal);
    if (error instanceof PortoonError) return error;
    return new PortoonError('E_OUTPUT_FAILED', `Could not write ${basename(outputPath)}: ${(error as Error).message}`, {
      cause: error,
      details: { path: outputPath },
    });
  }

  async function write(frame: RawImage): Promise<void> {
    if (lifecycle.state !== 'open')
      throw signal?.aborted
        ? abortError(signal)
        : new PortoonError('E_INTERNAL', `The writer of ${basename(outputPath)} is ${lifecycle.state}`);
    if (frame.width !== options.width || frame.height !== options.height || frame.channels !== 3 || frame.data.length !== frameBytes) {
      throw new PortoonError(
        'E_INTERNAL',
        `Frame of ${frame.width}x${frame.height}x${frame.channels} given to a ${options.width}x${options.height} RGB writer`,
      );
    }
    try {
      const child = await started;
      // Resolves when the pipe has taken the whole frame: one frame in flight at a time, at
      // ffmpeg's pace, and the caller may reuse the pixels as soon as this returns.
      await new Promise<void>((resolve, reject) => {
        child.stdin!.write(frame.data, (error) => (error ? reject(error) : resolve()));
      });
      framesWritten += 1;
    } catch (error) {
      throw await failure(await encoderError(error));
    }
  }

  /** When the pipe broke because ffmpeg stopped, ffmpeg's own words say why. */
  async function encoderError(error: unknown): Promise<unknown> {
    if (!encoder || error instanceof PortoonError) return error;
    encoder.kill();
    const status = await encoder.exited;
    return new PortoonError('E_OUTPUT_FAILED', `Encoding ${basename(outputPath)} failed: ${encoder.describeFailure(status)}`, {
      cause: error,
      details: { path: outputPath, stderr: [...encoder.errorLines] },
    });
  }

  async function finish(): Promise<WrittenVideo> {
    if (lifecycle.state !== 'open')
      throw signal?.aborted
        ? abortError(signal)
        : new PortoonError('E_INTERNAL', `The writer of ${basename(outputPath)} is ${lifecycle.state}`);
    lifecycle.state = 'finishing';
    try {
      const child = await started;
      if (framesWritten === 0)
        throw new PortoonError('E_OUTPUT_FAILED', `No frames were written to ${basename(outputPath)}`, { details: { path: outputPath } });
      child.stdin!.end();
      await child.succeeded();
      await rename(temporary, outputPath);
      lifecycle.state = 'finished';
      signal?.removeEventListener('abort', onAbort);
      return audio.result;
    } catch (error) {
      throw await failure(error);
    }
  }

  return { write, finish, abort: cleanUp };
}

/** The second input: the sound of the source clip over the frames' range, read as the sniffed container. */
async function audioInputArgs(audio: AudioSource): Promise<string[]> {
  const container = await sniffVideoFile(audio.from);
  if (container === undefined) {
    throw new PortoonError('E_UNSUPPORTED_FORMAT', `The sound track's source ${basename(audio.from)} is not a video`, {
      details: { path: audio.from },
    });
  }
  return [
    ...(audio.start !== undefined && audio.start > 0 ? ['-ss', secondsArg(audio.start)] : []),
    ...(audio.duration !== undefined ? ['-t', secondsArg(audio.duration)] : []),
    ...['-f', DEMUXER[container], '-protocol_whitelist', 'file', '-i', fileArg(audio.from)],
  ];
}

function aborted(): PortoonError {
  return new PortoonError('E_CLOSED', 'The work was cancelled');
}
