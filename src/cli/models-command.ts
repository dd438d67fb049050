/** `portoon models list | pull | verify`: manage the model store. */
import cliProgress from 'cli-progress';
import { PortoonError } from '../core/errors.js';
import { loadCatalogue } from '../node/load-catalogue.js';
import { defaultModelsDir, defaultModelSource, installHint, ModelStore } from '../node/model-store.js';

export interface ModelsCliOptions {
  modelsDir?: string;
  json?: boolean;
  quiet?: boolean;
}

function openStore(options: ModelsCliOptions): ModelStore {
  const dir = options.modelsDir ?? defaultModelsDir();
  return new ModelStore(loadCatalogue(dir), dir);
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

export function runModelsList(options: ModelsCliOptions): number {
  const store = openStore(options);
  const rows = store.status();
  if (options.json) {
    process.stdout.write(
      `${JSON.stringify({ dir: store.dir, models: rows.map((r) => ({ id: r.entry.id, task: r.entry.task, state: r.state, bytes: r.entry.bytes, license: r.entry.license, commercialUse: r.entry.commercialUse, default: r.entry.default, path: r.path })) })}\n`,
    );
    return 0;
  }
  process.stdout.write(`Models folder: ${store.dir}\n\n`);
  const width = Math.max(...rows.map((r) => r.entry.id.length));
  for (const r of rows) {
    const mark = r.state === 'installed' ? 'installed ' : r.state === 'missing' ? 'missing   ' : 'WRONG SIZE';
    process.stdout.write(
      `${r.entry.id.padEnd(width)}  ${mark}  ${r.entry.task.padEnd(19)} ${mb(r.entry.bytes).padStart(7)}  ${r.entry.license}${r.entry.default ? '' : '  (optional)'}\n`,
    );
  }
  const missing = rows.filter((r) => r.state !== 'installed' && r.entry.default).map((r) => r.entry.id);
  if (missing.length > 0)
    process.stdout.write(`\n${missing.length} default model(s) not installed. Install them with: ${installHint(missing, store.dir)}\n`);
  return 0;
}

export interface PullCliOptions extends ModelsCliOptions {
  from?: string;
  all?: boolean;
  force?: boolean;
}

export async function runModelsPull(ids: readonly string[], options: PullCliOptions): Promise<number> {
  const store = openStore(options);
  const wanted = ids.length > 0 ? [...ids] : options.all ? store.status().map((s) => s.entry.id) : store.defaultIds();
  for (const id of wanted) store.entry(id); // unknown ids fail before anything is fetched
  const from = options.from ?? defaultModelSource();
  const bars =
    !options.quiet && process.stderr.isTTY
      ? new cliProgress.MultiBar(
          { format: ' {bar} {percentage}% | {model} {size}', hideCursor: true, clearOnComplete: false },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
  const perModel = new Map<string, cliProgress.SingleBar>();
  try {
    const results = await store.pull(wanted, {
      from,
      force: options.force ?? false,
      onProgress: ({ model, received, total }) => {
        if (!bars) return;
        let bar = perModel.get(model);
        if (!bar) {
          bar = bars.create(total, 0, { model, size: mb(total) });
          perModel.set(model, bar);
        }
        bar.update(received);
      },
    });
    bars?.stop();
    if (options.json) process.stdout.write(`${JSON.stringify({ dir: store.dir, results })}\n`);
    else if (!options.quiet) {
      for (const r of results)
        process.stderr.write(`${r.model}: ${r.action === 'installed' ? 'installed (sha256 verified)' : 'already installed'}\n`);
      process.stderr.write(`Models folder: ${store.dir}\n`);
    }
    return 0;
  } finally {
    bars?.stop();
  }
}

export async function runModelsVerify(ids: readonly string[], options: ModelsCliOptions): Promise<number> {
  const store = openStore(options);
  const results = await store.verifyAll(ids.length > 0 ? ids : undefined);
  if (options.json) {
    process.stdout.write(
      `${JSON.stringify({ dir: store.dir, results: results.map((r) => ({ id: r.entry.id, ok: r.ok, path: r.path, ...(r.problem ? { problem: r.problem } : {}) })) })}\n`,
    );
  } else {
    if (results.length === 0) process.stdout.write(`No models installed in ${store.dir}\n`);
    for (const r of results) process.stdout.write(r.ok ? `ok       ${r.entry.id}\n` : `CORRUPT  ${r.entry.id}: ${r.path}: ${r.problem}\n`);
  }
  const bad = results.filter((r) => !r.ok);
  if (bad.length > 0) {
    throw new PortoonError(
      'E_MODEL_CORRUPT',
      `${bad.length} model file(s) failed verification: ${bad.map((r) => r.path).join(', ')}. Reinstall with: ${installHint(
        bad.map((r) => r.entry.id),
        store.dir,
        ['--force'],
      )}`,
      {
        details: { paths: bad.map((r) => r.path) },
      },
    );
  }
  return 0;
}
