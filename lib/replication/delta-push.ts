import { encode as msgpackEncode } from '@msgpack/msgpack';
import type { DeltasMessage } from '../codec/replication-messages.js';
import { encodeDeltasTrusted } from '../codec/replication-messages.js';
import type { Hlc } from '../hlc.js';
import type { Delta } from '../replica/delta.js';
import { deltaSize } from '../replica/delta.js';
import type { ReplicationContext } from './context.js';
import { DeltaLinks } from './delta-links.js';

const MAX_STREAM_BATCH_BYTES = 4 * 1024 * 1024;
const MAX_RELAY = 65_536;

/**
 * Deltas out and in. Local changes and (in epidemic mode) relayed ones collect during the
 * batch window with their encoded-size bounds; a flush sends them to every alive peer
 * (direct) or to `gossipFanout` random ones (epidemic), as datagrams or, when big, as one
 * frame built once for all peers on each peer's replication link. Inbound deltas are
 * applied; the ones new to this node are kept for relaying; a gap asks for a catch-up.
 */
export class DeltaPush {
  private readonly links: DeltaLinks;
  // deltas of the current batch window with their encoded-size bounds
  private outgoing: Delta[] = [];
  private outgoingSizes: number[] = [];
  private outgoingBytes = 0;
  private relay: Delta[] = [];
  private relaySizes: number[] = [];
  private relayBytes = 0;

  /** @param onGap called with the sender when its deltas show a gap (a catch-up is due). */
  constructor(
    private readonly ctx: ReplicationContext,
    private readonly hlc: Hlc,
    private readonly onGap: (peer: string) => void,
  ) {
    this.links = new DeltaLinks(ctx);
  }

  /** Queues a local delta for the next flush. */
  queue(delta: Delta, payloadBytes: number): void {
    const size = deltaSize(delta, payloadBytes);
    this.outgoing.push(delta);
    this.outgoingSizes.push(size);
    this.outgoingBytes += size;
  }

  /** Sends the deltas of this batch window. */
  flush(): void {
    if (this.outgoing.length === 0 && this.relay.length === 0) return;
    const { ctx } = this;
    const alive = ctx.alivePeers();
    const epidemic = alive.length > ctx.opts.directPushMax;
    let deltas = this.outgoing;
    let sizes = this.outgoingSizes;
    let bytes = this.outgoingBytes;
    if (epidemic && this.relay.length > 0) {
      deltas = deltas.concat(this.relay);
      sizes = sizes.concat(this.relaySizes);
      bytes += this.relayBytes;
    }
    this.outgoing = [];
    this.outgoingSizes = [];
    this.outgoingBytes = 0;
    this.relay = [];
    this.relaySizes = [];
    this.relayBytes = 0;
    if (alive.length === 0 || deltas.length === 0) return;
    const targets = epidemic ? ctx.host.random.sample(alive, ctx.opts.gossipFanout) : alive;
    if (bytes <= ctx.opts.streamThresholdBytes) {
      for (const msg of this.encodeBatches(deltas, sizes, ctx.host.maxDatagramMessage())) {
        for (const p of targets) {
          const addr = ctx.address(p);
          if (addr === undefined) continue;
          ctx.counters.deltasOut += msg.length;
          ctx.host.enqueue(addr, msg, 'replication');
        }
      }
      return;
    }
    // a big batch: one ordered frame on each peer's replication stream, built (and
    // deflated) once for all of them
    for (const msg of this.encodeBatches(deltas, sizes, MAX_STREAM_BATCH_BYTES)) {
      const frame = ctx.host.fastFrame([msg]);
      for (const p of targets) this.links.send(p, frame, msg.length);
    }
  }

  /** Applies a batch of deltas from a peer. */
  receive(m: DeltasMessage): void {
    const { ctx } = this;
    const now = ctx.nowTs();
    const from = ctx.peers.get(m.from);
    if (from) from.lastDeltasAt = ctx.host.clock.now();
    const epidemic = ctx.peers.size > ctx.opts.directPushMax;
    let fresh: Delta[] | undefined;
    if (epidemic) fresh = m.deltas.filter((d) => d.node !== ctx.host.name && !ctx.replica.vector.covers(d.node, d.epoch, d.seq));
    let estimate = 0;
    for (const d of m.deltas) {
      if (d.kind === 'publish') this.hlc.observe(d.ts);
      estimate += deltaSize(d, cheapSize(d));
    }
    ctx.counters.deltasIn += estimate;
    const result = ctx.replica.apply(m.deltas, now);
    ctx.countInvalid(result.invalid);
    ctx.emitEvents(result.events);
    if (fresh && fresh.length > 0 && this.relay.length < MAX_RELAY) {
      for (const d of fresh) {
        const size = deltaSize(d, payloadBound(d));
        this.relay.push(d);
        this.relaySizes.push(size);
        this.relayBytes += size;
      }
      ctx.counters.relayed += fresh.length;
    }
    if (result.gap) this.onGap(m.from);
  }

  /** `peer` left or died: its link closes. */
  peerGone(peer: string): void {
    this.links.close(peer);
  }

  /** The replicator stops: every link closes. */
  stop(): void {
    this.links.closeAll();
  }

  private encodeBatches(deltas: Delta[], sizes: number[], maxBytes: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    const from = this.ctx.host.name;
    // sizes are upper bounds: a batch of bounded deltas fits; re-split the rare overflow
    const overhead = 16 + from.length * 3;
    let batch: Delta[] = [];
    let bytes = overhead;
    const emit = (): void => {
      if (batch.length === 0) return;
      // our own replica's deltas, validated when they entered it: no second validation pass
      out.push(encodeDeltasTrusted(from, batch));
      batch = [];
      bytes = overhead;
    };
    for (let i = 0; i < deltas.length; i++) {
      const d = deltas[i]!;
      const size = sizes[i]!;
      if (bytes + size > maxBytes) emit();
      batch.push(d);
      bytes += size;
    }
    emit();
    return out;
  }
}

function payloadOf(d: Delta): unknown {
  return d.kind === 'publish' ? d.data : d.kind === 'leave' ? null : d.info;
}

// the payload's encoded size, for batching relayed deltas
function payloadBound(d: Delta): number {
  const v = payloadOf(d);
  if (v instanceof Uint8Array) return v.byteLength + 5;
  if (typeof v === 'string') return Buffer.byteLength(v) + 5;
  if (v === null || v === undefined || typeof v === 'boolean') return 1;
  if (typeof v === 'number') return 9;
  try {
    return msgpackEncode(v).byteLength;
  } catch {
    return 64;
  }
}

// a cheaper estimate for the inbound byte counter (objects are not re-encoded)
function cheapSize(d: Delta): number {
  const v = payloadOf(d);
  if (v instanceof Uint8Array) return v.byteLength + 5;
  if (typeof v === 'string') return v.length + 5;
  return typeof v === 'object' && v !== null ? 32 : 9;
}
