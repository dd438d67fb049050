/**
 * The facts about a clip, from ffprobe: size as displayed (after rotation), frame rate, frame count,
 * duration, whether the frame rate varies, and the sound track. Only the container and packet
 * headers are read; no frame is decoded beyond what ffprobe needs to name the codecs.
 */
import { open, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import { PortoonError } from '../../core/errors.js';
import type { AudioInfo, VideoInfo } from '../../core/video/types.js';
import { fileArg, locateFfmpeg, runToCompletion, startProcess, type FfmpegTools } from './ffmpeg.js';
import { ACCEPTED_VIDEO_LABELS, DEMUXER, sniffVideoFile, type VideoContainer } from './sniff.js';

/** The parts of ffprobe's JSON (`-show_streams -show_format`) read here. */
interface ProbeStream {
  index?: number;
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  nb_frames?: string;
  duration?: string;
  sample_rate?: string;
  channels?: number;
  disposition?: Record<string, number>;
  tags?: Record<string, string>;
  side_data_list?: { side_data_type?: string; rotation?: number }[];
}

interface ProbeOutput {
  streams?: ProbeStream[];
  format?: { format_name?: string; duration?: string };
}

export interface ProbeOptions {
  signal?: AbortSignal | undefined;
  /** Frames with more pixels are refused with E_IMAGE_TOO_LARGE. Default: no limit. */
  maxInputPixels?: number | undefined;
}

/**
 * Reads a video's facts with ffprobe. The container must be one Portoon reads (sniffed from the
 * first bytes, then named to ffprobe); a container that does not store its frame count (Matroska,
 * WebM) has its packets counted, which reads the file once more without decoding it. An MP4 cut off
 * after its index still probes as whole: the frame reader, which decodes it, refuses it.
 * @throws {PortoonError} E_INPUT_NOT_FOUND when the file cannot be read; E_EMPTY_INPUT for 0 bytes;
 *   E_UNSUPPORTED_FORMAT when it is not a video in a supported container, or has no video stream;
 *   E_DECODE_FAILED when it is damaged or cut off (ffprobe cannot read it, or its packets end early);
 *   E_FFMPEG_MISSING when ffprobe is not installed; E_IMAGE_TOO_LARGE for frames beyond `maxInputPixels`.
 */
export async function probeVideo(path: string, options: ProbeOptions = {}): Promise<VideoInfo> {
  await assertNonEmptyFile(path);
  const container = await sniffVideoFile(path);
  if (container === undefined) throw await notAVideo(path);
  const tools = await locateFfmpeg();
  const input = ['-f', DEMUXER[container], '-protocol_whitelist', 'file', fileArg(path)];
  const { stdout } = await runToCompletion(
    tools.ffprobe,
    ['-v', 'error', '-hide_banner', '-of', 'json', '-show_streams', '-show_format', ...input],
    {
      what: `Reading ${basename(path)}`,
      failureCode: 'E_DECODE_FAILED',
      signal: options.signal,
      paths: [path],
    },
  ).catch((error: unknown) => {
    throw damagedOr(error, path);
  });
  const probe = JSON.parse(stdout) as ProbeOutput;
  const streams = probe.streams ?? [];
  // Cover art in an MP4 is a video stream too (an "attached picture"); the clip is the first other one.
  const video = streams.find((s) => s.codec_type === 'video' && s.disposition?.attached_pic !== 1);
  if (!video) {
    const audioOnly = streams.some((s) => s.codec_type === 'audio');
    throw new PortoonError(
      'E_UNSUPPORTED_FORMAT',
      `The file has no video stream${audioOnly ? ' (it holds only sound)' : ''}: expected a video (${ACCEPTED_VIDEO_LABELS})`,
      { details: { path } },
    );
  }
  const codedWidth = video.width ?? 0;
  const codedHeight = video.height ?? 0;
  if (codedWidth <= 0 || codedHeight <= 0) {
    throw new PortoonError('E_DECODE_FAILED', `The video ${basename(path)} is damaged: its picture size is unknown`, { details: { path } });
  }
  if (container === 'gif') await assertGifComplete(path);

  const rotation = rotationOf(video);
  const turned = rotation === 90 || rotation === 270;
  let frames = Number.parseInt(video.nb_frames ?? '', 10);
  let variableFrameRate: boolean;
  if (Number.isFinite(frames) && frames > 0) {
    variableFrameRate = ratesDiffer(video.avg_frame_rate, video.r_frame_rate);
  } else {
    const packets = await readPacketTimes(tools, path, container, options.signal);
    frames = packets.count;
    variableFrameRate = packets.variable;
  }
  if (frames <= 0) throw new PortoonError('E_DECODE_FAILED', `The video ${basename(path)} has no frames`, { details: { path } });

  const averageRate = rational(video.avg_frame_rate) ?? rational(video.r_frame_rate);
  const duration = durationOf(video, probe) ?? (averageRate ? frames / averageRate : undefined);
  if (duration === undefined || duration <= 0) {
    throw new PortoonError('E_DECODE_FAILED', `The video ${basename(path)} is damaged: its duration is unknown`, { details: { path } });
  }
  // A varying rate has no nominal value: the average is frames over time, so that frames / fps is the
  // clip's duration. A constant one keeps the container's exact rational (30000/1001, not 29.97…).
  const fps = variableFrameRate || averageRate === undefined ? frames / duration : averageRate;

  const audioStream = streams.find((s) => s.codec_type === 'audio');
  const maxInputPixels = options.maxInputPixels ?? Number.POSITIVE_INFINITY;
  if (codedWidth * codedHeight > maxInputPixels) {
    throw new PortoonError(
      'E_IMAGE_TOO_LARGE',
      `The video's frames are ${codedWidth}x${codedHeight}, more than the limit of ${maxInputPixels} pixels`,
      { details: { width: codedWidth, height: codedHeight, maxInputPixels } },
    );
  }
  return {
    container: probe.format?.format_name ?? DEMUXER[container],
    codec: video.codec_name ?? 'unknown',
    width: turned ? codedHeight : codedWidth,
    height: turned ? codedWidth : codedHeight,
    rotation,
    fps,
    frames,
    duration,
    variableFrameRate,
    audio: audioStream ? audioInfo(audioStream, probe) : undefined,
  };
}

async function assertNonEmptyFile(path: string): Promise<void> {
  let size: number;
  try {
    const stats = await stat(path);
    if (stats.isDirectory()) throw new PortoonError('E_INPUT_NOT_FOUND', `The video ${basename(path)} is a folder`, { details: { path } });
    size = stats.size;
  } catch (error) {
    if (error instanceof PortoonError) throw error;
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${(error as Error).message})`;
    throw new PortoonError('E_INPUT_NOT_FOUND', `The video ${basename(path)} ${reason}`, { cause: error, details: { path } });
  }
  if (size === 0)
    throw new PortoonError('E_EMPTY_INPUT', `The input ${basename(path)} is empty (0 bytes): expected a video`, { details: { path } });
}

async function notAVideo(path: string): Promise<PortoonError> {
  const handle = await open(path, 'r');
  const head = Buffer.alloc(6);
  try {
    await handle.read(head, 0, 6, 0);
  } finally {
    await handle.close();
  }
  const still = head.toString('latin1').startsWith('GIF8') ? ': a GIF with a single frame is a still image' : '';
  return new PortoonError('E_UNSUPPORTED_FORMAT', `The file is not a video in a supported format (${ACCEPTED_VIDEO_LABELS})${still}`, {
    details: { path },
  });
}

/** A failure to read a file that sniffed as video is damage to it (422), never "not a video". */
function damagedOr(error: unknown, path: string): unknown {
  if (!(error instanceof PortoonError) || error.code !== 'E_DECODE_FAILED') return error;
  const reason = typeof error.details.reason === 'string' ? error.details.reason : error.message;
  return new PortoonError('E_DECODE_FAILED', `The video ${basename(path)} is damaged or truncated and cannot be read (${reason})`, {
    cause: error,
    details: { ...error.details, path },
  });
}

/**
 * A GIF ends with a trailer byte (0x3B); the demuxer reads a cut-off one without a word, so its end
 * is checked here.
 */
async function assertGifComplete(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const last = Buffer.alloc(1);
    await handle.read(last, 0, 1, size - 1);
    if (last[0] !== 0x3b) {
      throw new PortoonError('E_DECODE_FAILED', `The GIF ${basename(path)} is truncated: it does not end with the GIF trailer`, {
        details: { path },
      });
    }
  } finally {
    await handle.close();
  }
}

/**
 * Clockwise degrees a player turns the picture by. ffprobe gives the display matrix's rotation
 * counter-clockwise (and ffmpeg turns the frames by it when decoding); older ffprobe versions gave the
 * legacy `rotate` tag, clockwise. Angles that are not a multiple of 90° are not applied by ffmpeg, so
 * they count as 0.
 */
function rotationOf(stream: ProbeStream): VideoInfo['rotation'] {
  const matrix = stream.side_data_list?.find((d) => d.side_data_type === 'Display Matrix' && typeof d.rotation === 'number');
  let clockwise: number;
  if (matrix) clockwise = -matrix.rotation!;
  else if (stream.tags?.rotate !== undefined) clockwise = Number(stream.tags.rotate);
  else return 0;
  if (!Number.isFinite(clockwise)) return 0;
  const quarter = Math.round(clockwise / 90);
  if (Math.abs(clockwise - quarter * 90) > 1) return 0;
  return ((((quarter % 4) + 4) % 4) * 90) as VideoInfo['rotation'];
}

/** "30000/1001" → 29.97…; undefined for "0/0", empty or nonsense. */
function rational(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const [num, den = '1'] = text.split('/');
  const value = Number(num) / Number(den);
  return Number.isFinite(value) && value > 0 ? value : undefined;
}

/**
 * The average rate and ffprobe's base rate ("the lowest rate all timestamps fit") agree for a
 * constant-rate stream; by more than 1 % apart, frames are not evenly spaced.
 */
function ratesDiffer(average: string | undefined, base: string | undefined): boolean {
  const a = rational(average);
  const r = rational(base);
  if (a === undefined || r === undefined) return false;
  return Math.abs(a - r) / r > 0.01;
}

/** Seconds, from the stream, Matroska's DURATION tag ("00:00:09.473000000") or the container. */
function durationOf(stream: ProbeStream, probe: ProbeOutput): number | undefined {
  const seconds = (text: string | undefined): number | undefined => {
    if (text === undefined) return undefined;
    const clock = /^(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(text);
    const value = clock ? Number(clock[1]) * 3600 + Number(clock[2]) * 60 + Number(clock[3]) : Number(text);
    return Number.isFinite(value) && value > 0 ? value : undefined;
  };
  return seconds(stream.duration) ?? seconds(stream.tags?.DURATION) ?? seconds(probe.format?.duration);
}

function audioInfo(stream: ProbeStream, probe: ProbeOutput): AudioInfo {
  return {
    codec: stream.codec_name ?? 'unknown',
    sampleRate: Number.parseInt(stream.sample_rate ?? '0', 10) || 0,
    channels: stream.channels ?? 0,
    duration: durationOf(stream, probe) ?? 0,
  };
}

/**
 * Counts the video packets (one per frame) of a container that does not store the count, and tells
 * from their times whether the frame rate varies: a gap between presentation times more than a
 * quarter off the median gap. A container that ends early makes the demuxer complain
 * ("File ended prematurely"), which is damage.
 */
async function readPacketTimes(
  tools: FfmpegTools,
  path: string,
  container: VideoContainer,
  signal: AbortSignal | undefined,
): Promise<{ count: number; variable: boolean }> {
  const args = ['-v', 'error', '-hide_banner', '-select_streams', 'V:0', '-show_entries', 'packet=pts,dts', '-of', 'compact=p=0'];
  const child = startProcess(tools.ffprobe, [...args, '-f', DEMUXER[container], '-protocol_whitelist', 'file', fileArg(path)], {
    what: `Counting the frames of ${basename(path)}`,
    failureCode: 'E_DECODE_FAILED',
    signal,
    paths: [path],
  });
  const times: number[] = [];
  let count = 0;
  for await (const line of createInterface({ input: child.stdout, crlfDelay: Infinity })) {
    if (line === '') continue;
    count += 1;
    const fields = Object.fromEntries(line.split('|').map((field) => field.split('=') as [string, string]));
    const time = Number(fields.pts !== 'N/A' ? fields.pts : fields.dts);
    if (Number.isFinite(time)) times.push(time);
  }
  await child.succeeded().catch((error: unknown) => {
    throw damagedOr(error, path);
  });
  if (child.errorLineCount > 0) {
    throw new PortoonError(
      'E_DECODE_FAILED',
      `The video ${basename(path)} is damaged or truncated (${child.errorLines.slice(-3).join('; ')})`,
      {
        details: { path, stderr: [...child.errorLines] },
      },
    );
  }
  return { count, variable: variesInTime(times) };
}

function variesInTime(times: number[]): boolean {
  if (times.length < 3) return false;
  const sorted = Float64Array.from(times).sort();
  const gaps: number[] = [];
  for (let i = 1; i < sorted.length; i++) gaps.push(sorted[i]! - sorted[i - 1]!);
  const median = Float64Array.from(gaps).sort()[gaps.length >> 1]!;
  if (median <= 0) return false;
  return gaps.some((gap) => Math.abs(gap - median) > median / 4);
}
