/**
 * Service settings. One table declares every setting once: its command-line flag, its environment
 * variable, its default and its help text. The CLI, the environment reader and the README's
 * configuration table (checked by a test) all come from it. Settings are validated once at start-up,
 * then frozen.
 */
import { isIP } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PortoonError } from '../core/errors.js';
import { parseRedisUrl } from '../queue/redis/connection.js';

type Kind = 'string' | 'list' | 'int' | 'boolean' | 'level' | 'device' | 'proxy' | 'url' | 'redis' | 'json';

export interface Setting {
  flag: string;
  env: string;
  kind: Kind;
  /** The default of numeric settings. */
  default?: number;
  /** The default as shown to users, when it is not a plain number. */
  shown?: string;
  help: string;
  min?: number;
  max?: number;
}

export const SERVER_SETTINGS = {
  host: {
    flag: '--host',
    env: 'HOST',
    kind: 'string',
    shown: '127.0.0.1',
    help: 'Address to listen on; 0.0.0.0 for every interface (containers).',
  },
  port: { flag: '--port', env: 'PORT', kind: 'int', default: 8080, min: 0, max: 65535, help: 'TCP port; 0 picks a free one.' },
  modelsDir: {
    flag: '--models-dir',
    env: 'PORTOON_MODELS',
    kind: 'string',
    shown: 'per-user cache',
    help: 'Folder of installed models and style manifests.',
  },
  styles: {
    flag: '--styles',
    env: 'PORTOON_STYLES',
    kind: 'list',
    shown: 'every style',
    help: 'Comma-separated styles to serve; their models are loaded at start-up.',
  },
  workers: {
    flag: '--workers',
    env: 'PORTOON_WORKERS',
    kind: 'int',
    default: 1,
    min: 1,
    max: 64,
    help: 'Worker threads, i.e. images processed at the same time.',
  },
  threads: {
    flag: '--threads',
    env: 'PORTOON_THREADS',
    kind: 'int',
    shown: 'cores / workers',
    min: 1,
    max: 256,
    help: 'Inference threads per worker.',
  },
  device: { flag: '--device', env: 'PORTOON_DEVICE', kind: 'device', shown: 'cpu', help: 'Inference device: cpu or cuda.' },
  maxUploadMb: {
    flag: '--max-upload-mb',
    env: 'PORTOON_MAX_UPLOAD_MB',
    kind: 'int',
    default: 10,
    min: 1,
    max: 1024,
    help: 'Largest accepted upload, in MB (413 beyond).',
  },
  maxVideoUploadMb: {
    flag: '--max-video-upload-mb',
    env: 'PORTOON_MAX_VIDEO_UPLOAD_MB',
    kind: 'int',
    default: 512,
    min: 1,
    max: 65_536,
    help: 'Largest accepted video upload, in MB (413 beyond); videos are stored on disk, never held in memory.',
  },
  maxSide: {
    flag: '--max-side',
    env: 'PORTOON_MAX_SIDE',
    kind: 'int',
    default: 1536,
    min: 16,
    max: 100_000,
    help: 'Longest side processed, in pixels: larger photos are shrunk to it; a request may ask for less (`maxSide`), not more.',
  },
  maxFaces: {
    flag: '--max-faces',
    env: 'PORTOON_MAX_FACES',
    kind: 'int',
    default: 8,
    min: 0,
    max: 1000,
    help: 'Most faces stylized one by one per image (the largest); the rest get the background style.',
  },
  maxPixels: {
    flag: '--max-pixels',
    env: 'PORTOON_MAX_PIXELS',
    kind: 'int',
    default: 50000000,
    min: 1,
    help: 'Largest accepted image, in pixels (422 beyond).',
  },
  maxQueue: {
    flag: '--max-queue',
    env: 'PORTOON_MAX_QUEUE',
    kind: 'int',
    default: 8,
    min: 0,
    max: 10_000,
    help: 'Images that may wait for a worker; beyond it requests get 503 with Retry-After.',
  },
  jobTimeout: {
    flag: '--job-timeout',
    env: 'PORTOON_JOB_TIMEOUT',
    kind: 'int',
    default: 120,
    min: 1,
    help: 'Seconds one image may take once started (504 beyond).',
  },
  videoTimeout: {
    flag: '--video-timeout',
    env: 'PORTOON_VIDEO_TIMEOUT',
    kind: 'int',
    default: 3600,
    min: 1,
    help: 'Seconds one video may take once started (504 beyond).',
  },
  jobsDir: {
    flag: '--jobs-dir',
    env: 'PORTOON_JOBS_DIR',
    kind: 'string',
    shown: 'a private temporary folder',
    help: 'Folder for job inputs and results (uploads wait there, not in memory).',
  },
  jobTtl: {
    flag: '--job-ttl',
    env: 'PORTOON_JOB_TTL',
    kind: 'int',
    default: 900,
    min: 1,
    help: 'Seconds a finished async job and its result are kept.',
  },
  resultMemoryMb: {
    flag: '--result-memory-mb',
    env: 'PORTOON_RESULT_MEMORY_MB',
    kind: 'int',
    default: 512,
    min: 1,
    help: 'Space for finished job results (files in the jobs folder); beyond it the oldest are forgotten first.',
  },
  queue: {
    flag: '--queue',
    env: 'PORTOON_QUEUE',
    kind: 'redis',
    shown: 'none (jobs run in this process)',
    help: 'Redis URL of a job queue shared by several nodes (redis://host:6379/0): this node accepts jobs and `portoon worker` processes run them.',
  },
  queueName: {
    flag: '--queue-name',
    env: 'PORTOON_QUEUE_NAME',
    kind: 'string',
    shown: 'jobs',
    help: 'With --queue: the queue’s name in Redis; deployments that share one Redis use different names.',
  },
  blobStore: {
    flag: '--blob-store',
    env: 'PORTOON_BLOB_STORE',
    kind: 'string',
    shown: '--jobs-dir, else portoon-QUEUE_NAME in the temporary folder',
    help: 'With --queue: where job files live, the same for every node: a folder all nodes mount, or s3://bucket/prefix?endpoint=… (keys from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).',
  },
  rateLimit: {
    flag: '--rate-limit',
    env: 'PORTOON_RATE_LIMIT',
    kind: 'int',
    default: 60,
    min: 0,
    help: 'Requests that start work, per minute per client (a valid API key, else the client address); 0 turns it off.',
  },
  apiKeys: {
    flag: '--api-keys',
    env: 'PORTOON_API_KEYS',
    kind: 'list',
    shown: 'none (open)',
    help: 'Comma-separated API keys; when set, every API route but /api/v1/info needs `Authorization: Bearer <key>` or `X-API-Key`, and a job is visible only to its key.',
  },
  corsOrigins: {
    flag: '--cors-origins',
    env: 'PORTOON_CORS_ORIGINS',
    kind: 'list',
    shown: 'none (same origin)',
    help: 'Comma-separated origins allowed to call the API from a browser; `*` for any.',
  },
  trustProxy: {
    flag: '--trust-proxy',
    env: 'PORTOON_TRUST_PROXY',
    kind: 'proxy',
    shown: 'false',
    help: 'Reverse proxies to trust for X-Forwarded-For: a number of hops (`true` = 1), or their addresses/CIDRs (a,b); the client is the address the outermost trusted proxy saw.',
  },
  publicUrl: {
    flag: '--public-url',
    env: 'PORTOON_PUBLIC_URL',
    kind: 'url',
    shown: 'the address each request came to',
    help: 'Base URL clients reach the service at (behind a proxy, e.g. https://toon.example.com); the OpenAPI document names it as the server.',
  },
  shutdownGrace: {
    flag: '--shutdown-grace',
    env: 'PORTOON_SHUTDOWN_GRACE',
    kind: 'int',
    default: 30,
    min: 0,
    help: 'Seconds accepted work may take to finish after SIGTERM (the listener stays open meanwhile; /readyz answers 503).',
  },
  label: {
    flag: '--label',
    env: 'PORTOON_LABEL',
    kind: 'boolean',
    shown: 'false',
    help: 'Draw the visible "AI-generated" label on every output whose request does not set `label`.',
  },
  watermarkKey: {
    flag: '--watermark-key',
    env: 'PORTOON_WATERMARK_KEY',
    kind: 'string',
    shown: "Portoon's public key",
    help: 'Key of the invisible watermark (written and read by /api/v1/verify). A secret key of your own makes marks only you can read or forge.',
  },
  c2paCert: {
    flag: '--c2pa-cert',
    env: 'PORTOON_C2PA_CERT',
    kind: 'string',
    shown: 'none (no C2PA)',
    help: 'PEM certificate chain (signing certificate first, then its CA) to sign every output with C2PA content credentials; needs --c2pa-key.',
  },
  c2paKey: {
    flag: '--c2pa-key',
    env: 'PORTOON_C2PA_KEY',
    kind: 'string',
    shown: 'none',
    help: 'PEM private key of the --c2pa-cert certificate.',
  },
  previewImage: {
    flag: '--preview-image',
    env: 'PORTOON_PREVIEW_IMAGE',
    kind: 'string',
    shown: 'a bundled sample photo',
    help: 'Photo the style previews (`previewUrl`) are rendered from.',
  },
  iceServers: {
    flag: '--ice-servers',
    env: 'PORTOON_ICE_SERVERS',
    kind: 'json',
    shown: 'none',
    help: 'STUN/TURN servers for video calls (/call), a JSON array of RTCIceServer: [{"urls":"stun:stun.example.com:3478"}]; calls across NATs need them.',
  },
  callRoomTtl: {
    flag: '--call-room-ttl',
    env: 'PORTOON_CALL_ROOM_TTL',
    kind: 'int',
    default: 3600,
    min: 1,
    max: 604_800,
    help: 'Seconds a video call room is kept while nobody is in it; joining it later fails.',
  },
  maxCallRooms: {
    flag: '--max-call-rooms',
    env: 'PORTOON_MAX_CALL_ROOMS',
    kind: 'int',
    default: 1000,
    min: 1,
    max: 1_000_000,
    help: 'Video call rooms that may exist at once; beyond it creating one gets 503 with Retry-After.',
  },
  logLevel: {
    flag: '--log-level',
    env: 'PORTOON_LOG_LEVEL',
    kind: 'level',
    shown: 'info',
    help: 'fatal, error, warn, info, debug, trace or silent.',
  },
} as const satisfies Record<string, Setting>;

