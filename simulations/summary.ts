/**
 * Terminal output of `clusterd sim`: the summary table of a result (the progress on
 * stderr is progress.ts).
 */
import type { Distribution, SimResult } from './runner.js';
import { fmtMs } from './runner.js';

function dist(d: Distribution): string {
  return d.count === 0 ? '—' : `p50 ${fmtMs(d.p50)}, p90 ${fmtMs(d.p90)}, p99 ${fmtMs(d.p99)}, max ${fmtMs(d.max)} (n = ${d.count})`;
}

/** The summary: invariants with their evidence, then the measurements, as aligned text. */
/** One line on what the workload did and what replicating it cost. */
export function replicationLine(r: SimResult): string {
  const x = r.replication;
  if (!x.operations || !x.traffic || !x.convergence) return x.status;
  const o = x.operations;
  const heals = x.convergence.heals.map((h) => `${h.caughtUpAfterMs >= 0 ? fmtMs(h.caughtUpAfterMs) : 'never'} after the heal at ${fmtMs(h.atMs)} (${h.behindAtHeal} entries behind)`);
  const order = x.order && x.order.againstRealTime > 0 ? `; ${x.order.againstRealTime} of ${x.order.pairs} consecutive history entries ordered against real time (up to ${fmtMs(x.order.maxInversionMs)})` : '';
  return `${o.publishes} publishes, ${o.presenceJoins} presence joins, ${o.presenceLeaves} leaves${o.refused ? `, ${o.refused} refused (${o.firstRefusal})` : ''}; ${x.traffic.bytesPerNodePerSec} B/s per node; replicas caught up ${heals.length ? heals.join(', ') : '(no heal)'}; all equal since ${x.convergence.equalSinceMs >= 0 ? fmtMs(x.convergence.equalSinceMs) : 'never'}${order}`;
}

export function summary(r: SimResult, wallSeconds?: number): string {
  const lines: string[] = [];
  const wall = wallSeconds === undefined ? '' : `, ${wallSeconds.toFixed(1)} s wall`;
  lines.push(`${r.scenario.name}: ${r.nodes} nodes, ${fmtMs(r.durationMs)} virtual, seed ${r.seed}${wall}`);
  lines.push(`expected: ${r.scenario.expected}`);
  lines.push('');
  const tag = (s: string): string => (s === 'pass' ? 'PASS' : s === 'fail' ? 'FAIL' : 'n/a ');
  lines.push('INVARIANT');
  for (const i of r.invariants) lines.push(`  ${tag(i.status)}  ${i.name}\n        ${i.evidence}`);
  lines.push('');
  const m = r.measurements;
  const rows: [string, string][] = [
    ['crash → first suspicion', dist(m.detection.firstSuspectMs)],
    ['crash → dead, per observer', dist(m.detection.perObserverDeadMs)],
    ['crash → dead everywhere', `${dist(m.detection.deadEverywhereMs)}${m.detection.neverDeadEverywhere ? `; ${m.detection.neverDeadEverywhere} never everywhere` : ''}`],
    ['false positives', `${m.falsePositives.deadDeclarations} dead declarations (${m.falsePositives.episodes} episodes), ${m.falsePositives.suspicionsOfHealthy} suspicions of healthy nodes; ${m.falsePositives.ofLiveNodes} of live nodes (any cause), ${m.falsePositives.ofStalledNodes} of stalled ones; ${m.falsePositives.ofReachable} of members the declaring node could reach${m.falsePositives.ofReachableExamples.length ? ` (e.g. ${m.falsePositives.ofReachableExamples.slice(0, 2).join('; ')})` : ''}`],
    ['traffic per node', `${m.traffic.msgsPerNodePerSec} msg/s, ${m.traffic.bytesPerNodePerSec} B/s datagrams, ${m.traffic.streamBytesPerNodePerSec} B/s streams`],
    ['converged after last fault', m.convergence.convergedAfterLastFaultMs >= 0 ? `${fmtMs(m.convergence.convergedAfterLastFaultMs)} (last fault at ${fmtMs(m.convergence.lastFaultMs)})` : 'not converged'],
    ['converged after heal', m.convergence.heals.length === 0 ? '—' : m.convergence.heals.map((h) => (h.convergedAfterMs >= 0 ? fmtMs(h.convergedAfterMs) : 'never')).join(', ')],
    ['anti-entropy', m.antiEntropy],
    ['replication', replicationLine(r)],
  ];
  const delivery = r.replication.delivery;
  if (delivery) rows.push(['publish → stored', Object.entries(delivery).filter(([k]) => !/^(.+)→\1$/.test(k)).map(([k, d]) => `${k} p50 ${fmtMs(d.p50)} p99 ${fmtMs(d.p99)}`).join(', ') || '—']);
  if (r.notModelled.length > 0) rows.push(['not modelled', r.notModelled.join('; ')]);
  const w = Math.max(...rows.map(([k]) => k.length));
  lines.push('MEASUREMENT');
  for (const [k, v] of rows) lines.push(`  ${k.padEnd(w)}  ${v}`);
  return lines.join('\n');
}
