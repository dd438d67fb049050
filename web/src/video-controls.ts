/**
 * The settings only a video has: keep the sound, the size of the result, and which part of the clip
 * to cartoonize. Reads them into the video job's fields, checking the times against the clip's
 * length so a mistake is explained before a long upload rather than after it.
 */
import type { VideoOptions } from './api.js';

export interface VideoControlElements {
  audio: HTMLInputElement;
  maxSide: HTMLSelectElement;
  start: HTMLInputElement;
  duration: HTMLInputElement;
}

export type VideoFieldValues = Pick<VideoOptions, 'audio' | 'maxSide' | 'start' | 'duration'>;

export type VideoSettings = { ok: true; fields: VideoFieldValues } | { ok: false; message: string; field: HTMLInputElement };

export class VideoControls {
  constructor(private readonly el: VideoControlElements) {}

  /** @param clipSeconds the clip's length when the browser could read it, to check the start against. */
  read(clipSeconds: number | null): VideoSettings {
    const fields: VideoFieldValues = { audio: this.el.audio.checked };
    if (this.el.maxSide.value) fields.maxSide = Number(this.el.maxSide.value);

    const start = this.seconds(this.el.start);
    if (Number.isNaN(start) || (start !== undefined && start < 0)) {
      return { ok: false, message: 'The start must be a number of seconds, 0 or more.', field: this.el.start };
    }
    if (start !== undefined && clipSeconds !== null && start >= clipSeconds) {
      return {
        ok: false,
        message: `The video is ${clipSeconds.toFixed(1)} s long: start before that, or leave the start empty.`,
        field: this.el.start,
      };
    }
    if (start) fields.start = start;

    const duration = this.seconds(this.el.duration);
    if (Number.isNaN(duration) || (duration !== undefined && duration <= 0)) {
      return {
        ok: false,
        message: 'The length must be a number of seconds above 0, or empty for the rest of the video.',
        field: this.el.duration,
      };
    }
    if (duration !== undefined) fields.duration = duration;
    return { ok: true, fields };
  }

  /** Undefined when empty, NaN when not a number. */
  private seconds(input: HTMLInputElement): number | undefined {
    if (input.value.trim() === '') return input.validity.badInput ? Number.NaN : undefined;
    return Number(input.value);
  }
}
