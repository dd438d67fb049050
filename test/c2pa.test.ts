/**
 * Content Credentials (src/node/c2pa.ts) with the real C2PA library, credentials made by the real
 * openssl (a throwaway root CA and a signing certificate it issues) and real images encoded by sharp:
 * every output format is signed and still decodes to the very same pixels, the manifest reads back
 * valid with the AI source type, the action, the claim generator and the parameters, and without any
 * thumbnail; a changed byte of image data is reported as a hash mismatch; unsigned, garbage,
 * truncated and empty bytes never throw; unusable credentials fail at load with a typed error.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { Reader } from '@contentauth/c2pa-node';
import type { Manifest } from '@contentauth/c2pa-types';
import sharp, { type Sharp } from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRAINED_ALGORITHMIC_MEDIA, type ProvenanceInfo } from '../src/core/provenance.js';
import { loadC2paSigner, readC2pa, type C2paSignerConfig, type C2paSigner } from '../src/node/c2pa.js';
import { VERSION } from '../src/node/version.js';
import { makeKey, makeTestCertificates, type TestCertificates, type TestKeyType } from './helpers/certs.js';
import { REPO_ROOT } from './helpers/env.js';
import { rejection } from './helpers/errors.js';

const run = promisify(execFile);

const SIZE = 256;
const PROVENANCE: ProvenanceInfo = {
  software: 'Portoon',
  version: VERSION,
  style: 'anime',
  models: ['animeganv3-jpface-v1', 'animeganv3-hayao36'],
  created: '2025-01-02T03:04:05.000Z',
};
const INFO = { ...PROVENANCE, id: 'out-7f3a9c' };

interface Fixture {
  format: 'jpeg' | 'png' | 'webp' | 'avif';
  extension: string;
  /** What sharp's metadata calls the format. */
  sharpFormat: string;
  /** The status code a changed byte of image data gives (BMFF files are hashed per box). */
  mismatch: string;
  encode: (image: Sharp) => Sharp;
}

const FIXTURES: Fixture[] = [
  {
    format: 'jpeg',
    extension: 'jpg',
    sharpFormat: 'jpeg',
    mismatch: 'assertion.dataHash.mismatch',
    encode: (i) => i.jpeg({ quality: 90 }),
  },
  { format: 'png', extension: 'png', sharpFormat: 'png', mismatch: 'assertion.dataHash.mismatch', encode: (i) => i.png() },
  {
    format: 'webp',
    extension: 'webp',
    sharpFormat: 'webp',
    mismatch: 'assertion.dataHash.mismatch',
    encode: (i) => i.webp({ quality: 90 }),
  },
  { format: 'avif', extension: 'avif', sharpFormat: 'heif', mismatch: 'assertion.bmffHash.mismatch', encode: (i) => i.avif({ effort: 0 }) },
];

/** A 256×256 RGB gradient (red across, green down, blue diagonal). */
function gradient(size = SIZE): Sharp {
  const raw = Buffer.alloc(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = (y * size + x) * 3;
      raw[i] = Math.round((x * 255) / (size - 1));
      raw[i + 1] = Math.round((y * 255) / (size - 1));
      raw[i + 2] = Math.round(((x + y) * 255) / (2 * size - 2));
    }
  }
  return sharp(raw, { raw: { width: size, height: size, channels: 3 } });
}

async function pixels(bytes: Uint8Array): Promise<{ width: number; height: number; format: string | undefined; data: Buffer }> {
  const image = sharp(bytes);
  const { format } = await image.metadata();
  const { data, info } = await image.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, format, data };
}

/** The active manifest as the C2PA library reports it, for what C2paReport does not carry. */
async function activeManifest(bytes: Uint8Array, mimeType: string): Promise<Manifest> {
  const reader = await Reader.fromAsset({ buffer: Buffer.from(bytes), mimeType });
  expect(reader).not.toBeNull();
  const manifest = reader!.getActive();
  expect(manifest).toBeDefined();
  return manifest!;
}

/** Whether a manifest or the file carries a thumbnail of any kind (claim or ingredient). */
function hasThumbnail(manifest: Manifest, bytes: Uint8Array): boolean {
  const labels = (manifest.assertions ?? []).map((a) => a.label);
  return (
    manifest.thumbnail != null ||
    labels.some((label) => label.startsWith('c2pa.thumbnail')) ||
    (manifest.ingredients ?? []).length > 0 ||
    Buffer.from(bytes).includes('c2pa.thumbnail')
  );
}

