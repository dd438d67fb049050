/**
 * The one place the page talks to the user in words: errors (role="alert", read out at once) and
 * calm status notes (polite live region).
 */
export class Messages {
  constructor(
    private readonly alert: HTMLElement,
    private readonly status: HTMLElement,
  ) {}

  error(message: string, code?: string): void {
    this.alert.replaceChildren(message);
    if (code) this.alert.dataset.code = code;
    else delete this.alert.dataset.code;
    this.alert.hidden = false;
  }

  info(message: string): void {
    this.status.textContent = message;
  }

  clear(): void {
    this.alert.hidden = true;
    this.alert.replaceChildren();
    delete this.alert.dataset.code;
    this.status.textContent = '';
  }
}
