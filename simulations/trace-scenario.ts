/**
 * A recording of real agents' flight recorders (`clusterd record`) turned into a scenario
 * of the simulator (simulations/scenario.ts): the members, the links' RTT and loss as
 * their probes measured them, and the faults (crashes, restarts, stalls, leaves) at the
 * times the records place them. Pure: the same recording gives the same scenario. How
 * each figure is estimated, and its limits, is decision 0060.
 */
import type { FlightRecord, ProbeOutcomeRecord, RecordPage } from '../lib/client/flight-record.js';
import { PROFILES } from '../lib/internal.js';
import type { ProfileName } from '../lib/internal.js';
import type { LinkSettings, ScenarioInput, Step } from './scenario.js';

/** What `clusterd record` collected: one agent's records. */
export interface RecordedAgent {
  node: string;
  profile: string;
  probeIntervalMs: number;
  probeTimeoutMs: number;
  /** Its records over the recording, oldest first. */
  records: FlightRecord[];
  /** Records overwritten before they could be read (the ring was full). */
  lost: number;
}

/** Everything `clusterd record` collected (its `--raw` file). */
export interface Recording {
  /** Wall clock at the start of the recording (time 0 of the scenario), ms since the epoch. */
  startedAt: number;
  durationMs: number;
  /** The members in the first agent's table at the start. */
  members: { name: string; state: string }[];
  agents: RecordedAgent[];
  /** Agents that could not be read, with why. */
  unreachable: { name: string; error: string }[];
}

/** One fault as recorded, for the report printed beside the scenario. */
export interface RecordedFault {
  kind: 'crash' | 'restart' | 'stall' | 'leave' | 'join';
  member: string;
  /** Its node in the scenario (`n3`). */
  node: string;
  /** When it happened, ms from the start of the recording (estimated: decision 0060). */
  atMs: number;
  /** For stalls. */
  durationMs?: number;
  /** How the time was found. */
  basis: string;
  /** For crashes: the real agents' first suspicion and first death declaration, ms from the start. */
  firstSuspectMs?: number;
  firstDeadMs?: number;
}

/** The scenario plus what was found, in words and numbers. */
export interface Conversion {
  scenario: ScenarioInput;
  faults: RecordedFault[];
  /** Scenario node name → member name. */
  nodes: Record<string, string>;
  /** Things worth saying about the recording (lost records, false suspicions, unreachable agents). */
  notes: string[];
}

/** Self-reported stalls shorter than this are left out of the scenario (scheduling noise). */
export const MIN_STALL_MS = 500;
/** A pair of members needs this many usable probes before its link is estimated. */
export const MIN_LINK_SAMPLES = 5;

const ANSWERED = new Set(['ack', 'indirect-ack', 'tcp-ack']);

interface Episode {
  /** First record of trouble: suspect, dead or left, by any observer. */
  from: number;
  incarnation: number;
  deadAt: number | undefined;
  leftAt: number | undefined;
  /** First record of it alive again at a higher incarnation. */
  endAt: number | undefined;
}

/** Nearest-rank quantile of sorted `xs`. */
function q(xs: readonly number[], p: number): number {
  return xs[Math.min(xs.length - 1, Math.max(0, Math.ceil(p * xs.length) - 1))]!;
}

function r3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