/** Changes one byte in the middle of the image data: a run of the unsigned file's middle bytes, found in the signed file. */
function flipImageByte(unsigned: Uint8Array, signed: Uint8Array): Buffer {
  const middle = Math.floor(unsigned.length / 2);
  const run = Buffer.from(unsigned.subarray(middle, middle + 32));
  const copy = Buffer.from(signed);
  const at = copy.indexOf(run);
  expect(at).toBeGreaterThan(0);
  expect(copy.lastIndexOf(run)).toBe(at);
  copy[at + 16] = copy[at + 16]! ^ 0x5a;
  return copy;
}

let dir: string;
let certs: TestCertificates;
let signer: C2paSigner;
const unsigned = new Map<string, Buffer>();
const signed = new Map<string, Uint8Array>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portoon-c2pa-'));
  certs = await makeTestCertificates(dir);
  signer = await loadC2paSigner(certs);
  for (const fixture of FIXTURES) {
    const bytes = await fixture.encode(gradient()).toBuffer();
    unsigned.set(fixture.format, bytes);
    signed.set(fixture.format, await signer.sign(bytes, fixture.format, INFO));
  }
});

afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('signing', () => {
  it('takes the algorithm from the key: es256 for the EC P-256 test key', () => {
    expect(signer.algorithm).toBe('es256');
  });

  it.each(FIXTURES)('a signed $format still decodes to the same pixels at the same size', async ({ format, sharpFormat }) => {
    const before = await pixels(unsigned.get(format)!);
    const after = await pixels(signed.get(format)!);
    expect(signed.get(format)!.length).toBeGreaterThan(unsigned.get(format)!.length);
    expect(after.format).toBe(sharpFormat);
    expect([after.width, after.height]).toEqual([SIZE, SIZE]);
    expect(after.data.equals(before.data)).toBe(true);
  });

  it.each(FIXTURES)('a signed $format reads back as a valid, AI-labelled manifest', async ({ format, extension }) => {
    const report = await readC2pa(signed.get(format)!, format);
    expect(report).toEqual({
      present: true,
      valid: true,
      // The throwaway CA is in no trust list: the signature and hashes verify, the signer is not trusted.
      status: ['signingCredential.untrusted'],
      claimGenerator: `Portoon/${VERSION}`,
      digitalSourceType: TRAINED_ALGORITHMIC_MEDIA,
      actions: ['c2pa.created'],
      signer: 'Portoon Test',
      title: `portoon-anime.${extension}`,
    });
  });

  it.each(FIXTURES)(
    'the $format manifest holds the action with software agent, style, models and output id, and no thumbnail',
    async ({ format }) => {
      const bytes = signed.get(format)!;
      const manifest = await activeManifest(bytes, `image/${format}`);
      expect(manifest.claim_generator_info?.[0]).toMatchObject({ name: 'Portoon', version: VERSION });
      const actions = manifest.assertions?.filter((a) => a.label === 'c2pa.actions.v2') ?? [];
      expect(actions).toHaveLength(1);
      expect(actions[0]!.data).toEqual({
        actions: [
          {
            action: 'c2pa.created',
            digitalSourceType: TRAINED_ALGORITHMIC_MEDIA,
            softwareAgent: { name: 'Portoon', version: VERSION },
            when: INFO.created,
            parameters: {
              description: 'AI-generated cartoon made with Portoon (style anime)',
              style: 'anime',
              models: ['animeganv3-jpface-v1', 'animeganv3-hayao36'],
              id: 'out-7f3a9c',
            },
          },
        ],
      });
      expect(hasThumbnail(manifest, bytes)).toBe(false);
    },
  );

  it('the thumbnail check does see the thumbnail the library adds when it is not turned off', async () => {
    const { Builder, LocalSigner } = await import('@contentauth/c2pa-node');
    const { readFile } = await import('node:fs/promises');
    const library = LocalSigner.newSigner(await readFile(certs.certificatePath), await readFile(certs.privateKeyPath), 'es256');
    const builder = Builder.withJson({
      claim_generator_info: [{ name: 'Portoon', version: VERSION }],
      assertions: [
        { label: 'c2pa.actions.v2', data: { actions: [{ action: 'c2pa.created', digitalSourceType: TRAINED_ALGORITHMIC_MEDIA }] } },
      ],
    } as Manifest);
    const output: { buffer: Buffer | null } = { buffer: null };
    builder.sign(library, { buffer: unsigned.get('jpeg')!, mimeType: 'image/jpeg' }, output);
    expect(hasThumbnail(await activeManifest(output.buffer!, 'image/jpeg'), output.buffer!)).toBe(true);
  });

  it('leaves out the output id when none is given', async () => {
    const bytes = await signer.sign(unsigned.get('png')!, 'png', PROVENANCE);
    const manifest = await activeManifest(bytes, 'image/png');
    const data = manifest.assertions?.find((a) => a.label === 'c2pa.actions.v2')?.data as { actions: { parameters: object }[] };
    expect(Object.keys(data.actions[0]!.parameters).sort()).toEqual(['description', 'models', 'style']);
  });

  it.each(FIXTURES)(
    'a $format whose image data changed after signing is reported invalid, with the hash mismatch',
    async ({ format, mismatch }) => {
      const tampered = flipImageByte(unsigned.get(format)!, signed.get(format)!);
      const report = await readC2pa(tampered, format);
      expect(report.present).toBe(true);
      expect(report.valid).toBe(false);
      expect(report.status).toContain(mismatch);
      expect(report.status).toContain('signingCredential.untrusted');
    },
  );

  it('a signed file cut short anywhere never throws and is never valid', async () => {
    for (const fixture of FIXTURES) {
      const bytes = signed.get(fixture.format)!;
      for (const fraction of [0.02, 0.25, 0.5, 0.75, 0.97]) {
        const cut = bytes.subarray(0, Math.floor(bytes.length * fraction));
        const report = await readC2pa(cut, fixture.format);
        expect(report.valid, `${fixture.format} cut at ${fraction}`).toBe(false);
      }
    }
  });

  it('a manifest that is there but cannot be read is present and not valid, with the reason', async () => {
    // The last 12 bytes of a PNG are the IEND chunk; a huge length in its header breaks the container.
    const broken = Buffer.from(signed.get('png')!);
    broken[broken.length - 10] = 0xff;
    const report = await readC2pa(broken, 'png');
    expect(report.present).toBe(true);
    expect(report.valid).toBe(false);
    expect(report.error).toMatch(/PNG/);
  });

  it('refuses a format it does not sign, and reports a failure to sign an image as a typed error', async () => {
    const gif = await rejection(signer.sign(unsigned.get('png')!, 'gif', INFO));
    expect(gif.code).toBe('E_BAD_OPTION');
    expect(gif.message).toMatch(/jpeg, png, webp, avif.*'gif'/);
    const garbage = await rejection(signer.sign(new TextEncoder().encode('not an image at all'), 'jpeg', INFO));
    expect(garbage.code).toBe('E_OUTPUT_FAILED');
    expect(garbage.message).toMatch(/^Content Credentials \(C2PA\) could not be added to the jpg output: /);
  });
});

