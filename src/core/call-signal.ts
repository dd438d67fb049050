/**
 * The messages of a video call's signalling WebSocket (`/api/v1/calls/:room/ws`), both ways, and the
 * parser both ends read them with. Everything is one JSON object per text frame, at most
 * SIGNAL_MAX_BYTES. The service relays what one peer sends (offer, answer, candidate, bye) to the
 * other peer of the room only, rebuilt from the fields below: nothing else a client writes is passed on.
 */
import type { ErrorCode } from './errors.js';

/** Largest message either side may send, in bytes (a frame beyond it closes the socket with 1009). */
export const SIGNAL_MAX_BYTES = 64 * 1024;

/** A room holds the two people of a call. */
export const CALL_MAX_PEERS = 2;

/** WebSocket close codes of the signalling socket besides the standard ones (1008 policy, 1009 too large). */
export const CALL_CLOSE_CODES = { roomNotFound: 4404, roomFull: 4409 } as const;

/** An ICE candidate as `RTCIceCandidate.toJSON()` gives it. */
export interface IceCandidate {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
  usernameFragment?: string | null;
}

/** What a peer sends, relayed to the other peer as it is. A null candidate means "no more candidates". */
export type PeerSignal =
  | { type: 'offer'; sdp: string }
  | { type: 'answer'; sdp: string }
  | { type: 'candidate'; candidate: IceCandidate | null }
  | { type: 'bye' };

/** What the service itself says. */
export type ServiceSignal =
  /** To the one who joined: how many are in the room now (itself included), and its role in perfect negotiation. */
  | { type: 'joined'; peers: number; polite: boolean }
  | { type: 'peer-joined' }
  | { type: 'peer-left' }
  | { type: 'error'; code: ErrorCode; message: string };

/** Everything a peer may receive. */
export type ReceivedSignal = PeerSignal | ServiceSignal;

export const PEER_SIGNAL_TYPES: readonly PeerSignal['type'][] = ['offer', 'answer', 'candidate', 'bye'];

export type SignalParse<T> = { ok: true; message: T } | { ok: false; reason: string; unknownType: boolean };

function fail<T>(reason: string, unknownType = false): SignalParse<T> {
  return { ok: false, reason, unknownType };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(value: unknown): value is string | null | undefined {
  return value === undefined || value === null || typeof value === 'string';
}

function parseCandidate(value: unknown): IceCandidate | null | undefined {
  if (value === null) return null;
  if (!isObject(value) || typeof value.candidate !== 'string') return undefined;
  const { candidate, sdpMid, sdpMLineIndex, usernameFragment } = value;
  const index = sdpMLineIndex;
  if (!optionalString(sdpMid) || !optionalString(usernameFragment)) return undefined;
  if (index !== undefined && index !== null && !(Number.isInteger(index) && (index as number) >= 0 && (index as number) < 1024))
    return undefined;
  return {
    candidate,
    ...(sdpMid === undefined ? {} : { sdpMid }),
    ...(index === undefined ? {} : { sdpMLineIndex: index as number | null }),
    ...(usernameFragment === undefined ? {} : { usernameFragment }),
  };
}

/**
 * Reads what a peer sent: a copy with only the known fields, or why it is refused (`unknownType`: a
 * well-formed message of a type this version does not know).
 */
export function parsePeerSignal(text: string): SignalParse<PeerSignal> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fail('The message is not valid JSON');
  }
  if (!isObject(value) || typeof value.type !== 'string') return fail('A message is a JSON object with a "type"');
  switch (value.type) {
    case 'offer':
    case 'answer':
      if (typeof value.sdp !== 'string' || value.sdp === '') return fail(`An ${value.type} needs its session description in "sdp"`);
      return { ok: true, message: { type: value.type, sdp: value.sdp } };
    case 'candidate': {
      const candidate = parseCandidate(value.candidate);
      if (candidate === undefined) return fail('A candidate needs "candidate": an RTCIceCandidate as JSON, or null');
      return { ok: true, message: { type: 'candidate', candidate } };
    }
    case 'bye':
      return { ok: true, message: { type: 'bye' } };
    default:
      return fail(`Unknown message type; the types are ${PEER_SIGNAL_TYPES.join(', ')}`, true);
  }
}

/** Reads what the service sent (a peer's message or the service's own); undefined for anything else. */
export function parseReceivedSignal(text: string): ReceivedSignal | undefined {
  const peer = parsePeerSignal(text);
  if (peer.ok) return peer.message;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(value)) return undefined;
  switch (value.type) {
    case 'joined':
      return typeof value.peers === 'number' && typeof value.polite === 'boolean'
        ? { type: 'joined', peers: value.peers, polite: value.polite }
        : undefined;
    case 'peer-joined':
    case 'peer-left':
      return { type: value.type };
    case 'error':
      return typeof value.code === 'string' && typeof value.message === 'string'
        ? { type: 'error', code: value.code as ErrorCode, message: value.message }
        : undefined;
    default:
      return undefined;
  }
}
