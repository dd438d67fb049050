/**
 * The call's signalling socket (`/api/v1/calls/:room/ws`): typed messages in and out, one lifecycle
 * (open, messages, closed once) and no reconnection: a call whose socket closes is over, and the page
 * says why. See src/core/call-signal.ts for the messages.
 */
import { CALL_CLOSE_CODES, parseReceivedSignal, type PeerSignal, type ReceivedSignal } from '../../../src/core/call-signal.js';

/** Why the socket closed, in words for the person in the call. */
export interface SignallingClosed {
  code: number;
  /** The service's error code when it said one (E_ROOM_NOT_FOUND, E_ROOM_FULL, …). */
  errorCode: string | undefined;
  message: string;
}

export interface SignallingHandlers {
  onMessage(message: ReceivedSignal): void;
  /** Called once, however the socket ended (also when it never opened). */
  onClose(closed: SignallingClosed): void;
}

/** The socket URL of a room, on this page's origin; with the API key as `?key=` when there is one. */
export function signallingUrl(room: string, apiKey: string | null, base: Location = location): string {
  const url = new URL(`/api/v1/calls/${encodeURIComponent(room)}/ws`, base.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  if (apiKey) url.searchParams.set('key', apiKey);
  return url.href;
}

function closeMessage(code: number, errorCode: string | undefined, serverMessage: string | undefined): string {
  if (code === CALL_CLOSE_CODES.roomNotFound || errorCode === 'E_ROOM_NOT_FOUND') {
    return 'This call link is not valid, or the call has expired. Ask for a new link, or start a call yourself.';
  }
  if (code === CALL_CLOSE_CODES.roomFull || errorCode === 'E_ROOM_FULL') return 'This call already has two people in it.';
  if (code === 1000) return 'The call has ended.';
  if (serverMessage) return `The call was ended by the server: ${serverMessage}`;
  return 'The connection to the server was lost.';
}

export class Signalling {
  readonly #socket: WebSocket;
  #closed = false;
  #lastError: { code: string; message: string } | undefined;

  constructor(
    url: string,
    private readonly handlers: SignallingHandlers,
  ) {
    this.#socket = new WebSocket(url);
    this.#socket.addEventListener('message', (event: MessageEvent<unknown>) => {
      if (typeof event.data !== 'string') return;
      const message = parseReceivedSignal(event.data);
      if (!message) return;
      if (message.type === 'error') this.#lastError = { code: message.code, message: message.message };
      this.handlers.onMessage(message);
    });
    this.#socket.addEventListener('close', (event) => {
      if (this.#closed) return;
      this.#closed = true;
      const error = this.#lastError;
      this.handlers.onClose({ code: event.code, errorCode: error?.code, message: closeMessage(event.code, error?.code, error?.message) });
    });
  }

  /** Sends a message to the other person (dropped once the socket is closing). */
  send(message: PeerSignal): void {
    if (this.#socket.readyState === WebSocket.OPEN) this.#socket.send(JSON.stringify(message));
  }

  /** Says goodbye to the other person and closes the socket; onClose is not called for it. */
  hangUp(): void {
    if (this.#closed) return;
    this.send({ type: 'bye' });
    this.#closed = true;
    this.#socket.close(1000, 'hang up');
  }
}
