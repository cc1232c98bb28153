import type { MemberState } from './members.js';

/**
 * Probe outcomes kept per member: the last 16. At a 1 s probe interval and n members a
 * node probes each member once every n seconds, so 16 outcomes cover the last 16·n
 * seconds of evidence about it (16 s in a cluster of one peer, 4½ hours at 1,000).
 */
export const PROBE_RING = 16;
/** State changes kept per member (the evidence chain: join, suspect, refute, dead). */
export const HISTORY_RING = 8;
/** Changes of this observer's Lifeguard health score kept (the "why is it not 0"). */
export const HEALTH_RING = 16;
/**
 * Confirmations kept per suspicion. Lifeguard counts at most `suspicionMult − 2` of them
 * (2 with every profile) and only those are recorded; the cap is a second bound.
 */
export const CONFIRMATION_CAP = 16;

/**
 * How one of our probes of a member ended:
 * - `ack`: the member answered our ping directly (`rttMs` is the round trip);
 * - `indirect-ack`: it answered a helper's ping, relayed to us (`via`: the helper);
 * - `tcp-ack`: only the stream (TCP) fallback ping reached it;
 * - `timeout`: no answer in the probe period (`helpers` asked, `nacks` they sent, `tcp`);
 * - `inconclusive`: our own timers ran late (a pause), so the silence proves nothing.
 */
export type ProbeKind = 'ack' | 'indirect-ack' | 'tcp-ack' | 'timeout' | 'inconclusive';

/** One probe outcome, as recorded. `at` is the observer's monotonic clock. */
export interface ProbeRecord {
  at: number;
  kind: ProbeKind;
  /** Round trip of an answered probe, in ms. */
  rttMs: number | undefined;
  /** The helper that relayed an indirect ack (its name, or its address if unknown). */
  via: string | undefined;
  /** Helpers asked to ping the member indirectly (0 before the indirect stage). */
  helpers: number;
  /** Nacks received from them: a helper that nacks is alive, and could not reach the member. */
  nacks: number;
  /** The stream fallback ping: `ok`, `failed`, `pending` (still running at the verdict) or `none` (disabled, or not reached). */
  tcp: 'ok' | 'failed' | 'pending' | 'none';
  /** The probe verified a suspicion about to expire (rather than the probe loop's). */
  verification: boolean;
}

/** One state change of a member as this observer saw it. */
export interface TransitionRecord {
  at: number;
  state: MemberState;
  incarnation: number;
  /** Who caused it: the suspecter, the declarer of a death, the member itself (alive, left). */
  by: string;
}

/** A suspicion as this observer recorded it. */
export interface SuspicionRecord {
  incarnation: number;
  /** The member whose suspicion reached us first (this observer's name if ours). */
  by: string;
  at: number;
  /** Independent confirmations that counted towards the Lifeguard timeout, in order. */
  confirmations: { from: string; at: number }[];
  /** Set when a verification found the suspect had reached us and judged it afresh. */
  restartedAt: number | undefined;
}

/** A change of this observer's Lifeguard local health score. */
export interface HealthRecord {
  at: number;
  delta: number;
  /** The score after the change. */
  score: number;
  /**
   * - `missed-nacks`: a failed probe where helpers did not nack (we may be the one cut off);
   * - `probe-failed-alone`: a failed probe with no helper to ask;
   * - `late-timers`: our timers ran late (a GC pause, a descheduled VM);
   * - `refuted`: we had to refute a suspicion (or death) of ourselves;
   * - `probe-acked`: a probe was answered (lowers the score).
   */
  cause: 'missed-nacks' | 'probe-failed-alone' | 'late-timers' | 'refuted' | 'probe-acked';
  detail: string;
}

/** What this observer knows about one member beyond its table entry. */
class MemberEvidence {
  readonly probes: ProbeRecord[] = [];
  probeNext = 0;
  readonly history: TransitionRecord[] = [];
  historyNext = 0;
  lastHeardAt: number | undefined = undefined;
  /** The current suspicion, or the last one (kept after a refutation or a death, as evidence). */
  suspicion: SuspicionRecord | undefined = undefined;
  /** The suspicion a refutation ended, and when. */
  refuted: { at: number; incarnation: number; suspicion: SuspicionRecord | undefined } | undefined = undefined;
  /** The declaration of death (or leave), with the suspicion that preceded it here. */
  death: { at: number; incarnation: number; by: string; state: 'dead' | 'left'; suspicion: SuspicionRecord | undefined } | undefined = undefined;
}