/** Settings of `portoon worker` alone (it also takes the serve settings listed in WORKER_SETTINGS). */
export const WORKER_ONLY_SETTINGS = {
  metricsPort: {
    flag: '--metrics-port',
    env: 'PORTOON_METRICS_PORT',
    kind: 'int',
    default: 9464,
    min: 0,
    max: 65535,
    help: 'Worker: TCP port of its /metrics, /healthz and /readyz (on --host); 0 picks a free one.',
  },
  lockDuration: {
    flag: '--lock-duration',
    env: 'PORTOON_LOCK_DURATION',
    kind: 'int',
    default: 30,
    min: 1,
    max: 3600,
    help: 'Worker: seconds a job stays locked to its worker without renewal (renewed every half); a job whose worker died is run again by another after it.',
  },
  maxStalls: {
    flag: '--max-stalls',
    env: 'PORTOON_MAX_STALLS',
    kind: 'int',
    default: 3,
    min: 0,
    max: 100,
    help: 'Worker: times one job may lose its worker (killed, out of memory) and be run again before it fails for good.',
  },
} as const satisfies Record<string, Setting>;

const ALL_SETTINGS = { ...SERVER_SETTINGS, ...WORKER_ONLY_SETTINGS };

export type ServeSettingName = keyof typeof SERVER_SETTINGS;
export type SettingName = keyof typeof ALL_SETTINGS;

