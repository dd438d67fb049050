/**
 * The most one request can cost the service under its default limits, against a typical request
 * measured in the same run.
 *
 * Worst case: an upload at the limits (a 10 MB JPEG of ~50 MP holding dozens of faces), sent with the
 * costliest parameters the API accepts — the style with the heaviest background model mixed with the
 * one with the heaviest face model, and background blur (a person-segmentation pass on top) — and
 * processed as the service would: at most `--max-side` px and `--max-faces` faces. Typical: one
 * portrait (1280x960, 5 faces), cartoon style, service defaults.
 *
 *   npm run bench:worst-case -- [--models-dir dir] [--runs 1]
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { parseCartoonizeRequest, type CartoonizeRequest } from '../src/core/request.js';
import { defaultModelsDir } from '../src/node/model-store.js';
import { Portoon } from '../src/node/portoon.js';
import { resolveServerConfig } from '../src/server/config.js';
import { withServiceLimits } from '../src/server/limits.js';
import { machineLine } from './machine.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '1' },
    'models-dir': { type: 'string' },
    portraits: { type: 'string', default: new URL('../../shared/portraits/', import.meta.url).pathname },
  },
});
const runs = Number(values.runs);
const config = resolveServerConfig({}, {});
const portoon = await Portoon.create({
  modelsDir: values['models-dir'] ?? defaultModelsDir(),
  workers: config.workers,
  threads: config.threads,
  maxInputPixels: config.maxPixels,
});

/** A mosaic of a group photo, as large as the pixel limit allows and as a JPEG under the upload limit. */
async function crowdAtTheLimits(): Promise<Buffer> {
  const group = readFileSync(`${values.portraits}/05-group6-stock.jpg`);
  const { width = 0, height = 0 } = await sharp(group).metadata();
  const scale = Math.sqrt(config.maxPixels / (width * height * 6)) * 0.999;
  const tileW = Math.floor(width * scale);
  const tileH = Math.floor(height * scale);
  const tile = await sharp(group).resize(tileW, tileH).jpeg().toBuffer();
  const composite = [0, 1, 2].flatMap((x) => [0, 1].map((y) => ({ input: tile, left: x * tileW, top: y * tileH })));
  const canvas = sharp({ create: { width: tileW * 3, height: tileH * 2, channels: 3, background: '#888' } }).composite(composite);
  for (let quality = 90; quality >= 30; quality -= 10) {
    const bytes = await canvas.clone().jpeg({ quality }).toBuffer();
    if (bytes.length <= config.maxUploadBytes) return bytes;
  }
  throw new Error('could not fit the mosaic under the upload limit');
}

interface Timed {
  ms: number;
  faces: number;
  stylized: number;
  side: number;
  stages: Record<string, number>;
}

async function time(input: Buffer, request: CartoonizeRequest): Promise<Timed> {
  const started = performance.now();
  const { report } = await portoon.run(input, withServiceLimits(request, config));
  return {
    ms: performance.now() - started,
    faces: report.faces.length,
    stylized: report.faces.filter((face) => face.stylized).length,
    side: Math.max(report.width, report.height),
    stages: Object.fromEntries(Object.entries(report.timings).map(([stage, ms]) => [stage, Math.round(ms ?? 0)])),
  };
}

const crowd = await crowdAtTheLimits();
const crowdMeta = await sharp(crowd).metadata();
const typical = readFileSync(`${values.portraits}/12-group-selfie-cafe.jpeg`);
const worstRequest = parseCartoonizeRequest({ style: 'sketch', mix: 'anime', mixWeight: 0.5, background: 'blur' });
const typicalRequest = parseCartoonizeRequest({ style: 'cartoon' });

console.log(machineLine());
console.log(
  `service defaults: max side ${config.maxSide}, max faces ${config.maxFaces}, max pixels ${config.maxPixels}, upload ${config.maxUploadBytes} B, job timeout ${config.jobTimeoutMs / 1000} s, ${config.workers} worker x ${config.threads} threads`,
);
console.log(`worst-case input: ${crowdMeta.width}x${crowdMeta.height} JPEG, ${crowd.length} bytes`);
// Warm-up: loads every model once (the service does this at start-up).
await portoon.preload(['sketch', 'anime', 'cartoon']);
await time(typical, typicalRequest);

const typicalRuns: number[] = [];
const worstRuns: number[] = [];
let worstShape: Omit<Timed, 'ms'> = { faces: 0, stylized: 0, side: 0, stages: {} };
for (let i = 0; i < runs; i += 1) {
  typicalRuns.push((await time(typical, typicalRequest)).ms);
  const worst = await time(crowd, worstRequest);
  worstRuns.push(worst.ms);
  worstShape = worst;
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const typicalMs = median(typicalRuns);
const worstMs = median(worstRuns);
console.log(`typical (1280x960, cartoon): ${Math.round(typicalMs)} ms`);
console.log(
  `worst case (sketch + anime mix, blur; processed at ${worstShape.side} px, ${worstShape.stylized} of ${worstShape.faces} faces stylized): ${Math.round(worstMs)} ms`,
);
console.log(`worst case per stage (ms): ${JSON.stringify(worstShape.stages)}`);
console.log(`worst / typical: ${(worstMs / typicalMs).toFixed(2)}; worst / job timeout: ${(worstMs / config.jobTimeoutMs).toFixed(2)}`);
await portoon.close();
