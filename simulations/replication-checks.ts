/**
 * The replication invariants of a simulated run, checked continuously and at the end:
 * presence of dead and departed nodes purged everywhere within 1 s, every live replica's
 * presence and history equal at the end (same entries, same order), and no history
 * entry resurrected (held again below a low-water mark its replica had already reached)
 * or duplicated (stored twice by one replica). Also times how long the replicas take to
 * catch up after each heal.
 */
import { comparePositions } from '../lib/internal.js';
import type { HistoryEntry, Position } from '../lib/internal.js';
import type { RepNode, SimReplication } from './replication.js';
import type { SimNode } from './sim-node.js';

/** One invariant's verdict (the runner's InvariantResult). */
export interface Verdict {
  name: string;
  status: 'pass' | 'fail' | 'not-measured';
  evidence: string;
}

/** How long the live replicas took, after a heal, to hold every history entry any of them held at the heal. */
export interface CatchUp {
  atMs: number;
  /** ms until every live replica held (or had evicted) each of those entries; -1 when some never did. */
  caughtUpAfterMs: number;
  /** History entries the most lagging live replica lacked at the heal. */
  behindAtHeal: number;
}

const PURGE_WITHIN_MS = 1000;
const MAX_EXAMPLES = 5;
const CATCH_UP_POLL_MS = 500;

export class ReplicationChecks {
  purgeChecks = 0;
  private readonly purgeFails: string[] = [];
  private purgeFailCount = 0;
  private readonly dupFails: string[] = [];
  private dupCount = 0;
  private readonly resFails: string[] = [];
  private resCount = 0;
  private lowWaterChecks = 0;
  /** Per node (host): origin → epoch → bitmap of the seqs its replicas stored. */
  private readonly stored = new Map<number, Map<string, Map<number, Uint8Array>>>();
  /** Per node: channel → highest low-water mark its replica ever had. */
  private readonly marks = new Map<number, Map<string, Position>>();
  readonly catchUps: CatchUp[] = [];
  private pollGen = 0;
  /** First sample time from which every live replica had the same Merkle root, or -1. */
  equalSinceMs = -1;

  constructor(
    private readonly sim: SimReplication,
    private readonly historyLength: number,
  ) {
    sim.onMessage = (r, entry) => this.stored1(r, entry);
    sim.onAttach = (r, restored) => {
      // an empty process (not restored) legitimately receives everything again
      if (!restored) {
        this.stored.delete(r.node.index);
        this.marks.delete(r.node.index);
      }
    };
  }

  private live(): RepNode[] {
    const out: RepNode[] = [];
    for (const n of this.sim.net.nodes) {
      const r = this.sim.current(n);
      if (r && !r.node.m.hasLeft) out.push(r);
    }
    return out;
  }

  // ---------------------------------------------------------------- continuous

  private stored1(r: RepNode, e: HistoryEntry): void {
    let per = this.stored.get(r.node.index);
    if (!per) this.stored.set(r.node.index, (per = new Map()));
    // origin → epoch → bitmap: no key string built per stored entry (this runs for every
    // entry on every node, the simulator's hottest check)
    let epochs = per.get(e.node);
    if (!epochs) per.set(e.node, (epochs = new Map()));
    let bits = epochs.get(e.epoch);
    const byte = e.seq >>> 3;
    if (!bits || bits.length <= byte) {
      const grown = new Uint8Array(Math.max(64, (byte + 1) * 2));
      if (bits) grown.set(bits);
      epochs.set(e.epoch, (bits = grown));
    }
    const bit = 1 << (e.seq & 7);
    if ((bits[byte]! & bit) !== 0) {
      this.dupCount++;
      if (this.dupFails.length < MAX_EXAMPLES) this.dupFails.push(`${r.node.name} stored ${e.channel} ${e.node}:${e.epoch}:${e.seq} a second time at ${this.sim.now()} ms`);
    }
    bits[byte]! |= bit;
  }

