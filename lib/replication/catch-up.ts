import type { DeltaReplyMessage, VectorRequestMessage } from '../codec/replication-messages.js';
import { answerVectorRequest, digestsDiffer, handleDeltaReply, vectorRequest } from '../sync/digest.js';
import type { DeltaReply } from '../sync/digest.js';
import type { Address } from '../transport/transport.js';
import type { ReplicationContext } from './context.js';
import type { RemovedOrigins } from './removed-origins.js';
import type { SyncSessions } from './sessions.js';

/**
 * Digest catch-up: a digest on an ack that differs from ours (or a gap in a peer's
 * deltas) asks that peer for exactly the deltas we miss (a vector request); its reply
 * brings them, asks for ours in turn, or calls for a Merkle session when the delta rings
 * no longer reach back far enough.
 */
export class DigestCatchUp {
  constructor(
    private readonly ctx: ReplicationContext,
    private readonly sessions: SyncSessions,
    private readonly removed: RemovedOrigins,
  ) {}

  /** An ack of our probe carried the member's digest. */
  onDigest(member: string, digest: Uint8Array): void {
    const { ctx } = this;
    const p = ctx.peers.get(member);
    if (!p) return;
    p.lastDigestAt = ctx.host.clock.wall();
    if (!digestsDiffer(digest, ctx.replica.digest())) {
      p.inSync = true;
      p.mismatches = 0;
      return;
    }
    p.inSync = false;
    p.mismatches++;
    this.removed.notice(member);
    // deltas from this peer arrived within the catch-up interval: the difference is (most
    // likely) the batches in flight both ways, which a catch-up would only send twice and,
    // once the lag exceeds the rings, turn into a Merkle session per interval under load.
    // A lost delta shows up as a gap when the origin's next one arrives (onDeltas asks
    // then), a lost tail once the traffic pauses, and the periodic Merkle sessions remain.
    if (ctx.host.clock.now() - p.lastDeltasAt < ctx.opts.catchUpIntervalMs) return;
    this.request(member, false);
  }

  /** Asks `peer` for the deltas we miss (`force`: even within the catch-up interval). */
  request(peer: string, force: boolean): void {
    const { ctx } = this;
    // while the initial bulk stream runs, the digests cannot agree and a catch-up would
    // only re-send what the stream brings anyway
    if (ctx.catchUp.phase === 'bulk') return;
    const p = ctx.peers.get(peer);
    const addr = ctx.address(peer);
    if (!p || addr === undefined) return;
    const now = ctx.host.clock.now();
    // one request in flight per peer; a lost one is retried after the interval
    if (!force && now - p.lastRequestAt < ctx.opts.catchUpIntervalMs * (p.requestOutstanding ? 4 : 1)) return;
    p.lastRequestAt = now;
    p.requestOutstanding = true;
    ctx.counters.deltaCatchUps++;
    ctx.sendSync(addr, { type: 'vector-request', from: ctx.host.name, vector: vectorRequest(ctx.replica).vector });
  }

  /** Answers a peer's vector request with the deltas it misses. */
  onVectorRequest(m: VectorRequestMessage, from: Address): void {
    const reply = answerVectorRequest(this.ctx.replica, { vector: m.vector });
    this.sendReply(m.from, from, reply);
  }

  /**
   * Applies a peer's answer to our vector request. Returns true when the answer was clean:
   * nothing missing beyond what is in flight (the readiness check's criterion).
   */
  onDeltaReply(m: DeltaReplyMessage): boolean {
    const { ctx } = this;
    const p = ctx.peers.get(m.from);
    if (p) p.requestOutstanding = false;
    const outcome = handleDeltaReply(ctx.replica, m.reply, ctx.nowTs());
    ctx.emitEvents(outcome.events);
    if (outcome.push) {
      const addr = ctx.address(m.from);
      if (addr !== undefined) this.sendReply(m.from, addr, outcome.push);
    }
    if (outcome.needMerkle) this.sessions.startMerkle(m.from);
    if (outcome.again) this.request(m.from, true);
    return !m.reply.truncated && !m.reply.unexplained && !outcome.again;
  }

  private sendReply(peer: string, fallback: Address, reply: DeltaReply): void {
    const { ctx } = this;
    ctx.sendSync(ctx.address(peer) ?? fallback, { type: 'delta-reply', from: ctx.host.name, reply });
  }
}
