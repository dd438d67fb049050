/**
 * Who may call the API, and whose bucket a request spends: API keys guard every spelling of every API
 * URL (checked over a real socket, since only a socket carries raw request targets such as
 * percent-escapes and absolute-form), jobs belong to the key that made them, the rate limit is keyed
 * on valid keys only, and X-Forwarded-For is believed only as far as the configured proxies.
 */
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { resolveServerConfig, type RawSettings } from '../../src/server/config.js';
import { createService, type Service } from '../../src/server/service.js';
import { describeWithModels, portrait, TEST_MODELS_DIR } from '../helpers/env.js';
import { multipart } from '../helpers/multipart.js';
import { waitFor } from '../helpers/wait.js';

const MODELS = ['retinaface-mnet025', 'yunet-face'];
const PHOTO = readFileSync(portrait('01-woman-mask-peace.jpg'));
const KEY_1 = 'key-one-0123456789';
const KEY_2 = 'key-two-9876543210';

async function startService(flags: RawSettings): Promise<Service> {
  const config = resolveServerConfig({ modelsDir: TEST_MODELS_DIR, styles: 'cel', logLevel: 'silent', ...flags }, {});
  const service = await createService(config);
  await service.app.ready();
  return service;
}

interface RawAnswer {
  status: number;
  code: string | undefined;
}

/** Sends one request line exactly as written (no client-side normalisation) and reads the answer. */
function rawRequest(port: number, method: string, target: string, headers: Record<string, string> = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no answer to ${method} ${target}`)));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const status = /^HTTP\/1\.1 (\d{3})/.exec(text)?.[1];
      if (!status) return reject(new Error(`no HTTP answer to ${method} ${target}: ${JSON.stringify(text.slice(0, 200))}`));
      resolve({ status: Number(status), code: /"code":"(E_\w+)"/.exec(text)?.[1] });
    });
    const lines = [`${method} ${target} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', 'Content-Length: 0'];
    for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  });
}

/**
 * Ways of writing an API path. `routes`: the router resolves it to the API handler (so only the key
 * check stands between it and the handler); otherwise it matches nothing and is a plain 404.
 * `intoParam`: it routes only when the path ends in a parameter, which then absorbs the extra text.
 */
const SPELLINGS: Array<{ name: string; spell: (path: string) => string; routes: boolean | 'intoParam' }> = [
  { name: 'plain', spell: (p) => p, routes: true },
  { name: 'percent-encoded first letter', spell: (p) => p.replace('/api', '/%61pi'), routes: true },
  { name: 'every letter percent-encoded', spell: (p) => p.replace(/[a-z]/g, (c) => `%${c.charCodeAt(0).toString(16)}`), routes: true },
  { name: 'upper-case escapes and letters', spell: (p) => p.replace('/api', '/%41%50I'), routes: false },
  { name: 'double-encoded', spell: (p) => p.replace('/api', '/%2561pi'), routes: false },
  { name: 'mixed case', spell: (p) => p.replace('/api', '/Api'), routes: false },
  { name: 'leading double slash', spell: (p) => `/${p}`, routes: false },
  { name: 'dot segment', spell: (p) => p.replace('/api', '/./api'), routes: false },
  { name: 'dot-dot segment', spell: (p) => p.replace('/api', '/x/../api'), routes: false },
  { name: 'encoded slash', spell: (p) => p.replace('/v1/', '/v1%2F'), routes: false },
  { name: 'trailing dot', spell: (p) => `${p}.`, routes: 'intoParam' },
  { name: 'trailing semicolon', spell: (p) => `${p};x`, routes: 'intoParam' },
  { name: 'trailing slash', spell: (p) => `${p}/`, routes: false },
  { name: 'absolute-form', spell: (p) => `http://x${p}`, routes: true },
  { name: 'absolute-form, other scheme and port', spell: (p) => `https://other.example:443${p}`, routes: true },
  { name: 'query string', spell: (p) => `${p}?key=${KEY_1}`, routes: true },
  { name: 'fragment', spell: (p) => `${p}#x`, routes: true },
];