  /**
   * An observer confirmed `subject` dead or departed: the presence of every epoch of it
   * the observer knew then must be gone there within 1 s. A newer epoch may arrive
   * meanwhile: a live subject that learned it was declared dead refutes and re-announces
   * its presence under a new epoch, and those deltas (sent at once) can overtake the
   * refutation (gossiped); that is the subject's live presence, wrong only if the subject
   * is in truth down (no process re-announces after it is gone), which also fails.
   */
  memberGone(observer: SimNode, subject: string, how: 'dead' | 'left'): void {
    const r = this.sim.current(observer);
    if (!r) return;
    const at = this.sim.now();
    const gone = r.rep.replica.vector.get(subject)?.epoch ?? 0;
    this.sim.net.clock.setTimer(PURGE_WITHIN_MS, () => {
      if (this.sim.current(observer) !== r) return;
      const state = observer.m.member(subject)?.state;
      if (state === 'alive' || state === 'suspect') return; // it came back meanwhile
      this.purgeChecks++;
      const node = this.sim.net.nodes.find((n) => n.name === subject);
      const live = node !== undefined && node.up && !node.m.hasLeft;
      const held = r.rep.replica.presence.ofNode(subject).filter((e) => e.epoch <= gone || !live);
      if (held.length === 0) return;
      this.purgeFailCount++;
      if (this.purgeFails.length < MAX_EXAMPLES) {
        this.purgeFails.push(`${observer.name} still held ${held.length} presence entr${held.length === 1 ? 'y' : 'ies'} of ${subject} (e.g. ${held[0]!.channel}/${held[0]!.clientId}, epoch ${held[0]!.epoch}) ${PURGE_WITHIN_MS} ms after declaring it ${how} at ${at} ms (it knew epoch ${gone} then${held[0]!.epoch > gone ? '; a later epoch, but the subject is down' : ''})`);
      }
    });
  }

  /** Per sample: low-water marks only rise and nothing at or below one comes back; Merkle roots compared. */
  sample(): void {
    const now = this.sim.now();
    const live = this.live();
    let root: string | undefined;
    let equal = live.length > 0;
    for (const r of live) {
      const h = r.rep.replica.history;
      let marks = this.marks.get(r.node.index);
      if (!marks) this.marks.set(r.node.index, (marks = new Map()));
      for (const ch of h.channelNames()) {
        const lw = h.lowWater(ch);
        const prev = marks.get(ch);
        const oldest = h.entries(ch)[0];
        this.lowWaterChecks++;
        if (oldest && prev && comparePositions(oldest, prev) <= 0) {
          this.resCount++;
          if (this.resFails.length < MAX_EXAMPLES) this.resFails.push(`${r.node.name} holds ${ch} ${oldest.node}:${oldest.epoch}:${oldest.seq} (ts ${oldest.ts}) at ${now} ms, at or below the low-water mark ${prev.node}:${prev.epoch}:${prev.seq} (ts ${prev.ts}) it had reached before`);
        }
        if (lw && (!prev || comparePositions(lw, prev) > 0)) marks.set(ch, lw);
      }
      const key = Buffer.from(r.rep.replica.tree.rootHash()).toString('hex');
      if (root === undefined) root = key;
      else if (root !== key) equal = false;
    }
    if (!equal) this.equalSinceMs = -1;
    else if (this.equalSinceMs < 0) this.equalSinceMs = now;
  }

  /**
   * A heal: time how long the live replicas take to hold every history entry any of them
   * holds now (or to have evicted it by the cap or TTL, i.e. hold a low-water mark at or
   * above it). Entries, not version vectors: after a split brain the nodes re-announce
   * under a new epoch, and a vector holding the new epoch covers old-epoch entries that
   * never arrived.
   */
  heal(): void {
    const live = this.live();
    const target = new Map<string, HistoryEntry>();
    for (const r of live) {
      const h = r.rep.replica.history;
      for (const ch of h.channelNames()) for (const e of h.entries(ch)) target.set(`${ch}\u0000${e.node}:${e.epoch}:${e.seq}`, e);
    }
    const missing = (r: RepNode, stopAtFirst: boolean): number => {
      const h = r.rep.replica.history;
      let n = 0;
      for (const e of target.values()) {
        if (h.has(e.channel, e)) continue;
        const lw = h.lowWater(e.channel);
        if (lw && comparePositions(e, lw) <= 0) continue;
        n++;
        if (stopAtFirst) return n;
      }
      return n;
    };
    let behind = 0;
    for (const r of live) behind = Math.max(behind, missing(r, false));
    const c: CatchUp = { atMs: this.sim.now(), caughtUpAfterMs: -1, behindAtHeal: behind };
    this.catchUps.push(c);
    const gen = ++this.pollGen;
    const poll = (): void => {
      if (gen !== this.pollGen) return;
      if (this.live().every((r) => missing(r, true) === 0)) c.caughtUpAfterMs = this.sim.now() - c.atMs;
      else this.sim.net.clock.setTimer(CATCH_UP_POLL_MS, poll);
    };
    poll();
  }

