/**
 * Content Credentials (C2PA): signs Portoon's encoded outputs with a C2PA manifest that says the
 * picture was made by a trained algorithm (IPTC `trainedAlgorithmicMedia`), with which software,
 * style and models, and reads such manifests back with their validation result.
 *
 * The C2PA library (`@contentauth/c2pa-node`, a native module of about 48 MB) is loaded on first use
 * only, so code that never signs or reads credentials never loads it.
 *
 * Signing uses a local certificate chain and private key (PEM). The manifest holds one
 * `c2pa.actions.v2` assertion with a `c2pa.created` action (digital source type, software agent,
 * the style, the model ids and the output id as parameters) and no thumbnail: neither of the output
 * nor of the input photo, which never leaves the machine in any form.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { PortoonError } from '../core/errors.js';
import type { ContentSigner } from '../core/media-port.js';
import { TRAINED_ALGORITHMIC_MEDIA, type ProvenanceInfo } from '../core/provenance.js';
import { SOFTWARE_NAME, VERSION } from './version.js';

type C2paModule = typeof import('@contentauth/c2pa-node');
type LocalSigner = import('@contentauth/c2pa-node').LocalSigner;
/** A manifest definition / a read manifest (the shapes of `@contentauth/c2pa-types`). */
type Manifest = Parameters<C2paModule['Builder']['withJson']>[0];
/** What a Reader reports: the manifests, the active one's label and the validation result. */
type ManifestStore = ReturnType<import('@contentauth/c2pa-node').Reader['json']>;

export interface C2paSignerConfig {
  certificatePath: string;
  privateKeyPath: string;
  /** optional RFC 3161 time-stamp authority URL */
  timestampUrl?: string | undefined;
}

/** The engine's content-signer port (src/core/media-port.ts) over C2PA, with the algorithm the key gave. */
export interface C2paSigner extends ContentSigner {
  /** Signs encoded bytes of this format (jpeg, png, webp or avif) with a C2PA manifest; returns new bytes. */
  sign(bytes: Uint8Array, format: string, info: ProvenanceInfo): Promise<Uint8Array>;
  /** 'es256', 'es384', 'es512', 'ed25519' or 'ps256'. */
  readonly algorithm: string;
}

export interface C2paReport {
  present: boolean;
  /** true when the manifest validates (signature, hashes) — trust of the CA aside */
  valid: boolean;
  /** validation status codes reported by the validator, e.g. 'signingCredential.untrusted' */
  status: string[];
  claimGenerator?: string;
  digitalSourceType?: string;
  actions: string[];
  /** the issuer / common name of the signing certificate */
  signer?: string;
  title?: string;
  /** the human error when a manifest is present but unreadable */
  error?: string;
}

interface FormatInfo {
  mime: string;
  extension: string;
  /** Whether Portoon signs this format (the others can only be read). */
  signable: boolean;
}

const FORMATS: Readonly<Record<string, FormatInfo>> = {
  jpeg: { mime: 'image/jpeg', extension: 'jpg', signable: true },
  png: { mime: 'image/png', extension: 'png', signable: true },
  webp: { mime: 'image/webp', extension: 'webp', signable: true },
  avif: { mime: 'image/avif', extension: 'avif', signable: true },
  gif: { mime: 'image/gif', extension: 'gif', signable: false },
  tiff: { mime: 'image/tiff', extension: 'tif', signable: false },
  heic: { mime: 'image/heic', extension: 'heic', signable: false },
  heif: { mime: 'image/heif', extension: 'heif', signable: false },
};
const FORMAT_ALIASES: Readonly<Record<string, string>> = { jpg: 'jpeg', tif: 'tiff' };
const SIGNABLE = Object.keys(FORMATS).filter((name) => FORMATS[name]!.signable);

