/**
 * Expands the CLI's file and folder arguments into a list of (input, output) jobs, and tells photos
 * from videos by their content.
 */
import { open } from 'node:fs/promises';
import { readdirSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { PortoonError } from '../core/errors.js';
import { ACCEPTED_EXTENSIONS } from '../core/formats.js';
import { sniffFormat } from '../node/codec.js';
import { isVideoFile } from '../node/video/sniff.js';
import { errnoOf, fsError } from './fs-errors.js';

export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set(ACCEPTED_EXTENSIONS.map((ext) => `.${ext}`));
/** Names under which folders are searched for videos too (GIF is among the images; an animated one is a video). */
export const VIDEO_EXTENSIONS: ReadonlySet<string> = new Set(['.mp4', '.m4v', '.mov', '.mkv', '.webm', '.avi']);

export type InputKind = 'photo' | 'video';

export interface Job {
  input: string;
  output: string;
  kind: InputKind;
  /** A video by its name only: its content is no video or image Portoon knows (a damaged file). */
  unrecognised?: true;
}

/** How outputs are named: the extension (with its dot) for an input of a kind. */
export type OutputExtension = (input: string, kind: InputKind) => string;

/**
 * Photo or video, by content: what the video sniffer recognises (MP4, MOV, MKV, WebM, AVI, animated
 * GIF) is a video. A file it does not recognise is a photo, unless its name says video and its
 * content is no image either: then it is a damaged video (`unrecognised`), and is reported as one
 * (the photo decoder would only say "not an image").
 */
export async function classify(path: string): Promise<Pick<Job, 'kind' | 'unrecognised'>> {
  try {
    if (await isVideoFile(path)) return { kind: 'video' };
  } catch {
    return { kind: 'photo' }; // unreadable: reading it as a photo reports why, in words
  }
  if (!VIDEO_EXTENSIONS.has(extname(path).toLowerCase())) return { kind: 'photo' };
  const bytes = await head(path);
  if (sniffFormat(bytes) !== undefined) return { kind: 'photo' };
  // An empty file is left to the video decoder, which calls it empty rather than damaged.
  return bytes.length === 0 ? { kind: 'video' } : { kind: 'video', unrecognised: true };
}

/** The first bytes of a file (enough for any format's signature); none when it cannot be read. */
async function head(path: string): Promise<Uint8Array> {
  try {
    const file = await open(path, 'r');
    try {
      const buffer = new Uint8Array(64);
      const { bytesRead } = await file.read(buffer, 0, buffer.length, 0);
      return buffer.subarray(0, bytesRead);
    } finally {
      await file.close();
    }
  } catch {
    return new Uint8Array(0);
  }
}

/** A name of a photo or video (by extension: folders are searched by name, each file is then sniffed). */
function isMediaName(name: string): boolean {
  const ext = extname(name).toLowerCase();
  return IMAGE_EXTENSIONS.has(ext) || VIDEO_EXTENSIONS.has(ext);
}

/**
 * Photo and video files under `dir`, recursively, following symbolic links (each real folder is visited once).
 * @param exclude real path of a subfolder to leave out (the batch's output folder).
 */
function listMedia(dir: string, exclude: string | undefined, visited = new Set<string>()): string[] {
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
      found.push(...listMedia(path, exclude, visited));
    } else if (isFile && isMediaName(entry.name)) found.push(path);
  }
  return found;
}

/**
 * @param out file (one input) or folder (several inputs or any folder input). Default: for one file,
 *   `<name>-<style>.<ext>` in the current folder; otherwise the folder `portoon-out`.
 * @param outputExt extension of the outputs when `out` does not name a file.
 * @returns the jobs, whether this is a batch, and for a batch the folder the outputs go to.
 */
export async function planJobs(
  args: readonly string[],
  out: string | undefined,
  style: string,
  outputExt: OutputExtension,
): Promise<{ jobs: Job[]; batch: boolean; folder?: string }> {
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
      const files = listMedia(arg, outputFolder);
      if (files.length === 0)
        throw new PortoonError(
          'E_INPUT_NOT_FOUND',
          `Folder ${arg} contains no images or videos (${[...IMAGE_EXTENSIONS, ...VIDEO_EXTENSIONS].join(' ')})`,
          { details: { path: arg } },
        );
      for (const input of files) expanded.push({ input, root: arg });
    } else {
      expanded.push({ input: arg, root: undefined });
    }
  }
  const batch = expanded.length > 1 || expanded.some((e) => e.root !== undefined);
  // One after another: a folder of thousands of files must not open them all at once.
  const kinds: Array<Pick<Job, 'kind' | 'unrecognised'>> = [];
  for (const { input } of expanded) kinds.push(await classify(input));
  if (!batch) {
    const only = expanded[0]!.input;
    const kind = kinds[0]!;
    const name = `${basename(only, extname(only))}-${style}${outputExt(only, kind.kind)}`;
    const output = out === undefined ? resolve(name) : isFolderTarget(out) ? join(out, name) : out;
    return { jobs: [{ input: only, output, ...kind }], batch };
  }
  const folder = out ?? 'portoon-out';
  const used = new Set<string>();
  const jobs = expanded.map(({ input, root }, i): Job => {
    const kind = kinds[i]!;
    const ext = outputExt(input, kind.kind);
    const rel = root === undefined ? basename(input) : relative(root, input);
    let output = join(folder, dirname(rel), `${basename(rel, extname(rel))}${ext}`);
    // Two inputs with the same name from different places (or clip.mov and clip.mp4) must not overwrite each other.
    for (let n = 2; used.has(output); n++) output = join(folder, dirname(rel), `${basename(rel, extname(rel))}-${n}${ext}`);
    used.add(output);
    return { input, output, ...kind };
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
