import type { Message, MemberSnapshot } from '../codec/messages.js';
import type { MessageBuffer } from './broadcasts.js';
import { INTERNALS, SIMULATOR_INIT } from './core.js';
import type { InternalInit, SimulatorInit } from './core.js';
import type { Member, SharedMembers } from './members.js';
import { Membership } from './membership.js';
import type { MembershipInit } from './membership-types.js';

export type { SimulatorInit } from './core.js';

// What an in-process simulator (simulations/, and benchmarks and tests that build big
// clusters in one process) needs from Membership beyond its public surface: a shared
// member-name index and a message-size function at construction, bulk-loading tables
// without the protocol, and gossip handed out as messages rather than bytes. Kept out of
// Membership's public methods so the runtime's surface is only what a real node uses;
// reached through a non-enumerable symbol property. Internal: not exported by lib/index.ts.

/** A Membership built with simulator-only parameters (see {@link SimulatorInit}). */
export function simulatedMembership(init: MembershipInit, sim: SimulatorInit): Membership {
  const internal: InternalInit = { ...init, [SIMULATOR_INIT]: sim };
  return new Membership(internal);
}

/**
 * Bulk-loads members `m` does not know yet, from a snapshot of a cluster's state (a
 * converged simulation's start), without the per-member work of {@link Membership.handle}:
 * nothing is queued for gossip (whoever holds the snapshot already knows it) and, with
 * `quiet`, no events are emitted. Only unknown members in state alive, dead or left are
 * added, as `handle` would add an alive one (probe order, broker list, metadata limit and
 * member cap included); the node itself, known members and suspects are skipped: updates
 * and suspicions go through `handle`.
 * @param opts.quiet emit no `member-join` events. @default false
 * @returns the number of members added
 */
export function seedMembers(m: Membership, members: Iterable<MemberSnapshot>, opts: { quiet?: boolean } = {}): number {
  const { core, brokers } = m[INTERNALS];
  const { table, counters } = core;
  const now = core.clock.now();
  const emit = !opts.quiet && m.hasListeners('member-join');
  let added = 0;
  let brokersChanged = false;
  for (const s of members) {
    if (s.state === 'suspect' || s.node === core.name || table.get(s.node)) continue;
    if (s.meta.length > core.opts.maxMetaSize || table.size >= core.opts.maxMembers) {
      counters.rejectedMembers++;
      continue;
    }
    const member: Member = { name: s.node, addr: s.addr, incarnation: s.incarnation, state: s.state, meta: s.meta, changedAt: now, rttMs: undefined };
    table.add(member);
    added++;
    if (s.state === 'alive' && brokers.seed(member)) brokersChanged = true;
    if (emit && s.state === 'alive') m.emit('member-join', core.info(member));
  }
  if (brokersChanged) brokers.changed();
  return added;
}

/**
 * {@link seedMembers} from records shared with the other nodes of this process (a
 * simulator's converged start, decision 0043): the table reads them in place and copies
 * one only when it changes, so n nodes knowing n members hold n² slots rather than n²
 * records. Quiet (no `member-join` events). `m` must have been built with
 * `shared.index`; `shared` must hold no suspect, no metadata over the limit, and no more
 * members than the cap (a programming error, thrown as a RangeError).
 * @returns the number of members added
 */
export function seedShared(m: Membership, shared: SharedMembers): number {
  const { core, brokers } = m[INTERNALS];
  if (shared.counts.suspect > 0) throw new RangeError('seedShared: suspects go through handle()');
  if (shared.size > core.opts.maxMembers) throw new RangeError(`seedShared: ${shared.size} members over the cap of ${core.opts.maxMembers}`);
  if (shared.maxMetaSize > core.opts.maxMetaSize) throw new RangeError(`seedShared: metadata of ${shared.maxMetaSize} bytes over the limit`);
  let brokersChanged = false;
  for (const r of shared.aliveWithMeta) {
    if (r.name === core.name || core.table.get(r.name)) continue;
    if (brokers.seed(r)) brokersChanged = true;
  }
  const added = core.table.addShared(shared);
  if (brokersChanged) brokers.changed();
  return added;
}

/**
 * {@link Membership.piggyback} for an in-process network (the simulator): appends the
 * broadcast messages themselves to `out` (from `out.count` on) instead of their
 * encodings, and returns the bytes they take encoded. The same messages, order and
 * transmit counts as `piggyback`. The receivers must treat them as read-only (as
 * {@link Membership.handle} does).
 */
export function piggybackMessages(m: Membership, budget: number, out: MessageBuffer<Message>): number {
  const { core } = m[INTERNALS];
  return core.queue.takeMessages(budget, core.table.live, out);
}