const JOB = '0b7e0c1e-0000-4000-8000-000000000000';
/** Every API route, with what a valid key gets for the plain spelling (no body sent). */
const ROUTES: Array<{ method: string; path: string; endsInParam: boolean; withKey: RawAnswer }> = [
  { method: 'GET', path: '/api/v1/styles', endsInParam: false, withKey: { status: 200, code: undefined } },
  { method: 'GET', path: '/api/v1/styles/cel/preview', endsInParam: false, withKey: { status: 200, code: undefined } },
  { method: 'POST', path: '/api/v1/cartoon', endsInParam: false, withKey: { status: 415, code: 'E_UNSUPPORTED_FORMAT' } },
  { method: 'POST', path: '/api/v1/jobs', endsInParam: false, withKey: { status: 415, code: 'E_UNSUPPORTED_FORMAT' } },
  { method: 'GET', path: `/api/v1/jobs/${JOB}`, endsInParam: true, withKey: { status: 404, code: 'E_JOB_NOT_FOUND' } },
  { method: 'GET', path: `/api/v1/jobs/${JOB}/result`, endsInParam: false, withKey: { status: 404, code: 'E_JOB_NOT_FOUND' } },
  { method: 'DELETE', path: `/api/v1/jobs/${JOB}`, endsInParam: true, withKey: { status: 404, code: 'E_JOB_NOT_FOUND' } },
  { method: 'POST', path: '/api/v1/verify', endsInParam: false, withKey: { status: 415, code: 'E_UNSUPPORTED_FORMAT' } },
];

const UNAUTHORIZED: RawAnswer = { status: 401, code: 'E_UNAUTHORIZED' };
const NOT_FOUND: RawAnswer = { status: 404, code: 'E_NOT_FOUND' };
/** A job id with extra text fails the id's pattern. */
const BAD_ID: RawAnswer = { status: 400, code: 'E_BAD_OPTION' };

describeWithModels(MODELS)('API keys guard every spelling of every API URL', () => {
  let service: Service;
  let port: number;

  beforeAll(async () => {
    service = await startService({ apiKeys: `${KEY_1},${KEY_2}`, rateLimit: '0' });
    const address = await service.app.listen({ host: '127.0.0.1', port: 0 });
    port = Number(new URL(address).port);
  });
  afterAll(async () => {
    await service?.close();
  });

  for (const route of ROUTES) {
    it(`${route.method} ${route.path}: ${SPELLINGS.length} spellings, with and without a key`, async () => {
      const seen: Array<{ spelling: string; target: string; without: RawAnswer; wrongKey: RawAnswer; withKey: RawAnswer }> = [];
      const expected: typeof seen = [];
      for (const spelling of SPELLINGS) {
        const target = spelling.spell(route.path);
        const routes = spelling.routes === 'intoParam' ? route.endsInParam : spelling.routes;
        const guarded = routes ? UNAUTHORIZED : NOT_FOUND;
        const answered = !routes ? NOT_FOUND : spelling.routes === 'intoParam' ? BAD_ID : route.withKey;
        seen.push({
          spelling: spelling.name,
          target,
          without: await rawRequest(port, route.method, target),
          wrongKey: await rawRequest(port, route.method, target, { authorization: 'Bearer not-a-key' }),
          withKey: await rawRequest(port, route.method, target, { 'x-api-key': KEY_2 }),
        });
        expected.push({ spelling: spelling.name, target, without: guarded, wrongKey: guarded, withKey: answered });
      }
      expect(seen).toEqual(expected);
    });
  }

  it('/api/v1/info stays open, in every spelling that routes', async () => {
    for (const spelling of SPELLINGS.filter((s) => s.routes === true)) {
      expect(await rawRequest(port, 'GET', spelling.spell('/api/v1/info')), spelling.name).toEqual({ status: 200, code: undefined });
    }
  });
});

async function postJob(app: FastifyInstance, key: string): Promise<LightMyRequestResponse> {
  const body = await multipart({ style: 'cel', maxSide: '64' }, { bytes: PHOTO, filename: 'me.jpg' });
  return app.inject({ method: 'POST', url: '/api/v1/jobs', payload: body.payload, headers: { ...body.headers, 'x-api-key': key } });
}

