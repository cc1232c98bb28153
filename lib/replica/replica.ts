import { encode, decode } from '@msgpack/msgpack';
import { ClusterError } from '../errors.js';
import type { HlcTimestamp } from '../hlc.js';
import { isHlcTimestamp } from '../hlc.js';
import { ownPayload } from '../own-bytes.js';
import { MerkleTree } from '../summary/merkle.js';
import type { SyncStore } from '../sync/exchange.js';
import type { Delta, PresenceSetDelta, PublishDelta } from './delta.js';
import { deltaSize } from './delta.js';
import { DeltaRing } from './delta-log.js';
import type { HistoryEntry } from './history.js';
import { HistoryStore, historyKey } from './history.js';
import type { ResolvedLimits } from './limits.js';
import { checkSize, payloadSize, resolveLimits, validateChannel, validateHeaders, validateId } from './limits.js';
import type { PresenceEntry } from './presence.js';
import { PresenceStore } from './presence.js';
import type { OriginVersion } from '../summary/version-vector.js';
import { VersionVector } from '../summary/version-vector.js';
import type { SyncRecord, SyncContext } from '../codec/replication-types.js';
import { findRecord, keyOfRecord, listRecordKeys, recordSizeBound } from './records.js';
import { missingDeltas } from './missing-deltas.js';
import { adoptFloors } from './floors.js';
import { isDelta, isDropsWire, isRecord } from './replica-guards.js';
import { applyDelta, storePublish, supersedes } from './delta-effects.js';
import type { ApplyResult, LocalChange, MissingDeltas, PublishResult, RecordOutcome, ReplicaEvent, ReplicaOptions, ReplicaSnapshot } from './replica-types.js';
// the facade: importers keep importing the replica's types and guards from here
export type { SyncRecord, SyncContext } from '../codec/replication-types.js';
export { historyRecordSize } from '../codec/replication-types.js';
export type { ApplyResult, LocalChange, MissingDeltas, PublishResult, RecordOutcome, ReplicaEvent, ReplicaOptions, ReplicaSnapshot } from './replica-types.js';
export { isDelta, isDropsWire } from './replica-guards.js';

/**
 * One node's replica of the cluster's presence and history: sans-IO, every input is plain
 * data, every output is plain data (deltas to send, events to publish). It owns the version
 * vector, the per-origin delta rings (so it can serve any lagging peer, relay-style), the
 * out-of-order buffers, and the Merkle tree over all its records.
 *
 * Ordering rules, per origin: changes apply in seq order without gaps; a newer epoch
 * supersedes older ones (their presence is dropped, their history stays).
 */
export class Replica implements SyncStore<SyncRecord, ReplicaEvent> {
  readonly node: string;
  readonly tree: MerkleTree;
  readonly presence: PresenceStore;
  readonly history: HistoryStore;
  readonly vector = new VersionVector();
  readonly limits: ResolvedLimits;
  private currentEpoch: number;
  private readonly ringSize: number;
  private readonly maxPending: number;
  private readonly rings = new Map<string, DeltaRing>();
  private readonly pending = new Map<string, { epoch: number; deltas: Map<number, Delta> }>();
  private readonly removed = new Map<string, number>();
  // after a restore, presence at or below these versions was lost: absence proves nothing
  private readonly floors = new Map<string, OriginVersion>();
  // per channel, the number of this epoch's last publish there (HistoryEntry.c)
  private readonly counters = new Map<string, number>();

  /** @param options identity, limits and retention. */
  constructor(options: ReplicaOptions) {
    if (typeof options.node !== 'string' || options.node.length === 0 || options.node.includes('\u0000')) {
      throw new ClusterError('E_INVALID_ARGUMENT', 'replica node name must be a non-empty string without NUL');
    }
    if (!Number.isSafeInteger(options.epoch) || options.epoch < 0) {
      throw new ClusterError('E_INVALID_ARGUMENT', `replica epoch must be a non-negative integer, got ${options.epoch}`);
    }
    this.node = options.node;
    this.currentEpoch = options.epoch;
    this.limits = resolveLimits(options.limits);
    this.ringSize = options.ringSize ?? 1024;
    this.maxPending = options.maxPendingPerOrigin ?? 256;
    // history entries sit in the tree by reference; their key string is built only when a session lists them
    this.tree = new MerkleTree(options.merkle, (ref) => historyKey((ref as HistoryEntry).channel, ref as HistoryEntry));
    this.presence = new PresenceStore(this.tree);
    this.history = new HistoryStore({ maxEntriesCeiling: this.limits.maxEntriesPerChannel, ...options.history }, this.tree);
    this.vector.set(this.node, this.currentEpoch, 0);
  }

