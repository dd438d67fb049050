/**
 * The key rules of blob-store.ts, checked before any store is touched: a key becomes a path under a
 * shared folder or an object name in a bucket, so a key that could climb out of the folder (`..`),
 * name an absolute path, or mean different things to different stores (`a//b`, `a\b`, NUL) is refused
 * outright instead of being cleaned up into something the caller did not ask for.
 *
 * A key may begin with `.tmp/` (the segment is an ordinary name by these rules). For a folder store
 * that is its own scratch folder, where writes are staged before their final rename: keys there name
 * leftovers of writers that died, so a sweeper can list (`listOlderThan('.tmp/', …)`) and delete them.
 * A folder store refuses to *store* blobs there (see FsBlobStore).
 */
import { PortoonError } from '../../core/errors.js';

export const MAX_KEY_LENGTH = 512;

const KEY_CHARACTERS = /^[A-Za-z0-9._/-]+$/;
const EXTENSION = /^(\.[A-Za-z0-9_-]+)*$/;
const MAX_EXTENSION_LENGTH = 32;

/** A value for a message: printable, and short enough to read (a hostile key may be huge). */
export function shown(value: string, max = 80): string {
  const printable = JSON.stringify(value).slice(1, -1);
  return printable.length > max ? `${printable.slice(0, max)}…` : printable;
}

/** Why `key` breaks the rules, or undefined when it is a valid key. */
function keyProblem(key: string): string | undefined {
  if (key.length === 0) return 'it is empty';
  if (key.length > MAX_KEY_LENGTH) return `it is longer than ${MAX_KEY_LENGTH} characters`;
  if (!KEY_CHARACTERS.test(key)) return 'only letters, digits, "-", "_", "." and "/" are allowed';
  for (const segment of key.split('/')) {
    if (segment === '') return 'it has an empty segment (a leading, trailing or doubled "/")';
    if (segment === '.' || segment === '..') return 'it has a "." or ".." segment';
  }
  return undefined;
}

/**
 * @throws PortoonError E_BAD_OPTION naming the key (truncated) and the rule it breaks.
 */
export function assertBlobKey(key: string): void {
  const problem = typeof key === 'string' ? keyProblem(key) : 'it is not a string';
  if (problem !== undefined) {
    throw new PortoonError('E_BAD_OPTION', `Invalid job file key "${shown(String(key))}": ${problem}.`, {
      details: { key: shown(String(key)) },
    });
  }
}

/**
 * A prefix for `listOlderThan`: empty (every key), or the start of a key, usually a folder such as
 * `inputs/`. A trailing "/" is allowed; otherwise the same rules as a key.
 * @throws PortoonError E_BAD_OPTION.
 */
export function assertBlobPrefix(prefix: string): void {
  if (prefix === '') return;
  const problem = typeof prefix === 'string' ? keyProblem(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix) : 'it is not a string';
  if (problem !== undefined) {
    throw new PortoonError('E_BAD_OPTION', `Invalid job file key prefix "${shown(String(prefix))}": ${problem}.`, {
      details: { prefix: shown(String(prefix)) },
    });
  }
}

/**
 * An extension for `scratchPath` (`""`, `.png`, `.tar.gz`): it is appended to a file name, so
 * anything that could change the folder is refused.
 * @throws PortoonError E_BAD_OPTION.
 */
export function assertExtension(extension: string): void {
  if (typeof extension !== 'string' || extension.length > MAX_EXTENSION_LENGTH || !EXTENSION.test(extension)) {
    throw new PortoonError(
      'E_BAD_OPTION',
      `Invalid file extension "${shown(String(extension))}": use "" or dot-separated letters and digits such as ".png".`,
    );
  }
}
