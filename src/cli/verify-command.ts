/**
 * `portoon verify <files…>`: whether each image carries Portoon's provenance marks (the invisible
 * watermark, a C2PA manifest, the XMP label). One line per file, or its report as JSON. The exit code
 * says it for the whole run: 0 every file is marked, 4 at least one readable file carries no mark,
 * 3 at least one file could not be read as an image (each named on stderr; the others are still
 * reported).
 */
import { PortoonError, toPortoonError, type SerializedError } from '../core/errors.js';
import { readInput } from '../node/portoon.js';
import { verifyImage, type VerifyReport } from '../node/verify.js';

export interface VerifyCliOptions {
  json?: boolean;
  watermarkKey?: string;
}

/** Exit code when every file could be read but at least one carries no Portoon mark. */
export const NO_MARK_EXIT_CODE = 4;

/** @returns the process exit code. */
export async function runVerify(files: readonly string[], options: VerifyCliOptions): Promise<number> {
  if (files.length === 0) throw new PortoonError('E_BAD_OPTION', 'Expected one or more image files to check but received none');
  const key = options.watermarkKey;
  if (key !== undefined && key.trim() === '') {
    throw new PortoonError(
      'E_BAD_OPTION',
      'Expected a watermark key for --watermark-key (or PORTOON_WATERMARK_KEY) but received an empty one',
    );
  }
  /** In the order of the files: each one's report, or why it could not be read. */
  const entries: Array<({ file: string } & VerifyReport) | { file: string; error: SerializedError }> = [];
  let unreadable = 0;
  let unmarked = 0;
  // One after another: each check decodes a picture and reads its watermark, which is CPU work.
  for (const file of files) {
    try {
      const report = await verifyImage(await readInput(file), key === undefined ? {} : { watermarkKey: key });
      entries.push({ file, ...report });
      if (!report.marked) unmarked++;
      if (!options.json) process.stdout.write(`${file}: ${report.summary}\n`);
    } catch (error) {
      const e = toPortoonError(error);
      // Only a file that is not a readable image is that file's problem; anything else stops the run.
      if (e.exitCode !== 3) throw e;
      entries.push({ file, error: e.toJSON() });
      unreadable++;
      process.stderr.write(`portoon: ${file}: ${e.message} [${e.code}]\n`);
    }
  }
  if (options.json) process.stdout.write(`${JSON.stringify(files.length === 1 ? entries[0] : entries)}\n`);
  if (unreadable > 0) return 3;
  return unmarked > 0 ? NO_MARK_EXIT_CODE : 0;
}
