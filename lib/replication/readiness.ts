import type { DigestCatchUp } from './catch-up.js';
import type { ReplicationContext } from './context.js';
import type { SyncSessions } from './sessions.js';

/**
 * The initial catch-up and readiness: an empty node streams a peer's whole state (bulk),
 * a restarted one runs a Merkle session; then vector requests to that peer until one
 * comes back clean (or 20 did not), and the node is ready.
 */
export class Readiness {
  private isReady = false;

  /** @param restored the node restarted with state of its own (Merkle, not bulk). */
  constructor(
    private readonly ctx: ReplicationContext,
    private readonly sessions: SyncSessions,
    private readonly catchUp: DigestCatchUp,
    private readonly restored: boolean,
  ) {}

  /** True once the initial catch-up finished (or this node founded the cluster). */
  get ready(): boolean {
    return this.isReady;
  }

  /** Starts the initial catch-up with a random alive peer, unless ready or under way. */
  begin(): void {
    const { ctx } = this;
    if (this.isReady || ctx.catchUp.phase !== 'idle' || !ctx.running) return;
    const candidates = ctx.alivePeers();
    const peer = ctx.host.random.pick(candidates);
    if (peer === undefined) return;
    const after = (ok: boolean): void => {
      if (!ok) {
        ctx.catchUp = { phase: 'idle', peer: undefined, checks: 0 };
        return;
      }
      ctx.catchUp = { phase: 'check', peer, checks: 0 };
      this.catchUp.request(peer, true);
    };
    // a restarted node holds its history: Merkle finds what it missed; an empty one streams everything
    if (this.restored) {
      if (this.sessions.startMerkle(peer, after)) ctx.catchUp = { phase: 'merkle', peer, checks: 0 };
    } else if (this.sessions.startBulk(peer, after)) {
      ctx.catchUp = { phase: 'bulk', peer, checks: 0 };
    }
  }

  /** A delta reply from `peer` arrived; `clean`: it left nothing missing (see DigestCatchUp.onDeltaReply). */
  onReply(peer: string, clean: boolean): void {
    const { catchUp } = this.ctx;
    if (catchUp.phase === 'check' && catchUp.peer === peer && clean) {
      // nothing missing beyond what is in flight: caught up with this peer
      this.set();
    } else if (catchUp.phase === 'check' && catchUp.peer === peer && ++catchUp.checks > 20) {
      this.set();
    }
  }

  /**
   * The housekeeping tick of a node not ready yet: the readiness check asks again until a
   * clean answer (otherwise an answer that needed a Merkle session, or a lost request once
   * the digests agree, would leave the node unready for good); a check peer that went away
   * hands over to another peer.
   */
  tick(): void {
    const { ctx } = this;
    if (ctx.catchUp.phase === 'check') {
      if (ctx.catchUp.peer !== undefined && ctx.peers.has(ctx.catchUp.peer)) this.catchUp.request(ctx.catchUp.peer, false);
      else ctx.catchUp = { phase: 'idle', peer: undefined, checks: 0 };
    }
    this.begin();
  }

  /** Marks the node ready and emits 'ready' (once). */
  set(): void {
    if (this.isReady) return;
    this.isReady = true;
    this.ctx.catchUp = { phase: 'idle', peer: undefined, checks: 0 };
    this.ctx.events.emit('ready', {});
  }
}