describe('reading', () => {
  it.each(FIXTURES)('an unsigned $format has no manifest', async ({ format }) => {
    expect(await readC2pa(unsigned.get(format)!, format)).toEqual({ present: false, valid: false, status: [], actions: [] });
  });

  it('unsigned GIF and TIFF read as having no manifest', async () => {
    expect((await readC2pa(await gradient(64).gif().toBuffer(), 'gif')).present).toBe(false);
    expect((await readC2pa(await gradient(64).tiff().toBuffer(), 'tiff')).present).toBe(false);
  });

  it('garbage, truncated and empty bytes never throw and have no manifest', async () => {
    const inputs: [string, Uint8Array][] = [
      ['empty', new Uint8Array(0)],
      ['text', new TextEncoder().encode('hello, this is not an image')],
      ['random', Uint8Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24)],
      ['jpeg header only', unsigned.get('jpeg')!.subarray(0, 100)],
      ['png signature only', unsigned.get('png')!.subarray(0, 8)],
    ];
    for (const [name, bytes] of inputs) {
      for (const fixture of FIXTURES) {
        const report = await readC2pa(bytes, fixture.format);
        expect(report, `${name} as ${fixture.format}`).toEqual({ present: false, valid: false, status: [], actions: [] });
      }
    }
  });

  it('a format it does not know is a typed error', async () => {
    const error = await rejection(readC2pa(unsigned.get('png')!, 'bmp'));
    expect(error.code).toBe('E_BAD_OPTION');
  });

  it('loads the C2PA native module only when credentials are first signed or read', async () => {
    const script = `
      import { createRequire } from 'node:module';
      const c2pa = await import(${JSON.stringify(pathToFileURL(join(REPO_ROOT, 'src/node/c2pa.ts')).href)});
      const require = createRequire(import.meta.url);
      const loaded = () => Object.keys(require.cache).some((path) => path.includes('c2pa-node') && path.endsWith('.node'));
      const before = loaded();
      await c2pa.readC2pa(new Uint8Array([0xff, 0xd8, 0xff]), 'jpeg');
      console.log(JSON.stringify({ before, after: loaded() }));
    `;
    const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: REPO_ROOT,
      timeout: 60_000,
    });
    expect(JSON.parse(stdout.trim())).toEqual({ before: false, after: true });
  });
});

