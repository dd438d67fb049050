/**
 * FileStore.sweep: a fixed jobs folder reused after a crash is cleaned of the old files, and only of
 * them. Ages are set with utimes, never waited for.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileStore } from '../../src/queue/file-store.js';
import { TEST_OUTPUT_DIR } from '../helpers/env.js';

const DIR = join(TEST_OUTPUT_DIR, 'file-store');

/** Sets a file's (or folder's) mtime to `ms` ago. */
function age(path: string, ms: number): void {
  const then = new Date(Date.now() - ms);
  utimesSync(path, then, then);
}

describe('FileStore.sweep', () => {
  afterEach(() => rmSync(DIR, { recursive: true, force: true }));

  it('removes the files older than the given age, and only those', async () => {
    rmSync(DIR, { recursive: true, force: true });
    const store = new FileStore(DIR);
    const old1 = await store.put(new Uint8Array([1]), '.png');
    const old2 = await store.put(new Uint8Array([2]));
    const fresh = await store.put(new Uint8Array([3]));
    const adopted = join(DIR, '..', 'file-store-adopted.mp4');
    writeFileSync(adopted, 'video');
    const keptOld = await store.adopt(adopted, '.mp4');
    age(old1, 2 * 3_600_000);
    age(old2, 3_600_000 + 1000);
    age(keptOld, 30 * 60_000);
    // A folder inside is not the store's: left alone however old.
    const folder = join(DIR, 'nested');
    mkdirSync(folder);
    writeFileSync(join(folder, 'inside'), 'x');
    age(join(folder, 'inside'), 10 * 3_600_000);
    age(folder, 10 * 3_600_000);

    expect(await store.sweep(3_600_000)).toBe(2);
    expect(existsSync(old1)).toBe(false);
    expect(existsSync(old2)).toBe(false);
    expect(existsSync(fresh)).toBe(true);
    expect(existsSync(keptOld)).toBe(true);
    expect(existsSync(join(folder, 'inside'))).toBe(true);
    expect(await store.sweep(3_600_000)).toBe(0);
    await store.close();
    // A store on a given folder never removes the folder itself.
    expect(readdirSync(DIR).sort()).toEqual(['nested', fresh.slice(DIR.length + 1), keptOld.slice(DIR.length + 1)].sort());
  });

  it('removes nothing from a private folder of fresh files', async () => {
    const own = new FileStore();
    const path = await own.put(new Uint8Array([1]));
    expect(await own.sweep(60_000)).toBe(0);
    expect(existsSync(path)).toBe(true);
    await own.close();
    expect(existsSync(own.dir)).toBe(false);
  });

  it('keeps working as before: put, adopt, size and remove', async () => {
    const store = new FileStore(DIR);
    const path = await store.put(new Uint8Array([1, 2, 3]), '.bin');
    expect(path.startsWith(DIR)).toBe(true);
    expect(path.endsWith('.bin')).toBe(true);
    expect(await store.size(path)).toBe(3);
    await store.remove(path);
    await store.remove(path);
    expect(existsSync(path)).toBe(false);
    await store.close();
    expect(existsSync(DIR)).toBe(true);
  });
});
