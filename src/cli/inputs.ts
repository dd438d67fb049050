/** Expands the CLI's file and folder arguments into a list of (input, output) jobs. */
import { readdirSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { PortoonError } from '../core/errors.js';
import { ACCEPTED_EXTENSIONS } from '../core/formats.js';
import { errnoOf, fsError } from './fs-errors.js';

export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set(ACCEPTED_EXTENSIONS.map((ext) => `.${ext}`));

export interface Job {
  input: string;
  output: string;
}

/**
 * Image files under `dir`, recursively, following symbolic links (each real folder is visited once).
 * @param exclude real path of a subfolder to leave out (the batch's output folder).
 */
function listImages(dir: string, exclude: string | undefined, visited = new Set<string>()): string[] {
  let real;
  let entries;
  try {
    real = realpathSync(dir);
    if (visited.has(real)) return [];
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    throw fsError('E_INPUT_NOT_FOUND', `Cannot read the folder ${dir}`, dir, error);
  }
  visited.add(real);
  const found: string[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(dir, entry.name);
    let isDirectory = entry.isDirectory();
    let isFile = entry.isFile();
    if (entry.isSymbolicLink()) {
      try {
        const target = statSync(path);
        isDirectory = target.isDirectory();
        isFile = target.isFile();
      } catch {
        continue; // a dangling link is not an input
      }
    }
    if (isDirectory) {
      if (exclude !== undefined && realPathOrUndefined(path) === exclude) continue;
      found.push(...listImages(path, exclude, visited));
    } else if (isFile && IMAGE_EXTENSIONS.has(extname(entry.name).toLowerCase())) found.push(path);
  }
  return found;
}

/**
 * @param out file (one input) or folder (several inputs or any folder input). Default: for one file,
 *   `<name>-<style>.<ext>` in the current folder; otherwise the folder `portoon-out`.
 * @param outputExt extension of the outputs when `out` does not name a file.
 * @returns the jobs, whether this is a batch, and for a batch the folder the outputs go to.
 */
export function planJobs(
  args: readonly string[],
  out: string | undefined,
  style: string,
  outputExt: (input: string) => string,
): { jobs: Job[]; batch: boolean; folder?: string } {
  const expanded: Array<{ input: string; root: string | undefined }> = [];
  // A batch run on `.` writes to ./portoon-out: a re-run must not take those outputs as new inputs.
  const outputFolder = realPathOrUndefined(out ?? 'portoon-out');
  for (const arg of args) {
    let info;
    try {
      info = statSync(arg);
    } catch (error) {
      const code = errnoOf(error);
      if (code === 'ENOENT')
        throw new PortoonError('E_INPUT_NOT_FOUND', `Input ${arg} does not exist`, { cause: error, details: { path: arg } });
      throw fsError('E_INPUT_NOT_FOUND', `Cannot read the input ${arg}`, arg, error);
    }
    if (info.isDirectory()) {
      const images = listImages(arg, outputFolder);
      if (images.length === 0)
        throw new PortoonError('E_INPUT_NOT_FOUND', `Folder ${arg} contains no images (${[...IMAGE_EXTENSIONS].join(' ')})`, {
          details: { path: arg },
        });
      for (const input of images) expanded.push({ input, root: arg });
    } else {
      expanded.push({ input: arg, root: undefined });
    }
  }
  const batch = expanded.length > 1 || expanded.some((e) => e.root !== undefined);
  if (!batch) {
    const only = expanded[0]!.input;
    const name = `${basename(only, extname(only))}-${style}${outputExt(only)}`;
    const output = out === undefined ? resolve(name) : isFolderTarget(out) ? join(out, name) : out;
    return { jobs: [{ input: only, output }], batch };
  }
  const folder = out ?? 'portoon-out';
  const used = new Set<string>();
  const jobs = expanded.map(({ input, root }) => {
    const rel = root === undefined ? basename(input) : relative(root, input);
    let output = join(folder, dirname(rel), `${basename(rel, extname(rel))}${outputExt(input)}`);
    // Two inputs with the same name from different places must not overwrite each other.
    for (let n = 2; used.has(output); n++) output = join(folder, dirname(rel), `${basename(rel, extname(rel))}-${n}${outputExt(input)}`);
    used.add(output);
    return { input, output };
  });
  return { jobs, batch, folder };
}

function realPathOrUndefined(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

function isFolderTarget(path: string): boolean {
  if (path.endsWith('/')) return true;
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