/** The settings `portoon worker` takes: the engine's and the queue's from the serve table, then its own. */
export const WORKER_SETTINGS: readonly SettingName[] = [
  'host',
  'metricsPort',
  'queue',
  'queueName',
  'blobStore',
  'jobsDir',
  'modelsDir',
  'styles',
  'workers',
  'threads',
  'device',
  'maxPixels',
  'label',
  'watermarkKey',
  'c2paCert',
  'c2paKey',
  'jobTtl',
  'lockDuration',
  'maxStalls',
  'shutdownGrace',
  'logLevel',
];

/** Which X-Forwarded-For hops are believed (see fastify's `trustProxy`). Never "all": the leftmost entry is whatever the client wrote. */
export type TrustProxy = false | number | readonly string[];

/**
 * The setting in the form fastify takes: a hop count becomes "believe the first N hops, counted from
 * this server", so the client is the address the farthest trusted proxy saw, never the leftmost entry
 * of X-Forwarded-For (which the client writes itself).
 */
export function trustProxyOption(trust: TrustProxy): false | string[] | ((address: string, hop: number) => boolean) {
  if (trust === false) return false;
  if (typeof trust === 'number') return (_address, hop) => hop < trust;
  return [...trust];
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export interface ServerConfig extends ProvenanceSettings {
  host: string;
  port: number;
  modelsDir: string | undefined;
  /** Undefined: every catalogued style. */
  styles: readonly string[] | undefined;
  workers: number;
  threads: number;
  device: 'cpu' | 'cuda';
  maxUploadBytes: number;
  maxVideoUploadBytes: number;
  /** Longest side processed; requests may ask for less. */
  maxSide: number;
  /** Most faces stylized one by one per image. */
  maxFaces: number;
  maxPixels: number;
  maxQueue: number;
  jobTimeoutMs: number;
  videoTimeoutMs: number;
  /** Undefined: a private temporary folder. */
  jobsDir: string | undefined;
  jobTtlMs: number;
  resultMemoryBytes: number;
  /** Undefined: jobs run in this process. A validated redis:// URL otherwise. */
  queue: string | undefined;
  queueName: string;
  /** Where a queue's job files live (a folder or an s3:// URL); undefined without --queue. */
  blobStore: string | undefined;
  rateLimitPerMinute: number;
  apiKeys: readonly string[];
  corsOrigins: readonly string[];
  /** false: the socket's address is the client; a number: that many proxy hops; a list: the proxies' addresses or CIDRs. */
  trustProxy: TrustProxy;
  /** Undefined: the document names the address each request came to. No trailing slash. */
  publicUrl: string | undefined;
  shutdownGraceMs: number;
  /** Undefined: the bundled sample. */
  previewImage: string | undefined;
  /** STUN/TURN servers the call page is given; empty: host candidates only (calls on one network). */
  iceServers: readonly IceServer[];
  /** How long a call room is kept while nobody is in it. */
  callRoomTtlMs: number;
  maxCallRooms: number;
  logLevel: (typeof LOG_LEVELS)[number];
}

/** The marks outputs get besides their XMP label (see `--label`, `--watermark-key`, `--c2pa-cert`). */
export interface ProvenanceSettings {
  /** The visible label's default for requests that do not set it. */
  label: boolean;
  /** Undefined: Portoon's public key. */
  watermarkKey: string | undefined;
  /** Undefined: outputs are not signed with C2PA. */
  contentCredentials: { certificatePath: string; privateKeyPath: string } | undefined;
}

function readBoolean(name: SettingName, flags: RawSettings, env: NodeJS.ProcessEnv): boolean {
  const value = readSetting(name, flags, env);
  if (!value) return false;
  const v = value.raw.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  throw bad(value.source, 'true or false', value.raw);
}

function readProvenanceSettings(flags: RawSettings, env: NodeJS.ProcessEnv): ProvenanceSettings {
  const key = readSetting('watermarkKey', flags, env)?.raw;
  const cert = readSetting('c2paCert', flags, env);
  const privateKey = readSetting('c2paKey', flags, env);
  if ((cert === undefined) !== (privateKey === undefined)) {
    const given = cert ?? privateKey!;
    throw new PortoonError(
      'E_BAD_OPTION',
      `${given.source} needs ${cert ? '--c2pa-key (PORTOON_C2PA_KEY)' : '--c2pa-cert (PORTOON_C2PA_CERT)'} too: C2PA signing takes a certificate and its private key`,
      { details: { setting: given.source } },
    );
  }
  return {
    label: readBoolean('label', flags, env),
    watermarkKey: key === undefined || key === '' ? undefined : key,
    contentCredentials: cert && privateKey ? { certificatePath: cert.raw, privateKeyPath: privateKey.raw } : undefined,
  };
}

/** Raw values as strings, by setting name (from flags); anything absent falls back to the environment, then the default. */
export type RawSettings = Partial<Record<SettingName, string>>;

function readSetting(name: SettingName, flags: RawSettings, env: NodeJS.ProcessEnv): { raw: string; source: string } | undefined {
  const setting: Setting = ALL_SETTINGS[name];
  const fromFlag = flags[name];
  if (fromFlag !== undefined) return { raw: fromFlag, source: setting.flag };
  const fromEnv = env[setting.env];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return { raw: fromEnv, source: setting.env };
  return undefined;
}

function bad(source: string, expected: string, raw: string): PortoonError {
  return new PortoonError('E_BAD_OPTION', `${source}: expected ${expected}, got "${raw}"`, { details: { setting: source } });
}

function readInt(name: SettingName, flags: RawSettings, env: NodeJS.ProcessEnv, fallback?: number): number {
  const setting: Setting = ALL_SETTINGS[name];
  const value = readSetting(name, flags, env);
  if (!value) {
    const byDefault = fallback ?? setting.default;
    if (byDefault === undefined) throw new PortoonError('E_INTERNAL', `Setting ${name} has no default`);
    return byDefault;
  }
  const min = setting.min ?? Number.MIN_SAFE_INTEGER;
  const max = setting.max ?? Number.MAX_SAFE_INTEGER;
  const n = Number(value.raw.trim());
  if (!/^\d+$/.test(value.raw.trim()) || n < min || n > max) {
    throw bad(value.source, `an integer from ${min}${setting.max === undefined ? '' : ` to ${max}`}`, value.raw);
  }
  return n;
}

function parseList(name: SettingName, flags: RawSettings, env: NodeJS.ProcessEnv): string[] | undefined {
  const value = readSetting(name, flags, env);
  if (!value) return undefined;
  return value.raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** A proxy address: an IPv4/IPv6 address, optionally with a CIDR prefix length. */
function isProxyAddress(value: string): boolean {
  const [address = '', prefix, extra] = value.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

function parseTrustProxy(flags: RawSettings, env: NodeJS.ProcessEnv): TrustProxy {
  const value = readSetting('trustProxy', flags, env);
  if (!value) return false;
  const v = value.raw.trim().toLowerCase();
  const expected = 'false, a number of proxy hops, true (one hop), or proxy addresses/CIDRs separated by commas';
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  // One proxy in front (the usual nginx / load balancer) is what "true" means; trusting every hop
  // would let a client choose its own address by writing X-Forwarded-For.
  if (['true', 'yes', 'on'].includes(v)) return 1;
  if (/^\d+$/.test(v)) {
    const hops = Number(v);
    if (hops > 32) throw bad(value.source, expected, value.raw);
    return hops;
  }
  const addresses = v
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  if (addresses.length === 0 || !addresses.every(isProxyAddress)) throw bad(value.source, expected, value.raw);
  return Object.freeze(addresses);
}

/** An absolute http(s) URL, maybe with a path (a service mounted under one), without a query. */
function parsePublicUrl(flags: RawSettings, env: NodeJS.ProcessEnv): string | undefined {
  const value = readSetting('publicUrl', flags, env);
  if (!value) return undefined;
  const expected = 'an http(s) URL such as https://toon.example.com, without query or fragment';
  let url: URL;
  try {
    url = new URL(value.raw.trim());
  } catch {
    throw bad(value.source, expected, value.raw);
  }
  if (!['http:', 'https:'].includes(url.protocol) || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw bad(value.source, expected, value.raw);
  }
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
}

function parseChoice<T extends string>(
  name: SettingName,
  flags: RawSettings,
  env: NodeJS.ProcessEnv,
  choices: readonly T[],
  fallback: T,
): T {
  const value = readSetting(name, flags, env);
  if (!value) return fallback;
  const v = value.raw.trim().toLowerCase();
  if (!(choices as readonly string[]).includes(v)) throw bad(value.source, `one of ${choices.join(', ')}`, value.raw);
  return v as T;
}

/**
 * Resolves every setting (flag, else environment variable, else default), validates it and returns a
 * frozen config.
 * @throws PortoonError E_BAD_OPTION naming the flag or variable at fault.
 */
export function resolveServerConfig(flags: RawSettings = {}, env: NodeJS.ProcessEnv = process.env): Readonly<ServerConfig> {
  const workers = readInt('workers', flags, env);
  const host = readSetting('host', flags, env)?.raw.trim() ?? '127.0.0.1';
  if (host === '') throw bad('--host', 'an address', host);
  const styles = parseList('styles', flags, env);
  return Object.freeze({
    host,
    port: readInt('port', flags, env),
    modelsDir: readSetting('modelsDir', flags, env)?.raw,
    styles: styles && styles.length > 0 ? Object.freeze(styles) : undefined,
    workers,
    threads: readInt('threads', flags, env, Math.max(1, Math.floor(availableParallelism() / workers))),
    device: parseChoice('device', flags, env, ['cpu', 'cuda'] as const, 'cpu'),
    maxUploadBytes: readInt('maxUploadMb', flags, env) * 1024 * 1024,
    maxVideoUploadBytes: readInt('maxVideoUploadMb', flags, env) * 1024 * 1024,
    maxSide: readInt('maxSide', flags, env),
    maxFaces: readInt('maxFaces', flags, env),
    maxPixels: readInt('maxPixels', flags, env),
    maxQueue: readInt('maxQueue', flags, env),
    jobTimeoutMs: readInt('jobTimeout', flags, env) * 1000,
    videoTimeoutMs: readInt('videoTimeout', flags, env) * 1000,
    jobsDir: readSetting('jobsDir', flags, env)?.raw,
    jobTtlMs: readInt('jobTtl', flags, env) * 1000,
    resultMemoryBytes: readInt('resultMemoryMb', flags, env) * 1024 * 1024,
    ...readQueueSettings(flags, env),
    rateLimitPerMinute: readInt('rateLimit', flags, env),
    apiKeys: Object.freeze(parseList('apiKeys', flags, env) ?? []),
    corsOrigins: Object.freeze(parseList('corsOrigins', flags, env) ?? []),
    trustProxy: parseTrustProxy(flags, env),
    publicUrl: parsePublicUrl(flags, env),
    shutdownGraceMs: readInt('shutdownGrace', flags, env) * 1000,
    previewImage: readSetting('previewImage', flags, env)?.raw,
    iceServers: parseIceServers(flags, env),
    callRoomTtlMs: readInt('callRoomTtl', flags, env) * 1000,
    maxCallRooms: readInt('maxCallRooms', flags, env),
    ...readProvenanceSettings(flags, env),
    logLevel: parseChoice('logLevel', flags, env, LOG_LEVELS, 'info'),
  });
}

/** A STUN or TURN server as browsers take it (RTCIceServer). */
export interface IceServer {
  urls: string | readonly string[];
  username?: string;
  credential?: string;
}

const ICE_URL = /^(stun|stuns|turn|turns):[^\s]+$/;

/**
 * The ICE servers: a JSON array of `{ urls, username?, credential? }` with stun:, stuns:, turn: or
 * turns: URLs, and nothing else (a misspelt key would otherwise be dropped without a word).
 */
function parseIceServers(flags: RawSettings, env: NodeJS.ProcessEnv): readonly IceServer[] {
  const value = readSetting('iceServers', flags, env);
  if (!value) return Object.freeze([]);
  const expected =
    'a JSON array of ICE servers such as [{"urls":"stun:stun.example.com:3478"}] (each with "urls": stun:, stuns:, turn: or turns: URLs, and optionally "username" and "credential")';
  // A TURN credential is a secret: the message repeats the value without it.
  const shown = value.raw.replace(/("credential"\s*:\s*")(?:[^"\\]|\\.)*"/g, '$1…"');
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.raw);
  } catch {
    throw bad(value.source, expected, shown);
  }
  if (!Array.isArray(parsed)) throw bad(value.source, expected, shown);
  const servers = parsed.map((entry: unknown): IceServer => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw bad(value.source, expected, shown);
    const { urls, username, credential, ...rest } = entry as Record<string, unknown>;
    const list = typeof urls === 'string' ? [urls] : urls;
    const urlsValid = Array.isArray(list) && list.length > 0 && list.every((url) => typeof url === 'string' && ICE_URL.test(url));
    if (!urlsValid || Object.keys(rest).length > 0 || (username !== undefined && typeof username !== 'string')) {
      throw bad(value.source, expected, shown);
    }
    if (credential !== undefined && typeof credential !== 'string') throw bad(value.source, expected, shown);
    return Object.freeze({
      urls: typeof urls === 'string' ? urls : Object.freeze([...(urls as string[])]),
      ...(username === undefined ? {} : { username }),
      ...(credential === undefined ? {} : { credential }),
    });
  });
  return Object.freeze(servers);
}

