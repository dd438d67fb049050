/**
 * The system's ffmpeg and ffprobe: where they are, which version, and how to run them. Video goes
 * through these two programs (spawned, raw frames on pipes) rather than through an npm wrapper or a
 * bundled binary, so the codecs and their security fixes come from the system's package manager.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { basename, delimiter, dirname, extname, join, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { PortoonError, type ErrorCode } from '../../core/errors.js';

export interface FfmpegTools {
  ffmpeg: string;
  ffprobe: string;
  /** ffmpeg's version as it prints it ("5.1.9-0+deb12u1", or "N-…" for a build from git). */
  version: string;
  /**
   * Whether ffmpeg knows `-fps_mode` (5.1 and newer); older ones (4.4 in Ubuntu 22.04) spell the same
   * thing `-vsync`.
   */
  hasFpsMode: boolean;
}

const INSTALL_HINT =
  'Install ffmpeg (Debian/Ubuntu: sudo apt-get install ffmpeg; Fedora: sudo dnf install ffmpeg; macOS: brew install ffmpeg; ' +
  'Windows: winget install ffmpeg), or point PORTOON_FFMPEG and PORTOON_FFPROBE to the two programs';

/** Successful look-ups, by the environment they were made in (failures are looked up again next time). */
const located = new Map<string, Promise<FfmpegTools>>();

/**
 * Finds ffmpeg and ffprobe: `PORTOON_FFMPEG` / `PORTOON_FFPROBE` when set (a path, or a name looked up
 * on the PATH), else `ffmpeg` / `ffprobe` on the PATH. Each is run once (`-version`) to make sure it
 * is a working program; the answer is kept for as long as those variables stay the same.
 * @throws {PortoonError} E_FFMPEG_MISSING saying what to install and how to point to it.
 */
export function locateFfmpeg(): Promise<FfmpegTools> {
  const ffmpegSetting = process.env.PORTOON_FFMPEG || undefined;
  const ffprobeSetting = process.env.PORTOON_FFPROBE || undefined;
  const key = JSON.stringify([ffmpegSetting, ffprobeSetting, process.env.PATH]);
  let found = located.get(key);
  if (!found) {
    found = findTools(ffmpegSetting, ffprobeSetting);
    located.set(key, found);
    found.catch(() => located.delete(key));
  }
  return found;
}

async function findTools(ffmpegSetting: string | undefined, ffprobeSetting: string | undefined): Promise<FfmpegTools> {
  const ffmpeg = await findProgram('ffmpeg', ffmpegSetting, 'PORTOON_FFMPEG');
  // ffprobe comes with ffmpeg: when only ffmpeg's place is given, its sibling is the one to use.
  const sibling = ffprobeSetting === undefined && ffmpegSetting !== undefined ? await siblingOf(ffmpeg, 'ffprobe') : undefined;
  const ffprobe = sibling ?? (await findProgram('ffprobe', ffprobeSetting, 'PORTOON_FFPROBE'));
  const [versionLine] = await Promise.all([versionOf(ffmpeg, 'ffmpeg'), versionOf(ffprobe, 'ffprobe')]);
  const version = /version (\S+)/.exec(versionLine)?.[1] ?? 'unknown';
  return { ffmpeg, ffprobe, version, hasFpsMode: knowsFpsMode(version) };
}

/** `-fps_mode` came with ffmpeg 5.1; builds from git ("N-…") and unknown versions are taken as new. */
function knowsFpsMode(version: string): boolean {
  const match = /^n?(\d+)\.(\d+)/.exec(version);
  if (!match) return true;
  const major = Number(match[1]);
  const minor = Number(match[2]);
  return major > 5 || (major === 5 && minor >= 1);
}

async function findProgram(name: string, setting: string | undefined, variable: string): Promise<string> {
  if (setting !== undefined && /[\\/]/.test(setting)) {
    if (await isExecutableFile(setting)) return setting;
    throw missing(`${variable}=${setting} is not an executable file`);
  }
  const wanted = setting ?? name;
  const extensions = process.platform === 'win32' ? ['', ...(process.env.PATHEXT ?? '.EXE').split(';')] : [''];
  for (const folder of (process.env.PATH ?? '').split(delimiter)) {
    if (folder === '') continue;
    for (const extension of extensions) {
      const candidate = join(folder, wanted + extension);
      if (await isExecutableFile(candidate)) return candidate;
    }
  }
  throw missing(setting === undefined ? `${name} was not found on the PATH` : `${variable}=${setting} was not found on the PATH`);
}

