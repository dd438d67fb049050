/** The list of camera styles: one radio button each, the selected one reported on change. */
import { h } from '../dom.js';

export interface StyleOption {
  id: string;
  label: string;
}

/**
 * Fills `container` with a radio group (name `name`) of `styles`, `selected` checked; calls
 * `onChange` with the id whenever the choice changes.
 */
export function renderStyleSwitcher(
  container: HTMLElement,
  name: string,
  styles: readonly StyleOption[],
  selected: string,
  onChange: (id: string) => void,
): void {
  container.replaceChildren(
    ...styles.map((style) => {
      const input = h('input', { type: 'radio', name, value: style.id, id: `${name}-${style.id}` });
      input.checked = style.id === selected;
      input.addEventListener('change', () => {
        if (input.checked) onChange(style.id);
      });
      return h('label', { class: 'live-style', for: input.id }, input, h('span', {}, style.label));
    }),
  );
}
