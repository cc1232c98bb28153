import { encodeMessage } from '../codec/messages.js';
import type { AliveMessage } from '../codec/messages.js';
import type { SwimCore } from './core.js';
import type { HealthRecord } from './evidence.js';

/**
 * This node's own standing in the cluster: its incarnation (refuting a claim against it,
 * re-announcing itself to a stale accuser), its Lifeguard health score, and whether a
 * message just declared it dead (foca's `Notification::Defunct`).
 */
export class LocalNode {
  /** A message being handled declared us dead: {@link notifyDefunct} is due when it is done. */
  defunct = false;

  constructor(
    private readonly core: SwimCore,
    private readonly onDefunct: ((incarnation: number) => void) | undefined,
  ) {}

  /** Claims life above `claimed`, Lifeguard-penalising ourselves for having needed to. */
  refute(claimed: number): void {
    const { table, self } = this.core;
    table.setIncarnation(self, Math.max(self.incarnation, claimed) + 1);
    this.core.counters.refutations++;
    this.adjustHealth(1, 'refuted', this.core.name, claimed);
    this.broadcastSelf();
  }

  /**
   * Someone still accuses an incarnation we already refuted: it missed every copy of our
   * refutation (an epidemic with a transmit limit reaches each member with high
   * probability, not surely), and nothing else would tell it before its suspicion timer
   * runs out. Queue our current alive again, without raising the incarnation or
   * penalising our health. When the claim came with a ping (the buddy system), the ack
   * carries it straight back to the accuser. Once per exhausted broadcast, so a burst of
   * stale claims costs one re-announcement.
   */
  reannounce(): void {
    if (this.core.leaving || this.core.queue.has(this.core.name)) return;
    this.broadcastSelf();
  }

  /** Queues our current alive message for gossip (not while leaving). */
  broadcastSelf(): void {
    if (this.core.leaving) return;
    const self = this.core.self;
    const msg: AliveMessage = { type: 'alive', node: self.name, incarnation: self.incarnation, addr: self.addr, meta: self.meta };
    this.core.queue.queueMessage(self.name, msg, encodeMessage(msg));
  }

  /** Lifeguard: moves our health score by `delta`; `cause`, `about` and `x`, `y` say why (see EvidenceLog.health). */
  adjustHealth(delta: number, cause: HealthRecord['cause'], about: string, x = 0, y = 0): void {
    const { awareness } = this.core;
    if (!awareness.apply(delta)) return;
    this.core.evidence?.health(this.core.clock.now(), delta, awareness.score, cause, about, x, y);
    this.core.events.emit('health-changed', { score: awareness.score });
  }

  /** Tells the runtime, once per handled message, that it declared us dead (see MembershipInit.onDefunct). */
  notifyDefunct(): void {
    if (!this.defunct) return;
    this.defunct = false;
    if (!this.core.leaving) this.onDefunct?.(this.core.self.incarnation);
  }
}
