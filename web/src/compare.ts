/**
 * The photo viewer. With only a photo it shows the photo; with a result it becomes a before/after
 * comparison: the original on the left of a divider, the cartoon on the right, each side tagged (the
 * cartoon with the style it was made in). The divider is a role="slider" (arrow keys, Page Up/Down,
 * Home/End) and can be dragged anywhere on the picture.
 */
export class CompareView {
  private position = 50;
  private dragging = false;
  /** What the result is called in the tag, the alt text and the slider's spoken value. */
  private resultName = 'cartoon';

  constructor(
    private readonly root: HTMLElement,
    private readonly before: HTMLImageElement,
    private readonly after: HTMLImageElement,
    private readonly handle: HTMLElement,
    private readonly afterTag: HTMLElement,
  ) {
    handle.addEventListener('keydown', (event) => this.onKey(event));
    root.addEventListener('pointerdown', (event) => this.onPointerDown(event));
    root.addEventListener('pointermove', (event) => {
      if (this.dragging) this.setFromPointer(event);
    });
    const end = (event: PointerEvent): void => {
      if (!this.dragging) return;
      this.dragging = false;
      root.classList.remove('is-dragging');
      if (root.hasPointerCapture(event.pointerId)) root.releasePointerCapture(event.pointerId);
    };
    root.addEventListener('pointerup', end);
    root.addEventListener('pointercancel', end);
  }

  /** Shows the original alone. url is null when the browser cannot display the format (TIFF, HEIC). */
  showOriginal(url: string | null, width: number | null, height: number | null): void {
    this.root.dataset.mode = 'original';
    this.before.hidden = url === null;
    if (url) this.before.src = url;
    this.after.hidden = true;
    this.after.removeAttribute('src');
    this.handle.hidden = true;
    this.setAspect(width, height);
  }

  /** `name` says what the result is, e.g. the style's label ("Anime", "Anime + 30% Sketch"). */
  showResult(url: string, width: number, height: number, name: string): void {
    this.resultName = name;
    this.afterTag.textContent = name;
    this.after.alt = `${name} version of your photo`;
    this.handle.setAttribute('aria-label', `Compare original and ${name}`);
    this.after.src = url;
    this.after.hidden = false;
    this.handle.hidden = false;
    // Without a displayable original there is nothing to compare with: show the result whole.
    this.root.dataset.mode = this.before.hidden ? 'result' : 'compare';
    this.handle.hidden = this.before.hidden;
    this.setAspect(width, height);
    this.set(50);
  }

  set(percent: number): void {
    this.position = Math.min(100, Math.max(0, Math.round(percent)));
    this.root.style.setProperty('--split', `${this.position}%`);
    this.handle.setAttribute('aria-valuenow', String(this.position));
    this.handle.setAttribute('aria-valuetext', `${this.position}% original, ${100 - this.position}% ${this.resultName}`);
  }

  private setAspect(width: number | null, height: number | null): void {
    if (width && height) {
      this.root.style.setProperty('--aspect', `${width} / ${height}`);
      this.root.style.setProperty('--ratio', String(width / height));
    } else {
      this.root.style.removeProperty('--aspect');
      this.root.style.removeProperty('--ratio');
    }
  }

  private onKey(event: KeyboardEvent): void {
    const steps: Record<string, number> = { ArrowLeft: -5, ArrowDown: -5, ArrowRight: 5, ArrowUp: 5, PageDown: -20, PageUp: 20 };
    const step = steps[event.key];
    if (step !== undefined) this.set(this.position + step);
    else if (event.key === 'Home') this.set(0);
    else if (event.key === 'End') this.set(100);
    else return;
    event.preventDefault();
  }

  private onPointerDown(event: PointerEvent): void {
    if (this.root.dataset.mode !== 'compare' || event.button !== 0) return;
    this.dragging = true;
    this.root.classList.add('is-dragging');
    this.root.setPointerCapture(event.pointerId);
    this.handle.focus({ preventScroll: true });
    this.setFromPointer(event);
    event.preventDefault();
  }

  private setFromPointer(event: PointerEvent): void {
    const box = this.root.getBoundingClientRect();
    if (box.width > 0) this.set(((event.clientX - box.left) / box.width) * 100);
  }
}
