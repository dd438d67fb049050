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

/**
 * The models folder Portoon uses when none is given: `PORTOON_MODELS` when it is set and not empty,
 * else `models` in the per-user cache folder: `~/.cache/portoon/models` on Linux (under
 * `XDG_CACHE_HOME` when set), `~/Library/Caches/portoon/models` on macOS,
 * `%LOCALAPPDATA%\portoon\Cache\models` on Windows. The folder is not created or checked here.
 * @param env where `PORTOON_MODELS` is read. Default: `process.env` (the cache folder always comes
 *   from the process's own environment).
 * @example
 * defaultModelsDir(); // '/home/ada/.cache/portoon/models'
 * defaultModelsDir({ PORTOON_MODELS: '/srv/models' }); // '/srv/models'
 */
export function defaultModelsDir(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.PORTOON_MODELS;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  return join(envPaths('portoon', { suffix: '' }).cache, 'models');
}

/**
 * The model source configured in the environment: `PORTOON_MODEL_MIRROR` (a mirror folder or an
 * http(s) base URL), or undefined when it is unset or empty. Pass it as `from` to `ModelStore.pull`.
 * @param env the environment to read. Default: `process.env`.
 * @example
 * await store.pull(store.defaultIds(), { from: defaultModelSource() });
 */
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

/**
 * The installed models: one folder holding the `.onnx` files the catalogue lists, under the file
 * names it gives. Reads (`status`, `isInstalled`) look at the folder only; `verify` also checks size
 * and sha256; `pull` installs from a mirror so that only a file with the right sha256 ever lands
 * under a model's name.
 * @example
 * import { loadCatalogue, ModelStore, defaultModelSource } from 'portoon';
 *
 * const store = new ModelStore(loadCatalogue());
 * await store.pull(store.defaultIds(), {
 *   from: defaultModelSource() ?? 'https://models.example.com/portoon/',
 *   onProgress: ({ model, received, total }) => console.log(model, Math.round((100 * received) / total), '%'),
 * });
 * for (const result of await store.verifyAll()) if (!result.ok) console.log(result.entry.id, result.problem);
 */
export class ModelStore implements ModelResolver {
  /** The models folder. */
  readonly dir: string;
  readonly #catalogue: Catalogue;
  // sha256 checks cost ~10 ms per model; remember files that passed, keyed by size and mtime.
  readonly #verified = new Map<string, string>();

  /**
   * Nothing is read or created until a method needs it: the folder may not exist yet (`pull`
   * creates it).
   * @param catalogue the models that can be installed (`loadCatalogue(dir)` for the built-in ones and
   *   the folder's own manifests).
   * @param dir the models folder. Default: `defaultModelsDir()`.
   */
  constructor(catalogue: Catalogue, dir: string = defaultModelsDir()) {
    this.#catalogue = catalogue;
    this.dir = dir;
  }

  /**
   * A model's catalogue entry (file name, size, sha256, licence, input and output description).
   * @throws PortoonError E_BAD_OPTION for an id the catalogue does not list (the message names the known ones).
   */
  entry(modelId: string): ModelEntry {
    return this.#catalogue.model(modelId);
  }

  /**
   * Where the model's file is, or would be once installed (whether or not it exists).
   * @throws PortoonError E_BAD_OPTION for an unknown id.
   */
  pathOf(modelId: string): string {
    return join(this.dir, this.entry(modelId).file);
  }

  /**
   * Whether the model is catalogued and its file exists. Cheap (no hashing, size not checked) and
   * never throws: an unknown id is simply not installed. Use `verify` to know that the file is intact.
   */
  isInstalled(modelId: string): boolean {
    return this.#catalogue.hasModel(modelId) && existsSync(this.pathOf(modelId));
  }

  /**
   * Every catalogued model with its path and state: `installed` (the file has the catalogue's size),
   * `wrong-size` (a file is there, but not the right one: partly copied or another version) or
   * `missing`. Checks sizes only; `verifyAll` hashes the files.
   */
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

  /**
   * The model's path once its file is verified (size and sha256; a file that passed is not hashed
   * again until its size or modification time changes). The inference backend opens models this way.
   * @throws PortoonError E_MODEL_MISSING when the file is absent, E_MODEL_CORRUPT when its size or
   *   sha256 is wrong (both messages give the command that installs it), E_BAD_OPTION for an unknown id.
   */
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

  /**
   * Checks one model's file against its catalogue size and sha256. A missing or damaged file is a
   * result with `ok: false` and the `problem` (`missing`, the wrong size, or the sha256 found), not an
   * error.
   * @throws PortoonError E_BAD_OPTION for an unknown id.
   * @example
   * const { ok, problem } = await store.verify('animeganv3-hayao36');
   * if (!ok) console.log(problem); // 'missing', 'size 1024 bytes, expected 4000000', 'sha256 …, expected …'
   */
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

  /**
   * Verifies the given models, or, with no ids, every model whose file is present (whatever its size),
   * one after another.
   * @throws PortoonError E_BAD_OPTION for an unknown id.
   */
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

  /** Ids of the default set: what `portoon models pull` installs when given no ids (`default: true` in the catalogue). */
  defaultIds(): string[] {
    return this.#catalogue.models.filter((m) => m.default).map((m) => m.id);
  }

  /**
   * Installs the given models where they are missing or damaged; a file that verifies is left alone
   * (`action: 'already-installed'`) unless `force` is set. Creates the folder if needed. Each file is
   * streamed from `from` (a folder path, a `file://` URL, or an http(s) base URL to which the file
   * name is appended) through sha256 into a temporary file, renamed into place only when size and
   * hash match; nothing is left behind when it fails. Models are installed one after another, and
   * those installed before a failure stay installed.
   * @param ids catalogue ids (`defaultIds()` for the default set).
   * @param options `from`: the source; required when anything needs installing (`defaultModelSource()`
   *   reads it from the environment). `onProgress`: called as bytes arrive. `stallTimeoutMs`: an HTTP
   *   download that sends nothing for this long fails (default 30 000). `signal`: aborts an HTTP download.
   *   `force`: reinstall even verified files (default false).
   * @returns one result per id, in order.
   * @throws PortoonError E_MODEL_SOURCE when something needs installing and no source is given, the
   *   source has no such file, answers with an HTTP error, stalls, is aborted or is not a folder or
   *   http(s) URL; E_MODEL_CORRUPT when the received bytes do not match the catalogue's size and
   *   sha256 (the file is not installed); E_BAD_OPTION for an unknown id (before anything is fetched).
   * @example
   * const results = await store.pull(['whitebox-cartoon'], { from: '/mnt/mirror' });
   * // [{ model: 'whitebox-cartoon', action: 'installed', path: '/home/ada/.cache/portoon/models/whitebox-cartoon.onnx' }]
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
