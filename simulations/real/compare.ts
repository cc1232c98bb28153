/**
 * Simulated vs real, side by side: the rows both runs can fill (invariant verdicts,
 * convergence, detection, false positives, traffic), and their terminal rendering.
 * Pure: the CLI, the JSON result and the HTML report all use {@link compareRuns}.
 */
import { fmtMs } from '../runner.js';
import type { Distribution, SimResult } from '../runner.js';
import type { RealResult } from './real-runner.js';

/** One row of the comparison. */
export interface ComparisonRow {
  /** What is compared. */
  label: string;
  sim: string;
  real: string;
  /** How the two sides measure it, when they differ. @default undefined */
  note?: string;
}

/** The side-by-side result of `clusterd sim --real` (what `--json` writes). */
export interface SideBySide {
  mode: 'sim-vs-real';
  /** Wall seconds of the simulated run (not part of SimResult, which stays byte-identical per seed). */
  simWallSeconds: number;
  comparison: ComparisonRow[];
  sim: SimResult;
  real: RealResult;
  /** True when both runs hold every invariant. */
  passed: boolean;
}

/** Node-seconds of a run (sum over samples of nodes up × sample length). */
export function nodeSeconds(r: SimResult): number {
  const s = r.series;
  let total = 0;
  for (let k = 1; k < s.tMs.length; k++) total += (s.up[k]! * (s.tMs[k]! - s.tMs[k - 1]!)) / 1000;
  return total;
}

function status(s: string | undefined): string {
  return s === undefined ? '—' : s === 'pass' ? 'PASS' : s === 'fail' ? 'FAIL' : 'n/a';
}

function quant(d: Distribution): string {
  return d.count === 0 ? '—' : `p50 ${fmtMs(d.p50)}, p90 ${fmtMs(d.p90)}, max ${fmtMs(d.max)} (n=${d.count})`;
}

function heals(r: SimResult): string {
  const h = r.measurements.convergence.heals;
  return h.length === 0 ? '—' : h.map((x) => (x.convergedAfterMs >= 0 ? fmtMs(x.convergedAfterMs) : 'never')).join(', ');
}

function perNode(v: number, r: SimResult): string {
  const ns = nodeSeconds(r);
  return ns === 0 ? '—' : String(Math.round((v / ns) * 10) / 10);
}

/**
 * For each partition of the run: ms from it until the agreement reached the lowest value
 * it takes before the next partition or heal (each side has given up on the other),
 * at the sampling resolution. Partitions with no sample before the next step are skipped.
 */
export function partitionSettleMs(r: SimResult): number[] {
  const s = r.series;
  const marks = r.events.filter((e) => /^(partition|one-way partition|heal)/.test(e.what));
  const out: number[] = [];
  marks.forEach((e, k) => {
    if (e.what.startsWith('heal')) return;
    const end = marks[k + 1]?.atMs ?? r.durationMs + 1;
    let min = Infinity;
    let at = -1;
    for (let i = 0; i < s.tMs.length; i++) {
      const t = s.tMs[i]!;
      if (t < e.atMs || t >= end) continue;
      if (s.agreement[i]! < min) {
        min = s.agreement[i]!;
        at = t;
      }
    }
    if (at >= 0) out.push(at - e.atMs);
  });
  return out;
}

/** The rows comparing a simulated run with the real run of the same scenario. */
export function compareRuns(sim: SimResult, real: RealResult, simWallSeconds: number): ComparisonRow[] {
  const rows: ComparisonRow[] = [];
  const names = [...new Set([...sim.invariants.map((i) => i.name), ...real.invariants.map((i) => i.name)])];
  for (const name of names) {
    rows.push({ label: name.replace(/:.*$/, ''), sim: status(sim.invariants.find((i) => i.name === name)?.status), real: status(real.invariants.find((i) => i.name === name)?.status) });
  }
  const ms = sim.measurements;
  const mr = real.measurements;
  const conv = (r: SimResult): string => (r.measurements.convergence.convergedAfterLastFaultMs >= 0 ? fmtMs(r.measurements.convergence.convergedAfterLastFaultMs) : 'not converged');
  const minAgreement = (r: SimResult): string => (r.series.agreement.length === 0 ? '—' : String(Math.min(...r.series.agreement)));
  const settle = (r: SimResult): string => {
    const xs = partitionSettleMs(r);
    return xs.length === 0 ? '—' : xs.map((x) => fmtMs(x)).join(', ');
  };
  rows.push(
    { label: 'partition → views settled', sim: settle(sim), real: settle(real), note: 'from each partition until the agreement reaches its lowest value before the heal (each side has declared the other dead), at the 1 s sampling' },
    { label: 'converged after each heal', sim: heals(sim), real: heals(real), note: 'real: from each agent\'s member events, as received by the runner' },
    { label: 'converged after the last fault', sim: conv(sim), real: conv(real) },
    { label: 'lowest agreement (pairs seen right)', sim: minAgreement(sim), real: minAgreement(real) },
    { label: 'crash → first suspicion', sim: quant(ms.detection.firstSuspectMs), real: quant(mr.detection.firstSuspectMs) },
    { label: 'crash → dead, per observer', sim: quant(ms.detection.perObserverDeadMs), real: quant(mr.detection.perObserverDeadMs) },
    { label: 'crash → dead everywhere', sim: quant(ms.detection.deadEverywhereMs), real: quant(mr.detection.deadEverywhereMs) },
    { label: 'false deaths (healthy nodes)', sim: `${ms.falsePositives.deadDeclarations} (${ms.falsePositives.episodes} episodes)`, real: `${mr.falsePositives.deadDeclarations} (${mr.falsePositives.episodes} episodes)` },
    { label: 'suspicions of healthy nodes', sim: String(ms.falsePositives.suspicionsOfHealthy), real: String(mr.falsePositives.suspicionsOfHealthy) },
    { label: 'dead declarations of live nodes', sim: String(ms.falsePositives.ofLiveNodes), real: String(mr.falsePositives.ofLiveNodes), note: 'any cause: a partition makes each side declare the other dead' },
    {
      label: 'datagrams per node/s', sim: perNode(ms.traffic.totals.framesSent ?? 0, sim), real: String(mr.traffic.msgsPerNodePerSec),
      note: `sim: frames; real: UDP datagrams sent (/metrics); sim messages per node/s: ${ms.traffic.msgsPerNodePerSec}`,
    },
    { label: 'datagram bytes per node/s', sim: String(ms.traffic.bytesPerNodePerSec), real: String(mr.traffic.bytesPerNodePerSec), note: 'sim: encoded membership messages, frame headers excluded; real: whole frames, replication digests included' },
    { label: 'stream bytes per node/s', sim: String(ms.traffic.streamBytesPerNodePerSec), real: String(mr.traffic.streamBytesPerNodePerSec), note: 'push-pull and fallback pings; real: also replication streams' },
    { label: 'wall time', sim: `${simWallSeconds.toFixed(1)} s`, real: `${(real.real.wallMs / 1000).toFixed(1)} s (cluster formed in ${(real.real.formMs / 1000).toFixed(1)} s)` },
  );
  return rows;
}