  // ---------------------------------------------------------------- verdicts

  /** Presence of dead and departed nodes: continuous (1 s after each confirmation) and at the end. */
  purgeVerdict(): Verdict {
    const name = 'presence of dead and departed nodes purged everywhere: within 1 s of each confirmation and at the end';
    const live = this.live();
    const up = new Set(live.map((r) => r.node.name));
    const stale: string[] = [];
    let staleCount = 0;
    for (const r of live) {
      for (const n of this.sim.net.nodes) {
        if (up.has(n.name)) continue;
        const held = r.rep.replica.presence.ofNode(n.name);
        if (held.length === 0) continue;
        staleCount += held.length;
        if (stale.length < MAX_EXAMPLES) stale.push(`${r.node.name} holds ${held.length} of ${n.name} (down)`);
      }
    }
    if (this.purgeFailCount === 0 && staleCount === 0) {
      return { name, status: 'pass', evidence: `${this.purgeChecks} checks 1 s after a node was declared dead or left, none found its presence; at the end no live replica holds presence of a node that is down (${live.length} live replicas)` };
    }
    const parts: string[] = [];
    if (this.purgeFailCount > 0) parts.push(`${this.purgeFailCount} of ${this.purgeChecks} checks 1 s after a confirmation found presence left: ${this.purgeFails.join('; ')}`);
    if (staleCount > 0) parts.push(`at the end ${staleCount} presence entries of nodes that are down remain: ${stale.join('; ')}`);
    return { name, status: 'fail', evidence: parts.join('. ') };
  }

  /** Every live replica's presence and history equal at the end: same entries, same order. */
  equalityVerdict(quietSinceMs: number, endMs: number): Verdict {
    const name = 'presence and history replicas equal at the end: same entries, same order';
    const live = this.live();
    if (live.length === 0) return { name, status: 'not-measured', evidence: 'no live replica at the end' };
    const ref = live[0]!;
    const refState = stateOf(ref);
    const diffs: string[] = [];
    let differing = 0;
    for (const r of live.slice(1)) {
      const d = compare(refState, stateOf(r), ref.node.name, r.node.name);
      if (d) {
        differing++;
        if (diffs.length < MAX_EXAMPLES) diffs.push(d);
      }
    }
    const quiet = quietSinceMs < endMs ? `the workload stopped at ${quietSinceMs} ms; ` : `the workload ran to the end (${endMs} ms), so deltas may still be in flight; `;
    const since = this.equalSinceMs >= 0 ? `, all Merkle roots equal since ${this.equalSinceMs} ms` : '';
    if (differing === 0) {
      return { name, status: 'pass', evidence: `${quiet}all ${live.length} live replicas hold the same ${refState.presence.length} presence entries and the same ${refState.entries} history entries in ${refState.history.size} channels, in the same order${since}` };
    }
    return { name, status: 'fail', evidence: `${quiet}${differing} of ${live.length - 1} live replicas differ from ${ref.node.name}: ${diffs.join('; ')}` };
  }

