/**
 * Every kind of output carries the same provenance, written in one place: stills from the library and
 * the service (watermark id = XMP OutputId = the report's id; the visible label when asked, by the
 * request or by the service's default), C2PA content credentials when a certificate is configured,
 * and every frame of a video (the watermark read back from a decoded frame, the id in the container
 * tags). A certificate that cannot sign is refused when the engine is created, not at the first image.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PortoonError } from '../src/core/errors.js';
import type { RawImage } from '../src/core/image.js';
import { readProvenance, TRAINED_ALGORITHMIC_MEDIA } from '../src/core/provenance.js';
import { readWatermark } from '../src/core/provenance/watermark.js';
import { readC2pa } from '../src/node/c2pa.js';
import { Portoon } from '../src/node/portoon.js';
import { resolveServerConfig } from '../src/server/config.js';
import { createService, type Service } from '../src/server/service.js';
import { makeKey, makeTestCertificates, type TestCertificates } from './helpers/certs.js';
import { describeWithModels, portrait, TEST_MODELS_DIR, TEST_OUTPUT_DIR, video } from './helpers/env.js';
import { loadRgb } from './helpers/images.js';
import { multipart } from './helpers/multipart.js';

const run = promisify(execFile);
const MODELS = ['whitebox-cartoon', 'retinaface-mnet025', 'yunet-face'];
const OUT = join(TEST_OUTPUT_DIR, 'provenance-outputs');
const PHOTO = portrait('04-man-headshot-suit.jpg');

/** Mean red value of a 100x10 strip near the bottom edge, starting at x0 (inside a label there). */
function bottomStrip(image: RawImage, x0: number): number {
  let sum = 0;
  for (let y = image.height - 40; y < image.height - 30; y++)
    for (let x = x0; x < x0 + 100; x++) sum += image.data[(y * image.width + x) * 3]!;
  return sum / 1000;
}

describeWithModels(MODELS)('provenance on every output', () => {
  let portoon: Portoon;
  let certificates: TestCertificates;
  let dir: string;

  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'portoon-provenance-'));
    certificates = await makeTestCertificates(dir);
    portoon = await Portoon.create({ modelsDir: TEST_MODELS_DIR, contentCredentials: certificates });
  });

  afterAll(async () => {
    await portoon?.close();
  });

  it('a still carries one id in its watermark, its XMP, its C2PA manifest and its report', async () => {
    const { image, report } = await portoon.cartoonize(PHOTO, { style: 'cartoon', format: 'jpeg' });
    writeFileSync(join(OUT, 'still.jpg'), image);
    const id = report.provenance?.id;
    expect(id).toMatch(/^[0-9a-f]{12}$/);
    expect(report.provenance).toEqual({ id, label: false, contentCredentials: true });
    const xmp = readProvenance((await sharp(image).metadata()).xmp!.toString());
    expect(xmp).toMatchObject({ id, digitalSourceType: TRAINED_ALGORITHMIC_MEDIA, style: 'cartoon' });
    expect(readWatermark(await loadRgb(image))).toMatchObject({ found: true, id });
    const c2pa = await readC2pa(image, 'jpeg');
    expect(c2pa).toMatchObject({ present: true, valid: true, digitalSourceType: TRAINED_ALGORITHMIC_MEDIA, actions: ['c2pa.created'] });
    expect(c2pa.claimGenerator).toMatch(/^Portoon\//);
    // Re-encoding drops the metadata and the credentials; the watermark stays.
    const reencoded = await sharp(image).jpeg({ quality: 70 }).toBuffer();
    expect((await sharp(reencoded).metadata()).xmp).toBeUndefined();
    expect((await readC2pa(reencoded, 'jpeg')).present).toBe(false);
    expect(readWatermark(await loadRgb(reencoded))).toMatchObject({ found: true, id });
  });

  it('label: true draws the visible label; without it there is none', async () => {
    const labelled = await loadRgb((await portoon.cartoonize(PHOTO, { style: 'cartoon', format: 'png', label: true })).image);
    const plain = await loadRgb((await portoon.cartoonize(PHOTO, { style: 'cartoon', format: 'png' })).image);
    writeFileSync(
      join(OUT, 'labelled.png'),
      await sharp(labelled.data, { raw: { width: labelled.width, height: labelled.height, channels: 3 } })
        .png()
        .toBuffer(),
    );
    // The badge (dark, in the bottom-right corner away from the face) darkens that corner.
    expect(bottomStrip(labelled, labelled.width - 120)).toBeLessThan(bottomStrip(plain, plain.width - 120) * 0.75);
  });

  it('a certificate and key that do not belong together are refused when the engine is created', async () => {
    const otherKey = join(dir, 'other.key');
    await makeKey(otherKey);
    const error = await Portoon.create({
      modelsDir: TEST_MODELS_DIR,
      contentCredentials: { certificatePath: certificates.certificatePath, privateKeyPath: otherKey },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PortoonError);
    expect((error as PortoonError).code).toBe('E_SIGNING_CONFIG');
  });

  it('every frame of a video carries the watermark; the container tags carry the same id', async () => {
    const output = join(OUT, 'clip.mp4');
    const report = await portoon.cartoonizeVideo(video('04-talking-head-man.mp4'), output, {
      style: 'cartoon',
      maxSide: 320,
      duration: 1,
    });
    expect(report.timings.provenance).toBeGreaterThan(0);
    const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'format_tags', '-of', 'json', output]);
    const tags = (JSON.parse(stdout) as { format: { tags: Record<string, string> } }).format.tags;
    const id = tags.PortoonOutputId ?? tags.portoonoutputid;
    expect(id).toMatch(/^[0-9a-f]{12}$/);
    for (const at of ['0.1', '0.8']) {
      const frame = join(OUT, `frame-${at}.png`);
      await run('ffmpeg', ['-v', 'error', '-y', '-ss', at, '-i', output, '-frames:v', '1', frame]);
      expect(readWatermark(await loadRgb(readFileSync(frame)))).toMatchObject({ found: true, id });
    }
  });
});

