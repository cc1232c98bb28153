import type { ReplicationContext } from './context.js';
import type { FramedStream } from './framed-stream.js';

/** An outgoing replication stream to one peer: ordered big delta batches. */
export interface PeerLink {
  stream: FramedStream | undefined;
  dialing: boolean;
  queue: Uint8Array[];
  queuedBytes: number;
}

const MAX_LINK_QUEUE_BYTES = 8 * 1024 * 1024;

/**
 * The per-peer replication streams that carry delta batches too big for datagrams: dialed
 * on first use, frames queued while dialing or while the stream is full, the queue capped
 * (a peer that cannot keep up loses batches, which digests and Merkle sessions repair).
 */
export class DeltaLinks {
  constructor(private readonly ctx: ReplicationContext) {}

  /** Sends `frame` (a complete stream frame, host.fastFrame) carrying `bytes` of messages to `peer`. */
  send(peer: string, frame: Uint8Array, bytes: number): void {
    const ctx = this.ctx;
    const p = ctx.peers.get(peer);
    const addr = ctx.address(peer);
    if (!p || addr === undefined) return;
    let link = p.link;
    if (!link) link = p.link = { stream: undefined, dialing: false, queue: [], queuedBytes: 0 };
    ctx.counters.deltasOut += bytes;
    const msg = frame;
    if (link.stream && !link.stream.isClosed && link.queue.length === 0 && link.stream.sendFrame(msg)) return;
    if (link.queuedBytes + msg.length > MAX_LINK_QUEUE_BYTES) {
      // the peer cannot keep up: drop, a digest catch-up or Merkle session repairs it
      ctx.counters.linkDrops++;
      return;
    }
    link.queue.push(msg);
    link.queuedBytes += msg.length;
    if (link.stream && !link.stream.isClosed) return;
    if (link.dialing) return;
    link.dialing = true;
    const l = link;
    ctx.host.dial(addr, true).then(
      (stream) => {
        l.dialing = false;
        if (!ctx.running || p.link !== l) return stream.close();
        l.stream = stream;
        stream.onMessages(() => {});
        stream.onDrain(() => this.drain(l));
        stream.onClose(() => {
          if (l.stream === stream) l.stream = undefined;
        });
        this.drain(l);
      },
      () => {
        l.dialing = false;
        ctx.counters.linkDrops += l.queue.length;
        l.queue = [];
        l.queuedBytes = 0;
      },
    );
  }

  /** Closes `peer`'s link (it left or died). */
  close(peer: string): void {
    this.ctx.peers.get(peer)?.link?.stream?.close();
  }

  /** Closes every link (the replicator stops). */
  closeAll(): void {
    for (const p of this.ctx.peers.values()) p.link?.stream?.close();
  }

  private drain(l: PeerLink): void {
    while (l.stream && l.queue.length > 0) {
      if (!l.stream.sendFrame(l.queue[0]!)) return;
      l.queuedBytes -= l.queue.shift()!.length;
    }
  }
}
