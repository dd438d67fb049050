/**
 * The file-system model store: one folder of `.onnx` files named as in the catalogue. Models are
 * installed from a mirror folder or an HTTP(S) base URL, always streamed through sha256 into a
 * temporary file and renamed into place only when the hash matches, so a half-written or tampered
 * file is never mistaken for a model.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, statSync } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import envPaths from 'env-paths';
import { PortoonError } from '../core/errors.js';
import type { Catalogue } from '../core/models/catalogue.js';
import type { ModelEntry } from '../core/models/manifest.js';
import type { ModelResolver } from './onnx-backend.js';

/** The models folder: `PORTOON_MODELS`, else `models` in the per-user cache folder. */
export function defaultModelsDir(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.PORTOON_MODELS;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  return join(envPaths('portoon', { suffix: '' }).cache, 'models');
}

/** The mirror configured in the environment (`PORTOON_MODEL_MIRROR`), if any. */
export function defaultModelSource(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env.PORTOON_MODEL_MIRROR;
  return value === undefined || value === '' ? undefined : value;
}

const MIRROR_PLACEHOLDER = '<mirror folder or https URL>';

/** A path as a shell argument: quoted only when it needs to be. */
function shellArg(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * How to install `ids` into `dir` from a mirror. The command starts with `npx` because that finds the
 * `portoon` command both in a clone of the repository and where the package is installed; it names
 * the models folder when that is not the default one, so it is right as printed.
 */
export function installHint(ids: readonly string[], dir: string, flags: readonly string[] = []): string {
  const dirArgs = resolve(dir) === resolve(defaultModelsDir()) ? [] : ['--models-dir', shellArg(dir)];
  const command = ['npx portoon models pull', ...ids, ...flags, '--from', MIRROR_PLACEHOLDER, ...dirArgs].join(' ');
  return `${command} (or set PORTOON_MODEL_MIRROR to the mirror and leave out --from)`;
}

export type ModelState = 'installed' | 'missing' | 'wrong-size';

export interface ModelStatus {
  entry: ModelEntry;
  path: string;
  state: ModelState;
}

export interface VerifyResult {
  entry: ModelEntry;
  path: string;
  ok: boolean;
  /** Why it failed: missing, wrong size, or the sha256 that was found. */
  problem?: string;
}

export interface PullProgress {
  model: string;
  /** Bytes of this model received so far. */
  received: number;
  total: number;
}

export interface PullOptions {
  /** Mirror folder or http(s) base URL; the model's file name is appended. */
  from?: string | undefined;
  onProgress?: (progress: PullProgress) => void;
  /** Fail a download that sends nothing for this long (ms). Default 30 s. */
  stallTimeoutMs?: number;
  signal?: AbortSignal;
}

export interface PullResult {
  model: string;
  action: 'installed' | 'already-installed';
  path: string;
}

export class ModelStore implements ModelResolver {
  readonly dir: string;
  readonly #catalogue: Catalogue;
  // sha256 checks cost ~10 ms per model; remember files that passed, keyed by size and mtime.
  readonly #verified = new Map<string, string>();

  constructor(catalogue: Catalogue, dir: string = defaultModelsDir()) {
    this.#catalogue = catalogue;
    this.dir = dir;
  }

  entry(modelId: string): ModelEntry {
    return this.#catalogue.model(modelId);
  }

  pathOf(modelId: string): string {
    return join(this.dir, this.entry(modelId).file);
  }

  isInstalled(modelId: string): boolean {
    return this.#catalogue.hasModel(modelId) && existsSync(this.pathOf(modelId));
  }

  status(): ModelStatus[] {
    return this.#catalogue.models.map((entry) => {
      const path = join(this.dir, entry.file);
      let state: ModelState = 'missing';
      try {
        state = statSync(path).size === entry.bytes ? 'installed' : 'wrong-size';
      } catch {
        state = 'missing';
      }
      return { entry, path, state };
    });
  }

  async verifiedPath(modelId: string): Promise<string> {
    const result = await this.verify(modelId);
    if (result.ok) return result.path;
    if (result.problem === 'missing') {
      throw new PortoonError(
        'E_MODEL_MISSING',
        `Model "${modelId}" is not installed in ${this.dir}. Install it with: ${installHint([modelId], this.dir)}`,
        { details: { model: modelId, path: result.path } },
      );
    }
    throw new PortoonError(
      'E_MODEL_CORRUPT',
      `Model file ${result.path} is corrupted (${result.problem}). Reinstall it with: ${installHint([modelId], this.dir, ['--force'])}`,
      { details: { model: modelId, path: result.path } },
    );
  }

  /** Checks one installed model against its catalogue size and sha256. */
  async verify(modelId: string): Promise<VerifyResult> {
    const entry = this.entry(modelId);
    const path = join(this.dir, entry.file);
    let info;
    try {
      info = await stat(path);
    } catch {
      return { entry, path, ok: false, problem: 'missing' };
    }
    if (info.size !== entry.bytes) {
      return { entry, path, ok: false, problem: `size ${info.size} bytes, expected ${entry.bytes}` };
    }
    const key = `${info.size}:${info.mtimeMs}`;
    if (this.#verified.get(path) === key) return { entry, path, ok: true };
    const actual = await sha256File(path);
    if (actual !== entry.sha256) {
      return { entry, path, ok: false, problem: `sha256 ${actual}, expected ${entry.sha256}` };
    }
    this.#verified.set(path, key);
    return { entry, path, ok: true };
  }

  /** Verifies every installed model (or the given ones). */
  async verifyAll(ids?: readonly string[]): Promise<VerifyResult[]> {
    const list =
      ids ??
      this.status()
        .filter((s) => s.state !== 'missing')
        .map((s) => s.entry.id);
    const results: VerifyResult[] = [];
    for (const id of list) results.push(await this.verify(id));
    return results;
  }

  /** Ids installed by `portoon models pull` with no ids. */
  defaultIds(): string[] {
    return this.#catalogue.models.filter((m) => m.default).map((m) => m.id);
  }

  /**
   * Installs models that are missing or damaged. Already-verified files are left alone unless `force`.
   * @throws PortoonError E_MODEL_SOURCE when no source is configured or the source fails,
   *   E_MODEL_CORRUPT when the downloaded bytes do not match the catalogue's sha256.
   */
  async pull(ids: readonly string[], options: PullOptions & { force?: boolean } = {}): Promise<PullResult[]> {
    const entries = ids.map((id) => this.entry(id));
    const needed = new Set<string>();
    for (const entry of entries) if (options.force || !(await this.verify(entry.id)).ok) needed.add(entry.id);
    const from = options.from;
    if (needed.size > 0 && (from === undefined || from === '')) {
      // Name every model to install, not just the first, in a command that works as printed.
      const missing = [...needed];
      throw new PortoonError(
        'E_MODEL_SOURCE',
        `${missing.length === 1 ? `Model "${missing[0]!}" needs` : `Models ${missing.join(', ')} need`} installing, but no model source is configured. ` +
          `Run: ${installHint(missing, this.dir, options.force ? ['--force'] : [])}`,
        { details: { models: missing } },
      );
    }
    const results: PullResult[] = [];
    await mkdir(this.dir, { recursive: true });
    for (const entry of entries) {
      const path = join(this.dir, entry.file);
      if (!needed.has(entry.id)) {
        results.push({ model: entry.id, action: 'already-installed', path });
        continue;
      }
      await this.#install(entry, from!, path, options);
      results.push({ model: entry.id, action: 'installed', path });
    }
    return results;
  }

  async #install(entry: ModelEntry, from: string, path: string, options: PullOptions): Promise<void> {
    const temp = join(this.dir, `.${entry.file}.${process.pid}.${Date.now()}.part`);
    const hash = createHash('sha256');
    let received = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        received += chunk.length;
        if (received > entry.bytes) {
          callback(new PortoonError('E_MODEL_CORRUPT', `${entry.id} from ${from} is larger than the expected ${entry.bytes} bytes`));
          return;
        }
        options.onProgress?.({ model: entry.id, received, total: entry.bytes });
        callback(null, chunk);
      },
    });
    try {
      const source = await openSource(from, entry, options);
      await pipeline(source, meter, createWriteStream(temp, { mode: 0o644 }));
      const actual = hash.digest('hex');
      if (received !== entry.bytes || actual !== entry.sha256) {
        throw new PortoonError(
          'E_MODEL_CORRUPT',
          `Model "${entry.id}" from ${from} does not match the catalogue (got ${received} bytes, sha256 ${actual}; expected ${entry.bytes} bytes, sha256 ${entry.sha256}). The file was not installed.`,
          { details: { model: entry.id, source: from } },
        );
      }
      await rename(temp, path);
      this.#verified.delete(path);
    } catch (error) {
      await rm(temp, { force: true });
      if (error instanceof PortoonError) throw error;
      throw new PortoonError('E_MODEL_SOURCE', `Could not fetch model "${entry.id}" from ${from}: ${(error as Error).message}`, {
        cause: error,
        details: { model: entry.id, source: from },
      });
    }
  }
}

