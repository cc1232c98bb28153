import type { Clock } from '../clock.js';
import type { SwimOptions } from '../config.js';
import { encodeTrustedMessage } from '../codec/messages.js';
import type { Message } from '../codec/messages.js';
import type { TypedEmitter } from '../events.js';
import type { Random } from '../random.js';
import type { BrokerView } from './brokers.js';
import { Awareness } from './awareness.js';
import { BroadcastQueue } from './broadcasts.js';
import { EvidenceLog } from './evidence.js';
import { MemberTable, stateSet } from './members.js';
import type { Member, MemberIndex } from './members.js';
import { decodeMeta, emptyMeta } from './meta.js';
import type { NodeMeta } from './meta.js';
import type { MemberInfo, MembershipEvents, MembershipInit, SwimCounters, SwimOutbound } from './membership-types.js';

/** Member-state sets the collaborators sample and test with. */
export const ALIVE = stateSet('alive');
export const LIVE = stateSet('alive', 'suspect');
export const GONE = stateSet('dead', 'left');
export const ANY = stateSet('alive', 'suspect', 'dead', 'left');

/**
 * Construction parameters only an in-process simulator passes (see simulator-access.ts):
 * they are not part of {@link MembershipInit}.
 */
export interface SimulatorInit {
  /**
   * The exact encoded size of a message, computed without encoding it. Given it, the
   * simulator's piggybackMessages never encodes gossip (the simulator passes its
   * `wireSize`); {@link Membership.piggyback} still encodes what it hands out.
   * @default undefined (gossip is measured by encoding it)
   */
  messageSize?: (msg: Message) => number;
  /**
   * The member-name index, shared by the tables of every node a process simulates
   * (see {@link MemberIndex}; seedShared needs one).
   * @default a private index
   */
  index?: MemberIndex;
}

/** Where a {@link MembershipInit} carries {@link SimulatorInit} (set by simulator-access.ts only). */
export const SIMULATOR_INIT: unique symbol = Symbol('clusterd.swim.simulator-init');
/** Where a Membership keeps its {@link Internals}, for simulator-access.ts only (non-enumerable). */
export const INTERNALS: unique symbol = Symbol('clusterd.swim.internals');

/** What simulator-access.ts reaches inside a Membership. */
export interface Internals {
  readonly core: SwimCore;
  readonly brokers: BrokerView;
}

/** A MembershipInit that may carry simulator-only parameters. */
export type InternalInit = MembershipInit & { [SIMULATOR_INIT]?: SimulatorInit };

/**
 * The state every collaborator of {@link Membership} shares: the member table with this
 * node's own entry, the gossip queue, the injected clock, random and outbound, options,
 * counters, evidence, and the lifecycle flags. It holds data and the few helpers all of
 * them use (sequence numbers, metadata decoding, MemberInfo); the behaviour lives in the
 * collaborators (prober.ts, suspicion-timers.ts, certificates.ts, transitions.ts,
 * push-pull.ts, loops.ts, brokers.ts, local-node.ts). Internal to lib/swim.
 */
export class SwimCore {
  readonly name: string;
  readonly opts: SwimOptions;
  readonly clock: Clock;
  readonly random: Random;
  readonly out: SwimOutbound;
  readonly table: MemberTable;
  readonly self: Member;
  readonly awareness: Awareness;
  /** Failure-detection evidence for Membership.explain, when kept. */
  readonly evidence: EvidenceLog | undefined;
  readonly queue: BroadcastQueue<Message>;
  running = false;
  leaving = false;
  private seq = 0;
  private readonly metaCache = new WeakMap<Uint8Array, NodeMeta>();

  constructor(
    init: MembershipInit,
    sim: SimulatorInit | undefined,
    readonly counters: SwimCounters,
    /** The Membership itself, which emits the events. */
    readonly events: TypedEmitter<MembershipEvents>,
  ) {
    this.name = init.name;
    this.opts = init.options;
    this.clock = init.clock;
    this.random = init.random;
    this.out = init.out;
    this.table = new MemberTable(init.random, sim?.index);
    this.awareness = new Awareness(init.options.awarenessMaxMultiplier);
    this.evidence = init.evidence instanceof EvidenceLog ? init.evidence : init.evidence ? new EvidenceLog(init.options.maxMembers) : undefined;
    this.queue = new BroadcastQueue<Message>(init.options.retransmitMult, undefined, encodeTrustedMessage, sim?.messageSize);
    this.self = {
      name: init.name,
      addr: init.address,
      incarnation: init.incarnation ?? 0,
      state: 'alive',
      meta: init.meta ?? new Uint8Array(),
      changedAt: init.clock.now(),
      rttMs: undefined,
    };
    this.table.add(this.self, false);
  }

  /** The next probe or relay sequence number (wrapping, never 0). */
  nextSeq(): number {
    this.seq = this.seq >= 0xffffffff ? 1 : this.seq + 1;
    return this.seq;
  }

  /** `m`'s metadata decoded (once per metadata value); undecodable metadata reads as empty. */
  decodeMetaOf(m: Readonly<Member>): NodeMeta {
    let meta = this.metaCache.get(m.meta);
    if (!meta) {
      try {
        meta = decodeMeta(m.meta);
      } catch {
        meta = emptyMeta();
      }
      this.metaCache.set(m.meta, meta);
    }
    return meta;
  }

  /** `m` as reported to applications. */
  info(m: Readonly<Member>): MemberInfo {
    return {
      name: m.name,
      address: m.addr,
      state: m.state,
      incarnation: m.incarnation,
      meta: this.decodeMetaOf(m),
      rttMs: m.rttMs,
      sinceMs: this.clock.now() - m.changedAt,
    };
  }
}
