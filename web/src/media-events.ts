/**
 * Waits for a media element to reach a state: true when `event` fires, false when the element fails
 * (a format this browser cannot play) or nothing happens in time (a stalled file must not leave the
 * page waiting forever).
 */
export function mediaEvent(
  media: HTMLMediaElement,
  event: 'loadedmetadata' | 'loadeddata' | 'seeked',
  timeoutMs = 15_000,
): Promise<boolean> {
  return new Promise((resolve) => {
    const finish = (ok: boolean): void => {
      clearTimeout(timer);
      media.removeEventListener(event, onEvent);
      media.removeEventListener('error', onError);
      resolve(ok);
    };
    const onEvent = (): void => finish(true);
    const onError = (): void => finish(false);
    const timer = setTimeout(() => finish(false), timeoutMs);
    media.addEventListener(event, onEvent);
    media.addEventListener('error', onError);
  });
}