  /** No history entry stored twice by a replica, none held again below a mark it had reached, no channel over its cap. */
  resurrectionVerdict(): Verdict {
    const name = 'no resurrected or duplicated history entries';
    const over: string[] = [];
    const dupsHeld: string[] = [];
    for (const r of this.live()) {
      const h = r.rep.replica.history;
      for (const ch of h.channelNames()) {
        const entries = h.entries(ch);
        if (entries.length > this.historyLength && over.length < MAX_EXAMPLES) over.push(`${r.node.name} holds ${entries.length} entries in ${ch} (cap ${this.historyLength})`);
        const ids = new Set<string>();
        for (const e of entries) {
          const id = `${e.node}:${e.epoch}:${e.seq}`;
          if (ids.has(id) && dupsHeld.length < MAX_EXAMPLES) dupsHeld.push(`${r.node.name} holds ${ch} ${id} twice`);
          ids.add(id);
        }
      }
    }
    const fails = this.dupCount + this.resCount + over.length + dupsHeld.length;
    if (fails === 0) {
      return { name, status: 'pass', evidence: `no replica stored an entry twice (every 'message' event checked), ${this.lowWaterChecks} per-sample checks found nothing at or below a low-water mark its replica had reached, no channel above its cap of ${this.historyLength}` };
    }
    const parts: string[] = [];
    if (this.dupCount > 0) parts.push(`${this.dupCount} entries stored twice: ${this.dupFails.join('; ')}`);
    if (this.resCount > 0) parts.push(`${this.resCount} resurrections: ${this.resFails.join('; ')}`);
    if (over.length > 0) parts.push(`over the cap: ${over.join('; ')}`);
    if (dupsHeld.length > 0) parts.push(`duplicates held: ${dupsHeld.join('; ')}`);
    return { name, status: 'fail', evidence: parts.join('. ') };
  }
}

interface State {
  presence: string[];
  history: Map<string, string[]>;
  entries: number;
}

function stateOf(r: RepNode): State {
  const rep = r.rep.replica;
  const presence: string[] = [];
  for (const c of rep.presence.channelList()) {
    for (const p of rep.presence.list(c.channel)) presence.push(`${p.channel}/${p.clientId}@${p.node}:${p.epoch}:${p.seq}`);
  }
  presence.sort();
  const history = new Map<string, string[]>();
  let entries = 0;
  for (const ch of [...rep.history.channelNames()].sort()) {
    const ids = rep.history.entries(ch).map((e) => `${e.node}:${e.epoch}:${e.seq}`);
    if (ids.length === 0) continue;
    history.set(ch, ids);
    entries += ids.length;
  }
  return { presence, history, entries };
}

/** The first differences between two replicas, in words; undefined when equal. */
function compare(a: State, b: State, an: string, bn: string): string | undefined {
  const out: string[] = [];
  const pa = new Set(a.presence);
  const pb = new Set(b.presence);
  const missP = a.presence.filter((x) => !pb.has(x));
  const extraP = b.presence.filter((x) => !pa.has(x));
  if (missP.length > 0) out.push(`${bn} lacks ${missP.length} presence entries of ${an} (e.g. ${missP[0]})`);
  if (extraP.length > 0) out.push(`${bn} has ${extraP.length} presence entries ${an} lacks (e.g. ${extraP[0]})`);
  const channels = new Set([...a.history.keys(), ...b.history.keys()]);
  for (const ch of [...channels].sort()) {
    const x = a.history.get(ch) ?? [];
    const y = b.history.get(ch) ?? [];
    if (x.length === y.length && x.every((id, k) => id === y[k])) continue;
    const sy = new Set(y);
    const sx = new Set(x);
    const miss = x.filter((id) => !sy.has(id));
    const extra = y.filter((id) => !sx.has(id));
    if (miss.length > 0 || extra.length > 0) {
      out.push(`history ${ch}: ${bn} holds ${y.length}, ${an} ${x.length}${miss.length ? `; ${bn} lacks ${miss.slice(0, 3).join(', ')}` : ''}${extra.length ? `; ${bn} has ${extra.slice(0, 3).join(', ')} that ${an} lacks` : ''}`);
    } else {
      const k = x.findIndex((id, i) => id !== y[i]);
      out.push(`history ${ch}: same entries in another order (position ${k}: ${an} has ${x[k]}, ${bn} has ${y[k]})`);
    }
    if (out.length >= 3) break;
  }
  return out.length === 0 ? undefined : out.join('; ');
}
