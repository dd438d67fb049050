/**
 * What the video path exchanges: the facts about an input clip, the options of a video request,
 * frames with their times, progress and the report. Shared by the engine, the adapters (ffmpeg in
 * Node), the queues, the service and the CLI.
 */
import type { OutputProvenanceReport } from '../report.js';
import type { RawImage } from '../image.js';

/** Output containers: H.264 MP4 (default), VP9 WebM, animated GIF. */
export const VIDEO_FORMATS = ['mp4', 'webm', 'gif'] as const;
export type VideoFormat = (typeof VIDEO_FORMATS)[number];

export interface AudioInfo {
  /** ffprobe's codec name (aac, mp3, opus, vorbis, pcm_s16le…). */
  codec: string;
  sampleRate: number;
  channels: number;
  /** Seconds. */
  duration: number;
}

/** A clip as the decoder will deliver it (after rotation metadata is applied). */
export interface VideoInfo {
  /** ffprobe's container name (e.g. "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "gif"). */
  container: string;
  /** Video codec name (h264, hevc, vp9, gif…). */
  codec: string;
  /** Displayed size: the coded size turned by `rotation`. */
  width: number;
  height: number;
  /** Clockwise rotation the player applies (from the display matrix), 0/90/180/270. */
  rotation: 0 | 90 | 180 | 270;
  /** Average frames per second. */
  fps: number;
  /** Frames in the stream (counted when the container does not say). */
  frames: number;
  /** Seconds. */
  duration: number;
  /** Frame times are not evenly spaced (the average and the nominal rate differ). */
  variableFrameRate: boolean;
  audio?: AudioInfo | undefined;
}

/** The options of a video request that stills do not have. */
export interface VideoParams {
  /** Output frame rate; default the input's (every frame kept, same timestamps). */
  fps?: number | undefined;
  /** Seconds from the start of the clip to begin at. Default 0. */
  start?: number | undefined;
  /** Seconds to process from `start`. Default: to the end. */
  duration?: number | undefined;
  /** Encoder quality (x264/VP9 constant rate factor, lower is better). Default 20 for MP4, 32 for WebM. */
  crf?: number | undefined;
  /** Keep the sound track. Default true. */
  audio?: boolean | undefined;
  /** Output container. Default mp4. */
  format?: VideoFormat | undefined;
  /**
   * Flow-guided blending of each frame with the previous output, so the picture does not flicker.
   * Default true; false stylizes each frame on its own.
   */
  temporal?: boolean | undefined;
  /** Measure the flicker of the output (warping error, see the report), at some extra cost. */
  measureFlicker?: boolean | undefined;
}

/** One decoded frame. */
export interface VideoFrame {
  /** 0-based index in the output. */
  index: number;
  /** Seconds from the start of the output. */
  time: number;
  image: RawImage;
}

export interface VideoProgress {
  framesDone: number;
  /** Expected frames (from the probe; exact for constant-rate clips). */
  framesTotal: number;
  /** Frames per second so far. */
  fps: number;
}

export interface FaceTrackReport {
  /** Stable id: the same person keeps it while tracked. */
  id: number;
  firstFrame: number;
  lastFrame: number;
  /** Frames the face was seen in. */
  frames: number;
}

/** How the sound track was handled. */
export type AudioHandling = 'copied' | 're-encoded' | 'none' | 'dropped';

export interface VideoReport {
  kind: 'video';
  width: number;
  height: number;
  format: VideoFormat;
  style: string;
  frames: number;
  fps: number;
  /** Seconds. */
  duration: number;
  audio: AudioHandling;
  /** Codec of the output's sound track, when it has one. */
  audioCodec?: string | undefined;
  /** Why the audio was re-encoded or dropped, when it was. */
  audioNote?: string | undefined;
  temporal: boolean;
  /** Scene cuts where the temporal blending started afresh. */
  sceneCuts: number;
  /** Every face track (stable ids). */
  tracks: FaceTrackReport[];
  /** Most faces in one frame. */
  maxFacesPerFrame: number;
  /** Milliseconds per part of the work, summed over frames. */
  timings: {
    decode: number;
    faces: number;
    stylize: number;
    temporal: number;
    /** Provenance marks on every frame (watermark, and the label when asked). */
    provenance: number;
    encode: number;
    total: number;
  };
  /** Milliseconds inside the inference runtime per model. */
  inference: Record<string, number>;
  models: string[];
  /** When asked (`measureFlicker`): mean warping error of the output, pixels in [0, 1] (Lai et al. 2018). */
  warpError?: number | undefined;
  /** The marks on every frame: the id the watermark and the container tags carry, the visible label. */
  provenance?: OutputProvenanceReport | undefined;
}
