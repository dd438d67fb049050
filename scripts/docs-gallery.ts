/**
 * `npm run docs:gallery -- [--models-dir dir]`: renders the README's before/after gallery
 * (docs/images/<nn>-original.jpg, -anime.jpg, -cartoon.jpg) from the shared test portraits, so the
 * pictures always show what the current pipeline makes. Each is the full photo cartoonized at its
 * own size, then shrunk to 360 px on the long side.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { defaultModelsDir } from '../src/node/model-store.js';
import { Portoon } from '../src/node/portoon.js';

const { values } = parseArgs({
  options: {
    'models-dir': { type: 'string' },
    portraits: { type: 'string', default: fileURLToPath(new URL('../../shared/portraits/', import.meta.url)) },
  },
});
const PHOTOS = { '01': '01-woman-mask-peace.jpg', '12': '12-group-selfie-cafe.jpeg', '20': '20-woman-curly-hair.png' };
const SIDE = 360;
const out = (name: string): string => fileURLToPath(new URL(`../docs/images/${name}.jpg`, import.meta.url));

const portoon = await Portoon.create({ modelsDir: values['models-dir'] ?? defaultModelsDir() });
try {
  for (const [id, file] of Object.entries(PHOTOS)) {
    const path = `${values.portraits}/${file}`;
    if (!existsSync(path)) throw new Error(`missing portrait ${path}`);
    const shrink = (input: string | Uint8Array) => sharp(input).resize(SIDE, SIDE, { fit: 'inside' }).jpeg({ quality: 82, mozjpeg: true });
    await shrink(path).toFile(out(`${id}-original`));
    for (const style of ['anime', 'cartoon']) {
      const { image } = await portoon.cartoonize(path, { style, format: 'png' });
      await shrink(image).toFile(out(`${id}-${style}`));
      console.log(`wrote ${out(`${id}-${style}`)}`);
    }
  }
} finally {
  await portoon.close();
}
