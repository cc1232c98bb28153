import type { ChannelEvents } from './channels.js';
import type { AnyMessage } from '../codec/messages.js';
import { encodeMessage } from '../codec/messages.js';
import type { TypedEmitter } from '../events.js';
import { hlcPack } from '../hlc.js';
import type { HlcTimestamp } from '../hlc.js';
import type { Replica, ReplicaEvent } from '../replica/replica.js';
import type { Address } from '../transport/transport.js';
import type { PeerLink } from './delta-links.js';
import type { ReplicationOptions, ReplicatorHost } from './replicator.js';
import { lazyMessageEvent } from './message-view.js';

/** The tuning of {@link ReplicationOptions} with every default filled in. */
export type ResolvedReplicationOptions = Required<Omit<ReplicationOptions, 'history' | 'limits'>>;

/** What this node knows of one alive peer's replication. */
export interface PeerState {
  name: string;
  inSync: boolean;
  lastDigestAt: number | undefined;
  lastSessionAt: number | undefined;
  lastRequestAt: number;
  requestOutstanding: boolean;
  mismatches: number;
  /** When deltas from this peer last arrived (clock.now()). */
  lastDeltasAt: number;
  /**
   * The outgoing replication stream for big delta batches. It stays on this record, not in
   * a table of its own: a dial that completes after the peer left finds the record it was
   * started for, as it always did.
   */
  link: PeerLink | undefined;
}

/** Where the initial catch-up is: bulk stream or Merkle session, then the readiness check. */
export type CatchUpPhase = 'idle' | 'bulk' | 'merkle' | 'check';

/** The initial catch-up's state, read by the sessions (no Merkle while the bulk stream runs). */
export interface CatchUpState {
  phase: CatchUpPhase;
  peer: string | undefined;
  checks: number;
}

/** The replicator's counters (ClusterNode's metrics and sync status read them). */
export interface ReplicationCounters {
  merkleSessions: number;
  merkleCompleted: number;
  bulkSessions: number;
  bulkServed: number;
  deltaCatchUps: number;
  deltasOut: number;
  deltasIn: number;
  syncOut: number;
  syncIn: number;
  invalid: number;
  linkDrops: number;
  relayed: number;
}

/**
 * The state the replicator's collaborators share: the host, the options, the replica, the
 * peer table, the counters and the initial catch-up's phase, with the helpers each of them
 * needs (a peer's address, HLC "now", event emission, sending a sync message).
 */
export class ReplicationContext {
  readonly peers = new Map<string, PeerState>();
  readonly counters: ReplicationCounters = {
    merkleSessions: 0, merkleCompleted: 0, bulkSessions: 0, bulkServed: 0, deltaCatchUps: 0,
    deltasOut: 0, deltasIn: 0, syncOut: 0, syncIn: 0, invalid: 0, linkDrops: 0, relayed: 0,
  };
  catchUp: CatchUpState = { phase: 'idle', peer: undefined, checks: 0 };
  running = false;

  constructor(
    readonly host: ReplicatorHost,
    readonly opts: ResolvedReplicationOptions,
    readonly replica: Replica,
    readonly events: TypedEmitter<ChannelEvents>,
  ) {}

  /** HLC "now" for expiry decisions (no tick consumed). */
  nowTs(): HlcTimestamp {
    return hlcPack(this.host.clock.wall(), 0);
  }

  /** The peers this node replicates with (alive members, in the order they came up). */
  alivePeers(): string[] {
    const out: string[] = [];
    for (const name of this.peers.keys()) out.push(name);
    return out;
  }

  /** A member's address while it is alive or suspect. */
  address(peer: string): Address | undefined {
    const m = this.host.membership.member(peer);
    return m && (m.state === 'alive' || m.state === 'suspect') ? m.address : undefined;
  }

  /** Encodes a sync message, counts it and queues it in the batcher. */
  sendSync(to: Address, m: AnyMessage): void {
    const bytes = encodeMessage(m);
    this.counters.syncOut += bytes.length;
    this.host.enqueue(to, bytes, 'sync');
  }

  countInvalid(n: number): void {
    if (n === 0) return;
    this.counters.invalid += n;
    this.host.rejected('invalid delta');
  }

  /** Turns replica events into the application's channel events. */
  emitEvents(events: ReplicaEvent[]): void {
    const em = this.events;
    for (const e of events) {
      if (e.type === 'message') {
        if (em.hasListeners('message')) em.emit('message', lazyMessageEvent(e.entry));
      } else if ('clientId' in e) {
        em.emit(e.type, { channel: e.channel, clientId: e.clientId, user: e.user, info: e.info, node: e.node });
      } else {
        em.emit(e.type, { channel: e.channel, user: e.user });
      }
    }
  }
}
