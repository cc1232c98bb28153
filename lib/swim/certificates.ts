import type { DeadMessage } from '../codec/messages.js';
import type { SwimCore } from './core.js';
import type { Prober } from './prober.js';
import type { Transitions } from './transitions.js';

/**
 * Death certificates held back while we verify them (decision 0050): another node's
 * verdict about a member we have no doubt of is neither applied nor relayed until a probe
 * of our own failed. At most one certificate per member.
 */
export class CertificateCheck {
  /** Member → the certificate being verified. */
  private readonly held = new Map<string, DeadMessage>();
  /** Set once by Membership (the transitions need this object too). */
  transitions!: Transitions;

  constructor(private readonly core: SwimCore, private readonly prober: Prober) {}

  /**
   * Verifies a death certificate before accepting it (decision 0050): the certificate is
   * held back (not applied, not relayed) and sent to the member, so that it refutes, while
   * we probe it as a suspicion's verification does (decision 0040 §8: ping, ping-reqs,
   * stream ping, judged at the period's end). An answer disproves the certificate: it is
   * dropped, and the member's refutation, with a higher incarnation, ends it everywhere.
   * No answer: the certificate stands and is applied as received. A newer certificate of
   * the same member replaces the one held.
   */
  verify(msg: DeadMessage): void {
    const held = this.held.get(msg.node);
    if (held && held.incarnation >= msg.incarnation) return;
    this.held.set(msg.node, msg);
    const core = this.core;
    core.counters.certificatesVerified++;
    const m = core.table.get(msg.node)!;
    core.out.send(m.addr, msg, false);
    this.prober.probe(m, core.awareness.scale(core.opts.probeIntervalMs), (result) => {
      if (this.held.get(msg.node) !== msg) return;
      this.held.delete(msg.node);
      const now = core.table.get(msg.node);
      // refuted, declared or replaced meanwhile: the certificate is moot
      if (!now || now.incarnation !== msg.incarnation || (now.state !== 'alive' && now.state !== 'suspect')) return;
      if (result === 'acked') {
        core.counters.certificatesRefused++;
        return;
      }
      // a probe our own pause made unfair says nothing: run it again
      if (result === 'inconclusive') return this.verify(msg);
      this.transitions.acceptDead(msg);
    });
  }
}
