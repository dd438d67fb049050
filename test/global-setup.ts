/**
 * Installs the real models for the test run from the model mirror into test-output/models, through
 * Portoon's own model store (so every run also exercises mirror install and sha256 verification).
 * In CI a missing mirror or model fails the run; elsewhere model-dependent suites are skipped.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { loadCatalogue } from '../src/node/load-catalogue.js';
import { ModelStore } from '../src/node/model-store.js';
import { IN_CI, MODEL_MIRROR, TEST_MODELS_DIR, TEST_OUTPUT_DIR } from './helpers/env.js';

export default async function setup(): Promise<void> {
  mkdirSync(TEST_OUTPUT_DIR, { recursive: true });
  const catalogue = loadCatalogue();
  const store = new ModelStore(catalogue, TEST_MODELS_DIR);
  if (!existsSync(MODEL_MIRROR)) {
    if (IN_CI) throw new Error(`Model mirror ${MODEL_MIRROR} does not exist; CI needs the real models`);
    console.warn(`[portoon tests] no model mirror at ${MODEL_MIRROR}: model-dependent tests are skipped`);
    return;
  }
  const ids = catalogue.models.map((m) => m.id);
  await store.pull(ids, { from: MODEL_MIRROR });
}