function formatInfo(format: string, signing: boolean): FormatInfo {
  const name = format.toLowerCase().replace(/^\.|^image\//g, '');
  const info = FORMATS[FORMAT_ALIASES[name] ?? name];
  if (info === undefined || (signing && !info.signable)) {
    const supported = signing ? SIGNABLE : Object.keys(FORMATS);
    throw new PortoonError(
      'E_BAD_OPTION',
      `Content Credentials (C2PA) ${signing ? 'signing' : 'reading'} supports ${supported.join(', ')}, not '${format}'`,
      {
        details: { format, supported },
      },
    );
  }
  return info;
}

/** The builder must not make a thumbnail of what it signs; readers must not fetch anything remote. */
const BUILDER_SETTINGS = { builder: { thumbnail: { enabled: false } } };
const READER_SETTINGS = { verify: { remote_manifest_fetch: false, ocsp_fetch: false } };

/** Status codes about trust in the signer's certificate authority rather than the integrity of the manifest. */
const TRUST_CODES = new Set(['signingCredential.untrusted', 'timeStamp.untrusted']);

/**
 * The UUID of a C2PA manifest store's JUMBF description box. It is in every file that carries an
 * embedded manifest, whatever the container, so its presence tells "a manifest that cannot be read"
 * from "no manifest".
 */
const MANIFEST_STORE_UUID = Buffer.from('6332706100110010800000aa00389b71', 'hex');

let loading: Promise<C2paModule> | undefined;

/** Loads the C2PA library (and its native module) once, on first use. */
function c2pa(): Promise<C2paModule> {
  loading ??= import('@contentauth/c2pa-node').catch((error: unknown) => {
    loading = undefined;
    throw new PortoonError('E_INTERNAL', `The Content Credentials (C2PA) library could not be loaded: ${messageOf(error)}`, {
      cause: error,
    });
  });
  return loading;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function configError(message: string, details: Record<string, unknown>, cause?: unknown): PortoonError {
  return new PortoonError('E_SIGNING_CONFIG', message, cause === undefined ? { details } : { details, cause });
}

async function readPem(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a folder' : `cannot be read (${messageOf(error)})`;
    throw configError(`The C2PA signing ${what} file ${path} ${reason}`, { path }, error);
  }
}

/** The PEM certificates of a chain file, in order (the signing certificate first). */
function parseChain(pem: Buffer, path: string): X509Certificate[] {
  const blocks = pem.toString('utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw configError(`The C2PA signing certificate file ${path} holds no PEM certificate`, { path });
  return blocks.map((block, index) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      throw configError(`Certificate ${index + 1} in ${path} cannot be parsed: ${messageOf(error)}`, { path, index }, error);
    }
  });
}

/** The C2PA signature algorithm for a private key: ES256/384/512 by curve, Ed25519, PS256 for RSA. */
function algorithmOf(key: KeyObject, path: string): 'es256' | 'es384' | 'es512' | 'ed25519' | 'ps256' {
  const type = key.asymmetricKeyType;
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1') return 'es256';
    if (curve === 'secp384r1') return 'es384';
    if (curve === 'secp521r1') return 'es512';
    throw configError(`The C2PA signing key ${path} is on the elliptic curve ${curve ?? '(unknown)'}; C2PA allows P-256, P-384 and P-521`, {
      path,
      curve,
    });
  }
  if (type === 'ed25519') return 'ed25519';
  if (type === 'rsa-pss' || type === 'rsa') return 'ps256';
  throw configError(
    `The C2PA signing key ${path} is of type ${type ?? '(unknown)'}; C2PA allows EC (P-256, P-384, P-521), Ed25519 and RSA-PSS keys`,
    {
      path,
      type,
    },
  );
}

function checkTimestampUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw configError(`The C2PA time-stamp authority URL '${url}' is not a URL`, { url }, error);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw configError(`The C2PA time-stamp authority URL '${url}' must be http or https`, { url });
  }
}

function titleOf(style: string, extension: string): string {
  return `${SOFTWARE_NAME.toLowerCase()}-${style}.${extension}`;
}

/** The manifest definition for one output. */
function manifestFor(info: ProvenanceInfo, format: FormatInfo): Manifest {
  const parameters: Record<string, unknown> = {
    description: `AI-generated cartoon made with ${info.software} (style ${info.style})`,
    style: info.style,
    models: [...info.models],
  };
  if (info.id !== undefined) parameters.id = info.id;
  const action: Record<string, unknown> = {
    action: 'c2pa.created',
    digitalSourceType: TRAINED_ALGORITHMIC_MEDIA,
    softwareAgent: { name: info.software, version: info.version },
    parameters,
  };
  if (info.created !== '') action.when = info.created;
  return {
    claim_generator_info: [{ name: SOFTWARE_NAME, version: VERSION }],
    title: titleOf(info.style, format.extension),
    format: format.mime,
    assertions: [{ label: 'c2pa.actions.v2', data: { actions: [action] } }],
  } as Manifest;
}

function embedSign(lib: C2paModule, signer: LocalSigner, bytes: Uint8Array, format: FormatInfo, info: ProvenanceInfo): Buffer {
  const builder = lib.Builder.withJson(manifestFor(info, format), BUILDER_SETTINGS);
  const output: { buffer: Buffer | null } = { buffer: null };
  const input = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  builder.sign(signer, { buffer: input, mimeType: format.mime }, output);
  if (output.buffer === null) throw new Error('the C2PA library returned no signed bytes');
  return output.buffer;
}

