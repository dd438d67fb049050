/** `portoon <files or folders…>`: cartoonize one image or a whole batch, with progress and a summary. */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import cliProgress from 'cli-progress';
import { PortoonError, toPortoonError } from '../core/errors.js';
import { overallProgress, type BackgroundMode, type StyleMix } from '../core/pipeline.js';
import type { OutputFormat } from '../node/codec.js';
import { Portoon } from '../node/portoon.js';
import type { CartoonizeRequest } from '../node/engine.js';
import { extensionFor, formatFromPath, planJobs, type Job } from './inputs.js';

export interface CartoonizeCliOptions {
  style: string;
  out?: string;
  strength?: number;
  mix?: StyleMix;
  maxSide?: number;
  background?: BackgroundMode;
  format?: OutputFormat;
  quality?: number;
  detector?: 'both' | 'retinaface' | 'yunet';
  json?: boolean;
  quiet?: boolean;
  workers?: number;
  threads?: number;
  device?: 'cpu' | 'cuda';
  modelsDir?: string;
}

/** @returns the process exit code. */
export async function runCartoonize(inputs: readonly string[], options: CartoonizeCliOptions): Promise<number> {
  const outputExt = (input: string): string => extensionFor(options.format ?? formatFromPath(input) ?? 'png');
  const { jobs, batch } = planJobs(inputs, options.out, options.style, outputExt);
  const portoon = await Portoon.create({
    ...(options.modelsDir !== undefined ? { modelsDir: options.modelsDir } : {}),
    ...(options.workers !== undefined ? { workers: options.workers } : {}),
    ...(options.threads !== undefined ? { threads: options.threads } : {}),
    ...(options.device !== undefined ? { device: options.device } : {}),
  });
  const request: CartoonizeRequest = {
    style: options.style,
    strength: options.strength,
    mix: options.mix,
    maxSide: options.maxSide,
    background: options.background,
    quality: options.quality,
    detector: options.detector,
  };
  const showProgress = !options.quiet && process.stderr.isTTY === true;
  try {
    // Fail fast on a bad style, option or missing model before touching any file.
    portoon.modelsFor(request);
    return batch
      ? await runBatch(portoon, jobs, request, options, showProgress)
      : await runSingle(portoon, jobs[0]!, request, options, showProgress);
  } finally {
    await portoon.close();
  }
}

async function processJob(
  portoon: Portoon,
  job: Job,
  request: CartoonizeRequest,
  options: CartoonizeCliOptions,
  onProgress?: Parameters<Portoon['cartoonize']>[1]['onProgress'],
): Promise<Record<string, unknown>> {
  const format = options.format ?? formatFromPath(job.output) ?? 'png';
  const { image, report } = await portoon.cartoonize(job.input, { ...request, format, ...(onProgress ? { onProgress } : {}) });
  await writeAtomically(job.output, image);
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
  let faces = 0;
  const started = Date.now();
  let next = 0;
  // As many images in flight as there are workers; each worker takes one at a time.
  const lanes = Math.max(1, Math.min(options.workers ?? 1, jobs.length));
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (next < jobs.length) {
        const job = jobs[next++]!;
        try {
          const result = await processJob(portoon, job, request, options);
          faces += (result.faces as unknown[]).length;
          if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
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
  bar?.stop();
  for (const { job, error } of failures) process.stderr.write(`portoon: ${job.input}: ${error.message} [${error.code}]\n`);
  if (!options.quiet) {
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    process.stderr.write(
      `${jobs.length - failures.length} of ${jobs.length} images done in ${seconds} s, ${faces} faces found${failures.length ? `, ${failures.length} failed` : ''}\n`,
    );
  }
  return failures.length > 0 ? 3 : 0;
}

function totalMs(result: Record<string, unknown>): number {
  const timings = result.timings as Record<string, number>;
  return Math.round(Object.values(timings).reduce((a, b) => a + b, 0));
}

/** Writes to a temporary file and renames, so a crash never leaves a half-written image. */
async function writeAtomically(path: string, data: Uint8Array): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true });
    const temp = `${path}.${process.pid}.part`;
    await writeFile(temp, data);
    await rename(temp, path);
  } catch (error) {
    throw new PortoonError('E_OUTPUT_FAILED', `Cannot write ${path}: ${(error as Error).message}`, { cause: error, details: { path } });
  }
}
