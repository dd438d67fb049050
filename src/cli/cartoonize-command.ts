/**
 * `portoon <files or folders…>`: cartoonize one photo or video, or a whole batch of both, with
 * progress and a summary. Photos go through `Portoon.run`, videos through `Portoon.cartoonizeVideo`
 * (see video-command.ts); which is which is decided by each file's content.
 */
import { existsSync } from 'node:fs';
import { link, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { PortoonError, toPortoonError } from '../core/errors.js';
import { extensionOf, outputFormatOf } from '../core/formats.js';
import { overallProgress, type StageProgress } from '../core/report.js';
import type { CartoonizeRequest } from '../core/request.js';
import type { VideoParams, VideoProgress, VideoReport } from '../core/video/types.js';
import { Portoon, readInput } from '../node/portoon.js';
import { errnoOf, fsError } from './fs-errors.js';
import { planJobs, type Job, type OutputExtension } from './inputs.js';
import { requestFromFlags, videoParamsFromFlags, type RequestFlags, type VideoFlags } from './parse.js';
import {
  assertVideoContent,
  cartoonizeVideoJob,
  checkFlagsFitInputs,
  describeVideoResult,
  framesDoneText,
  videoExtension,
  videoFormatFor,
  videoProgressBar,
} from './video-command.js';

/** The flags of `portoon <inputs…>` as commander hands them over (request and video flags still as text). */
export interface CartoonizeCliOptions extends RequestFlags, VideoFlags {
  out?: string;
  json?: boolean;
  quiet?: boolean;
  /** Replace outputs that already exist (default: a batch skips them, a single image is refused). */
  overwrite?: boolean;
  workers?: number;
  threads?: number;
  device?: 'cpu' | 'cuda';
  modelsDir?: string;
  watermarkKey?: string;
  c2paCert?: string;
  c2paKey?: string;
}

/** What every job of one run shares. */
interface RunContext {
  portoon: Portoon;
  request: CartoonizeRequest;
  videoParams: VideoParams;
  options: CartoonizeCliOptions;
  /** Aborted by Ctrl-C: the job in progress stops and leaves no file. */
  signal: AbortSignal;
}

/** @returns the process exit code. */
export async function runCartoonize(inputs: readonly string[], options: CartoonizeCliOptions): Promise<number> {
  // The flags are checked first: a bad flag is reported before any file is looked at.
  const request = requestFromFlags(options);
  const videoParams = videoParamsFromFlags(options);
  const outputExt: OutputExtension = (input, kind) =>
    kind === 'video' ? videoExtension(videoParams) : `.${extensionOf(request.format ?? outputFormatOf(input) ?? 'png')}`;
  const { jobs, batch, folder } = await planJobs(inputs, options.out, request.style, outputExt);
  checkFlagsFitInputs(jobs, options);
  // A video's -o name that contradicts --video-format, or is a photo's, is refused before any work.
  for (const job of jobs) if (job.kind === 'video') videoFormatFor(job.output, videoParams);
  // A single input whose output exists is refused before any work; a batch skips such files one by one.
  if (!batch && !options.overwrite && existsSync(jobs[0]!.output)) throw outputExists(jobs[0]!.output);
  const portoon = await Portoon.create({
    ...(options.modelsDir !== undefined ? { modelsDir: options.modelsDir } : {}),
    ...(options.workers !== undefined ? { workers: options.workers } : {}),
    ...(options.threads !== undefined ? { threads: options.threads } : {}),
    ...(options.device !== undefined ? { device: options.device } : {}),
    ...(options.watermarkKey ? { watermarkKey: options.watermarkKey } : {}),
    ...contentCredentialsFromFlags(options),
  });
  const showProgress = !options.quiet && process.stderr.isTTY === true;
  const interruption = stopOnCtrlC();
  try {
    // Fail fast on an unknown style or a missing model before touching any file.
    portoon.check(request);
    const context: RunContext = { portoon, request, videoParams, options, signal: interruption.signal };
    return batch ? await runBatch(context, jobs, folder!, showProgress) : await runSingle(context, jobs[0]!, showProgress);
  } finally {
    interruption.dispose();
    await portoon.close();
  }
}

/** `--c2pa-cert` and `--c2pa-key` come together or not at all. */
function contentCredentialsFromFlags(options: CartoonizeCliOptions): {
  contentCredentials?: { certificatePath: string; privateKeyPath: string };
} {
  if (options.c2paCert === undefined && options.c2paKey === undefined) return {};
  if (options.c2paCert === undefined || options.c2paKey === undefined) {
    throw new PortoonError(
      'E_BAD_OPTION',
      `${options.c2paCert === undefined ? '--c2pa-key needs --c2pa-cert' : '--c2pa-cert needs --c2pa-key'}: C2PA signing takes a certificate and its private key`,
    );
  }
  return { contentCredentials: { certificatePath: options.c2paCert, privateKeyPath: options.c2paKey } };
}

/** Exit code of a run stopped by Ctrl-C (128 + SIGINT, as shells report it). */
export const INTERRUPTED_EXIT_CODE = 130;

/**
 * Ctrl-C stops the run cleanly: the signal reaches the job in progress (a video stops before its
 * next frame, a photo before its next model run) and the file it was writing is removed. A second
 * Ctrl-C ends the process at once.
 */
function stopOnCtrlC(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSigint = (): void => {
    if (controller.signal.aborted) process.exit(INTERRUPTED_EXIT_CODE);
    controller.abort(
      new PortoonError('E_CLOSED', 'Interrupted (Ctrl-C): the work in progress was stopped and nothing of it was written', {
        details: { signal: 'SIGINT' },
      }),
    );
  };
  process.on('SIGINT', onSigint);
  return { signal: controller.signal, dispose: () => process.off('SIGINT', onSigint) };
}

const SKIP_NOTE = 'the output already exists; pass --overwrite to replace it';

function outputExists(path: string): PortoonError {
  return new PortoonError('E_OUTPUT_EXISTS', `${path} already exists; pass --overwrite to replace it, or choose another name with -o`, {
    details: { path },
  });
}

/** @returns the report, or undefined when the output appeared meanwhile and may not be replaced. */
async function processJob(
  context: RunContext,
  job: Job,
  progress: { photo?: (progress: StageProgress) => void; video?: (progress: VideoProgress) => void } = {},
): Promise<Record<string, unknown> | undefined> {
  const { signal } = context;
  try {
    return job.kind === 'video' ? await processVideo(context, job, progress.video) : await processPhoto(context, job, progress.photo);
  } catch (error) {
    // Whatever failed after Ctrl-C failed because of it (ffmpeg gets the same signal): say so.
    if (signal.aborted) throw signal.reason;
    throw error;
  }
}

async function processPhoto(
  { portoon, request, options, signal }: RunContext,
  job: Job,
  onProgress?: (progress: StageProgress) => void,
): Promise<Record<string, unknown> | undefined> {
  // Without --format, the output's name says it (its extension was chosen from the input's otherwise).
  const format = request.format ?? outputFormatOf(job.output) ?? 'png';
  const { image, report } = await portoon.run(await readInput(job.input), { ...request, format }, { onProgress, signal });
  if (!(await writeAtomically(job.output, image, options.overwrite ?? false))) return undefined;
  return { input: job.input, output: job.output, ...report };
}

/**
 * The clip is written under a temporary name next to the output and moved into place like a photo,
 * so an output that appeared meanwhile is not replaced without --overwrite, and a clip that ended
 * just as Ctrl-C came is not left behind.
 */
async function processVideo(
  { portoon, request, videoParams, options, signal }: RunContext,
  job: Job,
  onProgress?: (progress: VideoProgress) => void,
): Promise<Record<string, unknown> | undefined> {
  assertVideoContent(job);
  const format = videoFormatFor(job.output, videoParams);
  await ensureFolder(dirname(job.output));
  const temporary = temporaryNameOf(job.output);
  try {
    const report = await cartoonizeVideoJob(portoon, job, temporary, format, request, videoParams, { onProgress, signal });
    signal.throwIfAborted();
    if (!(await moveIntoPlace(temporary, job.output, options.overwrite ?? false))) return undefined;
    return { input: job.input, output: job.output, ...report };
  } finally {
    await rm(temporary, { force: true }).catch(() => undefined);
  }
}

async function runSingle(context: RunContext, job: Job, showProgress: boolean): Promise<number> {
  const { options } = context;
  const progress = showProgress ? (job.kind === 'video' ? (options.json ? undefined : videoBar()) : photoBar()) : undefined;
  try {
    const result = await processJob(context, job, progress?.callbacks);
    if (!result) throw outputExists(job.output);
    progress?.stop();
    if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else if (!options.quiet) process.stderr.write(`${describeResult(result)}\n`);
    return 0;
  } catch (error) {
    progress?.stop();
    // With --json, stdout always carries one line per input, failures included.
    if (options.json) process.stdout.write(`${JSON.stringify({ input: job.input, error: toPortoonError(error).toJSON() })}\n`);
    throw error;
  }
}

interface SingleProgress {
  callbacks: { photo?: (progress: StageProgress) => void; video?: (progress: VideoProgress) => void };
  stop: () => void;
}

/** A photo's bar: overall percentage and the stage running. */
function photoBar(): SingleProgress {
  const bar = new cliProgress.SingleBar(
    { format: ' {bar} {percentage}% | {stage}', hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(100, 0, { stage: 'starting' });
  return {
    callbacks: { photo: (p) => bar.update(Math.round(100 * overallProgress(p)), { stage: p.stage }) },
    stop: () => bar.stop(),
  };
}

function videoBar(): SingleProgress {
  const bar = videoProgressBar();
  return { callbacks: { video: bar.onProgress }, stop: bar.stop };
}

/** The line a single input's result gets on stderr without --json. */
function describeResult(result: Record<string, unknown>): string {
  if (result.kind === 'video') return describeVideoResult(result.output as string, result as unknown as VideoReport);
  const faces = (result.faces as unknown[]).length;
  return `${result.output as string}  (${faces} face${faces === 1 ? '' : 's'}, ${totalMs(result)} ms)`;
}

async function runBatch(context: RunContext, jobs: readonly Job[], folder: string, showProgress: boolean): Promise<number> {
  const { options, signal } = context;
  const noun = batchNoun(jobs);
  const bar = showProgress
    ? new cliProgress.SingleBar(
        { format: ` {bar} {value}/{total} ${noun.plural} | ETA {eta_formatted} | {file}`, hideCursor: true },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  bar?.start(jobs.length, 0, { file: '' });
  const failures: Array<{ job: Job; error: PortoonError }> = [];
  const skipped: Job[] = [];
  let faces = 0;
  let tracks = 0;
  const started = Date.now();
  let next = 0;
  let stopped = false;
  // Videos run one after another (each one keeps a worker busy for its whole length); photos fill the other lanes.
  const oneVideoAtATime = serializer();
  // As many files in flight as there are workers; each worker takes one at a time.
  const lanes = Math.max(1, Math.min(options.workers ?? 1, jobs.length));
  try {
    await Promise.all(
      Array.from({ length: lanes }, async () => {
        while (next < jobs.length && !stopped && !signal.aborted) {
          const job = jobs[next++]!;
          try {
            // Checked before the work to save it; processJob checks again when it writes.
            const result =
              !options.overwrite && existsSync(job.output)
                ? undefined
                : job.kind === 'video'
                  ? await oneVideoAtATime(() => {
                      bar?.update({ file: job.input });
                      return processJob(context, job, { video: (p) => bar?.update({ file: `${job.input}  ${framesDoneText(p)}` }) });
                    })
                  : await processJob(context, job);
            if (result) {
              if (result.kind === 'video') tracks += (result.tracks as unknown[]).length;
              else faces += (result.faces as unknown[]).length;
              if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
            } else {
              skipped.push(job);
              if (options.json)
                process.stdout.write(`${JSON.stringify({ input: job.input, output: job.output, skipped: true, note: SKIP_NOTE })}\n`);
            }
          } catch (error) {
            const e = toPortoonError(error);
            // A missing model or ffmpeg, a broken installation or Ctrl-C stops every file alike: stop now.
            if (e.exitCode !== 3) {
              stopped = true;
              throw e;
            }
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
    const found = [
      ...(noun.photos > 0 ? [`${faces} face${faces === 1 ? '' : 's'} found`] : []),
      ...(noun.videos > 0 ? [`${tracks} face track${tracks === 1 ? '' : 's'}`] : []),
    ];
    process.stderr.write(
      `${written} written, ${skipped.length} skipped, ${failures.length} failed of ${jobs.length} ${noun.counted} in ${seconds} s (${found.join(', ')}); output folder: ${resolve(folder)}\n`,
    );
  }
  return failures.length > 0 ? 3 : 0;
}

/** How a batch names its files: `images`, `videos`, or `files (2 images, 1 video)` when mixed. */
function batchNoun(jobs: readonly Job[]): { plural: string; counted: string; photos: number; videos: number } {
  const videos = jobs.filter((job) => job.kind === 'video').length;
  const photos = jobs.length - videos;
  if (videos === 0) return { plural: 'images', counted: 'images', photos, videos };
  if (photos === 0) return { plural: 'videos', counted: 'videos', photos, videos };
  const mix = `${photos} image${photos === 1 ? '' : 's'}, ${videos} video${videos === 1 ? '' : 's'}`;
  return { plural: 'files', counted: `files (${mix})`, photos, videos };
}

/** Runs the functions it is given one after another, in the order they came. */
function serializer(): <T>(work: () => Promise<T>) => Promise<T> {
  let turn: Promise<unknown> = Promise.resolve();
  return (work) => {
    const result = turn.then(work);
    turn = result.catch(() => undefined);
    return result;
  };
}

function totalMs(result: Record<string, unknown>): number {
  const timings = result.timings as Record<string, number>;
  return Math.round(Object.values(timings).reduce((a, b) => a + b, 0));
}

const MAX_SKIPPED_SHOWN = 10;

/** The name a result is written under before it is moved into place. */
function temporaryNameOf(path: string): string {
  return `${path}.${process.pid}.part`;
}

async function ensureFolder(folder: string): Promise<void> {
  try {
    await mkdir(folder, { recursive: true });
  } catch (error) {
    throw fsError('E_OUTPUT_FAILED', `Cannot create the output folder ${folder}`, folder, error);
  }
}

/**
 * Writes to a temporary file and moves it into place, so a crash never leaves a half-written image.
 * @returns false when the file exists and `overwrite` is off.
 */
async function writeAtomically(path: string, data: Uint8Array, overwrite: boolean): Promise<boolean> {
  await ensureFolder(dirname(path));
  const temp = temporaryNameOf(path);
  try {
    try {
      await writeFile(temp, data);
    } catch (error) {
      throw cannotWrite(path, error);
    }
    return await moveIntoPlace(temp, path, overwrite);
  } finally {
    await rm(temp, { force: true }).catch(() => undefined);
  }
}

/**
 * Moves a finished temporary file to `path`. Without `overwrite` the move is a hard link, which
 * fails instead of replacing a file that appeared since the check before the work (another run
 * writing to the same folder); the caller removes `temp` afterwards.
 * @returns false when the file exists and `overwrite` is off.
 */
async function moveIntoPlace(temp: string, path: string, overwrite: boolean): Promise<boolean> {
  try {
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
    throw cannotWrite(path, error);
  }
}

function cannotWrite(path: string, error: unknown): PortoonError {
  const reason = errnoOf(error) === 'EISDIR' ? 'a folder with that name exists' : undefined;
  return fsError('E_OUTPUT_FAILED', `Cannot write ${path}`, path, error, reason);
}
