/**
 * One call's RTCPeerConnection, negotiated with WebRTC's "perfect negotiation" pattern: both sides
 * may make offers at any time, and when two offers cross, the polite side (the service tells each
 * side which it is) rolls its own back and answers the other's, while the impolite side ignores the
 * offer it receives. Each side sends one video track (its stylized camera) and shows the other's.
 *
 * The first negotiation is the impolite side's alone: the polite side adds its camera to the
 * transceiver the first offer brings and sends it with its answer, so the call does not begin with
 * two crossing offers. (It would be resolved, but in Chromium a rolled-back offer can leave ICE
 * without candidates, measured in 5 calls of 24: both sides then wait forever.)
 *
 * The sender is set for a live picture: 640x480 at up to 30 frames per second, keeping the frame
 * rate when bandwidth or CPU runs short (the encoder lowers the resolution for a while, so the
 * picture gets softer instead of jerky; a call starts that way while the bandwidth estimate ramps
 * up, and is at 640x480 within a few seconds on a local network).
 */
import type { IceCandidate, PeerSignal } from '../../../src/core/call-signal.js';

/** Highest bitrate of the video sent, bits per second: plenty for a 640x480 cartoon at 30 fps. */
export const MAX_VIDEO_BITRATE = 1_500_000;
export const MAX_FRAME_RATE = 30;
/**
 * How long the receiver holds frames before showing them, in ms. Frames drawn in a browser arrive
 * unevenly; shown as they come, two in one display refresh lose one. Measured at 28 fps on one
 * machine: 10–24 frames of 560 never shown without it, 3–5 with it, for 18 ms more latency.
 */
export const RECEIVE_BUFFER_MS = 50;

export interface CallPeerOptions {
  polite: boolean;
  iceServers: RTCIceServer[];
  /** The stylized camera to send. */
  track: MediaStreamTrack;
  stream: MediaStream;
  /** Sends a message to the other side over the signalling socket. */
  signal(message: PeerSignal): void;
  /** The other side's video, once it arrives. */
  onRemoteStream(stream: MediaStream): void;
  /** The connection's state changed (new, connecting, connected, disconnected, failed, closed). */
  onStateChange(state: RTCPeerConnectionState): void;
  /** Something went wrong in negotiation (reported, not thrown: the call may still recover). */
  onError?(error: unknown): void;
}

export class CallPeer {
  readonly connection: RTCPeerConnection;
  readonly #options: CallPeerOptions;
  #makingOffer = false;
  #ignoreOffer = false;
  #settingRemoteAnswer = false;
  /** Messages are handled one after another, in the order they arrived. */
  #queue: Promise<void> = Promise.resolve();
  /** Undefined on the polite side until the first offer arrives. */
  #sender: RTCRtpSender | undefined;

  constructor(options: CallPeerOptions) {
    this.#options = options;
    const connection = new RTCPeerConnection({ iceServers: options.iceServers });
    this.connection = connection;
    if ('contentHint' in options.track) options.track.contentHint = 'motion';
    if (!options.polite) {
      this.#sender = connection.addTrack(options.track, options.stream);
      void this.tuneSender();
    }

    connection.addEventListener('negotiationneeded', () => {
      void this.#offer();
    });
    connection.addEventListener('icecandidate', ({ candidate }) => {
      options.signal({ type: 'candidate', candidate: candidate ? (candidate.toJSON() as IceCandidate) : null });
    });
    connection.addEventListener('track', ({ track, streams, receiver }) => {
      receiver.jitterBufferTarget = RECEIVE_BUFFER_MS;
      options.onRemoteStream(streams[0] ?? new MediaStream([track]));
    });
    connection.addEventListener('connectionstatechange', () => {
      options.onStateChange(connection.connectionState);
      if (connection.connectionState === 'connected') void this.tuneSender();
    });
    connection.addEventListener('iceconnectionstatechange', () => {
      // A broken path is tried again with fresh candidates (the offer side restarts ICE).
      if (connection.iceConnectionState === 'failed') connection.restartIce();
    });
  }

  /** Handles a message from the other side (offer, answer or candidate). */
  handle(message: PeerSignal): Promise<void> {
    this.#queue = this.#queue.then(() => this.#handle(message)).catch((error: unknown) => this.#options.onError?.(error));
    return this.#queue;
  }

  close(): void {
    this.connection.close();
  }

  /**
   * The sender's settings: keep the frame rate, at most MAX_VIDEO_BITRATE and MAX_FRAME_RATE, sent at
   * full size (no fixed down-scaling). Applied once the sender has its encoding (and again once connected).
   */
  async tuneSender(): Promise<void> {
    if (!this.#sender) return;
    const parameters = this.#sender.getParameters();
    if (parameters.encodings.length === 0) return;
    for (const encoding of parameters.encodings) {
      encoding.maxBitrate = MAX_VIDEO_BITRATE;
      encoding.maxFramerate = MAX_FRAME_RATE;
      encoding.scaleResolutionDownBy = 1;
    }
    (parameters as RTCRtpSendParameters & { degradationPreference?: string }).degradationPreference = 'maintain-framerate';
    try {
      await this.#sender.setParameters(parameters);
    } catch (error) {
      // A browser that refuses one of them still sends: with its own defaults.
      this.#options.onError?.(error);
    }
  }

  async #offer(): Promise<void> {
    try {
      this.#makingOffer = true;
      await this.connection.setLocalDescription();
      const description = this.connection.localDescription;
      if (description?.type === 'offer') this.#options.signal({ type: 'offer', sdp: description.sdp });
    } catch (error) {
      this.#options.onError?.(error);
    } finally {
      this.#makingOffer = false;
    }
  }

  /** The polite side's camera, on the video transceiver of the offer being answered. */
  async #sendWithAnswer(): Promise<void> {
    const { track, stream } = this.#options;
    const transceiver = this.connection
      .getTransceivers()
      .find((t) => t.receiver.track.kind === 'video' && !t.sender.track && t.currentDirection === null);
    if (!transceiver) {
      // An offer without video: send it in a negotiation of its own.
      this.#sender = this.connection.addTrack(track, stream);
      return;
    }
    transceiver.direction = 'sendrecv';
    await transceiver.sender.replaceTrack(track);
    transceiver.sender.setStreams(stream);
    this.#sender = transceiver.sender;
    await this.tuneSender();
  }

  async #handle(message: PeerSignal): Promise<void> {
    const connection = this.connection;
    if (message.type === 'candidate') {
      try {
        await connection.addIceCandidate(message.candidate ?? undefined);
      } catch (error) {
        // Candidates of an offer this side ignored fail to apply: expected.
        if (!this.#ignoreOffer) throw error;
      }
      return;
    }
    if (message.type !== 'offer' && message.type !== 'answer') return;
    const readyForOffer = !this.#makingOffer && (connection.signalingState === 'stable' || this.#settingRemoteAnswer);
    const collision = message.type === 'offer' && !readyForOffer;
    this.#ignoreOffer = !this.#options.polite && collision;
    if (this.#ignoreOffer) return;
    this.#settingRemoteAnswer = message.type === 'answer';
    await connection.setRemoteDescription({ type: message.type, sdp: message.sdp });
    this.#settingRemoteAnswer = false;
    if (message.type === 'offer') {
      if (!this.#sender) await this.#sendWithAnswer();
      await connection.setLocalDescription();
      const answer = connection.localDescription;
      if (answer) this.#options.signal({ type: 'answer', sdp: answer.sdp });
    }
  }
}
