/**
 * Asks for an API key when the server answers 401. The key is kept for this tab only (see api-key.ts)
 * and the waiting caller retries with it.
 */
import { loadApiKey, saveApiKey } from './api-key.js';

export class AuthPanel {
  private waiting: (() => void)[] = [];

  constructor(
    private readonly root: HTMLElement,
    private readonly form: HTMLFormElement,
    private readonly input: HTMLInputElement,
    private readonly note: HTMLElement,
    private readonly forget: HTMLButtonElement,
  ) {
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const key = input.value.trim();
      if (!key) {
        input.focus();
        return;
      }
      saveApiKey(key);
      input.value = '';
      this.root.hidden = true;
      this.syncForget();
      const waiting = this.waiting;
      this.waiting = [];
      for (const resume of waiting) resume();
    });
    forget.addEventListener('click', () => {
      saveApiKey(null);
      this.syncForget();
    });
    this.syncForget();
  }

  /**
   * Shows the key field; resolves once the user has saved a key. The server's own message is written
   * for developers (it names headers), so the user gets a plain sentence and the server's in the tooltip.
   */
  request(serverMessage = ''): Promise<void> {
    this.note.textContent = loadApiKey() ? 'That API key was not accepted. Check it and try again.' : 'This server needs an API key.';
    if (serverMessage) this.note.title = serverMessage;
    else this.note.removeAttribute('title');
    this.root.hidden = false;
    this.input.focus();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private syncForget(): void {
    this.forget.hidden = !loadApiKey();
  }
}
