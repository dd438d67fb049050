/**
 * Video calls (the /call page), a plugin of the API scope: rooms for two people, the STUN/TURN
 * servers their browsers use, and the WebSocket that relays their WebRTC signalling. Each browser
 * stylizes its own camera and sends it peer to peer; the service never sees a frame.
 *
 * - `POST /calls` makes a room: an id of 128 random bits, which is what lets someone in (share it as a
 *   link). A room is forgotten once nobody has been in it for the room TTL; at most `maxCallRooms`
 *   exist at once.
 * - `GET /calls/config` gives the ICE servers.
 * - `GET /calls/:room/ws` (WebSocket) joins a room: see src/core/call-signal.ts for the messages.
 *   Browsers cannot set headers on a WebSocket, so this route also takes the API key as `?key=`
 *   (checked by the API scope exactly like the headers; its requests are not logged, so neither is
 *   the key).
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import websocket from '@fastify/websocket';
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest, onRequestHookHandler } from 'fastify';
import {
  CALL_CLOSE_CODES,
  CALL_MAX_PEERS,
  parsePeerSignal,
  SIGNAL_MAX_BYTES,
  type PeerSignal,
  type ServiceSignal,
} from '../../core/call-signal.js';
import { PortoonError, type ErrorCode } from '../../core/errors.js';
import { presentedKey } from '../auth.js';
import type { IceServer, ServerConfig } from '../config.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route also takes the API key as the query parameter `key` (a WebSocket cannot send headers). */
    keyInQuery?: boolean;
  }
}

/** Messages one peer may send per second (a burst of ICE candidates is well below it). */
export const SIGNAL_MESSAGES_PER_SECOND = 50;

/** A peer the other cannot keep up with (its socket not read) is dropped beyond this much unsent data. */
const MAX_UNSENT_BYTES = 1024 * 1024;

/** ws's `readyState` of an open socket. */
const OPEN = 1;

/** WebSocket close codes (RFC 6455): a policy violation. */
const CLOSE_POLICY = 1008;

export interface CallRouteOptions {
  config: Pick<ServerConfig, 'iceServers' | 'callRoomTtlMs' | 'maxCallRooms'>;
  /** How often each socket is pinged; one that has not answered the previous ping by then is dropped. Default 30 s. */
  heartbeatMs?: number;
}

/** The part of a `ws` WebSocket the relay uses. */
interface SignalSocket {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
  ping(): void;
  on(event: 'message', listener: (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => void): unknown;
  on(event: 'pong', listener: () => void): unknown;
  on(event: 'close', listener: () => void): unknown;
}

interface Peer {
  socket: SignalSocket;
  polite: boolean;
  /** Answered the last ping. */
  alive: boolean;
  /** Messages it may still send now (refilled at SIGNAL_MESSAGES_PER_SECOND, up to that many). */
  tokens: number;
  refilledAt: number;
}

interface Room {
  id: string;
  peers: Peer[];
  /** When it is forgotten; undefined while someone is in it. */
  expiresAt: number | undefined;
  timer: NodeJS.Timeout | undefined;
}

/** The rooms of one service: created, joined, left, and forgotten when empty for `ttlMs`. */
class CallRooms {
  readonly #rooms = new Map<string, Room>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxRooms: number,
  ) {}

