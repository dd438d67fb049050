/**
 * Service settings. One table declares every setting once: its command-line flag, its environment
 * variable, its default and its help text. The CLI, the environment reader and the README's
 * configuration table (checked by a test) all come from it. Settings are validated once at start-up,
 * then frozen.
 */
import { availableParallelism } from 'node:os';
import { PortoonError } from '../core/errors.js';

type Kind = 'string' | 'list' | 'int' | 'bool' | 'level' | 'device';

interface Setting {
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
    help: 'Memory for finished job results; beyond it the oldest are forgotten first.',
  },
  rateLimit: {
    flag: '--rate-limit',
    env: 'PORTOON_RATE_LIMIT',
    kind: 'int',
    default: 60,
    min: 0,
    help: 'API requests per minute per client (API key, else IP); 0 turns it off.',
  },
  apiKeys: {
    flag: '--api-keys',
    env: 'PORTOON_API_KEYS',
    kind: 'list',
    shown: 'none (open)',
    help: 'Comma-separated API keys; when set, /api/ routes need `Authorization: Bearer <key>` or `X-API-Key`.',
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
    kind: 'bool',
    shown: 'false',
    help: 'Take the client address from X-Forwarded-For (behind a reverse proxy).',
  },
  shutdownGrace: {
    flag: '--shutdown-grace',
    env: 'PORTOON_SHUTDOWN_GRACE',
    kind: 'int',
    default: 30,
    min: 0,
    help: 'Seconds in-flight work may take to finish after SIGTERM.',
  },
  previewImage: {
    flag: '--preview-image',
    env: 'PORTOON_PREVIEW_IMAGE',
    kind: 'string',
    shown: 'a bundled sample photo',
    help: 'Photo the style previews (`previewUrl`) are rendered from.',
  },
  logLevel: {
    flag: '--log-level',
    env: 'PORTOON_LOG_LEVEL',
    kind: 'level',
    shown: 'info',
    help: 'fatal, error, warn, info, debug, trace or silent.',
  },
} as const satisfies Record<string, Setting>;

export type SettingName = keyof typeof SERVER_SETTINGS;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export interface ServerConfig {
  host: string;
  port: number;
  modelsDir: string | undefined;
  /** Undefined: every catalogued style. */
  styles: readonly string[] | undefined;
  workers: number;
  threads: number;
  device: 'cpu' | 'cuda';
  maxUploadBytes: number;
  maxPixels: number;
  maxQueue: number;
  jobTimeoutMs: number;
  jobTtlMs: number;
  resultMemoryBytes: number;
  rateLimitPerMinute: number;
  apiKeys: readonly string[];
  corsOrigins: readonly string[];
  trustProxy: boolean;
  shutdownGraceMs: number;
  /** Undefined: the bundled sample. */
  previewImage: string | undefined;
  logLevel: (typeof LOG_LEVELS)[number];
}

/** Raw values as strings, by setting name (from flags); anything absent falls back to the environment, then the default. */
export type RawSettings = Partial<Record<SettingName, string>>;

function readSetting(name: SettingName, flags: RawSettings, env: NodeJS.ProcessEnv): { raw: string; source: string } | undefined {
  const setting: Setting = SERVER_SETTINGS[name];
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
  const setting: Setting = SERVER_SETTINGS[name];
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

function parseBool(name: SettingName, flags: RawSettings, env: NodeJS.ProcessEnv): boolean {
  const value = readSetting(name, flags, env);
  if (!value) return false;
  const v = value.raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw bad(value.source, 'true or false', value.raw);
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
    maxPixels: readInt('maxPixels', flags, env),
    maxQueue: readInt('maxQueue', flags, env),
    jobTimeoutMs: readInt('jobTimeout', flags, env) * 1000,
    jobTtlMs: readInt('jobTtl', flags, env) * 1000,
    resultMemoryBytes: readInt('resultMemoryMb', flags, env) * 1024 * 1024,
    rateLimitPerMinute: readInt('rateLimit', flags, env),
    apiKeys: Object.freeze(parseList('apiKeys', flags, env) ?? []),
    corsOrigins: Object.freeze(parseList('corsOrigins', flags, env) ?? []),
    trustProxy: parseBool('trustProxy', flags, env),
    shutdownGraceMs: readInt('shutdownGrace', flags, env) * 1000,
    previewImage: readSetting('previewImage', flags, env)?.raw,
    logLevel: parseChoice('logLevel', flags, env, LOG_LEVELS, 'info'),
  });
}

/** The default of a setting as shown in help and docs. */
export function shownDefault(name: SettingName): string {
  const setting: Setting = SERVER_SETTINGS[name];
  return setting.shown ?? String(setting.default);
}
