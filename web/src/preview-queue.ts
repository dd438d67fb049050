/**
 * Fills the gallery's thumbnails one style at a time: first the server's sample of each style, then,
 * once a photo is chosen, each style applied to that photo. Every thumbnail is real work on the
 * server's bounded queue; firing them all at once would fill it and push the user's own render back.
 * Thumbnails pause while a full render runs, and starting a new batch cancels the old one.
 */
import { ApiError } from './api.js';
import type { Gallery, PreviewKind } from './gallery.js';
import { isAbortError } from './sleep.js';

export type RenderPreview = (style: string, signal: AbortSignal) => Promise<Blob>;

/** Answers that mean the photo itself (or the session) is the problem: no other style will do better. */
const PHOTO_FATAL = new Set([401, 413, 415, 422]);

export class PreviewQueue {
  private controller: AbortController | null = null;
  private paused: Promise<void> | null = null;
  private unpause: (() => void) | null = null;

  constructor(
    private readonly gallery: Gallery,
    /** Called when the user's photo cannot be previewed at all; the batch has stopped. */
    private readonly onFatal: (error: ApiError) => void,
  ) {}

  start(kind: PreviewKind, styleIds: readonly string[], render: RenderPreview): Promise<void> {
    this.stop();
    const controller = new AbortController();
    this.controller = controller;
    for (const style of styleIds) this.gallery.setThumbnail(style, 'queued');
    return this.run(kind, styleIds, render, controller.signal);
  }

  stop(): void {
    this.controller?.abort();
    this.controller = null;
  }

  pause(): void {
    this.paused ??= new Promise((resolve) => (this.unpause = resolve));
  }

  resume(): void {
    this.unpause?.();
    this.paused = null;
    this.unpause = null;
  }

  private async run(kind: PreviewKind, styleIds: readonly string[], render: RenderPreview, signal: AbortSignal): Promise<void> {
    for (const [index, style] of styleIds.entries()) {
      while (this.paused) await this.paused;
      if (signal.aborted) return;
      this.gallery.setThumbnail(style, 'loading');
      try {
        const blob = await render(style, signal);
        if (signal.aborted) return;
        this.gallery.setThumbnail(style, 'ready', { kind, url: URL.createObjectURL(blob) });
      } catch (error) {
        if (signal.aborted || isAbortError(error)) return;
        const status = error instanceof ApiError ? error.status : 0;
        if (kind === 'photo' && PHOTO_FATAL.has(status)) {
          for (const rest of styleIds) this.gallery.setThumbnail(rest, 'idle');
          this.stop();
          this.onFatal(error as ApiError);
          return;
        }
        if (kind === 'sample' && status >= 400 && status < 500) {
          // Samples not configured (404) or not allowed: the rest would fail the same way. Not worth an error message.
          for (const rest of styleIds.slice(index)) this.gallery.setThumbnail(rest, 'idle');
          return;
        }
        // One style failing (its model broke, say) should not hide the other previews.
        this.gallery.setThumbnail(style, 'failed');
      }
    }
  }
}
