/**
 * The request is validated in one place, at the edge: the library, the HTTP API and the CLI each
 * parse what their caller sent with the one request schema, and refuse the same mistakes with the
 * same code and the same wording (the CLI names its flags). Behind the edge nothing checks again.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { cartoonizeFieldsSchema, parseCartoonizeRequest } from '../src/core/request.js';
import { resolveServerConfig } from '../src/server/config.js';
import { createService, type Service } from '../src/server/service.js';
import { cartoonFormSchema } from '../src/server/upload.js';
import { errorOf } from './helpers/errors.js';
import { describeWithModels, portrait, REPO_ROOT, TEST_MODELS_DIR } from './helpers/env.js';
import { multipart } from './helpers/multipart.js';

const PHOTO = portrait('04-man-headshot-suit.jpg');
const CLI = join(REPO_ROOT, 'dist/cli/main.js');

/** One bad value per kind of check, as each edge spells it, and the message every edge gives. */
const BAD_REQUESTS = [
  {
    library: { strength: 1.5 },
    form: { strength: '1.5' },
    flags: ['--strength', '1.5'],
    message: (name: string) => `Expected a number between 0 and 1 for ${name} but received 1.5`,
    field: ['strength', '--strength'],
  },
  {
    library: { maxSide: 3 },
    form: { maxSide: '3' },
    flags: ['--max-side', '3'],
    message: (name: string) => `Expected a whole number between 16 and 100000 for ${name} but received 3`,
    field: ['maxSide', '--max-side'],
  },
  {
    library: { quality: 50.5 },
    form: { quality: '50.5' },
    flags: ['--quality', '50.5'],
    message: (name: string) => `Expected a whole number between 1 and 100 for ${name} but received 50.5`,
    field: ['quality', '--quality'],
  },
  {
    library: { format: 'bmp' },
    form: { format: 'bmp' },
    flags: ['--format', 'bmp'],
    message: (name: string) => `Expected png, jpeg or webp for ${name} but received bmp`,
    field: ['format', '--format'],
  },
  {
    library: { detector: 'mtcnn' },
    form: { detector: 'mtcnn' },
    flags: ['--detector', 'mtcnn'],
    message: (name: string) => `Expected both, retinaface or yunet for ${name} but received mtcnn`,
    field: ['detector', '--detector'],
  },
  {
    library: { background: 'purple' },
    form: { background: 'purple' },
    flags: ['--background', 'purple'],
    message: (name: string) => `Expected stylize, keep or blur for ${name} but received purple`,
    field: ['background', '--background'],
  },
] as const;

describe('parseCartoonizeRequest', () => {
  it('normalises: jpg is jpeg, the mix is one object with its default weight, preview is a small JPEG', () => {
    expect(parseCartoonizeRequest({ style: 'anime', mix: 'sketch', format: 'jpg' })).toEqual({
      style: 'anime',
      mix: { style: 'sketch', weight: 0.5 },
      format: 'jpeg',
    });
    expect(parseCartoonizeRequest({ style: 'anime', preview: true, maxSide: 1000, quality: 95 })).toEqual({
      style: 'anime',
      maxSide: 256,
      format: 'jpeg',
      quality: 95,
    });
    expect(parseCartoonizeRequest({ style: 'anime', preview: true, format: 'png', maxSide: 100 })).toEqual({
      style: 'anime',
      maxSide: 100,
      format: 'png',
      quality: 80,
    });
    // Undefined fields are not carried along (a worker thread gets exactly what was asked).
    expect(Object.keys(parseCartoonizeRequest({ style: 'cel', strength: undefined }))).toEqual(['style']);
  });

  it.each([
    [{ style: 'cel', strenght: 1 }, 'Unknown parameter "strenght"'],
    [{ strength: 1 }, 'Missing parameter "style"'],
    [{ style: '' }, 'Expected a text of 1 to 64 characters for style but received an empty value'],
    [{ style: 'cel', mixWeight: -0.1 }, 'Expected a number between 0 and 1 for mixWeight but received -0.1'],
    [{ style: 'cel', maxFaces: -1 }, 'Expected a whole number of at least 0 for maxFaces but received -1'],
    [{ style: 'cel', strength: Number.NaN }, 'Expected a number between 0 and 1 for strength but received NaN'],
    [{ style: 'cel', preview: 'yes' }, 'Expected true or false for preview but received yes'],
    [null, 'Expected an object of request parameters but received null'],
    ['anime', 'Expected an object of request parameters but received anime'],
  ])('refuses %j: %s', (raw, message) => {
    expect(errorOf(() => parseCartoonizeRequest(raw))).toMatchObject({ code: 'E_BAD_OPTION', message });
  });
});

describeWithModels(['retinaface-mnet025', 'yunet-face'])('one validation, at the edge', () => {
  let service: Service;

  beforeAll(async () => {
    const config = resolveServerConfig({ modelsDir: TEST_MODELS_DIR, styles: 'cel', logLevel: 'silent' }, {});
    service = await createService(config);
    await service.app.ready();
  }, 60_000);

  afterAll(async () => {
    await service?.close();
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  async function post(fields: Record<string, string>): Promise<LightMyRequestResponse> {
    const body = await multipart({ style: 'cel', ...fields }, { bytes: readFileSync(PHOTO), filename: 'me.jpg' });
    return service.app.inject({ method: 'POST', url: '/api/v1/cartoon', payload: body.payload, headers: body.headers });
  }

  it.each(BAD_REQUESTS.map((bad) => [bad.field[0], bad] as const))(
    '%s: the library, the API and the CLI refuse it with E_BAD_OPTION and the same words',
    async (_field, bad) => {
      const [apiName, flag] = bad.field;
      await expect(service.portoon.cartoonize(PHOTO, { style: 'cel', ...bad.library } as never)).rejects.toMatchObject({
        code: 'E_BAD_OPTION',
        message: bad.message(apiName),
      });

      const response = await post(bad.form);
      expect([response.statusCode, response.json()]).toEqual([400, { error: { code: 'E_BAD_OPTION', message: bad.message(apiName) } }]);

      expect(existsSync(CLI), `${CLI} is built by "npm run build"`).toBe(true);
      const cli = spawnSync(process.execPath, [CLI, PHOTO, '-s', 'cel', '-o', '/dev/null', ...bad.flags], {
        env: { ...process.env, PORTOON_MODELS: TEST_MODELS_DIR },
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect([cli.status, cli.stderr]).toEqual([2, `portoon: ${bad.message(flag)} [E_BAD_OPTION]\n`]);
    },
    60_000,
  );

  it('a valid request is parsed once, by its edge, and nowhere behind it', async () => {
    const library = vi.spyOn(cartoonizeFieldsSchema, 'safeParse');
    const form = vi.spyOn(cartoonFormSchema, 'safeParse');
    await service.portoon.cartoonize(PHOTO, { style: 'cel', maxSide: 64 });
    expect([library.mock.calls.length, form.mock.calls.length]).toEqual([1, 0]);

    const response = await post({ maxSide: '64', detector: 'yunet' });
    expect(response.statusCode).toBe(200);
    // The API's form schema parsed it; the library schema, which the engine would use, never ran.
    expect([library.mock.calls.length, form.mock.calls.length]).toEqual([1, 1]);
  }, 60_000);
});