/** Pushes into a ring array of `size` whose next write index is `next`; returns the new index. */
function ringPush<T>(ring: T[], next: number, size: number, value: T): number {
  if (ring.length < size) ring.push(value);
  else ring[next] = value;
  return (next + 1) % size;
}

/** The ring's entries, newest first. */
function newestFirst<T>(ring: readonly T[], next: number): T[] {
  const out: T[] = [];
  const n = ring.length;
  // before the ring fills, `next` is its length, so this walks back from the last pushed
  for (let i = 1; i <= n; i++) out.push(ring[(next - i + n) % n]!);
  return out;
}

/** Nearest-rank percentile of sorted `xs` (p in (0, 1]). */
function percentile(xs: readonly number[], p: number): number {
  return xs[Math.min(xs.length - 1, Math.max(0, Math.ceil(p * xs.length) - 1))]!;
}

/**
 * The evidence a node keeps about its failure detection, so an operator can ask why a
 * member is suspect or dead: per member, fixed rings of probe outcomes and state changes,
 * when it last reached us, its suspicion with every confirmation and its death
 * certificate; for the node itself, why its Lifeguard health score is what it is.
 *
 * Pure bookkeeping: the membership state machine calls it where it decides, with the
 * time. Memory is bounded: an entry exists only for a member of the table (at most
 * `maxMembers`, refused past that) and is forgotten when the member is reaped; every
 * list in it is a fixed ring (see the *_RING constants) or capped.
 */
export class EvidenceLog {
  private readonly members = new Map<string, MemberEvidence>();
  private readonly healthRing: HealthRecord[] = [];
  private healthNext = 0;
  private readonly healthTotals: Record<HealthRecord['cause'], number> = { 'missed-nacks': 0, 'probe-failed-alone': 0, 'late-timers': 0, refuted: 0, 'probe-acked': 0 };
  /** Members not tracked because the log held `maxMembers` already. */
  refused = 0;

  /** @param maxMembers entries kept at most (the membership's member cap). */
  constructor(private readonly maxMembers: number) {}

  /** Members with an entry (for tests and memory accounting). */
  get size(): number {
    return this.members.size;
  }

  private entry(name: string): MemberEvidence | undefined {
    let e = this.members.get(name);
    if (!e) {
      if (this.members.size >= this.maxMembers) {
        this.refused++;
        return undefined;
      }
      e = new MemberEvidence();
      this.members.set(name, e);
    }
    return e;
  }

  /** `name` reached us (a ping, a ping-req, an ack). */
  heard(name: string, now: number): void {
    const e = this.entry(name);
    if (e) e.lastHeardAt = now;
  }

  /** One of our probes of `name` ended. */
  probe(name: string, record: ProbeRecord): void {
    const e = this.entry(name);
    if (e) e.probeNext = ringPush(e.probes, e.probeNext, PROBE_RING, record);
  }

  /** `name` changed state. A suspicion starts a new suspicion record; alive after suspect records the refutation; dead or left the death. */
  transition(name: string, state: MemberState, incarnation: number, by: string, now: number, prev: MemberState | undefined): void {
    const e = this.entry(name);
    if (!e) return;
    e.historyNext = ringPush(e.history, e.historyNext, HISTORY_RING, { at: now, state, incarnation, by });
    if (state === 'suspect') {
      e.suspicion = { incarnation, by, at: now, confirmations: [], restartedAt: undefined };
    } else if (state === 'alive' && prev === 'suspect') {
      e.refuted = { at: now, incarnation, suspicion: e.suspicion };
    } else if (state === 'dead' || state === 'left') {
      e.death = { at: now, incarnation, by, state, suspicion: prev === 'suspect' ? e.suspicion : undefined };
    }
  }

  /** An independent confirmation of the suspicion of `name` counted. */
  confirmed(name: string, from: string, now: number): void {
    const s = this.members.get(name)?.suspicion;
    if (s && s.confirmations.length < CONFIRMATION_CAP) s.confirmations.push({ from, at: now });
  }