async function openSource(from: string, entry: ModelEntry, options: PullOptions): Promise<Readable> {
  if (/^https?:\/\//i.test(from)) return openHttp(new URL(entry.file, from.endsWith('/') ? from : `${from}/`), options);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(from) && !from.startsWith('file://')) {
    throw new PortoonError('E_MODEL_SOURCE', `Unsupported model source "${from}": use a folder path or an http(s) URL`);
  }
  const dir = from.startsWith('file://') ? new URL(from).pathname : from;
  const file = join(dir, entry.file);
  if (!existsSync(file)) {
    throw new PortoonError('E_MODEL_SOURCE', `The mirror ${dir} has no ${entry.file} (model "${entry.id}")`, {
      details: { model: entry.id, source: dir },
    });
  }
  return createReadStream(file);
}

async function openHttp(url: URL, options: PullOptions): Promise<Readable> {
  const stallMs = options.stallTimeoutMs ?? 30_000;
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  // A stalled server must never hang the command: abort when no bytes arrive for stallMs.
  let timer = setTimeout(() => controller.abort(new Error(`no data for ${stallMs} ms`)), stallMs);
  const resetTimer = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(new Error(`no data for ${stallMs} ms`)), stallMs);
  };
  try {
    const response = await fetch(url, { signal: controller.signal, redirect: 'follow' });
    if (!response.ok || response.body === null) {
      throw new Error(`HTTP ${response.status} ${response.statusText} for ${url.href}`);
    }
    const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
    body.on('data', resetTimer);
    body.on('close', () => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    });
    return body;
  } catch (error) {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
    const reason = controller.signal.aborted ? (controller.signal.reason as Error) : (error as Error);
    throw new Error(reason?.message ?? String(reason), { cause: error });
  }
}

/** Streams a file through sha256. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}