/** Builds the side-by-side result. */
export function sideBySide(sim: SimResult, real: RealResult, simWallSeconds: number): SideBySide {
  return { mode: 'sim-vs-real', simWallSeconds: Math.round(simWallSeconds * 10) / 10, comparison: compareRuns(sim, real, simWallSeconds), sim, real, passed: sim.passed && real.passed };
}

/** Wraps `s` into lines of at most `w` characters (on spaces where it can). */
function wrap(s: string, w: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of s.split(' ')) {
    if (line === '') line = word;
    else if (line.length + 1 + word.length <= w) line += ` ${word}`;
    else {
      out.push(line);
      line = word;
    }
    while (line.length > w) {
      out.push(line.slice(0, w));
      line = line.slice(w);
    }
  }
  out.push(line);
  return out;
}

/** The terminal summary of a side-by-side run: a two-column table, then each side's evidence. */
export function sideBySideSummary(r: SideBySide): string {
  const { sim, real } = r;
  const lines: string[] = [];
  const hosts = real.real.hosts;
  lines.push(`${sim.scenario.name}: ${sim.nodes} nodes, ${fmtMs(sim.durationMs)}, seed ${sim.seed}: simulated (virtual time) vs real (${hosts.length} agent processes on ${hosts[0]}${hosts.length > 1 ? `–${hosts[hosts.length - 1]}` : ''}, wall time)`);
  lines.push(`expected: ${sim.scenario.expected}`);
  lines.push('');
  const wl = Math.max(...r.comparison.map((x) => x.label.length), 'MEASURE'.length);
  const wc = 34;
  lines.push(`${'MEASURE'.padEnd(wl)}  ${'SIM'.padEnd(wc)}  REAL`);
  for (const row of r.comparison) {
    const a = wrap(row.sim, wc);
    const b = wrap(row.real, wc);
    for (let k = 0; k < Math.max(a.length, b.length); k++) lines.push(`${(k === 0 ? row.label : '').padEnd(wl)}  ${(a[k] ?? '').padEnd(wc)}  ${b[k] ?? ''}`.trimEnd());
  }
  const notes = r.comparison.filter((x) => x.note !== undefined);
  if (notes.length > 0) {
    lines.push('');
    lines.push('HOW THEY ARE MEASURED');
    for (const n of notes) lines.push(`  ${n.label}: ${n.note}`);
  }
  lines.push('');
  lines.push('EVIDENCE');
  for (const inv of real.invariants) {
    if (inv.status === 'not-measured') continue;
    const s = sim.invariants.find((i) => i.name === inv.name);
    lines.push(`  ${inv.name}`);
    if (s) lines.push(`    sim:  ${s.evidence}`);
    lines.push(`    real: ${inv.evidence}`);
  }
  lines.push(`  real views self-check: ${real.real.selfCheck}`);
  lines.push(`  agent processes left behind: ${real.real.leftBehind}`);
  if (real.real.notApplied.length > 0) {
    lines.push('');
    lines.push('NOT APPLIED IN --real');
    for (const n of real.real.notApplied) lines.push(`  ${n}`);
  }
  const driver = real.notModelled.filter((n) => n.startsWith('driver: '));
  if (driver.length > 0) {
    lines.push('');
    lines.push('DRIVER NOTES (real run)');
    for (const n of driver) lines.push(`  ${n.slice('driver: '.length)}`);
  }
  if (sim.notModelled.length > 0) {
    lines.push('');
    lines.push('NOT MODELLED IN THE SIMULATOR');
    for (const n of sim.notModelled) lines.push(`  ${n}`);
  }
  return lines.join('\n');
}