describeWithModels(MODELS)('jobs belong to the key that created them', () => {
  let service: Service;
  beforeAll(async () => {
    service = await startService({ apiKeys: `${KEY_1},${KEY_2}` });
  });
  afterAll(async () => {
    await service?.close();
  });

  it('another key gets 404 E_JOB_NOT_FOUND for status, result and cancel; the owner gets its job', async () => {
    const { app } = service;
    const accepted = await postJob(app, KEY_1);
    expect(accepted.statusCode).toBe(202);
    const job = accepted.json<Record<string, unknown> & { id: string; statusUrl: string; resultUrl: string }>();
    // The owner is never shown, not even as an opaque id.
    expect(Object.keys(job)).not.toContain('owner');
    const asOther = { authorization: `Bearer ${KEY_2}` };
    for (const request of [
      { method: 'GET' as const, url: job.statusUrl },
      { method: 'GET' as const, url: job.resultUrl },
      { method: 'DELETE' as const, url: job.statusUrl },
    ]) {
      const response = await app.inject({ ...request, headers: asOther });
      expect([request.method, request.url, response.statusCode, response.json<{ error: { code: string } }>().error.code]).toEqual([
        request.method,
        request.url,
        404,
        'E_JOB_NOT_FOUND',
      ]);
    }
    const asOwner = { authorization: `Bearer ${KEY_1}` };
    const done = await waitFor(
      `job ${job.id} to complete`,
      async () => (await app.inject({ url: job.statusUrl, headers: asOwner })).json<{ state: string }>(),
      (status) => status.state !== 'queued' && status.state !== 'running',
    );
    // The other key's DELETE did not cancel it.
    expect(done.state).toBe('completed');
    const result = await app.inject({ url: job.resultUrl, headers: asOwner });
    expect([result.statusCode, result.headers['content-type']]).toEqual([200, 'image/jpeg']);
  });
});

/** A cheap request that the rate limit counts (it would start work) and the route then refuses (400). */
async function countedRequest(app: FastifyInstance, headers: Record<string, string> = {}): Promise<number> {
  const body = await multipart({ style: 'no-such-style' }, { bytes: PHOTO, filename: 'me.jpg' });
  const response = await app.inject({
    method: 'POST',
    url: '/api/v1/cartoon',
    payload: body.payload,
    headers: { ...body.headers, ...headers },
  });
  return response.statusCode;
}

describeWithModels(MODELS)('rate limit identity', () => {
  const services: Service[] = [];
  const start = async (flags: RawSettings): Promise<FastifyInstance> => {
    const service = await startService({ rateLimit: '3', ...flags });
    services.push(service);
    return service.app;
  };
  afterAll(async () => {
    await Promise.all(services.map((service) => service.close()));
  });

  it('without configured keys, made-up keys do not buy a fresh bucket', async () => {
    const app = await start({});
    const statuses: number[] = [];
    for (let i = 0; i < 8; i += 1) {
      const headers: Record<string, string> = i % 2 === 0 ? { 'x-api-key': `random-${i}` } : { authorization: `Bearer random-${i}` };
      statuses.push(await countedRequest(app, headers));
    }
    expect(statuses).toEqual([400, 400, 400, 429, 429, 429, 429, 429]);
  });

  it('with keys, each valid key has its own bucket', async () => {
    const app = await start({ apiKeys: `${KEY_1},${KEY_2}` });
    const one = { 'x-api-key': KEY_1 };
    const two = { 'x-api-key': KEY_2 };
    const statuses = [];
    for (let i = 0; i < 4; i += 1) statuses.push(await countedRequest(app, one));
    statuses.push(await countedRequest(app, two));
    expect(statuses).toEqual([400, 400, 400, 429, 400]);
  });

  it('--trust-proxy 1 takes the address the proxy saw, not the leftmost X-Forwarded-For entry', async () => {
    const app = await start({ trustProxy: '1' });
    // The client behind the proxy rotates a made-up first entry; the proxy appends what it saw.
    const spoofed = (i: number): Record<string, string> => ({ 'x-forwarded-for': `1.2.3.${i}, 203.0.113.7` });
    const statuses = [];
    for (let i = 0; i < 5; i += 1) statuses.push(await countedRequest(app, spoofed(i)));
    // Another client behind the same proxy has a bucket of its own.
    statuses.push(await countedRequest(app, { 'x-forwarded-for': '203.0.113.8' }));
    expect(statuses).toEqual([400, 400, 400, 429, 429, 400]);
  });

  it('--trust-proxy with a proxy address believes only that proxy', async () => {
    const app = await start({ trustProxy: '127.0.0.1' });
    const statuses = [];
    for (let i = 0; i < 4; i += 1) statuses.push(await countedRequest(app, { 'x-forwarded-for': `1.2.3.${i}, 203.0.113.7` }));
    statuses.push(await countedRequest(app, { 'x-forwarded-for': '203.0.113.9' }));
    expect(statuses).toEqual([400, 400, 400, 429, 400]);
  });

  it('without --trust-proxy, X-Forwarded-For is ignored', async () => {
    const app = await start({});
    const statuses = [];
    for (let i = 0; i < 4; i += 1) statuses.push(await countedRequest(app, { 'x-forwarded-for': `198.51.100.${i}` }));
    expect(statuses).toEqual([400, 400, 400, 429]);
  });
});
