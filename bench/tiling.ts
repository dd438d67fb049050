/**
 * Cost of full-resolution tiling in the background pass. Baseline, measured in the same run: the
 * same model on the same image in one piece (what a non-tiled design does when memory allows). The
 * ratio tiled / whole is what the seamless, bounded-memory tiling costs in time.
 *
 *   node --import tsx bench/tiling.ts [--runs 3] [--model whitebox-cartoon] [--size 2400x1600] [--tile 1024]
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import type { RawImage } from '../src/core/image.js';
import { runStyleModel } from '../src/core/stylize.js';
import { planTiles, transformTiled } from '../src/core/tiling.js';
import { loadCatalogue } from '../src/node/load-catalogue.js';
import { defaultModelsDir, ModelStore } from '../src/node/model-store.js';
import { OnnxBackend } from '../src/node/onnx-backend.js';
import { machineLine } from './machine.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    model: { type: 'string', default: 'whitebox-cartoon' },
    size: { type: 'string', default: '2400x1600' },
    tile: { type: 'string', default: '1024' },
    photo: { type: 'string', default: new URL('../../shared/portraits/19-city-skyline-noface.jpg', import.meta.url).pathname },
    'models-dir': { type: 'string' },
  },
});
const [width, height] = values.size.split('x').map(Number) as [number, number];
const maxTile = Number(values.tile);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const dir = values['models-dir'] ?? defaultModelsDir();
const catalogue = loadCatalogue(dir);
const backend = new OnnxBackend(new ModelStore(catalogue, dir));
const entry = catalogue.model(values.model);
const { data, info } = await sharp(values.photo)
  .resize(width, height, { fit: 'fill' })
  .removeAlpha()
  .raw()
  .toBuffer({ resolveWithObject: true });
const image: RawImage = { width: info.width, height: info.height, channels: 3, data: new Uint8Array(data) };
const options = { maxTile, overlap: 64, multiple: entry.input.sizeMultiple };
const tiles = planTiles(width, height, options);
const tiledPixels = tiles.reduce((sum, [, , w, h]) => sum + w * h, 0);

await runStyleModel(image, entry, backend); // warm-up (session creation)
const whole: number[] = [];
const tiled: number[] = [];
for (let i = 0; i < Number(values.runs); i++) {
  let start = performance.now();
  await runStyleModel(image, entry, backend);
  whole.push(performance.now() - start);
  start = performance.now();
  await transformTiled(image, (tile) => runStyleModel(tile, entry, backend), options);
  tiled.push(performance.now() - start);
}
console.log(machineLine());
console.log(
  `${values.model} on ${width}x${height}, ${tiles.length} tiles of ${tiles[0]![2]}x${tiles[0]![3]} (max ${maxTile}, overlap >= 64)`,
);
console.log(`pixels through the model: ${(tiledPixels / (width * height)).toFixed(3)} x the image`);
console.log(`whole image (baseline): ${median(whole).toFixed(0)} ms`);
console.log(`tiled:                  ${median(tiled).toFixed(0)} ms`);
console.log(`ratio tiled / whole:    ${(median(tiled) / median(whole)).toFixed(3)}`);
await backend.release();