  /** This node's current epoch. */
  get epoch(): number {
    return this.currentEpoch;
  }

  /** The 8-byte digest of the version vector (piggyback it on SWIM acks). */
  digest(): Uint8Array {
    return this.vector.digest();
  }

  // ── local changes ────────────────────────────────────────────────────────────

  /**
   * A client connected to this node joins `channel` (or re-joins: then it is an update).
   * @param now HLC timestamp of the join (becomes `since` on a first join).
   */
  join(channel: string, clientId: string, user: string, info: unknown, now: HlcTimestamp): LocalChange {
    validateChannel(channel, this.limits);
    validateId('clientId', clientId, this.limits);
    validateId('user', user, this.limits);
    const infoBytes = payloadSize(info, 'presence info');
    checkSize('presence info', infoBytes, this.limits.maxInfoBytes);
    const old = this.presence.get(channel, clientId);
    if (!old && !this.presence.hasChannel(channel) && this.presence.channelCount >= this.limits.maxChannels) {
      throw new ClusterError('E_LIMIT', `this replica holds presence for ${this.limits.maxChannels} channels, the limit`);
    }
    const seq = this.nextSeq();
    const delta: PresenceSetDelta = {
      kind: old && old.node === this.node ? 'update' : 'join', node: this.node, epoch: this.currentEpoch, seq,
      channel, clientId, user, info, since: old && old.node === this.node ? old.since : now,
    };
    return { delta, events: this.commitLocal(delta, infoBytes) };
  }

  /** Changes the info of a client connected to this node; E_INVALID_ARGUMENT when it is not here. */
  update(channel: string, clientId: string, info: unknown): LocalChange {
    const old = this.presence.get(channel, clientId);
    if (!old || old.node !== this.node) {
      throw new ClusterError('E_INVALID_ARGUMENT', `client ${JSON.stringify(clientId)} is not in channel ${JSON.stringify(channel)} on this node`);
    }
    const infoBytes = payloadSize(info, 'presence info');
    checkSize('presence info', infoBytes, this.limits.maxInfoBytes);
    const delta: PresenceSetDelta = {
      kind: 'update', node: this.node, epoch: this.currentEpoch, seq: this.nextSeq(),
      channel, clientId, user: old.user, info, since: old.since,
    };
    return { delta, events: this.commitLocal(delta, infoBytes) };
  }

  /** A client of this node leaves a channel. No delta when it was not there. */
  leave(channel: string, clientId: string): LocalChange {
    const old = this.presence.get(channel, clientId);
    if (!old || old.node !== this.node) return { delta: undefined, events: [] };
    const delta: Delta = { kind: 'leave', node: this.node, epoch: this.currentEpoch, seq: this.nextSeq(), channel, clientId };
    return { delta, events: this.commitLocal(delta, 0) };
  }