describeWithModels(MODELS)('provenance settings of the service', () => {
  let service: Service | undefined;

  afterAll(async () => {
    await service?.close();
  });

  it('--label makes the label the default; a request can still say label=false; --c2pa-cert signs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'portoon-provenance-service-'));
    const certificates = await makeTestCertificates(dir);
    const config = resolveServerConfig(
      {
        modelsDir: TEST_MODELS_DIR,
        styles: 'cartoon',
        logLevel: 'silent',
        label: 'true',
        c2paCert: certificates.certificatePath,
        c2paKey: certificates.privateKeyPath,
      },
      {},
    );
    expect([config.label, config.contentCredentials]).toEqual([
      true,
      { certificatePath: certificates.certificatePath, privateKeyPath: certificates.privateKeyPath },
    ]);
    service = await createService(config);
    await service.app.ready();
    const post = async (fields: Record<string, string>): Promise<Buffer> => {
      const body = await multipart({ style: 'cartoon', format: 'png', ...fields }, { bytes: readFileSync(PHOTO), filename: 'me.jpg' });
      const response = await service!.app.inject({ method: 'POST', url: '/api/v1/cartoon', payload: body.payload, headers: body.headers });
      expect(response.statusCode).toBe(200);
      return response.rawPayload;
    };
    const byDefault = await post({});
    const optedOut = await post({ label: 'false' });
    const [labelled, plain] = await Promise.all([loadRgb(byDefault), loadRgb(optedOut)]);
    expect(bottomStrip(labelled, labelled.width - 120)).toBeLessThan(bottomStrip(plain, plain.width - 120) * 0.75);
    expect(await readC2pa(byDefault, 'png')).toMatchObject({ present: true, valid: true });
  });

  it('refuses --c2pa-cert without --c2pa-key, and an unreadable --label', () => {
    expect(() => resolveServerConfig({ c2paCert: '/tmp/cert.pem' }, {})).toThrow(/--c2pa-cert needs --c2pa-key/);
    expect(() => resolveServerConfig({}, { PORTOON_C2PA_KEY: '/tmp/key.pem' })).toThrow(/PORTOON_C2PA_KEY needs --c2pa-cert/);
    expect(() => resolveServerConfig({ label: 'maybe' }, {})).toThrow(/--label: expected true or false, got "maybe"/);
  });
});
