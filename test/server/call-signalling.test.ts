/**
 * The video call service over real sockets: rooms (unguessable, two people at most, forgotten once
 * empty for the room TTL, a bounded number of them), the signalling WebSocket that relays offers,
 * answers, candidates and bye to the other peer only, API keys (headers or `?key=`), and what a
 * hostile or broken client gets: binary frames, invalid JSON, oversize and unknown messages, floods,
 * sockets that stop answering pings. Loopback only; every wait has a deadline.
 */
import { mkdirSync } from 'node:fs';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALL_CLOSE_CODES, SIGNAL_MAX_BYTES } from '../../src/core/call-signal.js';
import { resolveServerConfig, type RawSettings } from '../../src/server/config.js';
import { callRoutes, registerWebSockets, SIGNAL_MESSAGES_PER_SECOND } from '../../src/server/routes/call.js';
import { createService, type Service } from '../../src/server/service.js';
import { TEST_OUTPUT_DIR } from '../helpers/env.js';
import { waitFor, within } from '../helpers/wait.js';

/** The part of the `ws` client the tests use (the package ships without typings). */
interface WsClient {
  readonly readyState: number;
  send(data: string | Buffer, options?: { binary?: boolean }): void;
  close(code?: number): void;
  terminate(): void;
  on(event: 'open', listener: () => void): WsClient;
  on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): WsClient;
  on(event: 'close', listener: (code: number, reason: Buffer) => void): WsClient;
  on(event: 'error', listener: (error: Error) => void): WsClient;
  on(event: 'unexpected-response', listener: (request: ClientRequest, response: IncomingMessage) => void): WsClient;
}
type WsConstructor = new (url: string, options?: { headers?: Record<string, string>; autoPong?: boolean; maxPayload?: number }) => WsClient;
const WebSocket = createRequire(import.meta.url)('ws') as WsConstructor;

const OPEN = 1;
const WAIT_MS = 5000;
const KEY = 'call-test-key-0123456789';
const ROOM_ID = /^[A-Za-z0-9_-]{22}$/;
/** A models folder with no models: calls need none, and nothing is loaded. */
const MODELS_DIR = join(TEST_OUTPUT_DIR, 'call-no-models');

type Message = Record<string, unknown> & { type: string };

/** A signalling client that keeps every message it receives, in order, to be awaited one by one. */
class Client {
  readonly socket: WsClient;
  readonly received: Message[] = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;
  #read = 0;
  #wake: (() => void) | undefined;