/** The queue settings: validated, the blob store defaulted (see `blobStore`'s help). */
function readQueueSettings(
  flags: RawSettings,
  env: NodeJS.ProcessEnv,
): { queue: string | undefined; queueName: string; blobStore: string | undefined } {
  const queue = readSetting('queue', flags, env);
  const name = readSetting('queueName', flags, env);
  const queueName = name?.raw.trim() ?? 'jobs';
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(queueName)) {
    throw bad(name!.source, 'a name of letters, digits, "-", "_" and "." (at most 64)', name!.raw);
  }
  if (!queue) return { queue: undefined, queueName, blobStore: undefined };
  const store = readSetting('blobStore', flags, env)?.raw.trim() || readSetting('jobsDir', flags, env)?.raw.trim();
  return {
    queue: parseRedisUrl(queue.raw, queue.source),
    queueName,
    blobStore: store || join(tmpdir(), `portoon-${queueName}`),
  };
}

/** A setting's declaration (flag, variable, kind, help). */
export function settingOf(name: SettingName): Setting {
  return ALL_SETTINGS[name];
}

/** The default of a setting as shown in help and docs. */
export function shownDefault(name: SettingName): string {
  const setting: Setting = ALL_SETTINGS[name];
  return setting.shown ?? String(setting.default);
}