  /**
   * Publishes to a channel's history.
   * @param ts HLC timestamp of the publish (`hlc.now()`).
   */
  publish(channel: string, data: unknown, ts: HlcTimestamp,
    options: { headers?: Record<string, string>; idempotencyKey?: string } = {}): PublishResult {
    validateChannel(channel, this.limits);
    if (!isHlcTimestamp(ts)) throw new ClusterError('E_INVALID_ARGUMENT', `publish timestamp must be an HLC timestamp, got ${String(ts)}`);
    const size = payloadSize(data, 'history payload');
    checkSize('history payload', size, this.limits.maxPayloadBytes);
    validateHeaders(options.headers, this.limits);
    const ik = options.idempotencyKey;
    if (ik !== undefined) {
      if (typeof ik !== 'string' || ik.length === 0 || ik.length > this.limits.maxIdempotencyKeyLength) {
        throw new ClusterError('E_INVALID_ARGUMENT', `idempotency key must be a string of 1 to ${this.limits.maxIdempotencyKeyLength} characters`);
      }
      const seen = this.history.dedupe(channel, ik);
      if (seen) return { delta: undefined, events: [], id: seen, duplicate: true, payloadBytes: 0 };
    }
    if (!this.history.hasChannel(channel) && this.history.channelCount >= this.limits.maxChannels) {
      throw new ClusterError('E_LIMIT', `this replica holds history for ${this.limits.maxChannels} channels, the limit`);
    }
    const c = (this.counters.get(channel) ?? 0) + 1;
    this.counters.set(channel, c);
    const delta: PublishDelta = { kind: 'publish', node: this.node, epoch: this.currentEpoch, seq: this.nextSeq(), channel, ts, c, data };
    if (options.headers !== undefined) delta.headers = options.headers;
    if (ik !== undefined) delta.idempotencyKey = ik;
    const events = this.commitLocal(delta, size, ts);
    return { delta, events, id: { node: this.node, epoch: this.currentEpoch, seq: delta.seq }, duplicate: false, payloadBytes: size };
  }

  /**
   * Starts a new epoch of this node (e.g. after learning the cluster declared it dead):
   * its presence is re-announced under the new epoch so peers that dropped it take it back.
   */
  reincarnate(epoch: number): LocalChange[] {
    if (!Number.isSafeInteger(epoch) || epoch <= this.currentEpoch) {
      throw new ClusterError('E_INVALID_ARGUMENT', `new epoch ${epoch} must exceed ${this.currentEpoch}`);
    }
    const mine = this.presence.ofNode(this.node);
    this.currentEpoch = epoch;
    this.vector.set(this.node, epoch, 0);
    this.rings.delete(this.node);
    this.counters.clear();
    return mine.map((e) => {
      const delta: PresenceSetDelta = { kind: 'join', node: this.node, epoch, seq: this.nextSeq(), channel: e.channel,
        clientId: e.clientId, user: e.user, info: e.info, since: e.since };
      return { delta, events: this.commitLocal(delta, payloadSize(e.info, 'presence info')) };
    });
  }

  // ── remote changes ───────────────────────────────────────────────────────────

  /**
   * Applies deltas received from peers (any origin, any order, duplicates allowed).
   * @param now HLC timestamp used for history expiry.
   */
  apply(deltas: readonly Delta[], now: HlcTimestamp): ApplyResult {
    const result: ApplyResult = { events: [], applied: 0, gap: false, invalid: 0 };
    for (const d of deltas) {
      if (!isDelta(d)) {
        result.invalid++;
        continue;
      }
      if (d.node === this.node) continue;
      let v = this.vector.get(d.node);
      if (!v || d.epoch > v.epoch) {
        this.observeEpoch(d.node, d.epoch, result.events);
        v = this.vector.get(d.node)!;
      } else if (d.epoch < v.epoch) {
        // a late change of a superseded epoch: its history is still data, its presence is not
        if (d.kind === 'publish') storePublish(this.history, d, now, result.events);
        continue;
      }
      if (d.seq <= v.seq) continue;
      if (d.seq > v.seq + 1) {
        // history is order-independent (sorted insert, idempotent by id): store it now and
        // keep the delta only to advance the vector later; presence must wait its turn
        if (d.kind === 'publish') storePublish(this.history, d, now, result.events);
        let p = this.pending.get(d.node);
        if (!p || p.epoch !== d.epoch) {
          p = { epoch: d.epoch, deltas: new Map() };
          this.pending.set(d.node, p);
        }
        if (p.deltas.size < this.maxPending || p.deltas.has(d.seq)) p.deltas.set(d.seq, d);
        result.gap = true;
        continue;
      }
      this.applyInOrder(d, now, result);
      this.drain(d.node, now, result);
    }
    if (!result.gap) for (const p of this.pending.values()) if (p.deltas.size > 0) result.gap = true;
    return result;
  }

