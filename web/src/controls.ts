/**
 * The render settings: strength, the optional second style and its weight, background and (for a
 * photo) format. Reads them into API options and keeps the readouts and dependent controls in step.
 */
import type { OutputFormat } from '../../src/core/formats.js';
import type { BackgroundMode } from '../../src/core/request.js';
import type { StyleInfo } from '../../src/core/style-info.js';
import type { CartoonOptions, VideoOptions } from './api.js';
import { h } from './dom.js';

export interface ControlElements {
  strength: HTMLInputElement;
  strengthValue: HTMLOutputElement;
  mixStyle: HTMLSelectElement;
  mixWeight: HTMLInputElement;
  mixWeightValue: HTMLOutputElement;
  background: HTMLSelectElement;
  /** The visible label: '' (the service's default), 'true' or 'false'. */
  label: HTMLSelectElement;
  format: HTMLSelectElement;
}

export class Controls {
  private styles: readonly StyleInfo[] = [];
  /** Until the user moves the strength slider, it follows the selected style's default. */
  private strengthTouched = false;

  constructor(private readonly el: ControlElements) {
    el.strength.addEventListener('input', () => {
      this.strengthTouched = true;
      this.sync();
    });
    el.mixWeight.addEventListener('input', () => this.sync());
    el.mixStyle.addEventListener('change', () => this.sync());
    this.sync();
  }

  /** Offers every installed style except the main one as the second style. */
  setStyles(styles: readonly StyleInfo[], mainStyle: string | null): void {
    this.styles = styles;
    const current = this.el.mixStyle.value;
    const options = styles.filter((s) => s.installed && s.id !== mainStyle).map((s) => h('option', { value: s.id }, s.label));
    this.el.mixStyle.replaceChildren(h('option', { value: '' }, 'No mix'), ...options);
    this.el.mixStyle.value = options.some((o) => o.value === current) ? current : '';
    this.followDefaultStrength(mainStyle);
    this.sync();
  }

  mainStyleChanged(mainStyle: string): void {
    this.setStyles(this.styles, mainStyle);
  }

  private followDefaultStrength(mainStyle: string | null): void {
    const preferred = this.styles.find((s) => s.id === mainStyle)?.defaultStrength;
    if (!this.strengthTouched && preferred !== undefined) this.el.strength.value = String(preferred);
  }

  /** A photo's options: the style's settings and the file format. */
  options(style: string): CartoonOptions {
    return { ...this.styleOptions(style), format: this.el.format.value as OutputFormat };
  }

  /** The settings photos and videos share (a video has no file format: its container is MP4). */
  styleOptions(style: string): VideoOptions {
    const options: VideoOptions = { style, strength: Number(this.el.strength.value) };
    if (this.el.mixStyle.value) {
      options.mix = this.el.mixStyle.value;
      options.mixWeight = Number(this.el.mixWeight.value);
    }
    if (this.el.background.value) options.background = this.el.background.value as BackgroundMode;
    if (this.el.label.value) options.label = this.el.label.value === 'true';
    return options;
  }

  /** What a render with these options is called: the style's label, and the second style's when mixed. */
  describe(options: Pick<CartoonOptions, 'style' | 'mix' | 'mixWeight'>): string {
    const label = (id: string): string => this.styles.find((s) => s.id === id)?.label ?? id;
    if (!options.mix) return label(options.style);
    return `${label(options.style)} + ${Math.round((options.mixWeight ?? 0.5) * 100)}% ${label(options.mix)}`;
  }

  private sync(): void {
    const percent = (input: HTMLInputElement): string => `${Math.round(Number(input.value) * 100)}%`;
    this.el.strengthValue.value = percent(this.el.strength);
    this.el.mixWeightValue.value = percent(this.el.mixWeight);
    this.el.strength.setAttribute('aria-valuetext', percent(this.el.strength));
    this.el.mixWeight.setAttribute('aria-valuetext', percent(this.el.mixWeight));
    this.el.mixWeight.disabled = !this.el.mixStyle.value;
  }
}
