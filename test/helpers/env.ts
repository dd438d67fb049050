/**
 * Where the real test inputs live. Photos and models are never copied into the repository: photos are
 * read from the shared portraits folder, models are installed by the global setup from the model
 * mirror into test-output/models through Portoon's own model store.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe } from 'vitest';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const PORTRAITS_DIR = resolve(process.env.PORTOON_TEST_PORTRAITS ?? join(REPO_ROOT, '../shared/portraits'));
export const VIDEOS_DIR = resolve(process.env.PORTOON_TEST_VIDEOS ?? join(REPO_ROOT, '../shared/videos'));
export const MODEL_MIRROR = resolve(process.env.PORTOON_MODEL_MIRROR ?? join(REPO_ROOT, '../shared/models'));
export const TEST_OUTPUT_DIR = join(REPO_ROOT, 'test-output');
export const TEST_MODELS_DIR = join(TEST_OUTPUT_DIR, 'models');
export const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

/** A real clip of the shared test videos (see their SOURCES.md). */
export function video(name: string): string {
  return join(VIDEOS_DIR, name);
}

export function portrait(name: string): string {
  return join(PORTRAITS_DIR, name);
}

export function hasTestModels(ids: readonly string[]): boolean {
  return ids.every((id) => existsSync(join(TEST_MODELS_DIR, `${id}.onnx`)));
}

/**
 * `describe` for suites that need real models. Outside CI a machine without the mirror skips them;
 * in CI a missing model is a failure (the global setup has already thrown), never a skip.
 */
export function describeWithModels(ids: readonly string[]): typeof describe | typeof describe.skip {
  return IN_CI || hasTestModels(ids) ? describe : describe.skip;
}