  /**
   * The node was confirmed dead or left: drops its presence (up to `epoch`, by default
   * the newest epoch known), with leave events. Never call it on a mere suspicion.
   */
  removeOrigin(node: string, epoch?: number): ReplicaEvent[] {
    if (node === this.node) return [];
    const upTo = epoch ?? this.vector.get(node)?.epoch ?? 0;
    if ((this.removed.get(node) ?? -1) < upTo) this.removed.set(node, upTo);
    return this.presence.removeNode(node, (e) => e.epoch > upTo);
  }

  /** Adopts the newer epochs a peer's vector reveals (dropping superseded presence). */
  observeVector(remote: VersionVector): ReplicaEvent[] {
    const events: ReplicaEvent[] = [];
    for (const [node, v] of remote.entries()) this.observeEpoch(node, v.epoch, events);
    return events;
  }

  /**
   * Exactly the deltas `remote` lacks, from the rings: most-lagging origins first, each
   * origin's in seq order without gaps, until `budget` bytes.
   * @param budget upper bound of the answer's encoded size. @default 61440
   */
  missingFor(remote: VersionVector, budget = 61_440): MissingDeltas {
    return missingDeltas(this.vector, this.rings, remote, budget);
  }

  /** Drops history past its TTL. Call periodically with the current HLC time. */
  expire(now: HlcTimestamp): number {
    return this.history.expire(now);
  }

  // ── records (Merkle exchange, bulk catch-up) ──────────────────────────────────

  /** The record stored under a Merkle key. */
  getRecord(key: string): SyncRecord | undefined {
    return findRecord(this.presence, this.history, key);
  }

  /** The Merkle key of a record. */
  recordKey(record: SyncRecord): string {
    return keyOfRecord(record);
  }

  /**
   * Every record key held (a fresh array: the bulk stream walks it while the state moves on).
   * @param options.history include history entries (marks and presence always). @default true
   */
  recordKeys(options: { history?: boolean } = {}): string[] {
    return listRecordKeys(this.presence, this.history, options);
  }

  /** An upper bound of a record's encoded size. */
  recordSize(record: SyncRecord): number {
    return recordSizeBound(record);
  }

  /**
   * Merges a peer's record (from a Merkle exchange or a bulk chunk). Returns 'stale' when
   * this replica knows the record is obsolete (the peer should drop its copy).
   */
  applyRecord(record: SyncRecord, now: HlcTimestamp, events: ReplicaEvent[]): RecordOutcome {
    if (!isRecord(record)) return 'unchanged';
    switch (record.kind) {
      case 'presence': return this.applyPresenceRecord(record.entry, events);
      case 'history': {
        const e = record.entry;
        if (e.node !== this.node) this.observeEpoch(e.node, e.epoch, events);
        const status = storePublish(this.history, e, now, events);
        return status === 'added' ? 'applied' : status === 'duplicate' ? 'unchanged' : 'stale';
      }
      case 'low-water':
        return this.history.raiseLowWater(record.channel, record.mark, now, record.drops) ? 'applied' : 'unchanged';
    }
  }

  /**
   * Stores a peer's history entry (bulk stream fast path of {@link applyRecord}): `entry`
   * must be a fresh object the caller will not touch again. Returns the insert status.
   */
  applyHistoryEntry(entry: HistoryEntry, now: HlcTimestamp, events: ReplicaEvent[]): string {
    if (entry.node !== this.node) this.observeEpoch(entry.node, entry.epoch, events);
    // the caller built `entry` for us: store it as is, no defensive copy
    // size measured lazily (-1): only a bulk stream from this node would need it
    const status = this.history.insert(entry, -1, now);
    if (status === 'added') events.push({ type: 'message', entry });
    return status;
  }

