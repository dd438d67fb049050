/**
 * The engine's decoder and encoder ports: how pixels come in and go out. Stills go through an image
 * codec (sharp in Node, canvas in the browser), videos through a frame source and sink (ffmpeg in
 * Node). Every encoder takes the output's provenance, so the AI-generated label is written in one
 * place for every kind of output.
 */
import type { RawImage } from './image.js';
import type { OutputFormat } from './formats.js';
import type { ProvenanceInfo } from './provenance.js';
import type { VideoFrame } from './video/types.js';

export interface DecodedStill {
  image: RawImage;
  /** Alpha plane when the input had transparency (width x height). */
  alpha?: Uint8Array | undefined;
  /** The input's format as the decoder names it (jpeg, png, webp…). */
  format: string;
}

export interface StillCodec {
  /** Decodes to 8-bit RGB, refusing what is not an accepted image or is too large. */
  decode(bytes: Uint8Array, options: { maxInputPixels?: number | undefined; maxSide?: number | undefined }): Promise<DecodedStill>;
  /** The output format for an input format when the request names none. */
  defaultFormat(inputFormat: string): OutputFormat;
  /** Encodes with the provenance label and nothing of the input's metadata. */
  encode(
    image: RawImage,
    options: { format: OutputFormat; quality?: number | undefined; alpha?: Uint8Array | undefined },
    provenance: ProvenanceInfo,
  ): Promise<Uint8Array>;
}

/**
 * Adds signed content credentials (C2PA) to encoded bytes. Optional: configured where a certificate
 * and key are (the Node service and CLI); the browser has none.
 */
export interface ContentSigner {
  sign(bytes: Uint8Array, format: OutputFormat, provenance: ProvenanceInfo): Promise<Uint8Array>;
}

/** Decoded frames of a clip, in order, streamed (never the whole clip at once). */
export interface FrameSource {
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  /** Frames the source expects to deliver (exact for constant-rate clips). */
  readonly expectedFrames: number;
  frames(): AsyncIterable<VideoFrame>;
  close(): Promise<void>;
}

/** Where the output frames go; it is opened with the output's provenance. */
export interface FrameSink {
  write(frame: RawImage): Promise<void>;
}