async function siblingOf(program: string, name: string): Promise<string | undefined> {
  const candidate = join(dirname(program), name + extname(program));
  return (await isExecutableFile(candidate)) ? candidate : undefined;
}

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    if (!(await stat(path)).isFile()) return false;
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function versionOf(program: string, name: string): Promise<string> {
  let firstLine: string;
  try {
    const { stdout } = await runToCompletion(program, ['-hide_banner', '-version'], { what: `Running ${name} -version` });
    firstLine = stdout.split('\n')[0] ?? '';
  } catch (error) {
    throw missing(`${program} does not run (${(error as Error).message})`, error);
  }
  if (!firstLine.startsWith(`${name} version `)) throw missing(`${program} is not ${name} (its -version says "${firstLine.slice(0, 80)}")`);
  return firstLine;
}

function missing(reason: string, cause?: unknown): PortoonError {
  return new PortoonError('E_FFMPEG_MISSING', `Video needs ffmpeg and ffprobe: ${reason}. ${INSTALL_HINT}.`, {
    ...(cause === undefined ? {} : { cause }),
    details: { install: 'apt-get install ffmpeg | brew install ffmpeg', variables: ['PORTOON_FFMPEG', 'PORTOON_FFPROBE'] },
  });
}

/** The error a cancelled run ends with: the signal's reason when it is a PortoonError, as elsewhere in the engine. */
export function abortError(signal: AbortSignal): PortoonError {
  return signal.reason instanceof PortoonError ? signal.reason : new PortoonError('E_CLOSED', 'The work was cancelled');
}

/** Keeps the last lines a program wrote to stderr, bounded in count and length, for error messages. */
class StderrTail {
  static readonly MAX_LINES = 12;
  static readonly MAX_LINE_LENGTH = 300;
  readonly lines: string[] = [];
  /** Lines seen in all, including those no longer kept. */
  count = 0;
  #partial = '';
  readonly #paths: readonly string[];

  constructor(paths: readonly string[]) {
    // Longest first, so a path is not half-replaced by a shorter one it contains.
    this.#paths = [...paths].sort((a, b) => b.length - a.length);
  }

  push(text: string): void {
    const parts = (this.#partial + text).split(/\r?\n|\r/);
    this.#partial = parts.pop()!.slice(0, 4 * StderrTail.MAX_LINE_LENGTH);
    for (const part of parts) this.#add(part);
  }

  end(): void {
    this.#add(this.#partial);
    this.#partial = '';
  }

  #add(raw: string): void {
    // "[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55d4c0a2b900] partial file": the address says nothing to a reader.
    let line = raw.replace(/ @ 0x[0-9a-f]+\]/i, ']').trim();
    for (const path of this.#paths) line = line.replaceAll(`file:${path}`, basename(path)).replaceAll(path, basename(path));
    if (line === '') return;
    this.count += 1;
    this.lines.push(line.length > StderrTail.MAX_LINE_LENGTH ? `${line.slice(0, StderrTail.MAX_LINE_LENGTH)}…` : line);
    if (this.lines.length > StderrTail.MAX_LINES) this.lines.shift();
  }
}

export interface ProcessOptions {
  /** What the run does, to begin error messages with ("Decoding clip.mp4"). */
  what: string;
  /** The code a non-zero exit is reported with. Default E_INTERNAL. */
  failureCode?: ErrorCode | undefined;
  /** Give the program a stdin pipe (frames to encode). Default: no stdin. */
  stdin?: boolean | undefined;
  /** Kills the program when aborted. */
  signal?: AbortSignal | undefined;
  /**
   * Files the command names: in its messages each is shortened to its base name, so an error that
   * reaches a client does not show the server's folders.
   */
  paths?: readonly string[] | undefined;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The program could not be started at all. */
  spawnError?: Error | undefined;
}

/**
 * A running ffmpeg or ffprobe: stdout (and stdin when asked for) as streams, the tail of stderr, and
 * its end as a promise. Killed when the signal aborts; `kill` may be called any number of times.
 */
export class FfmpegProcess {
  readonly stdout: Readable;
  readonly stdin: Writable | null;
  /** Settles when the program has ended (never rejects). */
  readonly exited: Promise<ExitStatus>;
  readonly #child: ChildProcess;
  readonly #stderr: StderrTail;
  readonly #options: ProcessOptions;
  #running = true;
  #killed = false;
  #onAbort = (): void => this.kill();

