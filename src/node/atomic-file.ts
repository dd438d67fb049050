/**
 * Writing a result file whole or not at all: into a hidden temporary file in the same folder, then
 * renamed over the target (atomic on one file system). A reader never sees half a file, and a
 * failure leaves nothing behind.
 */
import { randomBytes } from 'node:crypto';
import { rm, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { PortoonError } from '../core/errors.js';

/** A hidden name next to `target` for writing it in full before it appears. */
export function temporarySibling(target: string): string {
  return join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.partial`);
}

export async function writeFileAtomically(target: string, bytes: Uint8Array): Promise<void> {
  const temporary = temporarySibling(target);
  try {
    await writeFile(temporary, bytes);
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true });
    throw new PortoonError('E_OUTPUT_FAILED', `Could not write ${target}: ${(error as Error).message}`, {
      cause: error,
      details: { path: target },
    });
  }
}
