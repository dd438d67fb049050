/**
 * The style gallery: one radio button per style (so arrow keys move between styles, as in any radio
 * group), each with a thumbnail. Before a photo is chosen a thumbnail is the server's sample of the
 * style; afterwards it is the style applied to the user's own photo. The preview queue supplies them.
 */
import type { StyleInfo } from '../../src/core/style-info.js';
import { h } from './dom.js';

export type ThumbnailState = 'idle' | 'queued' | 'loading' | 'ready' | 'failed';
/** What a thumbnail shows: the server's sample photo, or the user's photo. */
export type PreviewKind = 'sample' | 'photo';

interface Card {
  style: StyleInfo;
  input: HTMLInputElement;
  root: HTMLLabelElement;
  thumb: HTMLElement;
  status: HTMLElement;
  objectUrl: string | null;
}

export class Gallery {
  private cards = new Map<string, Card>();

  constructor(
    private readonly container: HTMLElement,
    private readonly onSelect: (styleId: string) => void,
  ) {}

  setStyles(styles: readonly StyleInfo[], preferred: string | null): void {
    for (const card of this.cards.values()) this.revoke(card);
    this.cards.clear();
    this.container.replaceChildren(...styles.map((style) => this.card(style)));
    const installed = styles.filter((s) => s.installed);
    const initial = installed.find((s) => s.id === preferred) ?? installed[0];
    if (initial) this.select(initial.id);
  }

  selected(): string | null {
    for (const card of this.cards.values()) if (card.input.checked) return card.style.id;
    return null;
  }

  select(styleId: string): void {
    const card = this.cards.get(styleId);
    if (!card || card.input.disabled) return;
    card.input.checked = true;
    this.onSelect(styleId);
  }

  /** Installed styles, the selected one first: the order previews are worth rendering in. */
  previewOrder(): string[] {
    const ids = [...this.cards.values()].filter((c) => c.style.installed).map((c) => c.style.id);
    const selected = this.selected();
    return selected ? [selected, ...ids.filter((id) => id !== selected)] : ids;
  }

  /** The style's sample URL, if the server offers one. */
  sampleUrl(styleId: string): string | undefined {
    return this.cards.get(styleId)?.style.previewUrl;
  }

  /** Takes ownership of image.url (an object URL, revoked when replaced). */
  setThumbnail(styleId: string, state: ThumbnailState, image?: { kind: PreviewKind; url: string }): void {
    const card = this.cards.get(styleId);
    if (!card) return;
    card.root.dataset.state = state;
    if (image) {
      this.revoke(card);
      card.objectUrl = image.url;
      card.thumb.replaceChildren(h('img', { src: image.url, alt: '', decoding: 'async', 'data-preview': image.kind }));
    }
    card.status.textContent = state === 'failed' ? 'No preview' : '';
    card.status.hidden = state !== 'failed';
  }

  private card(style: StyleInfo): HTMLLabelElement {
    const descriptionId = `style-desc-${style.id}`;
    const input = h('input', {
      type: 'radio',
      name: 'style',
      value: style.id,
      class: 'visually-hidden',
      'aria-describedby': descriptionId,
    });
    input.disabled = !style.installed;
    input.addEventListener('change', () => {
      if (input.checked) this.onSelect(style.id);
    });
    const thumb = h('span', { class: 'thumb', 'aria-hidden': 'true' }, h('span', { class: 'thumb-initial' }, style.label.slice(0, 1)));
    const status = h('span', { class: 'style-status' }, style.installed ? '' : 'Not installed');
    status.hidden = style.installed;
    const licence = style.licenses.length > 0 ? ` Licence: ${style.licenses.join('; ')}.` : '';
    const description = style.installed
      ? `${style.description}${licence}`
      : `${style.description} Not available: its model is not installed on this server.`;
    const root = h(
      'label',
      { class: 'style-card', 'data-style': style.id, 'data-state': style.installed ? 'idle' : 'disabled', title: description },
      input,
      thumb,
      h('span', { class: 'style-name' }, style.label),
      status,
      h('span', { class: 'visually-hidden', id: descriptionId }, description),
    );
    this.cards.set(style.id, { style, input, root, thumb, status, objectUrl: null });
    return root;
  }

  private revoke(card: Card): void {
    if (card.objectUrl) URL.revokeObjectURL(card.objectUrl);
    card.objectUrl = null;
  }
}
