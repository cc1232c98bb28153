import { ClusterError } from '../errors.js';
import type { Address, Stream } from './transport.js';

/** What a {@link MemoryStream} needs from the network that carries it. */
export interface StreamCarrier {
  /** Carries `message` (or, when null, the end-of-stream mark) from `end` to its peer. */
  carry(end: MemoryStream, message: Uint8Array | null): void;
}

/** Life of one end of a memory stream. */
export const StreamState = {
  Open: 0,
  /** close() was called: nothing more may be sent, the FIN is on its way. */
  Ending: 1,
  Closed: 2,
} as const;
/** One of the {@link StreamState} values. */
export type StreamState = (typeof StreamState)[keyof typeof StreamState];

/**
 * One end of a reliable, ordered in-memory stream. The network keeps both ends and
 * moves messages between them in virtual time; this class holds the per-end state
 * (handlers, back-pressure accounting, ordering watermark).
 */
export class MemoryStream implements Stream {
  /** The other end; set right after both ends are made. */
  peer!: MemoryStream;
  state: StreamState = StreamState.Open;
  /** Latest delivery time scheduled from this end: later messages never overtake it. */
  lastAt = 0;
  /** Bytes sent from this end and not yet delivered to the peer. */
  buffered = 0;
  private wantDrain = false;
  private messageHandler: ((message: Uint8Array) => void) | undefined;
  private held: Uint8Array[] | undefined;
  private readonly closeHandlers: ((err?: Error) => void)[] = [];
  private drainHandlers: (() => void)[] | undefined;
  private error: Error | undefined;

  constructor(
    private readonly carrier: StreamCarrier,
    /** The other end's address. */
    readonly remote: Address,
    /** Opaque owner (the transport this end belongs to). */
    readonly owner: object,
    /** True for the accepting end. */
    readonly inbound: boolean,
    private readonly maxMessage: number,
    private readonly highWaterMark: number,
  ) {}

  send(message: Uint8Array): boolean {
    if (message.length > this.maxMessage) {
      throw new ClusterError('E_LIMIT', `stream message of ${message.length} bytes exceeds maxStreamMessage ${this.maxMessage}`);
    }
    if (this.state !== StreamState.Open) return false;
    if (this.buffered > this.highWaterMark) {
      this.wantDrain = true;
      return false;
    }
    this.buffered += message.length;
    this.carrier.carry(this, message);
    return true;
  }

  onMessage(handler: (message: Uint8Array) => void): void {
    this.messageHandler = handler;
    const held = this.held;
    if (held) {
      this.held = undefined;
      for (const message of held) {
        if (this.messageHandler !== handler || this.state === StreamState.Closed) break;
        handler(message);
      }
    }
  }

  onClose(handler: (err?: Error) => void): void {
    if (this.state === StreamState.Closed) handler(this.error);
    else this.closeHandlers.push(handler);
  }

  onDrain(handler: () => void): void {
    (this.drainHandlers ??= []).push(handler);
  }

  close(): void {
    if (this.state !== StreamState.Open) return;
    this.state = StreamState.Ending;
    this.carrier.carry(this, null);
  }

  /** Hands a message that arrived from the peer to the application. */
  deliver(message: Uint8Array): void {
    if (this.messageHandler) this.messageHandler(message);
    else (this.held ??= []).push(message);
  }

  /** Accounts for a message of ours that reached the peer; fires drain handlers. */
  delivered(length: number): void {
    this.buffered -= length;
    if (this.wantDrain && this.buffered <= this.highWaterMark && this.state === StreamState.Open) {
      this.wantDrain = false;
      if (this.drainHandlers) for (const handler of this.drainHandlers) handler();
    }
  }

  /** Ends this end (once), telling the close handlers why. */
  finish(err?: Error): void {
    if (this.state === StreamState.Closed) return;
    this.state = StreamState.Closed;
    this.error = err;
    this.held = undefined;
    const handlers = this.closeHandlers.splice(0);
    for (const handler of handlers) handler(err);
  }
}
