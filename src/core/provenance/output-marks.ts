/**
 * The one place every output picture gets its provenance marks: stills (Node and browser) and every
 * frame of a video go through `OutputMarks.mark` before they reach their encoder, and the encoders
 * then add the metadata (XMP, container tags) and, where configured, the C2PA signature.
 *
 * Order: the visible label first (when asked for), then the invisible watermark over the whole
 * picture, label included, so a copy cropped to the label still carries the mark.
 */
import type { RawImage } from '../image.js';
import { drawAiLabel, type LabelPlacement } from './visible-label.js';
import { DEFAULT_WATERMARK_KEY, embedWatermark, newOutputId } from './watermark.js';

export type FaceBox = readonly [number, number, number, number];

export interface MarkPolicy {
  /** Draw the visible "AI-generated" label in a corner away from faces. */
  label?: boolean | undefined;
  /** The watermark key (default `DEFAULT_WATERMARK_KEY`). */
  watermarkKey?: string | undefined;
}

/** Marks for one output (a still, or all frames of one video): one id, one label placement. */
export class OutputMarks {
  /** The output id the watermark carries (also written to the XMP and the C2PA manifest). */
  readonly id: string;
  readonly label: boolean;
  readonly #key: string;
  #placement: LabelPlacement | undefined;

  constructor(policy: MarkPolicy = {}, id: string = newOutputId()) {
    this.id = id;
    this.label = policy.label === true;
    this.#key = policy.watermarkKey || DEFAULT_WATERMARK_KEY;
  }

  /**
   * The marked copy of one output picture. `faces` are the boxes of the faces in it: the label keeps
   * away from them. A video's label stays in the corner chosen for its first frame, so it does not
   * jump as people move.
   */
  mark(image: RawImage, faces: readonly FaceBox[]): RawImage {
    let picture = image;
    if (this.label) {
      const drawn = drawAiLabel(picture, faces, this.#placement);
      this.#placement ??= drawn.placement;
      picture = drawn.image;
    }
    return embedWatermark(picture, this.id, { key: this.#key });
  }
}
