/**
 * Shows what a render is doing: the current stage in words (for a video, the frame it is on) and an
 * overall progress bar.
 */
import type { PublicJobStatus } from '../../src/core/job.js';
import { overallProgress, type Stage, type StageProgress } from '../../src/core/report.js';
import { describeFrames } from './frame-progress.js';

const STAGE_LABELS: Record<Stage, string> = {
  decode: 'Reading the photo',
  detect: 'Finding faces',
  align: 'Lining up faces',
  parse: 'Tracing hair and skin',
  head: 'Drawing the faces',
  background: 'Painting the picture',
  paste: 'Blending it together',
  encode: 'Saving the image',
};

/** A video's progress is read out at every tenth: each poll would be too chatty for a screen reader. */
const ANNOUNCE_STEP = 10;

export class ProgressView {
  private announced = -1;

  constructor(
    private readonly root: HTMLElement,
    private readonly label: HTMLElement,
    private readonly percent: HTMLElement,
    private readonly bar: HTMLElement,
    private readonly fill: HTMLElement,
    /** A polite live region where a long render's progress is read out now and then. */
    private readonly announcer?: HTMLElement,
  ) {}

  uploading(what: 'photo' | 'video' = 'photo'): void {
    this.announced = -1;
    this.render(`Uploading the ${what}`, 0);
  }

  busy(seconds: number): void {
    this.render(`The server is busy; trying again in ${seconds} s`, 0);
  }

  update(status: PublicJobStatus): void {
    if (status.state === 'queued') this.render('Waiting for a free worker', 0);
    else if (status.state === 'completed') this.render('Downloading the result', 1);
    else if (status.kind === 'video') this.renderFrames(status);
    else this.render((status.stage && STAGE_LABELS[status.stage]) ?? 'Working', status.overall);
  }

  /** A render on this device: the pipeline's own stage progress. */
  stage(progress: StageProgress): void {
    this.render(STAGE_LABELS[progress.stage], overallProgress(progress));
  }

  /** A model being downloaded for this device (the first time only; later it comes from the cache). */
  downloading(model: string, loaded: number, total: number): void {
    const mb = (bytes: number): string => (bytes / 1e6).toFixed(1);
    this.render(`Downloading model ${model} (${mb(loaded)} of ${mb(total)} MB)`, total > 0 ? loaded / total : 0);
  }

  hide(): void {
    this.root.hidden = true;
    if (this.announcer) this.announcer.textContent = '';
  }

  private renderFrames(status: PublicJobStatus): void {
    if (!status.frames || status.frames.done === 0) {
      this.render('Reading the video', status.overall);
      return;
    }
    const text = describeFrames(status.frames);
    this.render(text, status.overall);
    const percent = Math.round(Math.min(1, Math.max(0, status.overall)) * 100);
    const step = Math.floor(percent / ANNOUNCE_STEP);
    if (this.announcer && step > this.announced) {
      this.announced = step;
      this.announcer.textContent = `${text}, ${percent}% done`;
    }
  }

  private render(text: string, overall: number): void {
    const value = Math.round(Math.min(1, Math.max(0, overall)) * 100);
    this.root.hidden = false;
    this.label.textContent = text;
    this.percent.textContent = `${value}%`;
    this.bar.setAttribute('aria-valuenow', String(value));
    this.bar.setAttribute('aria-valuetext', `${text}, ${value}%`);
    this.fill.style.width = `${value}%`;
  }
}