describe('credentials', () => {
  async function loadError(
    config: C2paSignerConfig,
  ): Promise<{ code: string; message: string; details: Readonly<Record<string, unknown>> }> {
    return rejection(loadC2paSigner(config));
  }

  it.each([
    ['ec-p384', 'es384'],
    ['ed25519', 'ed25519'],
    ['rsa-pss', 'ps256'],
  ] as [TestKeyType, string][])('a %s key signs with %s, and the manifest validates', async (keyType, algorithm) => {
    const keyDir = join(dir, keyType);
    await mkdir(keyDir);
    const other = await loadC2paSigner(await makeTestCertificates(keyDir, keyType));
    expect(other.algorithm).toBe(algorithm);
    const report = await readC2pa(await other.sign(unsigned.get('jpeg')!, 'jpeg', INFO), 'jpeg');
    expect(report.valid).toBe(true);
    expect(report.status).toEqual(['signingCredential.untrusted']);
  });

  it('a private key that does not belong to the certificate fails at load', async () => {
    const wrongKey = join(dir, 'wrong.key');
    await makeKey(wrongKey, 'ec-p256');
    const error = await loadError({ certificatePath: certs.certificatePath, privateKeyPath: wrongKey });
    expect(error.code).toBe('E_SIGNING_CONFIG');
    expect(error.message).toContain(`The C2PA signing private key ${wrongKey} does not match the certificate in ${certs.certificatePath}`);
  });

  it('missing files fail at load, naming the file', async () => {
    const missing = join(dir, 'nope.pem');
    const noCert = await loadError({ certificatePath: missing, privateKeyPath: certs.privateKeyPath });
    expect(noCert.code).toBe('E_SIGNING_CONFIG');
    expect(noCert.message).toBe(`The C2PA signing certificate file ${missing} does not exist`);
    expect(noCert.details).toEqual({ path: missing });
    const noKey = await loadError({ certificatePath: certs.certificatePath, privateKeyPath: missing });
    expect(noKey.code).toBe('E_SIGNING_CONFIG');
    expect(noKey.message).toBe(`The C2PA signing private key file ${missing} does not exist`);
  });

  it('files that are not a certificate or not a key fail at load', async () => {
    const notCert = await loadError({ certificatePath: certs.privateKeyPath, privateKeyPath: certs.privateKeyPath });
    expect(notCert.code).toBe('E_SIGNING_CONFIG');
    expect(notCert.message).toMatch(/holds no PEM certificate/);
    const junk = join(dir, 'junk.key');
    await writeFile(junk, 'not a key\n');
    const notKey = await loadError({ certificatePath: certs.certificatePath, privateKeyPath: junk });
    expect(notKey.code).toBe('E_SIGNING_CONFIG');
    expect(notKey.message).toMatch(/private key .* cannot be parsed/);
  });

  it('a certificate C2PA refuses (the self-signed CA itself) fails at load, with the reason', async () => {
    const error = await loadError({ certificatePath: certs.caPath, privateKeyPath: join(dir, 'ca.key') });
    expect(error.code).toBe('E_SIGNING_CONFIG');
    expect(error.message).toMatch(/^C2PA refuses to sign with this certificate and key: .*self-signed/);
  });

  it('a time-stamp authority URL that is not http(s) fails at load', async () => {
    const error = await loadError({ ...certs, timestampUrl: 'ftp://tsa.example/' });
    expect(error.code).toBe('E_SIGNING_CONFIG');
    expect(error.message).toMatch(/must be http or https/);
  });
});