/** The settings of a `portoon worker` process. */
export interface WorkerConfig extends ProvenanceSettings {
  /** Address of the worker's metrics and health endpoints. */
  host: string;
  metricsPort: number;
  queue: string;
  queueName: string;
  blobStore: string;
  modelsDir: string | undefined;
  /** Styles whose models are loaded at start-up; undefined: every installed style. */
  styles: readonly string[] | undefined;
  workers: number;
  threads: number;
  device: 'cpu' | 'cuda';
  maxPixels: number;
  /** How long the record of a job the sweeper fails is kept. */
  jobTtlMs: number;
  lockDurationMs: number;
  maxStalls: number;
  shutdownGraceMs: number;
  logLevel: (typeof LOG_LEVELS)[number];
}

/**
 * Resolves the settings of `portoon worker` like `resolveServerConfig` does those of serve.
 * @throws PortoonError E_BAD_OPTION naming the flag or variable at fault; without --queue.
 */
export function resolveWorkerConfig(flags: RawSettings = {}, env: NodeJS.ProcessEnv = process.env): Readonly<WorkerConfig> {
  const queue = readQueueSettings(flags, env);
  if (!queue.queue || !queue.blobStore) {
    throw new PortoonError(
      'E_BAD_OPTION',
      'portoon worker needs the job queue to take jobs from: --queue redis://host:6379/0 (or PORTOON_QUEUE)',
      {
        details: { setting: '--queue' },
      },
    );
  }
  const workers = readInt('workers', flags, env);
  const styles = parseList('styles', flags, env);
  const host = readSetting('host', flags, env)?.raw.trim() ?? '127.0.0.1';
  if (host === '') throw bad('--host', 'an address', host);
  return Object.freeze({
    host,
    metricsPort: readInt('metricsPort', flags, env),
    queue: queue.queue,
    queueName: queue.queueName,
    blobStore: queue.blobStore,
    modelsDir: readSetting('modelsDir', flags, env)?.raw,
    styles: styles && styles.length > 0 ? Object.freeze(styles) : undefined,
    workers,
    threads: readInt('threads', flags, env, Math.max(1, Math.floor(availableParallelism() / workers))),
    device: parseChoice('device', flags, env, ['cpu', 'cuda'] as const, 'cpu'),
    maxPixels: readInt('maxPixels', flags, env),
    ...readProvenanceSettings(flags, env),
    jobTtlMs: readInt('jobTtl', flags, env) * 1000,
    lockDurationMs: readInt('lockDuration', flags, env) * 1000,
    maxStalls: readInt('maxStalls', flags, env),
    shutdownGraceMs: readInt('shutdownGrace', flags, env) * 1000,
    logLevel: parseChoice('logLevel', flags, env, LOG_LEVELS, 'info'),
  });
}
