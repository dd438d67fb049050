/** Shows what a render is doing: the current stage in words and an overall progress bar. */
import type { PublicJobStatus } from '../../src/core/job.js';
import type { Stage } from '../../src/core/report.js';

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

export class ProgressView {
  constructor(
    private readonly root: HTMLElement,
    private readonly label: HTMLElement,
    private readonly percent: HTMLElement,
    private readonly bar: HTMLElement,
    private readonly fill: HTMLElement,
  ) {}

  uploading(): void {
    this.render('Uploading the photo', 0);
  }

  busy(seconds: number): void {
    this.render(`The server is busy; trying again in ${seconds} s`, 0);
  }

  update(status: PublicJobStatus): void {
    if (status.state === 'queued') this.render('Waiting for a free worker', 0);
    else if (status.state === 'completed') this.render('Downloading the result', 1);
    else this.render((status.stage && STAGE_LABELS[status.stage]) ?? 'Working', status.overall);
  }

  hide(): void {
    this.root.hidden = true;
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
