/**
 * A blob store in a folder every node mounts (the default for a distributed queue). Keys map to files
 * under the folder. Every write is staged in the folder's own `.tmp/` and then renamed onto its final
 * name: a rename within one file system is atomic, so a reader sees the old blob or the new one,
 * never a partial file, even when the writer dies half-way. What such a writer leaves behind stays in
 * `.tmp/`, where `listOlderThan('.tmp/', before)` finds it and `delete` removes it.
 *
 * Two folders are the store's own: `.tmp/` (staged writes and scratch files) and `.health/` (probes
 * of `check()`). They are listed only when asked for by prefix, and blobs cannot be stored in them.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { PortoonError } from '../../core/errors.js';
import type { BlobStore, LocalBlob } from './blob-store.js';
import { assertBlobKey, assertBlobPrefix, assertExtension, shown } from './keys.js';

const SCRATCH = '.tmp';
const HEALTH = '.health';
const RESERVED = [SCRATCH, HEALTH];

export class FsBlobStore implements BlobStore {
  readonly dir: string;
  readonly description: string;
  readonly #owned: boolean;

  /**
   * @param dir the shared folder; created (mode 0o700) on first use when missing, so a store on an
   *   unmounted path is reported by `check()` rather than by the constructor. Default: a new private
   *   folder under the system's temporary folder, removed by `close()`.
   */
  constructor(dir?: string) {
    if (dir === undefined) {
      this.dir = mkdtempSync(join(tmpdir(), 'portoon-blobs-'));
      this.#owned = true;
    } else {
      this.dir = resolve(dir);
      this.#owned = false;
    }
    this.description = `fs:${this.dir}`;
  }

  scratchPath(extension = ''): string {
    assertExtension(extension);
    const folder = join(this.dir, SCRATCH);
    try {
      mkdirSync(folder, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw this.#error('cannot be written', error);
    }
    return join(folder, `${randomUUID()}${extension}`);
  }

  async putFile(key: string, file: string, options: { move?: boolean } = {}): Promise<number> {
    const target = this.#writablePath(key);
    let size: number;
    try {
      size = (await stat(file)).size;
    } catch (error) {
      throw this.#error(`cannot store ${key}: the local file cannot be read`, error);
    }
    await this.#mkdir(dirname(target), key);
    if (options.move === true) {
      try {
        // Same file system: one atomic rename, no copy.
        await rename(file, target);
        return size;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw this.#error(`cannot store ${key}`, error);
      }
    }
    await this.#staged(key, target, (staging) => copyFile(file, staging));
    if (options.move === true) await rm(file, { force: true });
    return size;
  }

  async putBytes(key: string, bytes: Uint8Array): Promise<number> {
    const target = this.#writablePath(key);
    await this.#mkdir(dirname(target), key);
    await this.#staged(key, target, (staging) => writeFile(staging, bytes, { mode: 0o600 }));
    return bytes.byteLength;
  }

  async localCopy(key: string, _scratchDir: string): Promise<LocalBlob | undefined> {
    const path = this.#path(key);
    if ((await this.#fileSize(path, key)) === undefined) return undefined;
    return { path, release: async () => undefined };
  }

  async size(key: string): Promise<number | undefined> {
    return this.#fileSize(this.#path(key), key);
  }

  async delete(key: string): Promise<void> {
    const path = this.#path(key);
    try {
      await unlink(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw this.#error(`cannot delete ${key}`, error);
    }
  }

  async listOlderThan(prefix: string, before: number): Promise<string[]> {
    assertBlobPrefix(prefix);
    // The folder holding every key that starts with the prefix: the prefix up to its last "/".
    const base = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    const keys: string[] = [];
    const walk = async (relative: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(join(this.dir, relative), { withFileTypes: true });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return;
        throw this.#error(`cannot be listed`, error);
      }
      for (const entry of entries) {
        const key = `${relative}${entry.name}`;
        if (relative === '' && RESERVED.includes(entry.name) && !prefix.startsWith(`${entry.name}/`)) continue;
        if (entry.isDirectory()) {
          // A folder may hold matching keys when it lies under the prefix, or the prefix ends inside it.
          if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) await walk(`${key}/`);
        } else if (entry.isFile() && key.startsWith(prefix)) {
          const modified = await this.#mtime(key);
          if (modified !== undefined && modified < before) keys.push(key);
        }
      }
    };
    await walk(base);
    return keys.sort();
  }

  async check(): Promise<void> {
    const probe = join(this.dir, HEALTH, randomUUID());
    const bytes = new TextEncoder().encode(`portoon probe ${new Date().toISOString()}`);
    try {
      await mkdir(dirname(probe), { recursive: true, mode: 0o700 });
      await writeFile(probe, bytes, { mode: 0o600 });
      const back = await readFile(probe);
      if (!back.equals(bytes)) throw new Error('the probe file read back differs from what was written');
    } catch (error) {
      throw this.#error('cannot be written', error);
    } finally {
      await rm(probe, { force: true }).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    if (this.#owned) await rm(this.dir, { recursive: true, force: true });
  }

  #path(key: string): string {
    assertBlobKey(key);
    return join(this.dir, ...key.split('/'));
  }

  /** The path of a key a blob may be stored under: not in the store's own folders. */
  #writablePath(key: string): string {
    const path = this.#path(key);
    const first = key.split('/')[0]!;
    if (RESERVED.includes(first)) {
      throw new PortoonError('E_BAD_OPTION', `Invalid job file key "${shown(key)}": "${first}/" is the file store's own folder.`, {
        details: { key: shown(key) },
      });
    }
    return path;
  }

  async #mkdir(folder: string, key: string): Promise<void> {
    try {
      await mkdir(folder, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw this.#error(`cannot store ${key}`, error);
    }
  }

  /** Writes through a new file in `.tmp/`, then renames it onto `target`; the staged file never outlives a failure. */
  async #staged(key: string, target: string, write: (staging: string) => Promise<void>): Promise<void> {
    const staging = join(this.dir, SCRATCH, randomUUID());
    try {
      await mkdir(dirname(staging), { recursive: true, mode: 0o700 });
      await write(staging);
      await rename(staging, target);
    } catch (error) {
      await rm(staging, { force: true }).catch(() => undefined);
      throw this.#error(`cannot store ${key}`, error);
    }
  }

  /** The size of a stored file; undefined when there is none (a folder is not a blob). */
  async #fileSize(path: string, key: string): Promise<number | undefined> {
    try {
      const info = await stat(path);
      return info.isFile() ? info.size : undefined;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw this.#error(`cannot read ${key}`, error);
    }
  }

  async #mtime(key: string): Promise<number | undefined> {
    try {
      return (await stat(join(this.dir, ...key.split('/')))).mtimeMs;
    } catch (error) {
      // Removed while the folder was being listed: nothing to sweep.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw this.#error('cannot be listed', error);
    }
  }

  #error(what: string, cause: unknown): PortoonError {
    const reason = cause instanceof Error ? cause.message : String(cause);
    return new PortoonError('E_BLOB_STORE', `The job file store ${this.description} ${what}: ${reason}`, {
      cause,
      details: { store: this.description },
    });
  }
}