  /** A verification found `name` had reached us: the suspicion starts over as ours. */
  restarted(name: string, by: string, now: number): void {
    const s = this.members.get(name)?.suspicion;
    if (!s) return;
    s.by = by;
    s.at = now;
    s.confirmations = [];
    s.restartedAt = now;
  }

  /**
   * Our health score changed by `delta` to `score`, for `cause`: `about` is the probed
   * member (the refuted claim: ourselves); `x`, `y` are nacks and helpers of a failed
   * probe, the ms our timers ran late, or the incarnation a refuted claim named. The
   * membership passes parts, not a sentence, so nothing is formatted where no log is kept.
   */
  health(now: number, delta: number, score: number, cause: HealthRecord['cause'], about: string, x: number, y: number): void {
    this.healthTotals[cause]++;
    this.healthNext = ringPush(this.healthRing, this.healthNext, HEALTH_RING, { at: now, delta, score, cause, detail: healthDetail(cause, about, x, y) });
  }

  /** Drops what is known about `name` (it was reaped). */
  forget(name: string): void {
    this.members.delete(name);
  }

  /** The recorded evidence about `name`, times made relative to `now` (`agoMs`). */
  member(name: string, now: number): RecordedEvidence {
    const e = this.members.get(name);
    const ago = (at: number): number => Math.round(now - at);
    const suspicion = (s: SuspicionRecord | undefined): SuspicionEvidence | null => s === undefined ? null : {
      by: s.by, agoMs: ago(s.at), incarnation: s.incarnation,
      confirmations: s.confirmations.map((c) => ({ from: c.from, agoMs: ago(c.at) })),
      restartedAgoMs: s.restartedAt === undefined ? null : ago(s.restartedAt),
    };
    if (!e) return { lastHeardAgoMs: null, probes: [], rtt: null, history: [], suspicion: null, refutation: null, death: null };
    const probes = newestFirst(e.probes, e.probeNext);
    // microseconds are the resolution that means anything for a round trip through two event loops
    const rtts = probes.filter((p) => p.rttMs !== undefined).map((p) => Math.round(p.rttMs! * 1000) / 1000);
    const sorted = [...rtts].sort((a, b) => a - b);
    return {
      lastHeardAgoMs: e.lastHeardAt === undefined ? null : ago(e.lastHeardAt),
      probes: probes.map((p) => ({
        agoMs: ago(p.at), kind: p.kind, rttMs: p.rttMs === undefined ? null : Math.round(p.rttMs * 1000) / 1000, via: p.via ?? null, helpers: p.helpers, nacks: p.nacks, tcp: p.tcp, verification: p.verification,
      })),
      rtt: rtts.length === 0 ? null : { lastMs: rtts[0]!, p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99), samples: rtts.length },
      history: newestFirst(e.history, e.historyNext).map((h) => ({ agoMs: ago(h.at), state: h.state, incarnation: h.incarnation, by: h.by })),
      suspicion: suspicion(e.suspicion),
      refutation: e.refuted === undefined ? null : { agoMs: ago(e.refuted.at), incarnation: e.refuted.incarnation, suspicion: suspicion(e.refuted.suspicion) },
      death: e.death === undefined ? null : { agoMs: ago(e.death.at), incarnation: e.death.incarnation, by: e.death.by, state: e.death.state, suspicion: suspicion(e.death.suspicion) },
    };
  }

  /**
   * This observer's health: the score, the changes that raised it since it was last 0
   * (`why`, oldest first: empty when healthy) and the recent changes and totals by cause.
   */
  observer(score: number, max: number, now: number): ObserverHealth {
    const recent = newestFirst(this.healthRing, this.healthNext);
    const why: HealthEvidence[] = [];
    if (score > 0) {
      // walk back to the last time the score was 0: what came after is why it is not
      for (const h of recent) {
        if (h.score === 0) break;
        if (h.delta > 0) why.unshift(healthJson(h, now));
      }
    }
    return { score, max, why, recent: recent.map((h) => healthJson(h, now)), totals: { ...this.healthTotals } };
  }
}

function healthDetail(cause: HealthRecord['cause'], about: string, x: number, y: number): string {
  switch (cause) {
    case 'missed-nacks':
      return `probe of ${about} failed and only ${x} of ${y} helpers nacked: the others may be unreachable from here`;
    case 'probe-failed-alone':
      return `probe of ${about} failed with no helper to ask`;
    case 'late-timers':
      return `probe of ${about} not judged: our timers ran ${Math.round(x)} ms late`;
    case 'refuted':
      return `refuted a suspicion of ourselves at incarnation ${x}`;
    case 'probe-acked':
      return `probe of ${about} answered`;
  }
}