function fmtS(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/**
 * Turns a recording into a scenario. Throws an Error naming the problem when the
 * recording holds nothing to build on (no member).
 */
export function traceToScenario(rec: Recording, name = 'recorded'): Conversion {
  const rel = (t: number): number => Math.max(0, Math.min(rec.durationMs, Math.round(t - rec.startedAt)));
  const notes: string[] = [];
  for (const u of rec.unreachable) notes.push(`${u.name}: not recorded (${u.error}); its faults are inferred from the others' records`);
  for (const a of rec.agents) if (a.lost > 0) notes.push(`${a.node}: ${a.lost} record(s) were overwritten before they were read`);

  // members: those up at the start, then those that joined later, in order of arrival
  const index = new Map<string, number>();
  for (const m of [...rec.members].filter((m) => m.state === 'alive' || m.state === 'suspect').map((m) => m.name).sort()) index.set(m, index.size);
  if (index.size === 0) throw new Error('the recording has no live member at its start');
  const initial = index.size;
  const all = rec.agents.flatMap((a) => a.records.map((r) => ({ observer: a.node, r }))).sort((x, y) => x.r.t - y.r.t);
  const faults: RecordedFault[] = [];
  const nodeOf = (m: string): string => `n${index.get(m)!}`;
  for (const { r } of all) {
    if (r.kind === 'state' && r.state === 'alive' && !index.has(r.member) && r.t >= rec.startedAt) {
      index.set(r.member, index.size);
      faults.push({ kind: 'join', member: r.member, node: nodeOf(r.member), atMs: rel(r.t), basis: 'first seen alive' });
    }
  }
  const recorded = new Map(rec.agents.map((a) => [a.node, a]));
  const agent0 = rec.agents[0];
  const profile: ProfileName = agent0 && agent0.profile in PROFILES ? (agent0.profile as ProfileName) : 'lan';
  const intervalMs = agent0?.probeIntervalMs ?? PROFILES[profile].probeIntervalMs;

  // probes of each member by the others, oldest first
  const probesOf = new Map<string, { observer: string; r: ProbeOutcomeRecord }[]>();
  for (const x of all) {
    if (x.r.kind !== 'probe' || x.r.member === x.observer) continue;
    const list = probesOf.get(x.r.member) ?? [];
    list.push({ observer: x.observer, r: x.r });
    probesOf.set(x.r.member, list);
  }
  /**
   * When the member went silent before `from` (the first suspicion): after the last probe
   * of it answered, and no later than one probe interval before the first unanswered
   * verdict (a probe is judged at the end of its interval). The middle of that window.
   */
  const silentSince = (m: string, from: number): { at: number; basis: string } => {
    const ps = probesOf.get(m) ?? [];
    let lastAck: number | undefined;
    let firstFail: number | undefined;
    for (const { r } of ps) {
      if (r.t >= from) break;
      if (ANSWERED.has(r.outcome)) {
        lastAck = r.t;
        firstFail = undefined;
      } else if (r.outcome === 'timeout' && firstFail === undefined) firstFail = r.t;
    }
    if (firstFail === undefined) firstFail = from;
    const latest = firstFail - intervalMs;
    if (lastAck === undefined) return { at: latest, basis: 'one probe interval before the first failed probe' };
    return { at: latest <= lastAck ? lastAck : (lastAck + latest) / 2, basis: 'between the last answered probe and the first failed one' };
  };

  // the agents' own stalls (what a recorded agent says about itself is the best evidence)
  const selfStalls = new Map<string, { start: number; end: number }[]>();
  for (const a of rec.agents) {
    for (const r of a.records) {
      if (r.kind !== 'stall' || r.lateMs < MIN_STALL_MS) continue;
      // the sampler's tick ran `lateMs` late: the stop began within one sample period before that
      const list = selfStalls.get(a.node) ?? [];
      list.push({ start: r.t - r.lateMs - 250, end: r.t });
      selfStalls.set(a.node, list);
    }
  }

  // episodes of trouble per member, from every observer's state records
  const episodes = new Map<string, Episode[]>();
  for (const { observer, r } of all) {
    if (r.kind !== 'state' || r.member === observer || !index.has(r.member)) continue;
    const list = episodes.get(r.member) ?? [];
    episodes.set(r.member, list);
    const cur = list.at(-1);
    const open = cur !== undefined && cur.endAt === undefined;
    if (r.state === 'alive') {
      if (open && r.incarnation > cur.incarnation) cur.endAt = r.t;
      continue;
    }
    if (!open) {
      if (cur !== undefined && r.incarnation <= cur.incarnation) continue; // a late echo of a closed episode
      list.push({ from: r.t, incarnation: r.incarnation, deadAt: undefined, leftAt: undefined, endAt: undefined });
    }
    const e = list.at(-1)!;
    e.incarnation = Math.max(e.incarnation, r.incarnation);
    if (r.state === 'dead') e.deadAt ??= r.t;
    if (r.state === 'left') e.leftAt ??= r.t;
  }

  const steps: Step[] = [];
  const windows = new Map<string, { start: number; end: number }[]>();
  const addWindow = (m: string, start: number, end: number): void => {
    const w = windows.get(m) ?? [];
    w.push({ start, end });
    windows.set(m, w);
  };
  for (const [m, s] of selfStalls) {
    if (!index.has(m)) continue;
    for (const w of s) {
      const at = rel(w.start);
      const durationMs = Math.max(1, Math.round(w.end - w.start));
      faults.push({ kind: 'stall', member: m, node: nodeOf(m), atMs: at, durationMs, basis: 'its own stall sampler' });
      addWindow(m, w.start, w.end + intervalMs);
    }
  }
  for (const [m, list] of episodes) {
    const node = nodeOf(m);
    for (const e of list) {
      const silent = silentSince(m, e.from);
      if (e.leftAt !== undefined) {
        faults.push({ kind: 'leave', member: m, node, atMs: rel(e.leftAt), basis: 'first seen left' });
        addWindow(m, e.leftAt, e.endAt ?? Infinity);
        if (e.endAt !== undefined) faults.push({ kind: 'restart', member: m, node, atMs: rel(e.endAt), basis: 'first seen alive again after its leave' });
      } else if (recorded.has(m) && (selfStalls.get(m) ?? []).some((w) => w.end >= e.from - intervalMs && w.start <= (e.endAt ?? e.from))) {
        // a stall it reported itself, already in the scenario
        continue;
      } else if (e.deadAt !== undefined) {
        faults.push({ kind: 'crash', member: m, node, atMs: rel(silent.at), basis: silent.basis, firstSuspectMs: rel(e.from), firstDeadMs: rel(e.deadAt) });
        addWindow(m, silent.at, e.endAt ?? Infinity);
        if (e.endAt !== undefined) faults.push({ kind: 'restart', member: m, node, atMs: rel(e.endAt), basis: 'first seen alive again at a higher incarnation' });
      } else if (e.endAt !== undefined && !recorded.has(m)) {
        faults.push({ kind: 'stall', member: m, node, atMs: rel(silent.at), durationMs: Math.max(1, Math.round(e.endAt - silent.at)), basis: `${silent.basis}, to its refutation (it was not recorded)` });
        addWindow(m, silent.at, e.endAt + intervalMs);
      } else if (e.endAt !== undefined) {
        notes.push(`${m} (${node}) was suspected at ${fmtS(rel(e.from))} and refuted it, without a stall of its own: a false suspicion (loss, or an overloaded observer)`);
      } else {
        notes.push(`${m} (${node}) was suspect at the end of the recording (${fmtS(rel(e.from))}), neither dead nor refuted`);
      }
    }
  }
  faults.sort((a, b) => a.atMs - b.atMs || a.node.localeCompare(b.node));
  for (const f of faults) {
    const comment = `${f.member}: ${f.basis}`;
    switch (f.kind) {
      case 'crash': steps.push({ at: f.atMs, action: 'crash', nodes: f.node, comment } as Step); break;
      case 'restart': steps.push({ at: f.atMs, action: 'restart', nodes: f.node, comment } as Step); break;
      case 'leave': steps.push({ at: f.atMs, action: 'leave', nodes: f.node, comment } as Step); break;
      case 'join': steps.push({ at: f.atMs, action: 'add', count: 1, comment } as Step); break;
      case 'stall': steps.push({ at: f.atMs, action: 'stall', nodes: f.node, duration: f.durationMs!, comment } as Step); break;
    }
  }

  // links: each pair's probes, outside the windows where one of the two was in trouble
  const inTrouble = (m: string, t: number): boolean => (windows.get(m) ?? []).some((w) => t >= w.start - intervalMs && t <= w.end) || (selfStalls.get(m) ?? []).some((w) => t >= w.start && t <= w.end + intervalMs);
  const pairs = new Map<string, { rtts: number[]; probes: number; direct: number }>();
  for (const { observer, r } of all) {
    if (r.kind !== 'probe' || r.outcome === 'inconclusive' || !index.has(r.member) || !index.has(observer) || r.member === observer) continue;
    if (inTrouble(r.member, r.t) || inTrouble(observer, r.t)) continue;
    const [a, b] = [index.get(observer)!, index.get(r.member)!].sort((x, y) => x - y);
    const key = `${a}:${b}`;
    const p = pairs.get(key) ?? { rtts: [], probes: 0, direct: 0 };
    p.probes++;
    if (r.outcome === 'ack') {
      p.direct++;
      if (r.rttMs !== null) p.rtts.push(r.rttMs);
    }
    pairs.set(key, p);
  }
  const links: { a: number; b: number; link: Required<LinkSettings>; samples: number }[] = [];
  for (const [key, p] of pairs) {
    if (p.probes < MIN_LINK_SAMPLES || p.rtts.length === 0) continue;
    const [a, b] = key.split(':').map(Number) as [number, number];
    const sorted = [...p.rtts].sort((x, y) => x - y);
    const p10 = q(sorted, 0.1);
    const p90 = q(sorted, 0.9);
    // a direct probe fails when the ping or the ack is lost: 1 − (1 − loss)² of them
    const loss = 1 - Math.sqrt(p.direct / p.probes);
    links.push({ a, b, samples: p.probes, link: { latencyMs: r3(p10 / 2), jitterMs: r3(Math.max(0, p90 - p10) / 2), loss: r3(loss) } });
  }
  const med = (f: (l: Required<LinkSettings>) => number): number => (links.length === 0 ? 0 : q(links.map((l) => f(l.link)).sort((x, y) => x - y), 0.5));
  const network: Required<LinkSettings> = links.length === 0 ? { latencyMs: 1, jitterMs: 0, loss: 0 } : { latencyMs: med((l) => l.latencyMs), jitterMs: med((l) => l.jitterMs), loss: med((l) => l.loss) };
  if (links.length === 0) notes.push('no link had enough answered probes: the network keeps the simulator default (1 ms, no loss)');
  const linkSteps: Step[] = [];
  for (const l of links.sort((x, y) => x.a - y.a || x.b - y.b)) {
    const far = Math.abs(l.link.latencyMs - network.latencyMs) > Math.max(1, network.latencyMs / 2);
    const lossy = Math.abs(l.link.loss - network.loss) > 0.01;
    if (!far && !lossy) continue;
    linkSteps.push({ at: 0, action: 'link', from: `n${l.a}`, to: `n${l.b}`, ...l.link, comment: `${l.samples} probes` } as Step);
  }

  const nodes: Record<string, string> = {};
  for (const [m, i] of index) nodes[`n${i}`] = m;
  const crashes = faults.filter((f) => f.kind === 'crash');
  const expected = [
    `Replays ${rec.agents.length} agent recording(s) of ${fmtS(rec.durationMs)}.`,
    ...crashes.map((c) => `${c.node} (${c.member}) crashed at about ${fmtS(c.atMs)}; the real agents first suspected it at ${fmtS(c.firstSuspectMs!)} and declared it dead at ${fmtS(c.firstDeadMs!)}.`),
    ...faults.filter((f) => f.kind === 'stall').map((s) => `${s.node} (${s.member}) stalled at ${fmtS(s.atMs)} for ${fmtS(s.durationMs!)}.`),
  ].join(' ');
  const scenario: ScenarioInput = {
    name,
    description: `recorded by clusterd record: ${Object.entries(nodes).map(([n, m]) => `${n}=${m}`).join(', ')}`,
    expected,
    nodes: initial,
    duration: rec.durationMs,
    start: 'converged',
    profile,
    network,
    timeline: [...linkSteps, ...steps],
  };
  return { scenario, faults, nodes, notes };
}

/** Reads `RecordPage`-shaped answers into a {@link RecordedAgent} (the pages of one agent, in order). */
export function agentFromPages(pages: readonly RecordPage[], from: number, to: number): RecordedAgent {
  const first = pages[0]!;
  return {
    node: first.node, profile: first.profile, probeIntervalMs: first.probeIntervalMs, probeTimeoutMs: first.probeTimeoutMs,
    records: pages.flatMap((p) => p.records).filter((r) => r.t >= from && r.t <= to),
    lost: pages.reduce((s, p) => s + p.lost, 0),
  };
}
