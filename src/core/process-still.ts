/**
 * One still from bytes to bytes: decode → pipeline → encode, with stage progress, timings and the
 * provenance label. The Node engine (sharp) and the browser engine (canvas) run this same sequence
 * with their own codec and inference backend, so both produce the same report for the same request.
 */
import { withCheckpoint, type InferenceBackend } from './inference.js';
import type { ContentSigner, StillCodec } from './media-port.js';
import type { Catalogue } from './models/catalogue.js';
import { cartoonizeImage } from './pipeline.js';
import type { ProvenanceInfo } from './provenance.js';
import { OutputMarks, type MarkPolicy } from './provenance/output-marks.js';
import type { CartoonizeOutput, StageProgress } from './report.js';
import type { CartoonizeRequest } from './request.js';

export interface StillContext {
  codec: StillCodec;
  backend: InferenceBackend;
  catalogue: Catalogue;
  /** Refuse inputs with more pixels than this. */
  maxInputPixels?: number | undefined;
  /** The label every output carries (software, version, creation time) for the style and models used. */
  provenance: (style: string, models: readonly string[]) => ProvenanceInfo;
  /** Watermark key and the default for the visible label (a request's `label` wins). */
  marks?: MarkPolicy | undefined;
  /** Signs the encoded bytes with C2PA content credentials, when configured. */
  signer?: ContentSigner | undefined;
  /** A monotonic clock in ms (performance.now). */
  now: () => number;
  onProgress?: ((progress: StageProgress) => void) | undefined;
  /** Called between steps (after decode, before every model run, before encode); throws to stop the work. */
  checkpoint?: (() => void) | undefined;
}

/** Decodes, cartoonizes and encodes one image for a request validated by `parseCartoonizeRequest`. */
export async function processStill(input: Uint8Array, request: CartoonizeRequest, context: StillContext): Promise<CartoonizeOutput> {
  const { codec, now, onProgress, checkpoint } = context;
  onProgress?.({ stage: 'decode', progress: 0 });
  const decodeStart = now();
  const decoded = await codec.decode(input, { maxInputPixels: context.maxInputPixels, maxSide: request.maxSide });
  const decodeMs = now() - decodeStart;
  onProgress?.({ stage: 'decode', progress: 1 });
  checkpoint?.();
  const result = await cartoonizeImage(decoded.image, request, {
    backend: checkpoint ? withCheckpoint(context.backend, checkpoint) : context.backend,
    catalogue: context.catalogue,
    onProgress,
    now,
  });
  checkpoint?.();
  onProgress?.({ stage: 'encode', progress: 0 });
  const encodeStart = now();
  const format = request.format ?? codec.defaultFormat(decoded.format);
  // Provenance, in one place for every still: label and watermark in the pixels, XMP by the codec,
  // then the C2PA signature over the encoded bytes.
  const marks = new OutputMarks({ label: request.label ?? context.marks?.label, watermarkKey: context.marks?.watermarkKey });
  const marked = marks.mark(
    result.image,
    result.faces.map((face) => face.box),
  );
  const provenance: ProvenanceInfo = { ...context.provenance(result.style, result.models), id: marks.id };
  let image = await codec.encode(marked, { format, quality: request.quality, alpha: decoded.alpha }, provenance);
  if (context.signer) image = await context.signer.sign(image, format, provenance);
  const encodeMs = now() - encodeStart;
  onProgress?.({ stage: 'encode', progress: 1 });
  return {
    image,
    report: {
      width: result.image.width,
      height: result.image.height,
      style: result.style,
      format,
      faces: result.faces,
      detected: result.detected,
      timings: { decode: decodeMs, ...result.timings, encode: encodeMs },
      models: result.models,
      inference: result.inference,
      provenance: { id: marks.id, label: marks.label, contentCredentials: context.signer !== undefined },
    },
  };
}
