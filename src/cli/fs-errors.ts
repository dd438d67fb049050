/**
 * File-system failures in words. Node's messages ("EEXIST: file already exists, mkdir 'out/x'")
 * name a system call, not the problem; the CLI says what is wrong with which path and keeps
 * Node's error as the `cause`.
 */
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import { PortoonError, type ErrorCode } from '../core/errors.js';

const REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'it does not exist',
  EACCES: 'permission denied',
  EPERM: 'the operation is not permitted',
  ENOTDIR: 'part of the path is a file, not a folder',
  EISDIR: 'it is a folder, not a file',
  EEXIST: 'a file with that name exists',
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is used up',
  EROFS: 'the file system is read-only',
  ELOOP: 'it is a loop of symbolic links',
  ENAMETOOLONG: 'the name is too long',
  EMFILE: 'too many files are open',
  ENFILE: 'too many files are open',
  EBUSY: 'it is in use',
  EIO: 'the disk reported an input/output error',
};

export function errnoOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** Why an operation on `path` failed, in words. */
export function fsReason(error: unknown, path: string): string {
  const code = errnoOf(error);
  if (code === 'ENOTDIR') {
    const file = firstFileAlong(path);
    if (file !== undefined) return `${file} is a file, not a folder`;
  }
  if (code !== undefined && REASONS[code] !== undefined) return REASONS[code];
  // An unlisted system error: keep Node's description, without the code and system call around it.
  const message = error instanceof Error ? error.message : String(error);
  return /^[A-Z][A-Z0-9_]+: ([^,]+)/.exec(message)?.[1] ?? message;
}

/** A typed error `<what>: <reason>`, e.g. "Cannot create the output folder out/x: a file with that name exists". */
export function fsError(code: ErrorCode, what: string, path: string, error: unknown, reason = fsReason(error, path)): PortoonError {
  return new PortoonError(code, `${what}: ${reason}`, {
    cause: error,
    details: { path, ...(errnoOf(error) ? { errno: errnoOf(error) } : {}) },
  });
}

/** The first existing non-folder among `path`'s parents (the reason for ENOTDIR). */
function firstFileAlong(path: string): string | undefined {
  const parents: string[] = [];
  for (let p = dirname(path); p !== dirname(p); p = dirname(p)) parents.unshift(p);
  for (const p of parents) {
    try {
      if (!statSync(p).isDirectory()) return p;
    } catch {
      return undefined;
    }
  }
  return undefined;
}
