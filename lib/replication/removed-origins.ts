import type { ReplicationContext } from './context.js';
import type { SyncSessions } from './sessions.js';

const FIRST_NOTICE_PAUSE_MS = 1_000;
const MAX_NOTICE_PAUSE_MS = 30_000;

/**
 * Members this node removed (confirmed dead or left) and members that came back after
 * that. A removed member that is alive again is told (origin-removed), so that it
 * re-announces its presence under a newer epoch; a returned member gets one Merkle
 * session, since what it wrote meanwhile is often invisible to digests.
 */
export class RemovedOrigins {
  // origins this node removed (confirmed dead or left), with the epoch removed: when such
  // a member is alive again it is told, so that it re-announces under a newer epoch
  private readonly removedOrigins = new Map<string, number>();
  // members that came back after we had declared them dead or gone (a healed partition, a
  // restart), with when: what they wrote meanwhile is often invisible to digests (a new
  // epoch counts the old one as covered), so one Merkle session with one of them is due
  private readonly returned = new Map<string, number>();
  // when each removed member may be told again, and the pause after that: the notices
  // back off (1 s, 2 s, 4 s … 30 s). Repeated every second, they cost a healed half of a
  // big cluster n/2 datagrams per node per second until every member re-announced, and a
  // member without local presence re-announces only with its next write (decision 0057)
  private readonly nextNotice = new Map<string, { at: number; pauseMs: number }>();

  constructor(
    private readonly ctx: ReplicationContext,
    private readonly sessions: SyncSessions,
  ) {}

  /** A member is alive: if we had removed it, it has returned (and is told again). */
  memberUp(name: string): void {
    if (this.removedOrigins.has(name)) this.returned.set(name, this.ctx.host.clock.now());
    this.notice(name);
  }

  /** A member died or left: its origin is removed at its current epoch. */
  memberGone(name: string): void {
    this.removedOrigins.set(name, this.ctx.replica.vector.get(name)?.epoch ?? 0);
    this.nextNotice.delete(name);
    this.returned.delete(name);
  }

  /** Tells a member that came back that we dropped its presence (until it re-announces). */
  notice(name: string): void {
    const { ctx } = this;
    const removed = this.removedOrigins.get(name);
    if (removed === undefined) return;
    if ((ctx.replica.vector.get(name)?.epoch ?? 0) > removed) {
      this.removedOrigins.delete(name);
      this.nextNotice.delete(name);
      return;
    }
    const addr = ctx.address(name);
    if (addr === undefined) return;
    const now = ctx.host.clock.now();
    const next = this.nextNotice.get(name);
    if (next && now < next.at) return;
    const pauseMs = next ? Math.min(MAX_NOTICE_PAUSE_MS, next.pauseMs * 2) : FIRST_NOTICE_PAUSE_MS;
    this.nextNotice.set(name, { at: now + pauseMs, pauseMs });
    ctx.sendSync(addr, { type: 'origin-removed', from: ctx.host.name, epoch: removed });
  }

  /**
   * Repeats the notices that are due: a removal notice is a datagram and may be lost; the
   * digests cannot tell (the vector still lists the removed epoch on both sides), so it is
   * repeated, backing off, until the member re-announces.
   */
  noticeAll(): void {
    for (const name of [...this.removedOrigins.keys()]) this.notice(name);
  }

  /**
   * After a heal, one Merkle session with a member that came back brings across what its
   * side wrote while apart (all of it, when that side shared its writes), instead of
   * waiting for a periodic session to pair the two sides by chance (simulated split brain
   * at 24 nodes: caught up 6.5 s after the heal instead of 78.5 s). One session per housekeeping tick
   * until one ends with nothing left out by the session budgets; that one settles every
   * member that had returned when it started.
   */
  repair(): void {
    if (this.returned.size === 0) return;
    if (this.sessions.repairing(this.returned)) return;
    const started = this.ctx.host.clock.now();
    for (const name of this.returned.keys()) {
      if (!this.ctx.peers.has(name)) {
        this.returned.delete(name);
        continue;
      }
      const ok = this.sessions.startMerkle(name, (_ok, complete) => {
        if (!complete) return;
        for (const [n, at] of [...this.returned]) if (at <= started) this.returned.delete(n);
      });
      if (ok) return;
    }
  }
}