  /** A peer proved our copy of `record` obsolete: drop it if we still hold that exact version. */
  dropStale(record: SyncRecord, events: ReplicaEvent[]): void {
    // history goes only through low-water marks, which the exchange carries anyway
    if (record.kind !== 'presence') return;
    const p = record.entry;
    const mine = this.presence.get(p.channel, p.clientId);
    if (mine && mine.node === p.node && mine.epoch === p.epoch && mine.seq === p.seq && p.node !== this.node) {
      events.push(...this.presence.remove(p.channel, p.clientId));
    }
  }

  /**
   * What this replica knows beyond its records, for a peer that is about to receive all
   * of them (bulk) or all of the differences (Merkle): its version vector and, after a
   * restore, the presence floors.
   */
  syncContext(): SyncContext {
    const ctx: SyncContext = { vector: this.vector.toWire() };
    if (this.floors.size > 0) ctx.floors = [...this.floors].map(([node, f]) => [node, f.epoch, f.seq]);
    return ctx;
  }

  /**
   * Adopts a peer's {@link syncContext} once this replica holds everything the peer held
   * when it took it (end of a bulk stream, or of a Merkle session that left nothing
   * out): the version vectors join, so digests agree again even when the deltas that
   * built the state are long gone from every ring.
   */
  adoptContext(context: unknown, now: HlcTimestamp, events: ReplicaEvent[] = []): ApplyResult {
    const result: ApplyResult = { events, applied: 0, gap: false, invalid: 0 };
    const ctx = context as SyncContext | undefined;
    if (!ctx || !Array.isArray(ctx.vector)) return result;
    const peerVector = VersionVector.fromWire(ctx.vector);
    const peerFloors = Array.isArray(ctx.floors) ? VersionVector.fromWire(ctx.floors) : undefined;
    adoptFloors(this.floors, this.node, this.vector, peerVector, peerFloors);
    for (const [node, r] of peerVector.entries()) {
      if (node === this.node) continue;
      this.observeEpoch(node, r.epoch, result.events);
      const v = this.vector.get(node)!;
      if (v.epoch === r.epoch && r.seq > v.seq) {
        this.vector.set(node, r.epoch, r.seq);
        const p = this.pending.get(node);
        if (p) for (const seq of [...p.deltas.keys()]) if (seq <= r.seq) p.deltas.delete(seq);
        this.drain(node, now, result);
      }
    }
    for (const p of this.pending.values()) if (p.deltas.size > 0) result.gap = true;
    return result;
  }

  // ── persistence ──────────────────────────────────────────────────────────────

  /** The persisted form: history and vector (entries shared: encode before changing the replica). */
  snapshot(): ReplicaSnapshot {
    return { node: this.node, epoch: this.currentEpoch, vector: this.vector.toWire(), history: this.history.snapshot() };
  }

  /** {@link snapshot} as msgpack bytes. */
  snapshotBytes(): Uint8Array {
    return encode(this.snapshot());
  }

  /**
   * Rebuilds a replica after a restart: history and vector come back; presence (ephemeral)
   * does not, and until peers resend it, absence of presence proves nothing (floors).
   * `options.epoch` must exceed the snapshot's.
   */
  static restore(snapshot: ReplicaSnapshot | Uint8Array, options: ReplicaOptions, now: HlcTimestamp): Replica {
    // the entries outlive the snapshot's bytes: binary values are copied out of them
    const snap = (snapshot instanceof Uint8Array ? ownPayload(decode(snapshot)) : snapshot) as ReplicaSnapshot;
    if (!snap || typeof snap !== 'object' || !Array.isArray(snap.vector) || !snap.history || !Array.isArray(snap.history.channels)) {
      throw new ClusterError('E_INVALID_ARGUMENT', 'not a replica snapshot');
    }
    if (snap.node !== options.node) throw new ClusterError('E_INVALID_ARGUMENT', `snapshot of ${snap.node} cannot restore ${options.node}`);
    if (options.epoch <= snap.epoch) throw new ClusterError('E_INVALID_ARGUMENT', `restored epoch ${options.epoch} must exceed the snapshot's ${snap.epoch}`);
    const r = new Replica(options);
    for (const ch of snap.history.channels) {
      if (ch.lowWater) r.history.raiseLowWater(ch.channel, ch.lowWater, now, isDropsWire(ch.drops) ? ch.drops : undefined);
      for (const e of ch.entries) storePublish(r.history, e, now, []);
    }
    for (const [node, epoch, seq] of VersionVector.fromWire(snap.vector).toWire()) {
      if (node === r.node) continue;
      r.vector.set(node, epoch, seq);
      r.floors.set(node, { epoch, seq });
    }
    return r;
  }