  /** @throws PortoonError E_TOO_MANY_ROOMS at the room limit. */
  create(): Room {
    if (this.#rooms.size >= this.maxRooms) this.#sweep();
    if (this.#rooms.size >= this.maxRooms) {
      throw new PortoonError(
        'E_TOO_MANY_ROOMS',
        `This service has ${this.maxRooms} video call rooms open, as many as it allows; try again later`,
        { details: { retryAfter: 60 } },
      );
    }
    let id: string;
    do id = randomBytes(16).toString('base64url');
    while (this.#rooms.has(id));
    const room: Room = { id, peers: [], expiresAt: undefined, timer: undefined };
    this.#rooms.set(id, room);
    this.#expireLater(room);
    return room;
  }

  /** The room, unless it does not exist or has expired. */
  find(id: string): Room | undefined {
    const room = this.#rooms.get(id);
    if (room?.expiresAt !== undefined && room.expiresAt <= Date.now()) {
      this.#forget(room);
      return undefined;
    }
    return room;
  }

  join(room: Room, peer: Peer): void {
    room.peers.push(peer);
    clearTimeout(room.timer);
    room.timer = undefined;
    room.expiresAt = undefined;
  }

  leave(room: Room, peer: Peer): void {
    const index = room.peers.indexOf(peer);
    if (index < 0) return;
    room.peers.splice(index, 1);
    if (room.peers.length === 0) this.#expireLater(room);
  }

  *peers(): Iterable<Peer> {
    for (const room of this.#rooms.values()) yield* room.peers;
  }

  close(): void {
    for (const room of this.#rooms.values()) clearTimeout(room.timer);
    this.#rooms.clear();
  }

  #expireLater(room: Room): void {
    room.expiresAt = Date.now() + this.ttlMs;
    clearTimeout(room.timer);
    room.timer = setTimeout(() => this.#forget(room), this.ttlMs);
    room.timer.unref();
  }

  /** Forgets the rooms past their expiry whose timer has not run yet. */
  #sweep(): void {
    const now = Date.now();
    for (const room of [...this.#rooms.values()]) if (room.expiresAt !== undefined && room.expiresAt <= now) this.#forget(room);
  }

  #forget(room: Room): void {
    if (room.peers.length > 0) return;
    clearTimeout(room.timer);
    this.#rooms.delete(room.id);
  }
}

/**
 * An onRequest hook for the API scope, added before its key check: on routes that say `keyInQuery`,
 * a key in the query parameter `key` is presented as if it came in the X-API-Key header, so the one
 * key check (same comparison, same 401) applies to it.
 */
export const keyFromQuery: onRequestHookHandler = async (request) => {
  if (request.routeOptions.config.keyInQuery !== true || presentedKey(request) !== undefined) return;
  const { key } = request.query as { key?: unknown };
  if (typeof key === 'string' && key !== '') request.headers['x-api-key'] = key;
};

function send(socket: SignalSocket, message: ServiceSignal | PeerSignal): void {
  if (socket.readyState === OPEN) socket.send(JSON.stringify(message));
}

/** Tells the peer what was wrong; with `close`, also ends its connection with that code. */
function refuse(socket: SignalSocket, code: ErrorCode, message: string, close?: number): void {
  send(socket, { type: 'error', code, message });
  if (close !== undefined) socket.close(close, code);
}

/** Takes one message from the peer's allowance; false when it has sent too many too fast. */
function withinRate(peer: Peer): boolean {
  const now = performance.now();
  peer.tokens = Math.min(SIGNAL_MESSAGES_PER_SECOND, peer.tokens + ((now - peer.refilledAt) / 1000) * SIGNAL_MESSAGES_PER_SECOND);
  peer.refilledAt = now;
  if (peer.tokens < 1) return false;
  peer.tokens -= 1;
  return true;
}

const iceServerSchema = {
  type: 'object',
  required: ['urls'],
  properties: {
    urls: {
      oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
      description: 'stun:, stuns:, turn: or turns: URLs',
    },
    username: { type: 'string' },
    credential: { type: 'string' },
  },
} as const;

/** The call routes: rooms, ICE servers and the signalling socket. */
export const callRoutes: FastifyPluginAsync<CallRouteOptions> = async (app, { config, heartbeatMs = 30_000 }) => {
  const rooms = new CallRooms(config.callRoomTtlMs, config.maxCallRooms);
  const iceServers: readonly IceServer[] = config.iceServers;

  app.post(
    '/calls',
    {
      schema: {
        operationId: 'createCall',
        summary: 'Open a room for a video call',
        description: `A room for two people (the /call page). Its id is the secret that lets them in: share it only with the person to call. The room is forgotten once nobody has been in it for ${Math.round(config.callRoomTtlMs / 1000)} s (expiresAt, while it stays empty). Join it over the WebSocket at /api/v1/calls/{room}/ws.`,
        tags: ['calls'],
        response: {
          201: {
            type: 'object',
            required: ['room', 'expiresAt'],
            properties: {
              room: { type: 'string', pattern: '^[A-Za-z0-9_-]{22}$', description: 'The room id: 128 random bits, base64url' },
              expiresAt: { type: 'string', format: 'date-time', description: 'When the room is forgotten if nobody joins it' },
            },
            examples: [{ room: 'q0Vh3bC7dm2yLJd3o8qk6A', expiresAt: '2026-01-01T12:00:00.000Z' }],
          },
        },
      },
      // A room is cheap, but counted like work: per client per minute, and not while shutting down.
      config: { createsWork: true, errors: ['E_TOO_MANY_ROOMS'] },
    },
    async (_request, reply) => {
      const room = rooms.create();
      return reply
        .code(201)
        .header('cache-control', 'no-store')
        .send({ room: room.id, expiresAt: new Date(room.expiresAt ?? Date.now()).toISOString() });
    },
  );

  app.get(
    '/calls/config',
    {
      schema: {
        operationId: 'getCallConfig',
        summary: 'The STUN/TURN servers for video calls',
        description:
          'The ICE servers browsers give their RTCPeerConnection (--ice-servers). Empty: calls work between browsers that reach each other directly (one network); calls across NATs need a STUN, often a TURN server.',
        tags: ['calls'],
        response: {
          200: {
            type: 'object',
            required: ['iceServers'],
            properties: { iceServers: { type: 'array', items: iceServerSchema } },
          },
        },
      },
    },
    // TURN credentials may be among them: not for caches.
    async (_request, reply) => reply.header('cache-control', 'no-store').send({ iceServers }),
  );

  app.route<{ Params: { room: string } }>({
    method: 'GET',
    url: '/calls/:room/ws',
    // The URL may carry the API key (?key=): the request is not logged.
    logLevel: quieterThanInfo(app.log.level),
    config: { keyInQuery: true },
    schema: { hide: true },
    handler: async () => {
      throw new PortoonError('E_BAD_REQUEST', 'This is a WebSocket endpoint: connect with a WebSocket client (Upgrade: websocket)');
    },
    wsHandler: (ws, request) => {
      join(ws as SignalSocket, request);
    },
  });

  function join(socket: SignalSocket, request: FastifyRequest<{ Params: { room: string } }>): void {
    const room = rooms.find(request.params.room);
    if (!room) {
      refuse(socket, 'E_ROOM_NOT_FOUND', 'No such call room: the link is wrong, or the room expired', CALL_CLOSE_CODES.roomNotFound);
      return;
    }
    if (room.peers.length >= CALL_MAX_PEERS) {
      refuse(socket, 'E_ROOM_FULL', 'This call already has two people in it', CALL_CLOSE_CODES.roomFull);
      return;
    }
    const other = room.peers[0];
    const peer: Peer = {
      socket,
      polite: other ? !other.polite : false,
      alive: true,
      tokens: SIGNAL_MESSAGES_PER_SECOND,
      refilledAt: performance.now(),
    };
    rooms.join(room, peer);
    send(socket, { type: 'joined', peers: room.peers.length, polite: peer.polite });
    if (other) send(other.socket, { type: 'peer-joined' });

    socket.on('pong', () => {
      peer.alive = true;
    });
    socket.on('close', () => {
      rooms.leave(room, peer);
      for (const remaining of room.peers) send(remaining.socket, { type: 'peer-left' });
    });
    socket.on('message', (data, isBinary) => {
      if (socket.readyState !== OPEN) return;
      if (!withinRate(peer)) {
        refuse(socket, 'E_RATE_LIMITED', `More than ${SIGNAL_MESSAGES_PER_SECOND} messages a second`, CLOSE_POLICY);
        return;
      }
      if (isBinary) {
        refuse(socket, 'E_BAD_MESSAGE', 'Binary frames are not accepted: send JSON text', CLOSE_POLICY);
        return;
      }
      const parsed = parsePeerSignal(Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.concat(toBuffers(data)).toString('utf8'));
      if (!parsed.ok) {
        // A type this version does not know is answered and skipped; a broken message ends the connection.
        refuse(socket, 'E_BAD_MESSAGE', parsed.reason, parsed.unknownType ? undefined : CLOSE_POLICY);
        return;
      }
      relay(room, peer, parsed.message);
    });
  }

  function relay(room: Room, from: Peer, message: PeerSignal): void {
    for (const to of room.peers) {
      if (to === from) continue;
      if (to.socket.bufferedAmount > MAX_UNSENT_BYTES) {
        to.socket.close(CLOSE_POLICY, 'not reading');
        continue;
      }
      send(to.socket, message);
    }
  }

  // Dead connections (a laptop closed, a network gone) send no close: each socket must answer a ping
  // within one interval.
  const heartbeat = setInterval(() => {
    for (const peer of [...rooms.peers()]) {
      if (!peer.alive) {
        peer.socket.terminate();
        continue;
      }
      peer.alive = false;
      peer.socket.ping();
    }
  }, heartbeatMs);
  heartbeat.unref();
  app.addHook('onClose', async () => {
    clearInterval(heartbeat);
    rooms.close();
  });
};

/** A log level at which a request's own lines ("incoming request", with its URL) are not written. */
function quieterThanInfo(level: string): 'fatal' | 'error' | 'warn' | 'silent' {
  return level === 'fatal' || level === 'error' || level === 'silent' ? level : 'warn';
}

function toBuffers(data: ArrayBuffer | Buffer[]): Buffer[] {
  return Array.isArray(data) ? data : [Buffer.from(data)];
}

/**
 * A socket's errors. A client that breaks the protocol (a frame beyond `maxPayload`, bad framing) has
 * already been sent the close frame with the matching code (1009, 1002) by ws, which then closes the
 * socket: that is the client's doing, not a failure of the service. Anything else (an exception in a
 * handler) is logged as an error and the socket dropped.
 */
function socketError(error: Error & { code?: unknown }, socket: { terminate(): void }, request: FastifyRequest): void {
  if (typeof error.code === 'string' && error.code.startsWith('WS_ERR_')) {
    request.log.info({ code: error.code }, `websocket closed: ${error.message}`);
    return;
  }
  request.log.error({ err: error }, 'websocket handler failed');
  socket.terminate();
}

/** The options of @fastify/websocket for the service: messages no larger than signalling needs. */
export const WEBSOCKET_OPTIONS = {
  options: { maxPayload: SIGNAL_MAX_BYTES },
  errorHandler: (error: Error, socket: { terminate(): void }, request: FastifyRequest) => socketError(error, socket, request),
};

/**
 * Closes the connection of an upgrade request that was answered instead of upgraded (no key, a URL
 * the router refused). Node hands such a socket over for good once it asks to upgrade, and the HTTP
 * server's socket is half-open: without this it would stay open, unread, after the answer, and keep
 * the server from closing.
 */
function closeRefusedUpgrade(_request: IncomingMessage, socket: Duplex): void {
  const response = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (!response) return;
  const close = (): void => {
    socket.destroy();
  };
  if (response.writableFinished) close();
  else response.once('finish', close);
}

/**
 * Registers @fastify/websocket on the root instance, before the routes (any plugin may then declare
 * WebSocket routes), and the clean-up of refused upgrades.
 */
export async function registerWebSockets(app: FastifyInstance): Promise<void> {
  await app.register(websocket, WEBSOCKET_OPTIONS);
  app.server.on('upgrade', closeRefusedUpgrade);
  app.addHook('preClose', async () => {
    app.server.removeListener('upgrade', closeRefusedUpgrade);
  });
}