  constructor(program: string, args: readonly string[], options: ProcessOptions) {
    this.#options = options;
    this.#stderr = new StderrTail((options.paths ?? []).map((path) => resolve(path)));
    this.#child = spawn(program, args, { stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'], windowsHide: true });
    this.stdout = this.#child.stdout!;
    this.stdin = this.#child.stdin;
    // A program that dies while frames are being written makes the pipe fail (EPIPE); its exit status
    // and stderr say why, so the stream's own error adds nothing and must not go unhandled.
    this.stdin?.on('error', () => undefined);
    this.#child.stderr!.setEncoding('utf8');
    this.#child.stderr!.on('data', (text: string) => this.#stderr.push(text));
    this.exited = new Promise<ExitStatus>((resolve) => {
      this.#child.once('error', (spawnError) => {
        this.#running = false;
        resolve({ code: null, signal: null, spawnError });
      });
      this.#child.once('close', (code, signal) => {
        this.#running = false;
        this.#stderr.end();
        resolve({ code, signal });
      });
    });
    void this.exited.then(() => options.signal?.removeEventListener('abort', this.#onAbort));
    if (options.signal?.aborted) this.kill();
    else options.signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  /** The last lines of stderr (at most a dozen). */
  get errorLines(): readonly string[] {
    return this.#stderr.lines;
  }

  /** How many lines the program wrote to stderr in all. */
  get errorLineCount(): number {
    return this.#stderr.count;
  }

  get running(): boolean {
    return this.#running;
  }

  /**
   * Stops the program at once (SIGKILL: nothing it would still write is wanted). Its output pipe is
   * dropped too: a paused pipe still holding frames would otherwise keep the 'close' event, and so
   * `exited`, from ever coming.
   */
  kill(): void {
    if (!this.#running || this.#killed) return;
    this.#killed = true;
    this.#child.kill('SIGKILL');
    this.stdout.destroy();
  }

  /**
   * Waits for the end and resolves when the program exited with status 0.
   * @throws {PortoonError} the abort's error when the signal stopped it; E_FFMPEG_MISSING when it
   *   could not be started; otherwise the failure code with the last lines of stderr.
   */
  async succeeded(): Promise<void> {
    const status = await this.exited;
    const { signal, what, failureCode = 'E_INTERNAL' } = this.#options;
    if (signal?.aborted) throw abortError(signal);
    if (status.spawnError) throw missing(`${what}: ${status.spawnError.message}`, status.spawnError);
    if (status.code === 0) return;
    const reason = this.describeFailure(status);
    throw new PortoonError(failureCode, `${what} failed: ${reason}`, {
      details: { reason, exitCode: status.code, exitSignal: status.signal, stderr: [...this.errorLines] },
    });
  }

  /** The last stderr lines, or the exit status when there are none. */
  describeFailure(status?: ExitStatus): string {
    if (this.errorLines.length > 0) return this.errorLines.slice(-4).join('; ');
    if (status?.signal) return `the program was stopped by ${status.signal}`;
    if (status) return `the program exited with status ${status.code}`;
    return 'no message';
  }
}

export function startProcess(program: string, args: readonly string[], options: ProcessOptions): FfmpegProcess {
  return new FfmpegProcess(program, args, options);
}

/** Most bytes `runToCompletion` keeps from stdout (ffprobe's JSON is a few kilobytes). */
const MAX_STDOUT_BYTES = 32 * 1024 * 1024;

/**
 * Runs a program to its end and returns its stdout as text.
 * @throws {PortoonError} as `FfmpegProcess.succeeded`; the failure code too when stdout is larger than 32 MB.
 */
export async function runToCompletion(
  program: string,
  args: readonly string[],
  options: ProcessOptions,
): Promise<{ stdout: string; errorLines: readonly string[]; errorLineCount: number }> {
  const child = startProcess(program, args, options);
  const chunks: Buffer[] = [];
  let size = 0;
  let overflow = false;
  child.stdout.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_STDOUT_BYTES) {
      overflow = true;
      child.kill();
    } else chunks.push(chunk);
  });
  await child.succeeded().catch((error: unknown) => {
    if (!overflow) throw error;
  });
  if (overflow) {
    throw new PortoonError(options.failureCode ?? 'E_INTERNAL', `${options.what} failed: it wrote more than ${MAX_STDOUT_BYTES} bytes`);
  }
  return { stdout: Buffer.concat(chunks).toString('utf8'), errorLines: child.errorLines, errorLineCount: child.errorLineCount };
}

/** ffmpeg's frame-timing option: every frame once (`passthrough`), or `vfr`/`cfr`, spelled for its version. */
export function fpsModeArgs(tools: FfmpegTools, mode: 'passthrough' | 'cfr' | 'vfr'): string[] {
  return tools.hasFpsMode ? ['-fps_mode', mode] : ['-vsync', mode];
}

/**
 * A file name for ffmpeg's command line: `file:` and an absolute path, so that a name with a colon
 * ("clip:1.mp4") is not taken for a protocol and a name starting with "-" not for an option.
 */
export function fileArg(path: string): string {
  return `file:${resolve(path)}`;
}

/** Seconds as ffmpeg's time options read them: fixed-point, never "1e-7". */
export function secondsArg(value: number): string {
  return value.toFixed(6);
}