function healthJson(h: HealthRecord, now: number): HealthEvidence {
  return { agoMs: Math.round(now - h.at), delta: h.delta, score: h.score, cause: h.cause, detail: h.detail };
}

/** A suspicion as reported. */
export interface SuspicionEvidence {
  /** Who suspected it first (as far as this observer knows). */
  by: string;
  agoMs: number;
  incarnation: number;
  confirmations: { from: string; agoMs: number }[];
  /** When a verification restarted it as this observer's own (null: never). */
  restartedAgoMs: number | null;
}

/** A probe outcome as reported (see {@link ProbeRecord}). */
export interface ProbeEvidence {
  agoMs: number;
  kind: ProbeKind;
  rttMs: number | null;
  via: string | null;
  helpers: number;
  nacks: number;
  tcp: 'ok' | 'failed' | 'pending' | 'none';
  verification: boolean;
}

/** A health score change as reported (see {@link HealthRecord}). */
export interface HealthEvidence {
  agoMs: number;
  delta: number;
  score: number;
  cause: HealthRecord['cause'];
  detail: string;
}

/** What the log recorded about one member (see {@link EvidenceLog.member}). */
export interface RecordedEvidence {
  /** When the member itself last reached us (null: never, or not since we track it). */
  lastHeardAgoMs: number | null;
  /** Our last probes of it, newest first (at most {@link PROBE_RING}). */
  probes: ProbeEvidence[];
  /** Round trips of the answered probes in the ring; p50/p99 by nearest rank. */
  rtt: { lastMs: number; p50Ms: number; p99Ms: number; samples: number } | null;
  /** Its state changes, newest first (at most {@link HISTORY_RING}). */
  history: { agoMs: number; state: MemberState; incarnation: number; by: string }[];
  /** Its current suspicion or the last one (null: never suspected here). */
  suspicion: SuspicionEvidence | null;
  /** The last refutation: the member came back alive with `incarnation`, ending `suspicion`. */
  refutation: { agoMs: number; incarnation: number; suspicion: SuspicionEvidence | null } | null;
  /** Its last death (or leave) certificate: who declared it, and the suspicion held here then. */
  death: { agoMs: number; incarnation: number; by: string; state: 'dead' | 'left'; suspicion: SuspicionEvidence | null } | null;
}

/** The observer's Lifeguard local health (see {@link EvidenceLog.observer}). */
export interface ObserverHealth {
  /** 0 is healthy; a higher score stretches our probe interval and timeout by (score + 1). */
  score: number;
  /** The score stays below this (awarenessMaxMultiplier). */
  max: number;
  /** The raises since the score was last 0, oldest first: why it is not 0. */
  why: HealthEvidence[];
  /** The last {@link HEALTH_RING} changes, newest first. */
  recent: HealthEvidence[];
  /** Changes since start, by cause. */
  totals: Record<HealthRecord['cause'], number>;
}

/** The live Lifeguard state of a suspicion held now (read from the membership). */
export interface LiveSuspicion {
  /** Confirmations counted, and expected before the timeout reaches its minimum (k). */
  confirmations: number;
  expected: number;
  timeoutMs: number;
  minMs: number;
  maxMs: number;
  /** Until the deadline (negative: overdue, being decided). */
  leftMs: number;
  /** A verification probe of the suspect is under way. */
  verifying: boolean;
}

/** Everything an observer can say about why a member is in its state: `GET /v1/members/{name}`. */
export interface MemberExplanation extends RecordedEvidence {
  name: string;
  address: string;
  state: MemberState;
  incarnation: number;
  /** Time in the current state. */
  sinceMs: number;
  /** The observer that answers (this node). */
  observer: string;
  /** The suspicion held now, with its Lifeguard timer (null unless `state` is suspect). */
  live: LiveSuspicion | null;
  /** This observer's health: a sick observer makes healthy peers look dead. */
  health: ObserverHealth;
  /** False when the node keeps no evidence (the simulator): only the table fields are real. */
  recorded: boolean;
}
