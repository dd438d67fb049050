/**
 * Per-stage timings of the whole pipeline on a 1280x960 photo, and how much time goes to anything
 * other than the neural networks.
 *
 * Baseline, measured in the same run: the bare models alone — one onnxruntime session.run per model
 * call the pipeline makes (background at full size, one head and one parsing run per face, the two
 * detectors in four orientations, one confirmation per face in four), on pre-built tensors. The
 * ratio pipeline / baseline is the whole cost of everything around the models (decode, resizing,
 * alignment, masks, tiling, blending, encode).
 *
 *   npm run bench -- [--runs 5] [--style anime] [--photo path]
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { CONFIRM_SIZE } from '../src/core/face/confirm.js';
import { DEFAULT_MAX_SIDE } from '../src/core/face/detect.js';
import { requireHelper } from '../src/core/models/catalogue.js';
import type { ModelEntry } from '../src/core/models/manifest.js';
import { STAGES } from '../src/core/report.js';
import { parseCartoonizeRequest } from '../src/core/request.js';
import { fixedInputSize, roundUpTo } from '../src/core/tensor.js';
import { NodeEngine } from '../src/node/engine.js';
import { defaultModelsDir } from '../src/node/model-store.js';
import { machineLine } from './machine.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    style: { type: 'string', default: 'anime' },
    photo: { type: 'string', default: new URL('../../shared/portraits/12-group-selfie-cafe.jpeg', import.meta.url).pathname },
    'models-dir': { type: 'string' },
  },
});
const runs = Number(values.runs);
const modelsDir = values['models-dir'] ?? defaultModelsDir();
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const engine = new NodeEngine({ modelsDir });
const input = readFileSync(values.photo);
const request = parseCartoonizeRequest({ style: values.style, format: 'jpeg' });

// Warm-up: creates every session once (not part of either measurement).
const warm = await engine.process(input, request);
const { width, height } = warm.report;
const faceCount = warm.report.faces.filter((f) => f.stylized).length;
console.log(machineLine());
console.log(`photo ${values.photo} ${width}x${height}, style ${values.style}, ${faceCount} stylized faces, ${runs} runs (median)\n`);

const stageRuns: Record<string, number[]> = {};
const totals: number[] = [];
const modelTotals: number[] = [];
for (let i = 0; i < runs; i++) {
  const start = performance.now();
  const { report } = await engine.process(input, request);
  totals.push(performance.now() - start);
  modelTotals.push(Object.values(report.inference).reduce((a, b) => a + b, 0));
  for (const stage of STAGES) (stageRuns[stage] ??= []).push(report.timings[stage] ?? 0);
}

// Baseline: the same model calls, bare.
const catalogue = engine.catalogue;
const style = catalogue.style(values.style);
const calls: Array<{ id: string; dims: number[] }> = [];
/** One call of `entry` on a `width` x `height` RGB input, in the model's layout. */
const call = (entry: ModelEntry, w: number, h: number) => ({
  id: entry.id,
  dims: entry.input.layout === 'NCHW' ? [1, 3, h, w] : [1, h, w, 3],
});
if ('model' in style.background) {
  const background = catalogue.model(style.background.model);
  const multiple = background.input.sizeMultiple;
  calls.push(call(background, roundUpTo(width, multiple), roundUpTo(height, multiple)));
}
// One head run per stylized face at the crop size the pipeline chose for it, one parse per face.
const parser = catalogue.helperFor(style, 'faceParser') ?? requireHelper(catalogue, 'face-parser');
const [parseWidth, parseHeight] = fixedInputSize(parser);
for (const face of warm.report.faces.filter((f) => f.stylized)) {
  if (style.head) {
    const size = face.cropSize ?? style.head.faceSize;
    calls.push(call(catalogue.model(style.head.model), size, size));
  }
  calls.push(call(parser, parseWidth, parseHeight));
}
// Both detectors on the ≤640-px copy in four orientations (upright and turned: two shapes), then
// RetinaFace on every found face's aligned confirmation crop, also in four orientations.
const retinaFace = requireHelper(catalogue, 'face-detector-retinaface');
const yuNet = requireHelper(catalogue, 'face-detector-yunet');
const detectSide = (n: number, entry: ModelEntry): number =>
  roundUpTo(n * Math.min(1, DEFAULT_MAX_SIDE / Math.max(width, height)), entry.input.sizeMultiple);
for (const [h, w] of [
  [height, width],
  [width, height],
  [height, width],
  [width, height],
]) {
  for (const detector of [retinaFace, yuNet]) calls.push(call(detector, detectSide(w!, detector), detectSide(h!, detector)));
}
const confirmSide = roundUpTo(CONFIRM_SIZE, retinaFace.input.sizeMultiple);
for (let i = 0; i < warm.report.faces.length * 4; i++) calls.push(call(retinaFace, confirmSide, confirmSide));
const sessions = new Map<string, ort.InferenceSession>();
for (const { id } of calls) {
  if (!sessions.has(id)) {
    sessions.set(
      id,
      await ort.InferenceSession.create(await engine.store.verifiedPath(id), {
        graphOptimizationLevel: 'all',
        interOpNumThreads: 1,
        extra: { session: { intra_op: { allow_spinning: '0' } } },
      }),
    );
  }
}
const feeds = calls.map(({ id, dims }) => {
  const entry = catalogue.model(id);
  const data = new Float32Array(dims.reduce((a, b) => a * b, 1)).map((_, i) => Math.sin(i) * 0.5);
  return { id, feed: { [entry.input.name]: new ort.Tensor('float32', data, dims) } };
});
for (const { id, feed } of feeds) await sessions.get(id)!.run(feed); // warm-up
const baseline: number[] = [];
for (let i = 0; i < runs; i++) {
  const start = performance.now();
  for (const { id, feed } of feeds) await sessions.get(id)!.run(feed);
  baseline.push(performance.now() - start);
}

const rows = STAGES.map((stage) => [stage, median(stageRuns[stage]!)] as const);
for (const [stage, ms] of rows) console.log(`${stage.padEnd(11)} ${ms.toFixed(0).padStart(7)} ms`);
const total = median(totals);
const model = median(modelTotals);
const bare = median(baseline);
console.log(`${'total'.padEnd(11)} ${total.toFixed(0).padStart(7)} ms`);
console.log(`\ninside onnxruntime (pipeline):  ${model.toFixed(0)} ms`);
console.log(
  `outside the models:             ${(total - model).toFixed(0)} ms = ${((100 * (total - model)) / total).toFixed(1)} % of the total, ${((100 * (total - model)) / model).toFixed(1)} % of model time`,
);
console.log(`baseline, bare model calls:     ${bare.toFixed(0)} ms (${calls.length} session.run calls)`);
console.log(`ratio pipeline / bare models:   ${(total / bare).toFixed(3)}`);
await engine.close();
for (const s of sessions.values()) await s.release();