  // ── internals ────────────────────────────────────────────────────────────────

  private nextSeq(): number {
    return this.vector.get(this.node)!.seq + 1;
  }

  private commitLocal(delta: Delta, payloadBytes: number, now?: HlcTimestamp): ReplicaEvent[] {
    const events: ReplicaEvent[] = [];
    applyDelta(this.presence, this.history, this.removed, delta, now ?? 0, events, payloadBytes);
    this.vector.set(this.node, this.currentEpoch, delta.seq);
    this.ring(this.node, this.currentEpoch).push(delta, deltaSize(delta, payloadBytes));
    return events;
  }

  private ring(node: string, epoch: number): DeltaRing {
    let ring = this.rings.get(node);
    if (!ring || ring.epoch !== epoch) {
      ring = new DeltaRing(epoch, this.ringSize);
      this.rings.set(node, ring);
    }
    return ring;
  }

  private applyInOrder(d: Delta, now: HlcTimestamp, result: ApplyResult): void {
    const payloadBytes = applyDelta(this.presence, this.history, this.removed, d, now, result.events);
    this.vector.set(d.node, d.epoch, d.seq);
    this.ring(d.node, d.epoch).push(d, payloadBytes < 0 ? -1 : deltaSize(d, payloadBytes));
    result.applied++;
  }

  private drain(node: string, now: HlcTimestamp, result: ApplyResult): void {
    const p = this.pending.get(node);
    if (!p) return;
    for (;;) {
      const v = this.vector.get(node)!;
      if (v.epoch !== p.epoch) break;
      const next = p.deltas.get(v.seq + 1);
      if (!next) break;
      p.deltas.delete(v.seq + 1);
      this.applyInOrder(next, now, result);
    }
    const v = this.vector.get(node)!;
    for (const seq of [...p.deltas.keys()]) if (seq <= v.seq) p.deltas.delete(seq);
    if (p.deltas.size === 0) this.pending.delete(node);
  }
  private applyPresenceRecord(p: PresenceEntry, events: ReplicaEvent[]): RecordOutcome {
    if ((this.removed.get(p.node) ?? -1) >= p.epoch) return 'stale';
    const v = this.vector.get(p.node);
    if (v && v.epoch > p.epoch) return 'stale';
    if (p.node === this.node && p.epoch !== this.currentEpoch) return 'stale';
    const old = this.presence.get(p.channel, p.clientId);
    if (old) {
      if (old.node === p.node && old.epoch === p.epoch && old.seq === p.seq) return 'unchanged';
      if (!supersedes(p, old)) return 'stale';
    } else if (v && v.epoch === p.epoch && v.seq >= p.seq) {
      const floor = this.floors.get(p.node);
      if (!floor || floor.epoch !== p.epoch || p.seq > floor.seq) return 'stale';
    } else if (p.node === this.node) {
      return 'stale';
    }
    this.observeEpoch(p.node, p.epoch, events);
    const entry: PresenceEntry = { channel: p.channel, clientId: p.clientId, user: p.user, info: p.info,
      node: p.node, epoch: p.epoch, seq: p.seq, since: p.since };
    events.push(...this.presence.put(entry));
    return 'applied';
  }

  private observeEpoch(node: string, epoch: number, events: ReplicaEvent[]): void {
    if (node === this.node) return;
    const v = this.vector.get(node);
    if (v && v.epoch >= epoch) return;
    this.vector.set(node, epoch, 0);
    this.rings.delete(node);
    const p = this.pending.get(node);
    if (p && p.epoch < epoch) this.pending.delete(node);
    events.push(...this.presence.removeNode(node, (e) => e.epoch >= epoch));
  }
}

