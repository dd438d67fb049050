import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PortoonError } from '../../src/core/errors.js';
import {
  resolveServerConfig,
  SERVER_SETTINGS,
  settingOf,
  shownDefault,
  WORKER_ONLY_SETTINGS,
  type SettingName,
} from '../../src/server/config.js';
import { REPO_ROOT } from '../helpers/env.js';

function codeOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(PortoonError);
    return { code: (error as PortoonError).code, message: (error as PortoonError).message };
  }
  throw new Error('expected an error');
}

describe('service configuration', () => {
  it('has documented defaults: loopback, port 8080, 10 MB uploads, bounded queue, rate limit on', () => {
    const config = resolveServerConfig({}, {});
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      workers: 1,
      maxUploadBytes: 10 * 1024 * 1024,
      maxSide: 1536,
      maxFaces: 8,
      maxPixels: 50_000_000,
      maxQueue: 8,
      jobTimeoutMs: 120_000,
      jobTtlMs: 900_000,
      rateLimitPerMinute: 60,
      apiKeys: [],
      corsOrigins: [],
      trustProxy: false,
      shutdownGraceMs: 30_000,
      logLevel: 'info',
      styles: undefined,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads environment variables, and flags win over them', () => {
    const env = {
      PORT: '9000',
      PORTOON_API_KEYS: 'a, b ,,c',
      PORTOON_STYLES: 'anime,cel',
      PORTOON_TRUST_PROXY: 'yes',
      PORTOON_MAX_UPLOAD_MB: '25',
    };
    const fromEnv = resolveServerConfig({}, env);
    expect(fromEnv).toMatchObject({
      port: 9000,
      apiKeys: ['a', 'b', 'c'],
      styles: ['anime', 'cel'],
      // "yes" means the one reverse proxy in front, never every hop.
      trustProxy: 1,
      maxUploadBytes: 25 * 1024 * 1024,
    });
    expect(resolveServerConfig({ port: '9100' }, env).port).toBe(9100);
  });

  it('--trust-proxy takes a hop count or proxy addresses, never "every hop"', () => {
    expect(resolveServerConfig({ trustProxy: 'false' }, {}).trustProxy).toBe(false);
    expect(resolveServerConfig({ trustProxy: '0' }, {}).trustProxy).toBe(false);
    expect(resolveServerConfig({ trustProxy: 'true' }, {}).trustProxy).toBe(1);
    expect(resolveServerConfig({ trustProxy: '2' }, {}).trustProxy).toBe(2);
    expect(resolveServerConfig({ trustProxy: '10.0.0.1, 192.168.0.0/16,::1' }, {}).trustProxy).toEqual([
      '10.0.0.1',
      '192.168.0.0/16',
      '::1',
    ]);
  });

  it('refuses bad values, naming the flag or variable', () => {
    expect(codeOf(() => resolveServerConfig({ port: 'abc' }, {}))).toEqual({
      code: 'E_BAD_OPTION',
      message: '--port: expected an integer from 0 to 65535, got "abc"',
    });
    expect(codeOf(() => resolveServerConfig({}, { PORT: '70000' })).message).toMatch(/^PORT: /);
    expect(codeOf(() => resolveServerConfig({ workers: '0' }, {})).message).toMatch(/^--workers: /);
    expect(codeOf(() => resolveServerConfig({}, { PORTOON_TRUST_PROXY: 'maybe' })).message).toMatch(
      /^PORTOON_TRUST_PROXY: expected false, a number of proxy hops/,
    );
    expect(codeOf(() => resolveServerConfig({ trustProxy: '10.0.0.1/40' }, {})).code).toBe('E_BAD_OPTION');
    expect(codeOf(() => resolveServerConfig({ trustProxy: '999' }, {})).code).toBe('E_BAD_OPTION');
    expect(codeOf(() => resolveServerConfig({ logLevel: 'loud' }, {})).message).toMatch(/^--log-level: expected one of fatal/);
    expect(codeOf(() => resolveServerConfig({ maxUploadMb: '1.5' }, {})).code).toBe('E_BAD_OPTION');
    for (const url of ['toon.example.com', 'ftp://toon.example.com', 'https://toon.example.com/?a=1', 'https://user:pw@toon.example.com']) {
      expect(
        codeOf(() => resolveServerConfig({ publicUrl: url }, {})),
        url,
      ).toEqual({
        code: 'E_BAD_OPTION',
        message: `--public-url: expected an http(s) URL such as https://toon.example.com, without query or fragment, got "${url}"`,
      });
    }
  });

  it('--public-url: an origin, or an origin and path, without the trailing slash; unset by default', () => {
    expect(resolveServerConfig({}, {}).publicUrl).toBeUndefined();
    expect(resolveServerConfig({ publicUrl: 'https://Toon.Example.com/' }, {}).publicUrl).toBe('https://toon.example.com');
    expect(resolveServerConfig({}, { PORTOON_PUBLIC_URL: 'http://10.0.0.5:8080/portoon/' }).publicUrl).toBe('http://10.0.0.5:8080/portoon');
  });

  it('the README configuration tables list every setting with its flag, variable and default: serve, then worker', () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const rows = [...readme.matchAll(/^\|\s*`(--[a-z0-9-]+)`\s*\|\s*`([A-Z0-9_]+)`\s*\|\s*(.+?)\s*\|\s*(.+?)\s*\|$/gm)].map((m) => ({
      flag: m[1]!,
      env: m[2]!,
      shown: m[3]!,
      help: m[4]!,
    }));
    const names = [...Object.keys(SERVER_SETTINGS), ...Object.keys(WORKER_ONLY_SETTINGS)] as SettingName[];
    const expected = names.map((name) => ({
      flag: settingOf(name).flag,
      env: settingOf(name).env,
      shown: shownDefault(name),
      help: settingOf(name).help,
    }));
    expect(rows).toEqual(expected);
  });
});
