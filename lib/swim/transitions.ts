import type { AliveMessage, DeadMessage, SuspectMessage } from '../codec/messages.js';
import type { BrokerView } from './brokers.js';
import type { CertificateCheck } from './certificates.js';
import type { SwimCore } from './core.js';
import type { LocalNode } from './local-node.js';
import type { Member, MemberState } from './members.js';
import { sameBytes } from './meta.js';
import type { SuspicionTimers } from './suspicion-timers.js';

/**
 * The member state machine: what an alive, suspect or dead claim does to the table,
 * whichever way it arrived (gossip, a push-pull, our own probe or suspicion timer).
 * SWIM's precedence (memberlist's rules): an alive message wins over state with a lower
 * incarnation; suspect and dead need at least the current incarnation; a claim against
 * this node is refuted; a member gone (dead or left) stays gone at its incarnation. Each
 * change is relayed through the gossip queue and reported as an event.
 */
export class Transitions {
  constructor(
    private readonly core: SwimCore,
    private readonly local: LocalNode,
    private readonly suspicions: SuspicionTimers,
    private readonly certificates: CertificateCheck,
    private readonly brokers: BrokerView,
  ) {}

  onAlive(msg: AliveMessage): void {
    const { core } = this;
    const { table, self, counters, opts } = core;
    if (msg.meta.length > opts.maxMetaSize) {
      counters.rejectedMembers++;
      return;
    }
    if (msg.node === core.name) {
      if (msg.incarnation < self.incarnation) return;
      if (msg.incarnation === self.incarnation && msg.addr === self.addr && sameBytes(msg.meta, self.meta)) return;
      if (msg.addr !== self.addr && msg.incarnation >= self.incarnation) {
        counters.nameConflicts++;
        core.events.emit('name-conflict', { name: core.name, address: msg.addr, local: true });
      }
      this.local.refute(msg.incarnation);
      return;
    }
    // most alive messages repeat what we know: drop them on the table's dense copy
    const slot = table.slotOf(msg.node);
    if (slot >= 0 && msg.incarnation <= table.incarnationAt(slot)) return;
    const now = core.clock.now();
    const known = table.get(msg.node);
    if (!known) {
      if (table.size >= opts.maxMembers) {
        counters.rejectedMembers++;
        return;
      }
      const member: Member = { name: msg.node, addr: msg.addr, incarnation: msg.incarnation, state: 'alive', meta: msg.meta, changedAt: now, rttMs: undefined };
      table.add(member);
      core.evidence?.transition(member.name, 'alive', member.incarnation, member.name, now, undefined);
      this.brokers.track(member);
      core.queue.queueMessage(msg.node, msg);
      core.events.emit('member-join', core.info(member));
      return;
    }
    if (msg.incarnation <= known.incarnation) return;
    if ((known.state === 'alive' || known.state === 'suspect') && msg.addr !== known.addr) {
      // two live claimants of one name: keep the one we know, report the other
      counters.nameConflicts++;
      core.events.emit('name-conflict', { name: known.name, address: msg.addr, local: false });
      return;
    }
    const m = table.change(msg.node)!;
    const prev = m.state;
    const metaChanged = !sameBytes(m.meta, msg.meta);
    table.setIncarnation(m, msg.incarnation);
    m.addr = msg.addr;
    m.meta = msg.meta;
    if (prev === 'suspect') this.suspicions.clear(m.name);
    table.setState(m, 'alive', now);
    if (prev !== 'alive') core.evidence?.transition(m.name, 'alive', m.incarnation, m.name, now, prev);
    this.brokers.track(m);
    core.queue.queueMessage(msg.node, msg);
    if (prev === 'suspect') core.events.emit('member-alive', core.info(m));
    else if (prev === 'dead' || prev === 'left') core.events.emit('member-join', core.info(m));
    else if (metaChanged) core.events.emit('member-update', core.info(m));
  }

  onSuspect(msg: SuspectMessage): void {
    const { core } = this;
    const { table } = core;
    if (msg.node === core.name && msg.incarnation < core.self.incarnation) return this.local.reannounce();
    // stale or about a member gone: decided on the table's dense copy, as most suspicions are
    const slot = table.slotOf(msg.node);
    if (slot < 0 || msg.incarnation < table.incarnationAt(slot) || table.goneAt(slot)) return;
    if (slot === table.localSlot) {
      if (!core.leaving) this.local.refute(msg.incarnation);
      return;
    }
    if (table.suspectAt(slot) && msg.incarnation === table.incarnationAt(slot)) {
      // a confirmation (or a repeat) of the suspicion we hold: the suspicion alone decides,
      // and once it is complete (marked) nothing that arrives can change it
      if (table.markedAt(slot)) return;
      const s = this.suspicions.get(msg.node);
      if (s && this.suspicions.confirm(s, msg)) core.queue.queueMessage(msg.node, msg);
      if (s?.complete) table.mark(slot);
      return;
    }
    // from here on it changes
    const m = table.change(msg.node)!;
    if (m.state === 'suspect') {
      // A suspicion of a newer incarnation (SWIM: it overrides ours): the member refuted
      // the suspicion we hold, we missed the refutation, and it is suspected afresh. Ours,
      // with its confirmations and its nearer deadline, is void; start over at the new one.
      this.suspicions.clear(m.name);
    }
    const now = core.clock.now();
    table.setIncarnation(m, msg.incarnation);
    const prev = m.state;
    table.setState(m, 'suspect', now);
    core.evidence?.transition(m.name, 'suspect', msg.incarnation, msg.from, now, prev);
    core.counters.suspicions++;
    this.suspicions.begin(m, msg.from, now);
    core.queue.queueMessage(m.name, msg);
    core.events.emit('member-suspect', core.info(m));
  }

  onDead(msg: DeadMessage): void {
    const { core } = this;
    const { table } = core;
    if (msg.node === core.name && msg.incarnation < core.self.incarnation) return this.local.reannounce();
    const slot = table.slotOf(msg.node);
    if (slot < 0 || msg.incarnation < table.incarnationAt(slot) || table.goneAt(slot)) return;
    const known = table.get(msg.node)!;
    if (known === core.self) {
      // a death certificate (not our own leave): peers dropped what we announced
      if (msg.from !== core.name) this.local.defunct = true;
      if (!core.leaving) this.local.refute(msg.incarnation);
      return;
    }
    // another node's verdict about a member we have no doubt of: check it first (decision 0050)
    if (msg.from !== core.name && msg.from !== msg.node && msg.incarnation === known.incarnation && this.suspicions.undoubted(known)) return this.certificates.verify(msg);
    this.acceptDead(msg);
  }

  /** Applies a death (or departure) that passed {@link onDead}'s checks. */
  acceptDead(msg: DeadMessage): void {
    const { core } = this;
    const m = core.table.change(msg.node)!;
    const state: MemberState = msg.from === msg.node ? 'left' : 'dead';
    core.evidence?.transition(m.name, state, msg.incarnation, msg.from, core.clock.now(), m.state);
    // only a suspect has a suspicion to end
    if (m.state === 'suspect') this.suspicions.clear(m.name);
    core.table.setIncarnation(m, msg.incarnation);
    core.table.setState(m, state, core.clock.now());
    this.brokers.track(m);
    core.queue.queueMessage(m.name, msg);
    if (state === 'dead') {
      core.counters.deaths++;
      core.events.emit('member-dead', core.info(m));
    } else {
      core.events.emit('member-leave', core.info(m));
    }
  }
}
