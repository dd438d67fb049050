/**
 * Model files for the browser engine: fetched once with download progress, checked against the
 * catalogue's sha256 with SubtleCrypto, and kept in Cache Storage so a second visit downloads
 * nothing. A cached copy is hashed again before use: Cache Storage is writable by any script of the
 * origin, and a model is code the engine runs.
 */
import { PortoonError } from '../core/errors.js';
import type { ModelEntry } from '../core/models/manifest.js';
import type { ModelDownload } from './protocol.js';

export interface ModelCacheOptions {
  /** Absolute base URL that relative model URLs resolve against. */
  baseUrl: string;
  /** Cache Storage bucket; undefined, or Cache Storage unavailable: every load downloads. */
  cacheName: string | undefined;
  apiKey?: string | undefined;
  onDownload?: ((download: ModelDownload) => void) | undefined;
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export class ModelCache {
  readonly #options: ModelCacheOptions;
  readonly #loads = new Map<string, Promise<Uint8Array>>();

  constructor(options: ModelCacheOptions) {
    this.#options = options;
  }

  /**
   * The model's verified bytes: from Cache Storage when a good copy is there, else downloaded.
   * Concurrent loads of one model share one download; a failed load is not remembered.
   * @throws PortoonError E_MODEL_MISSING when the server does not have it, E_MODEL_CORRUPT when the
   *   bytes do not match the catalogue.
   */
  load(entry: ModelEntry, url: string): Promise<Uint8Array> {
    let load = this.#loads.get(entry.id);
    if (!load) {
      load = this.#load(entry, url);
      this.#loads.set(entry.id, load);
      load.catch(() => this.#loads.delete(entry.id));
    }
    return load;
  }

  async #load(entry: ModelEntry, url: string): Promise<Uint8Array> {
    // The sha256 is part of the key: a catalogue update that changes a model never reads the old copy.
    const key = new URL(url, this.#options.baseUrl);
    key.searchParams.set('sha256', entry.sha256);
    const cache = await this.#openCache();
    const hit = await cache?.match(key.href);
    if (hit) {
      const bytes = new Uint8Array(await hit.arrayBuffer());
      if ((await sha256Hex(bytes)) === entry.sha256) {
        this.#options.onDownload?.({ model: entry.id, loaded: bytes.length, total: bytes.length, cached: true });
        return bytes;
      }
      await cache?.delete(key.href);
    }
    const bytes = await this.#download(entry, key);
    const actual = await sha256Hex(bytes);
    if (actual !== entry.sha256) {
      throw new PortoonError(
        'E_MODEL_CORRUPT',
        `Model "${entry.id}" downloaded from ${key.origin} has sha256 ${actual}, but the catalogue expects ${entry.sha256}; the server's copy is damaged or not the catalogued file`,
        { details: { model: entry.id } },
      );
    }
    await cache
      ?.put(key.href, new Response(bytes as Uint8Array<ArrayBuffer>, { headers: { 'content-type': 'application/octet-stream' } }))
      .catch(() => undefined); // A full or disabled cache only costs a download next time.
    return bytes;
  }

  async #openCache(): Promise<Cache | undefined> {
    if (this.#options.cacheName === undefined || typeof caches === 'undefined') return undefined;
    try {
      return await caches.open(this.#options.cacheName);
    } catch {
      return undefined; // Storage blocked (private mode, policy): work without it.
    }
  }

  async #download(entry: ModelEntry, url: URL): Promise<Uint8Array> {
    const headers: Record<string, string> = {};
    if (this.#options.apiKey) headers['x-api-key'] = this.#options.apiKey;
    let response: Response;
    try {
      response = await fetch(url.href, { headers, cache: 'no-store' });
    } catch (error) {
      throw new PortoonError('E_MODEL_MISSING', `Model "${entry.id}" could not be downloaded from ${url.origin}: the network failed`, {
        cause: error,
        details: { model: entry.id },
      });
    }
    if (!response.ok || !response.body) {
      throw new PortoonError(
        'E_MODEL_MISSING',
        `Model "${entry.id}" could not be downloaded from ${url.origin} (HTTP ${response.status})`,
        {
          details: { model: entry.id, status: response.status },
        },
      );
    }
    const total = entry.bytes;
    const bytes = new Uint8Array(total);
    let loaded = 0;
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (loaded + value.length > total) {
        await reader.cancel();
        throw new PortoonError('E_MODEL_CORRUPT', `Model "${entry.id}" from ${url.origin} is larger than the catalogued ${total} bytes`, {
          details: { model: entry.id },
        });
      }
      bytes.set(value, loaded);
      loaded += value.length;
      this.#options.onDownload?.({ model: entry.id, loaded, total, cached: false });
    }
    if (loaded !== total) {
      throw new PortoonError('E_MODEL_CORRUPT', `Model "${entry.id}" from ${url.origin} ended after ${loaded} of ${total} bytes`, {
        details: { model: entry.id },
      });
    }
    return bytes;
  }
}
