/**
 * The API key the user typed, kept in sessionStorage: it survives a reload of this tab but is gone
 * when the tab closes, so a shared computer does not keep it.
 */
const STORAGE_KEY = 'portoon.apiKey';

export function loadApiKey(): string | null {
  try {
    return sessionStorage.getItem(STORAGE_KEY);
  } catch {
    // Storage can be disabled (privacy settings); the key then lives only until the page closes.
    return memoryKey;
  }
}

export function saveApiKey(key: string | null): void {
  memoryKey = key;
  try {
    if (key) sessionStorage.setItem(STORAGE_KEY, key);
    else sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // See loadApiKey.
  }
}

let memoryKey: string | null = null;
