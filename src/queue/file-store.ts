/**
 * Where a queue keeps job inputs and results: files in one folder, named by random ids. Jobs carry
 * these references instead of bytes, so waiting work and finished results do not sit in the heap,
 * and a video is never held in memory at all. A store made without a folder creates a private one
 * in the system's temporary folder and removes it when closed.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { copyFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class FileStore {
  readonly dir: string;
  readonly #owned: boolean;

  /** @param dir the folder (created if missing); default a new private folder under the temporary folder. */
  constructor(dir?: string) {
    if (dir === undefined) {
      this.dir = mkdtempSync(join(tmpdir(), 'portoon-jobs-'));
      this.#owned = true;
    } else {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      this.dir = dir;
      this.#owned = false;
    }
  }

  /** A new, unused path in the store, with the given extension (e.g. ".mp4"). */
  newPath(extension = ''): string {
    return join(this.dir, `${randomUUID()}${extension}`);
  }

  /** Stores bytes in a new file. */
  async put(bytes: Uint8Array, extension = ''): Promise<string> {
    const path = this.newPath(extension);
    await writeFile(path, bytes, { mode: 0o600 });
    return path;
  }

  /**
   * Takes over a file: moved into the store (copied then removed when it lies on another file
   * system), so the caller's file is gone either way.
   */
  async adopt(file: string, extension = ''): Promise<string> {
    const path = this.newPath(extension);
    try {
      await rename(file, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
      await copyFile(file, path);
      await rm(file, { force: true });
    }
    return path;
  }

  async size(path: string): Promise<number> {
    return (await stat(path)).size;
  }

  /** Removes a file of the store; a missing one is fine (already removed). */
  async remove(path: string | undefined): Promise<void> {
    if (path !== undefined) await rm(path, { force: true });
  }

  /**
   * Removes the files directly in the folder last written more than `olderThanMs` ago: leftovers of
   * a process that died with jobs in flight, when a fixed folder (`--jobs-dir`) is used again. Only
   * files are removed, and a file that disappears meanwhile is not counted.
   * @returns how many files were removed.
   */
  async sweep(olderThanMs: number): Promise<number> {
    const before = Date.now() - olderThanMs;
    let removed = 0;
    for (const entry of await readdir(this.dir, { withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const path = join(this.dir, entry.name);
      try {
        if ((await stat(path)).mtimeMs >= before) continue;
        await rm(path);
        removed += 1;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    return removed;
  }

  /** Removes the store's own folder (only one it created itself). */
  async close(): Promise<void> {
    if (this.#owned) await rm(this.dir, { recursive: true, force: true });
  }
}
