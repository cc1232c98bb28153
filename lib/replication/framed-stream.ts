import type { FrameDecoder, FrameEncoder } from '../codec/frame.js';
import type { AnyMessage } from '../codec/messages.js';
import type { Address, Stream } from '../transport/transport.js';

/**
 * A stream carrying frames (the same frames as datagrams: label, compression,
 * encryption) of encoded messages. The runtime owns the codec; this only pairs it with
 * one stream so that replication sessions can talk in messages.
 */
export class FramedStream {
  private closed = false;

  /**
   * @param raw the transport stream.
   * @param encoder frames outgoing messages.
   * @param decoder reads incoming frames (shared by every stream of the node).
   * @param onReject called when an incoming frame is refused (the stream is then closed).
   */
  constructor(
    readonly raw: Stream,
    private readonly encoder: FrameEncoder,
    private readonly decoder: FrameDecoder,
    private readonly onReject: () => void = () => {},
  ) {
    raw.onClose(() => {
      this.closed = true;
    });
  }

  /** The other end's socket address (an ephemeral port for an accepted TCP stream). */
  get remote(): Address {
    return this.raw.remote;
  }

  /** True once the stream ended (either side). */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Sends encoded messages as one frame; false when the stream refused it (closed or over its high-water mark). */
  send(messages: Uint8Array[]): boolean {
    if (this.closed) return false;
    return this.raw.send(this.encoder.encode(messages));
  }

  /** Sends a frame built elsewhere (e.g. by an encoder that does not deflate). */
  sendFrame(frame: Uint8Array): boolean {
    if (this.closed) return false;
    return this.raw.send(frame);
  }

  /** Decodes every incoming frame and hands its messages over; a bad frame closes the stream. */
  onMessages(handler: (messages: AnyMessage[]) => void): void {
    this.raw.onMessage((data) => {
      const r = this.decoder.decode(data);
      if (!r.ok) {
        this.onReject();
        this.close();
        return;
      }
      handler(r.messages);
    });
  }

  onClose(handler: (err?: Error) => void): void {
    this.raw.onClose(handler);
  }

  onDrain(handler: () => void): void {
    this.raw.onDrain?.(handler);
  }

  close(): void {
    this.closed = true;
    this.raw.close();
  }
}