  constructor(url: string, options: { headers?: Record<string, string>; autoPong?: boolean } = {}) {
    this.socket = new WebSocket(url, options);
    this.socket.on('message', (data, isBinary) => {
      this.received.push(isBinary ? { type: '(binary)' } : (JSON.parse(data.toString('utf8')) as Message));
      this.#wake?.();
    });
    this.opened = new Promise((resolve, reject) => {
      this.socket.on('open', resolve);
      this.socket.on('unexpected-response', (_request, response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () =>
          reject(Object.assign(new Error(`upgrade refused: ${response.statusCode}`), { status: response.statusCode, body })),
        );
      });
      this.socket.on('error', reject);
    });
    this.closed = new Promise((resolve) => {
      this.socket.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        this.#wake?.();
      });
    });
    // Awaited by the tests that expect it; never an unhandled rejection for those that do not.
    this.opened.catch(() => undefined);
  }

  /** The next message not read yet (waiting for it up to `timeoutMs`). */
  async next(timeoutMs = WAIT_MS): Promise<Message> {
    const deadline = performance.now() + timeoutMs;
    while (this.#read >= this.received.length) {
      const left = deadline - performance.now();
      if (left <= 0 || this.socket.readyState > OPEN) {
        throw new Error(
          `no message within ${timeoutMs} ms (socket state ${this.socket.readyState}); got so far: ${JSON.stringify(this.received)}`,
        );
      }
      await within('a message', new Promise<void>((resolve) => (this.#wake = resolve)), left).catch(() => undefined);
      this.#wake = undefined;
    }
    return this.received[this.#read++]!;
  }

  send(message: unknown): void {
    this.socket.send(JSON.stringify(message));
  }

  closedWithin(timeoutMs = WAIT_MS): Promise<{ code: number; reason: string }> {
    return within('the socket to close', this.closed, timeoutMs);
  }
}

/** Opens a client and awaits its `joined`. */
async function joinRoom(url: string, options: { headers?: Record<string, string>; autoPong?: boolean } = {}): Promise<[Client, Message]> {
  const client = new Client(url, options);
  await within('the socket to open', client.opened, WAIT_MS);
  const joined = await client.next();
  return [client, joined];
}

async function startService(flags: RawSettings): Promise<{ service: Service; http: string; ws: string }> {
  mkdirSync(MODELS_DIR, { recursive: true });
  const service = await createService(resolveServerConfig({ modelsDir: MODELS_DIR, styles: 'cel', logLevel: 'silent', ...flags }, {}));
  const address = await service.app.listen({ host: '127.0.0.1', port: 0 });
  return { service, http: address, ws: address.replace(/^http/, 'ws') };
}

async function createRoom(http: string, headers: Record<string, string> = {}): Promise<{ room: string; expiresAt: string }> {
  const response = await fetch(`${http}/api/v1/calls`, { method: 'POST', headers });
  expect(response.status).toBe(201);
  return (await response.json()) as { room: string; expiresAt: string };
}

const OFFER = { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' };
const CANDIDATE = { candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host', sdpMid: '0', sdpMLineIndex: 0 };

describe('video call signalling', () => {
  const clients: Client[] = [];
  const track = (client: Client): Client => (clients.push(client), client);
  let open: { service: Service; http: string; ws: string };

  beforeAll(async () => {
    open = await startService({
      iceServers: '[{"urls":"stun:127.0.0.1:3478"},{"urls":["turn:127.0.0.1:3478"],"username":"u","credential":"c"}]',
    });
  });
  afterAll(async () => {
    for (const client of clients) client.socket.terminate();
    await open?.service.close();
  });

  async function pair(): Promise<{ room: string; a: Client; b: Client }> {
    const { room } = await createRoom(open.http);
    const [a, joinedA] = await joinRoom(`${open.ws}/api/v1/calls/${room}/ws`);
    track(a);
    expect(joinedA).toEqual({ type: 'joined', peers: 1, polite: false });
    const [b, joinedB] = await joinRoom(`${open.ws}/api/v1/calls/${room}/ws`);
    track(b);
    expect(joinedB).toEqual({ type: 'joined', peers: 2, polite: true });
    expect(await a.next()).toEqual({ type: 'peer-joined' });
    return { room, a, b };
  }

  it('POST /api/v1/calls makes a room of 128 random bits that expires after the TTL; GET /calls/config gives the ICE servers', async () => {
    const before = Date.now();
    const first = await createRoom(open.http);
    const second = await createRoom(open.http);
    for (const { room, expiresAt } of [first, second]) {
      expect(room).toMatch(ROOM_ID);
      expect(Buffer.from(room, 'base64url')).toHaveLength(16);
      const expires = Date.parse(expiresAt);
      expect(expires).toBeGreaterThanOrEqual(before + 3600_000);
      expect(expires).toBeLessThanOrEqual(Date.now() + 3600_000);
    }
    expect(first.room).not.toBe(second.room);

    const config = await fetch(`${open.http}/api/v1/calls/config`);
    expect([config.status, config.headers.get('cache-control')]).toEqual([200, 'no-store']);
    expect(await config.json()).toEqual({
      iceServers: [{ urls: 'stun:127.0.0.1:3478' }, { urls: ['turn:127.0.0.1:3478'], username: 'u', credential: 'c' }],
    });
  });

  it('the OpenAPI document has the HTTP routes with their errors, not the socket; a plain GET of the socket URL is refused', async () => {
    const doc = (await (await fetch(`${open.http}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    };
    expect(Object.keys(doc.paths).filter((path) => path.startsWith('/api/v1/calls'))).toEqual(['/api/v1/calls', '/api/v1/calls/config']);
    expect(Object.keys(doc.paths['/api/v1/calls']!.post!.responses)).toEqual(expect.arrayContaining(['201', '503']));
    const plain = await fetch(`${open.http}/api/v1/calls/${'A'.repeat(22)}/ws`);
    expect(plain.status).toBe(400);
    expect(((await plain.json()) as { error: { code: string } }).error.code).toBe('E_BAD_REQUEST');
  });

  it('relays offer, answer, candidates and bye to the other peer only, with only their known fields', async () => {
    const { a, b } = await pair();
    a.send({ ...OFFER, extra: 'dropped', polite: true });
    expect(await b.next()).toEqual(OFFER);
    b.send({ type: 'answer', sdp: 'v=0 answer' });
    // A's next message is B's answer: its own offer did not come back to it.
    expect(await a.next()).toEqual({ type: 'answer', sdp: 'v=0 answer' });
    a.send({ type: 'candidate', candidate: { ...CANDIDATE, foo: 1 } });
    a.send({ type: 'candidate', candidate: null });
    expect(await b.next()).toEqual({ type: 'candidate', candidate: CANDIDATE });
    expect(await b.next()).toEqual({ type: 'candidate', candidate: null });
    b.send({ type: 'bye' });
    expect(await a.next()).toEqual({ type: 'bye' });
    b.socket.close(1000);
    expect(await a.next()).toEqual({ type: 'peer-left' });
    expect(a.socket.readyState).toBe(OPEN);
  });

  it('a third peer is refused with E_ROOM_FULL and close code 4409; the two in the room hear nothing of it', async () => {
    const { room, a, b } = await pair();
    const third = track(new Client(`${open.ws}/api/v1/calls/${room}/ws`));
    expect(await third.next()).toMatchObject({ type: 'error', code: 'E_ROOM_FULL' });
    expect((await third.closedWithin()).code).toBe(CALL_CLOSE_CODES.roomFull);
    a.send({ type: 'bye' });
    b.send({ type: 'bye' });
    expect(await b.next()).toEqual({ type: 'bye' });
    expect(await a.next()).toEqual({ type: 'bye' });
  });

  it('a peer that leaves frees its place: the other hears peer-left, and a newcomer takes the other role', async () => {
    const { room, a, b } = await pair();
    b.socket.terminate();
    expect(await a.next()).toEqual({ type: 'peer-left' });
    const [c, joined] = await joinRoom(`${open.ws}/api/v1/calls/${room}/ws`);
    track(c);
    expect(joined).toEqual({ type: 'joined', peers: 2, polite: true });
    expect(await a.next()).toEqual({ type: 'peer-joined' });
    c.send(OFFER);
    expect(await a.next()).toEqual(OFFER);
  });

  it('an unknown room, or a made-up id, is E_ROOM_NOT_FOUND with close code 4404', async () => {
    for (const room of ['q0Vh3bC7dm2yLJd3o8qk6A', 'not-a-room', '%F0%9F%92%A9']) {
      const client = track(new Client(`${open.ws}/api/v1/calls/${room}/ws`));
      expect(await client.next()).toMatchObject({ type: 'error', code: 'E_ROOM_NOT_FOUND' });
      expect((await client.closedWithin()).code).toBe(CALL_CLOSE_CODES.roomNotFound);
    }
  });

  it('a URL the router refuses (an id over the length limit, a broken escape) is answered 400 and its connection closed', async () => {
    for (const room of ['x'.repeat(200), '%zz']) {
      const client = track(new Client(`${open.ws}/api/v1/calls/${room}/ws`));
      const refused = await within(
        'the upgrade to be refused',
        client.opened.then(
          () => undefined,
          (error: unknown) => error,
        ),
        WAIT_MS,
      );
      expect(refused).toMatchObject({ status: 400 });
      expect(JSON.parse((refused as { body: string }).body)).toMatchObject({ error: { code: 'E_BAD_REQUEST' } });
    }
  });

  describe('what a broken or hostile peer gets: never relayed, never a crash', () => {
    it.each([
      { name: 'a binary frame', send: (c: Client) => c.socket.send(Buffer.from('{"type":"bye"}'), { binary: true }) },
      { name: 'invalid JSON', send: (c: Client) => c.socket.send('{"type":"offer", sdp: ') },
      { name: 'JSON that is not an object', send: (c: Client) => c.send(['offer']) },
      { name: 'an offer without its sdp', send: (c: Client) => c.send({ type: 'offer' }) },
      { name: 'a candidate of the wrong shape', send: (c: Client) => c.send({ type: 'candidate', candidate: { candidate: 42 } }) },
    ])('$name: E_BAD_MESSAGE, close 1008, and the other peer hears only peer-left', async ({ send }) => {
      const { a, b } = await pair();
      send(a);
      expect(await a.next()).toMatchObject({ type: 'error', code: 'E_BAD_MESSAGE' });
      expect((await a.closedWithin()).code).toBe(1008);
      expect(await b.next()).toEqual({ type: 'peer-left' });
    });

    it('a message over 64 KiB: close 1009, nothing relayed', async () => {
      const { a, b } = await pair();
      a.send({ ...OFFER, sdp: 'x'.repeat(1024 * 1024) });
      expect((await a.closedWithin()).code).toBe(1009);
      expect(await b.next()).toEqual({ type: 'peer-left' });
      // Just under the limit still goes through.
      const { a: c, b: d } = await pair();
      const sdp = 'y'.repeat(SIGNAL_MAX_BYTES - 40);
      c.send({ type: 'offer', sdp });
      expect(await d.next()).toEqual({ type: 'offer', sdp });
    });

    it('an unknown type is answered with E_BAD_MESSAGE and skipped; the connection stays', async () => {
      const { a, b } = await pair();
      a.send({ type: 'mute', on: true });
      expect(await a.next()).toMatchObject({ type: 'error', code: 'E_BAD_MESSAGE' });
      a.send(OFFER);
      expect(await b.next()).toEqual(OFFER);
      expect(a.socket.readyState).toBe(OPEN);
    });

    it(`a flood (more than ${SIGNAL_MESSAGES_PER_SECOND} messages a second): E_RATE_LIMITED and close 1008 after the allowance`, async () => {
      const { a, b } = await pair();
      for (let i = 0; i < 4 * SIGNAL_MESSAGES_PER_SECOND; i++)
        a.send({ type: 'candidate', candidate: { ...CANDIDATE, sdpMLineIndex: i % 1000 } });
      // The first thing A hears is the refusal (nothing of its own comes back).
      expect(await a.next()).toMatchObject({ type: 'error', code: 'E_RATE_LIMITED' });
      expect((await a.closedWithin()).code).toBe(1008);
      // B hears the candidates within the allowance, then that A left.
      const heard: Message[] = [];
      do heard.push(await b.next());
      while (heard.at(-1)!.type === 'candidate');
      expect(heard.at(-1)).toEqual({ type: 'peer-left' });
      const relayed = heard.length - 1;
      expect(relayed).toBeGreaterThanOrEqual(SIGNAL_MESSAGES_PER_SECOND);
      expect(relayed).toBeLessThanOrEqual(SIGNAL_MESSAGES_PER_SECOND + 5);
    });

    it('the service still works for everyone else afterwards', async () => {
      const { a, b } = await pair();
      a.send(OFFER);
      expect(await b.next()).toEqual(OFFER);
      expect((await fetch(`${open.http}/healthz`)).status).toBe(200);
    });
  });
});

describe('video calls with API keys', () => {
  let keyed: { service: Service; http: string; ws: string };
  const clients: Client[] = [];

  beforeAll(async () => {
    keyed = await startService({ apiKeys: KEY });
  });
  afterAll(async () => {
    for (const client of clients) client.socket.terminate();
    await keyed?.service.close();
  });

  it('POST and GET need a key like every API route', async () => {
    for (const [method, path] of [
      ['POST', '/api/v1/calls'],
      ['GET', '/api/v1/calls/config'],
    ] as const) {
      const none = await fetch(`${keyed.http}${path}`, { method });
      expect([none.status, ((await none.json()) as { error: { code: string } }).error.code]).toEqual([401, 'E_UNAUTHORIZED']);
      const wrong = await fetch(`${keyed.http}${path}`, { method, headers: { authorization: 'Bearer nope' } });
      expect(wrong.status).toBe(401);
      const good = await fetch(`${keyed.http}${path}`, { method, headers: { authorization: `Bearer ${KEY}` } });
      expect(good.status).toBe(method === 'POST' ? 201 : 200);
    }
    // The key goes in the query only for the socket.
    const inQuery = await fetch(`${keyed.http}/api/v1/calls/config?key=${KEY}`);
    expect(inQuery.status).toBe(401);
  });

  it('the socket refuses the upgrade with 401 E_UNAUTHORIZED without a key or with a wrong one; takes it as ?key= or a header', async () => {
    const { room } = await createRoom(keyed.http, { 'x-api-key': KEY });
    const url = `${keyed.ws}/api/v1/calls/${room}/ws`;
    for (const attempt of [url, `${url}?key=wrong`, `${url}?key=`, `${url}?key=${KEY}x`]) {
      const client = new Client(attempt);
      clients.push(client);
      const refused = await within(
        'the upgrade to be refused',
        client.opened.then(
          () => undefined,
          (error: unknown) => error,
        ),
        WAIT_MS,
      );
      expect(refused).toMatchObject({ status: 401 });
      expect(JSON.parse((refused as { body: string }).body)).toMatchObject({ error: { code: 'E_UNAUTHORIZED' } });
    }
    const [a, joinedA] = await joinRoom(`${url}?key=${encodeURIComponent(KEY)}`);
    clients.push(a);
    expect(joinedA).toMatchObject({ type: 'joined', peers: 1 });
    const [b, joinedB] = await joinRoom(url, { headers: { authorization: `Bearer ${KEY}` } });
    clients.push(b);
    expect(joinedB).toMatchObject({ type: 'joined', peers: 2 });
  });
});

describe('room expiry and the room limit', () => {
  let small: { service: Service; http: string; ws: string };
  const clients: Client[] = [];

  beforeAll(async () => {
    small = await startService({ callRoomTtl: '1', maxCallRooms: '2', rateLimit: '0' });
  });
  afterAll(async () => {
    for (const client of clients) client.socket.terminate();
    await small?.service.close();
  });

  /** Waits until the clock has passed `iso` (the behaviour under test is tied to the time). */
  async function pastTime(iso: string): Promise<void> {
    await waitFor(
      'the room to be past its expiry',
      () => Date.now(),
      (now) => now > Date.parse(iso) + 20,
      { timeoutMs: 5000, intervalMs: 50 },
    );
  }

  it('a room nobody joins is forgotten after the TTL; one with someone in it is kept, and expires once left empty', async () => {
    const unused = await createRoom(small.http);
    const used = await createRoom(small.http);
    const [a] = await joinRoom(`${small.ws}/api/v1/calls/${used.room}/ws`);
    clients.push(a);
    await pastTime(unused.expiresAt);
    const late = new Client(`${small.ws}/api/v1/calls/${unused.room}/ws`);
    clients.push(late);
    expect(await late.next()).toMatchObject({ type: 'error', code: 'E_ROOM_NOT_FOUND' });
    // The room with A in it is past its first expiry, and still there.
    const [b, joined] = await joinRoom(`${small.ws}/api/v1/calls/${used.room}/ws`);
    clients.push(b);
    expect(joined).toMatchObject({ type: 'joined', peers: 2 });
    a.socket.close();
    b.socket.close();
    await Promise.all([a.closedWithin(), b.closedWithin()]);
    const leftAt = Date.now();
    await pastTime(new Date(leftAt + 1000).toISOString());
    const after = new Client(`${small.ws}/api/v1/calls/${used.room}/ws`);
    clients.push(after);
    expect(await after.next()).toMatchObject({ type: 'error', code: 'E_ROOM_NOT_FOUND' });
  });

  it('beyond --max-call-rooms, POST answers 503 E_TOO_MANY_ROOMS with Retry-After; once rooms expire there is space again', async () => {
    // The rooms of the previous test have expired (waited for there).
    const first = await createRoom(small.http);
    await createRoom(small.http);
    const full = await fetch(`${small.http}/api/v1/calls`, { method: 'POST' });
    expect(full.status).toBe(503);
    expect(Number(full.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await full.json()) as { error: { code: string } }).error.code).toBe('E_TOO_MANY_ROOMS');
    await pastTime(first.expiresAt);
    const again = await waitFor(
      'a room to be free again',
      () => fetch(`${small.http}/api/v1/calls`, { method: 'POST' }).then((response) => response.status),
      (status) => status === 201,
      { timeoutMs: 3000, intervalMs: 100 },
    );
    expect(again).toBe(201);
  });
});

describe('call settings', () => {
  const message = (flags: RawSettings, env: NodeJS.ProcessEnv = {}): string => {
    try {
      resolveServerConfig(flags, env);
    } catch (error) {
      return `${(error as { code: string }).code}: ${(error as Error).message}`;
    }
    return 'accepted';
  };

  it('defaults: no ICE servers, rooms kept 1 h once empty, at most 1000', () => {
    const config = resolveServerConfig({}, {});
    expect([config.iceServers, config.callRoomTtlMs, config.maxCallRooms]).toEqual([[], 3600_000, 1000]);
    expect(Object.isFrozen(config.iceServers)).toBe(true);
  });

  it('--ice-servers / PORTOON_ICE_SERVERS: a JSON array of RTCIceServer, kept as given', () => {
    const servers = [
      { urls: 'stun:stun.example.com:3478' },
      { urls: ['turn:t.example.com:3478?transport=udp', 'turns:t.example.com:5349'], username: 'u', credential: 'p' },
    ];
    expect(resolveServerConfig({ iceServers: JSON.stringify(servers) }, {}).iceServers).toEqual(servers);
    expect(resolveServerConfig({}, { PORTOON_ICE_SERVERS: JSON.stringify(servers) }).iceServers).toEqual(servers);
  });

  it.each([
    ['not JSON', '[{urls:stun:x}]'],
    ['not an array', '{"urls":"stun:x"}'],
    ['an entry without urls', '[{"username":"u"}]'],
    ['a URL that is no STUN/TURN URL', '[{"urls":"http://example.com"}]'],
    ['empty urls', '[{"urls":[]}]'],
    ['a misspelt key', '[{"urls":"stun:x","credentials":"p"}]'],
    ['a number as credential', '[{"urls":"turn:x","username":"u","credential":5}]'],
  ])('--ice-servers refuses %s, naming the flag and what it expects', (_name, raw) => {
    expect(message({ iceServers: raw })).toMatch(
      /^E_BAD_OPTION: --ice-servers: expected a JSON array of ICE servers such as \[\{"urls":"stun:stun.example.com:3478"\}\] .*, got "/,
    );
  });

  it('an invalid --ice-servers is repeated without its TURN credential', () => {
    const text = message({ iceServers: '[{"urls":"turn:x","username":"u","credential":"s3cret"},{"urls":"ftp:y"}]' });
    expect(text).toMatch(/^E_BAD_OPTION: --ice-servers/);
    expect(text).not.toContain('s3cret');
    expect(text).toContain('"credential":"…"');
  });

  it('--call-room-ttl and --max-call-rooms take integers within their bounds', () => {
    expect(resolveServerConfig({ callRoomTtl: '60', maxCallRooms: '5' }, {})).toMatchObject({ callRoomTtlMs: 60_000, maxCallRooms: 5 });
    expect(resolveServerConfig({}, { PORTOON_CALL_ROOM_TTL: '90', PORTOON_MAX_CALL_ROOMS: '7' })).toMatchObject({
      callRoomTtlMs: 90_000,
      maxCallRooms: 7,
    });
    expect(message({ callRoomTtl: '0' })).toBe('E_BAD_OPTION: --call-room-ttl: expected an integer from 1 to 604800, got "0"');
    expect(message({}, { PORTOON_MAX_CALL_ROOMS: 'lots' })).toBe(
      'E_BAD_OPTION: PORTOON_MAX_CALL_ROOMS: expected an integer from 1 to 1000000, got "lots"',
    );
  });
});

describe('heartbeat', () => {
  let app: FastifyInstance;
  let ws: string;

  beforeAll(async () => {
    app = Fastify();
    await registerWebSockets(app);
    await app.register(callRoutes, {
      prefix: '/api/v1',
      config: { iceServers: [], callRoomTtlMs: 60_000, maxCallRooms: 10 },
      heartbeatMs: 100,
    });
    ws = (await app.listen({ host: '127.0.0.1', port: 0 })).replace(/^http/, 'ws');
  });
  afterAll(async () => {
    await app?.close();
  });

  it('a socket that stops answering pings is dropped and its peer hears peer-left; one that answers stays', async () => {
    const response = await app.inject({ method: 'POST', url: '/api/v1/calls' });
    const { room } = response.json<{ room: string }>();
    const [alive] = await joinRoom(`${ws}/api/v1/calls/${room}/ws`);
    const [dead] = await joinRoom(`${ws}/api/v1/calls/${room}/ws`, { autoPong: false });
    expect(await alive.next()).toEqual({ type: 'peer-joined' });
    // Dropped after one unanswered ping: within a few intervals.
    expect(await alive.next(2000)).toEqual({ type: 'peer-left' });
    expect((await dead.closedWithin(2000)).code).toBe(1006);
    expect(alive.socket.readyState).toBe(OPEN);
    const [late] = await joinRoom(`${ws}/api/v1/calls/${room}/ws`);
    expect(await alive.next()).toEqual({ type: 'peer-joined' });
    late.send(OFFER);
    expect(await alive.next()).toEqual(OFFER);
    alive.socket.terminate();
    late.socket.terminate();
  });
});