/**
 * Loads a signer from a certificate chain (PEM: the signing certificate first, then its issuers up
 * to, but not necessarily including, the root) and the signing certificate's private key (PEM). The
 * algorithm follows from the key: EC P-256 → es256, P-384 → es384, P-521 → es512, Ed25519 →
 * ed25519, RSA / RSA-PSS → ps256. Checks everything it can before the first image: the files exist
 * and parse, the key belongs to the signing certificate, the certificate is within its validity, and
 * a probe image signs and verifies (which also catches what the C2PA certificate profile rejects,
 * such as a self-signed certificate or a CA certificate). The probe does not contact the time-stamp
 * authority. Any problem is a `PortoonError` `E_SIGNING_CONFIG`.
 *
 * Signing runs synchronously in the native module on the calling thread (a few milliseconds for a
 * typical output; with a `timestampUrl`, one round trip to the time-stamp authority per image).
 */
export async function loadC2paSigner(config: C2paSignerConfig): Promise<C2paSigner> {
  const { certificatePath, privateKeyPath, timestampUrl } = config;
  if (timestampUrl !== undefined) checkTimestampUrl(timestampUrl);
  const [certificatePem, keyPem] = await Promise.all([readPem(certificatePath, 'certificate'), readPem(privateKeyPath, 'private key')]);
  const chain = parseChain(certificatePem, certificatePath);
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch (error) {
    throw configError(
      `The C2PA signing private key ${privateKeyPath} cannot be parsed: ${messageOf(error)}`,
      { path: privateKeyPath },
      error,
    );
  }
  const algorithm = algorithmOf(key, privateKeyPath);
  const leaf = chain[0]!;
  if (!leaf.checkPrivateKey(key)) {
    throw configError(
      `The C2PA signing private key ${privateKeyPath} does not match the certificate in ${certificatePath} (${leaf.subject.replace(/\n/g, ', ')})`,
      {
        certificatePath,
        privateKeyPath,
      },
    );
  }
  const now = Date.now();
  if (now < Date.parse(leaf.validFrom) || now > Date.parse(leaf.validTo)) {
    throw configError(`The C2PA signing certificate in ${certificatePath} is valid from ${leaf.validFrom} to ${leaf.validTo}, not now`, {
      certificatePath,
      validFrom: leaf.validFrom,
      validTo: leaf.validTo,
    });
  }

  const lib = await c2pa();
  let signer: LocalSigner;
  let probeSigner: LocalSigner;
  try {
    signer = lib.LocalSigner.newSigner(certificatePem, keyPem, algorithm, timestampUrl);
    probeSigner = timestampUrl === undefined ? signer : lib.LocalSigner.newSigner(certificatePem, keyPem, algorithm);
  } catch (error) {
    throw configError(
      `The C2PA signer cannot be made from ${certificatePath} and ${privateKeyPath}: ${messageOf(error)}`,
      { certificatePath, privateKeyPath },
      error,
    );
  }
  await probe(lib, probeSigner, { certificatePath, privateKeyPath });

  return {
    algorithm,
    async sign(bytes, format, info) {
      const target = formatInfo(format, true);
      try {
        return embedSign(lib, signer, bytes, target, info);
      } catch (error) {
        throw new PortoonError(
          'E_OUTPUT_FAILED',
          `Content Credentials (C2PA) could not be added to the ${target.extension} output: ${messageOf(error)}`,
          {
            cause: error,
            details: { format: target.extension, bytes: bytes.byteLength },
          },
        );
      }
    },
  };
}

/** Signs and reads back a small image, so that a credential C2PA refuses fails at load, not on the first output. */
async function probe(lib: C2paModule, signer: LocalSigner, details: Record<string, unknown>): Promise<void> {
  const image = await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 128, g: 128, b: 128 } } })
    .jpeg()
    .toBuffer();
  const info: ProvenanceInfo = { software: SOFTWARE_NAME, version: VERSION, style: 'probe', models: [], created: new Date().toISOString() };
  let signed: Buffer;
  try {
    signed = embedSign(lib, signer, image, FORMATS.jpeg!, info);
  } catch (error) {
    throw configError(`C2PA refuses to sign with this certificate and key: ${messageOf(error)}`, details, error);
  }
  const report = await readC2pa(signed, 'jpeg');
  if (!report.valid) {
    const reason = report.error ?? report.status.filter((code) => !TRUST_CODES.has(code)).join(', ');
    throw configError(`A probe image signed with this certificate and key does not verify: ${reason}`, {
      ...details,
      status: report.status,
    });
  }
}

