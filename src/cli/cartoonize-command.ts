/** `portoon <files or folders…>`: cartoonize one image or a whole batch, with progress and a summary. */
import { existsSync } from 'node:fs';
import { link, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { PortoonError, toPortoonError } from '../core/errors.js';
import { extensionOf, outputFormatOf } from '../core/formats.js';
import { overallProgress, type StageProgress } from '../core/report.js';
import type { CartoonizeRequest } from '../core/request.js';
import { Portoon, readInput } from '../node/portoon.js';
import { errnoOf, fsError } from './fs-errors.js';
import { planJobs, type Job } from './inputs.js';
import { requestFromFlags, type RequestFlags } from './parse.js';

/** The flags of `portoon <inputs…>` as commander hands them over (request flags still as text). */
export interface CartoonizeCliOptions extends RequestFlags {
  out?: string;
  json?: boolean;
  quiet?: boolean;
  /** Replace outputs that already exist (default: a batch skips them, a single image is refused). */
  overwrite?: boolean;
  workers?: number;
  threads?: number;
  device?: 'cpu' | 'cuda';
  modelsDir?: string;
}

/** @returns the process exit code. */
export async function runCartoonize(inputs: readonly string[], options: CartoonizeCliOptions): Promise<number> {
  // The request is checked first: a bad flag is reported before any file is looked at.
  const request = requestFromFlags(options);
  const outputExt = (input: string): string => `.${extensionOf(request.format ?? outputFormatOf(input) ?? 'png')}`;
  const { jobs, batch, folder } = planJobs(inputs, options.out, request.style, outputExt);
  // A single image whose output exists is refused before any work; a batch skips such files one by one.
  if (!batch && !options.overwrite && existsSync(jobs[0]!.output)) throw outputExists(jobs[0]!.output);
  const portoon = await Portoon.create({
    ...(options.modelsDir !== undefined ? { modelsDir: options.modelsDir } : {}),
    ...(options.workers !== undefined ? { workers: options.workers } : {}),
    ...(options.threads !== undefined ? { threads: options.threads } : {}),
    ...(options.device !== undefined ? { device: options.device } : {}),
  });
  const showProgress = !options.quiet && process.stderr.isTTY === true;
  try {
    // Fail fast on an unknown style or a missing model before touching any file.
    portoon.check(request);
    return batch
      ? await runBatch(portoon, jobs, folder!, request, options, showProgress)
      : await runSingle(portoon, jobs[0]!, request, options, showProgress);
  } finally {
    await portoon.close();
  }
}

const SKIP_NOTE = 'the output already exists; pass --overwrite to replace it';

function outputExists(path: string): PortoonError {
  return new PortoonError('E_OUTPUT_EXISTS', `${path} already exists; pass --overwrite to replace it, or choose another name with -o`, {
    details: { path },
  });
}

/** @returns the report, or undefined when the output appeared meanwhile and may not be replaced. */
async function processJob(
  portoon: Portoon,
  job: Job,
  request: CartoonizeRequest,
  options: CartoonizeCliOptions,
  onProgress?: (progress: StageProgress) => void,
): Promise<Record<string, unknown> | undefined> {
  // Without --format, the output's name says it (its extension was chosen from the input's otherwise).
  const format = request.format ?? outputFormatOf(job.output) ?? 'png';
  const { image, report } = await portoon.run(await readInput(job.input), { ...request, format }, { onProgress });
  if (!(await writeAtomically(job.output, image, options.overwrite ?? false))) return undefined;
  return { input: job.input, output: job.output, ...report };
}

async function runSingle(
  portoon: Portoon,
  job: Job,
  request: CartoonizeRequest,
  options: CartoonizeCliOptions,
  showProgress: boolean,
): Promise<number> {
  const bar = showProgress
    ? new cliProgress.SingleBar(
        { format: ' {bar} {percentage}% | {stage}', hideCursor: true, clearOnComplete: true },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  bar?.start(100, 0, { stage: 'starting' });
  try {
    const result = await processJob(
      portoon,
      job,
      request,
      options,
      bar ? (p) => bar.update(Math.round(100 * overallProgress(p)), { stage: p.stage }) : undefined,
    );
    if (!result) throw outputExists(job.output);
    bar?.stop();
    if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else if (!options.quiet) {
      const faces = (result.faces as unknown[]).length;
      process.stderr.write(`${job.output}  (${faces} face${faces === 1 ? '' : 's'}, ${totalMs(result)} ms)\n`);
    }
    return 0;
  } catch (error) {
    bar?.stop();
    // With --json, stdout always carries one line per input, failures included.
    if (options.json) process.stdout.write(`${JSON.stringify({ input: job.input, error: toPortoonError(error).toJSON() })}\n`);
    throw error;
  }
}

async function runBatch(
  portoon: Portoon,
  jobs: readonly Job[],
  folder: string,
  request: CartoonizeRequest,
  options: CartoonizeCliOptions,
  showProgress: boolean,
): Promise<number> {
  const bar = showProgress
    ? new cliProgress.SingleBar(
        { format: ' {bar} {value}/{total} images | ETA {eta_formatted} | {file}', hideCursor: true },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  bar?.start(jobs.length, 0, { file: '' });
  const failures: Array<{ job: Job; error: PortoonError }> = [];
  const skipped: Job[] = [];
  let faces = 0;
  const started = Date.now();
  let next = 0;
  // As many images in flight as there are workers; each worker takes one at a time.
  const lanes = Math.max(1, Math.min(options.workers ?? 1, jobs.length));
  try {
    await Promise.all(
      Array.from({ length: lanes }, async () => {
        while (next < jobs.length) {
          const job = jobs[next++]!;
          try {
            // Checked before the work to save it; processJob checks again when it writes.
            const result = !options.overwrite && existsSync(job.output) ? undefined : await processJob(portoon, job, request, options);
            if (result) {
              faces += (result.faces as unknown[]).length;
              if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
            } else {
              skipped.push(job);
              if (options.json)
                process.stdout.write(`${JSON.stringify({ input: job.input, output: job.output, skipped: true, note: SKIP_NOTE })}\n`);
            }
          } catch (error) {
            const e = toPortoonError(error);
            // A missing model or a broken installation fails every image alike: stop now.
            if (e.exitCode !== 3) throw e;
            failures.push({ job, error: e });
            if (options.json) process.stdout.write(`${JSON.stringify({ input: job.input, error: e.toJSON() })}\n`);
          }
          bar?.increment(1, { file: job.input });
        }
      }),
    );
  } finally {
    // Also when an error stops the batch, so the terminal is not left with a half-drawn bar and no cursor.
    bar?.stop();
  }
  for (const { job, error } of failures) process.stderr.write(`portoon: ${job.input}: ${error.message} [${error.code}]\n`);
  if (!options.quiet) {
    // Name the skipped files, but not hundreds of them on a re-run: --json lists every one.
    for (const job of skipped.slice(0, MAX_SKIPPED_SHOWN)) process.stderr.write(`skipped ${job.output}: ${SKIP_NOTE}\n`);
    if (skipped.length > MAX_SKIPPED_SHOWN)
      process.stderr.write(`skipped ${skipped.length - MAX_SKIPPED_SHOWN} more (--json lists them)\n`);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const written = jobs.length - failures.length - skipped.length;
    process.stderr.write(
      `${written} written, ${skipped.length} skipped, ${failures.length} failed of ${jobs.length} images in ${seconds} s (${faces} face${faces === 1 ? '' : 's'} found); output folder: ${resolve(folder)}\n`,
    );
  }
  return failures.length > 0 ? 3 : 0;
}

function totalMs(result: Record<string, unknown>): number {
  const timings = result.timings as Record<string, number>;
  return Math.round(Object.values(timings).reduce((a, b) => a + b, 0));
}

const MAX_SKIPPED_SHOWN = 10;

/**
 * Writes to a temporary file and moves it into place, so a crash never leaves a half-written image.
 * Without `overwrite` the move is a hard link, which fails instead of replacing a file that appeared
 * since the check before the work (another run writing to the same folder).
 * @returns false when the file exists and `overwrite` is off.
 */
async function writeAtomically(path: string, data: Uint8Array, overwrite: boolean): Promise<boolean> {
  const folder = dirname(path);
  try {
    await mkdir(folder, { recursive: true });
  } catch (error) {
    throw fsError('E_OUTPUT_FAILED', `Cannot create the output folder ${folder}`, folder, error);
  }
  const temp = `${path}.${process.pid}.part`;
  try {
    await writeFile(temp, data);
    if (overwrite) {
      await rename(temp, path);
      return true;
    }
    try {
      await link(temp, path);
      return true;
    } catch (error) {
      if (errnoOf(error) === 'EEXIST') return false;
      // File systems without hard links (FAT, some network shares): check, then move.
      if (!['EPERM', 'ENOTSUP', 'ENOSYS', 'EOPNOTSUPP'].includes(errnoOf(error) ?? '')) throw error;
      if (existsSync(path)) return false;
      await rename(temp, path);
      return true;
    }
  } catch (error) {
    const reason = errnoOf(error) === 'EISDIR' ? 'a folder with that name exists' : undefined;
    throw fsError('E_OUTPUT_FAILED', `Cannot write ${path}`, path, error, reason);
  } finally {
    await rm(temp, { force: true }).catch(() => undefined);
  }
}