function emptyReport(present: boolean, error?: string): C2paReport {
  const report: C2paReport = { present, valid: false, status: [], actions: [] };
  if (error !== undefined) report.error = error;
  return report;
}

function hasManifestStore(bytes: Buffer): boolean {
  return bytes.includes(MANIFEST_STORE_UUID);
}

interface ActionLike {
  action?: unknown;
  digitalSourceType?: unknown;
}

/** The actions of every `c2pa.actions` / `c2pa.actions.v2` assertion of a manifest, in order. */
function actionsOf(manifest: Manifest): ActionLike[] {
  const actions: ActionLike[] = [];
  for (const assertion of manifest.assertions ?? []) {
    if (!/^c2pa\.actions(\.v\d+)?$/.test(assertion.label)) continue;
    const list = (assertion.data as { actions?: unknown } | null)?.actions;
    if (Array.isArray(list)) actions.push(...(list.filter((a) => typeof a === 'object' && a !== null) as ActionLike[]));
  }
  return actions;
}

function claimGeneratorOf(manifest: Manifest): string | undefined {
  const info = manifest.claim_generator_info?.[0];
  if (info !== undefined && typeof info.name === 'string') {
    return typeof info.version === 'string' && info.version !== '' ? `${info.name}/${info.version}` : info.name;
  }
  return manifest.claim_generator ?? undefined;
}

/** Every code that is not a success: the store's validation status, then the active manifest's failures and notes. */
function statusCodesOf(store: ManifestStore): string[] {
  const codes = new Set<string>();
  for (const entry of store.validation_status ?? []) codes.add(entry.code);
  const active = store.validation_results?.activeManifest;
  for (const entry of [...(active?.failure ?? []), ...(active?.informational ?? [])]) codes.add(entry.code);
  return [...codes];
}

/**
 * Reads the C2PA manifest embedded in encoded image bytes of this format (`jpeg`, `png`, `webp`,
 * `avif`; `gif`, `tiff`, `heic` and `heif` too) and validates it, offline: remote manifests and
 * certificate status are not fetched, and no trust list is configured, so a manifest signed under a
 * CA of one's own reports `signingCredential.untrusted` in `status` and is still `valid` when its
 * signature and hashes verify. A tampered file is not `valid` and names the mismatch in `status`
 * (e.g. `assertion.dataHash.mismatch`). Bytes without a manifest give `present: false`; bytes that
 * carry a manifest that cannot be read give `present: true`, `valid: false` and the reason in
 * `error`. Never throws on any bytes (only on a format it does not know, `E_BAD_OPTION`).
 */
export async function readC2pa(bytes: Uint8Array, format: string): Promise<C2paReport> {
  const source = formatInfo(format, false);
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.length === 0) return emptyReport(false);
  const lib = await c2pa();
  let store: ManifestStore;
  try {
    const reader = await lib.Reader.fromAsset({ buffer, mimeType: source.mime }, READER_SETTINGS);
    if (reader === null) return emptyReport(false);
    store = reader.json();
  } catch (error) {
    return hasManifestStore(buffer) ? emptyReport(true, messageOf(error)) : emptyReport(false);
  }

  const status = statusCodesOf(store);
  const label = store.active_manifest ?? undefined;
  const manifest = label === undefined ? undefined : store.manifests?.[label];
  if (manifest === undefined) {
    const report = emptyReport(true, 'The manifest store has no active manifest');
    report.status = status;
    return report;
  }
  const state = store.validation_state ?? undefined;
  const valid = state === undefined ? status.every((code) => TRUST_CODES.has(code)) : state !== 'Invalid';
  const actions = actionsOf(manifest);
  const report: C2paReport = {
    present: true,
    valid,
    status,
    actions: actions.map((a) => a.action).filter((name): name is string => typeof name === 'string'),
  };
  const claimGenerator = claimGeneratorOf(manifest);
  if (claimGenerator !== undefined) report.claimGenerator = claimGenerator;
  const sourceType = actions.find((a) => typeof a.digitalSourceType === 'string')?.digitalSourceType as string | undefined;
  if (sourceType !== undefined) report.digitalSourceType = sourceType;
  const signature = manifest.signature_info;
  const signer = signature?.issuer ?? signature?.common_name ?? undefined;
  if (signer !== undefined) report.signer = signer;
  if (typeof manifest.title === 'string') report.title = manifest.title;
  return report;
}
