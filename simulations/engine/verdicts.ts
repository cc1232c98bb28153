/** The membership invariants' verdicts at the end of a run, and the workload's when it is not measured. */
import type { ViewTracker } from '../view-tracker.js';
import { READERS_INVARIANT } from '../readers.js';
import { fmtMs } from './result.js';
import type { InvariantResult } from './result.js';

/** What replication-dependent parts report for a scenario without a workload. */
export const NO_WORKLOAD = 'not measured: the scenario has no workload (membership only)';

/** The replication invariants, each `not-measured` with `evidence`. */
export function notMeasuredWorkload(evidence: string): InvariantResult[] {
  return [
    { name: 'presence of dead and departed nodes purged everywhere: within 1 s of each confirmation and at the end', status: 'not-measured', evidence },
    { name: 'presence and history replicas equal at the end: same entries, same order', status: 'not-measured', evidence },
    { name: 'no resurrected or duplicated history entries', status: 'not-measured', evidence },
    { name: READERS_INVARIANT, status: 'not-measured', evidence },
  ];
}

/** Every live node sees the same alive set, within the limit after the last fault. */
export function convergedVerdict(t: ViewTracker, size: number, within: number, last: number, rediverged: number, now: number): InvariantResult {
  const name = 'membership converged: every live node sees the same alive set';
  if (t.converged) {
    const took = Math.max(0, t.convergedSince - last);
    if (t.convergedSince <= last) {
      return { name, status: 'pass', evidence: `all ${t.upCount} live nodes agree on ${t.upCount} alive members, without interruption since ${fmtMs(Math.max(0, t.convergedSince))}: the faults (the last at ${fmtMs(last)}) never broke convergence` };
    }
    const again = rediverged > last ? `; it diverged again at ${fmtMs(rediverged)} (no fault then) and re-converged` : '';
    return {
      name,
      status: took <= within ? 'pass' : 'fail',
      evidence: `all ${t.upCount} live nodes agree on ${t.upCount} alive members since ${fmtMs(t.convergedSince)}, ${fmtMs(took)} after the last fault at ${fmtMs(last)} (limit ${fmtMs(within)})${again}`,
    };
  }
  const bad = t.disagreements(3);
  let count = 0;
  for (let o = 0; o < size; o++) if (t.isUp(o) && t.wrongOf(o) > 0) count++;
  const list = (xs: number[]): string => (xs.length <= 5 ? xs.map((i) => `n${i}`).join(', ') : `${xs.slice(0, 5).map((i) => `n${i}`).join(', ')} and ${xs.length - 5} more`);
  const examples = bad.map((b) => `n${b.observer} misses ${b.missing.length} (${list(b.missing)}) and wrongly holds ${b.extra.length} alive${b.extra.length ? ` (${list(b.extra)})` : ''}`).join('; ');
  const early = now - last < within ? ` (the run ended ${fmtMs(now - last)} after the last fault, before the ${fmtMs(within)} limit: lengthen the run)` : '';
  return { name, status: 'fail', evidence: `not converged at the end (${fmtMs(now)}): ${count} of ${t.upCount} live nodes disagree; ${examples}${early}` };
}

/** Every live node lists exactly the live brokers (`lists`: each asked observer's list, or the error asking it). */
export function brokerVerdict(roles: readonly string[][], size: number, t: ViewTracker, lists: Map<number, string[] | string>): InvariantResult {
  const want: string[] = [];
  for (let i = 0; i < size; i++) if (t.isUp(i) && (roles[i] ?? []).includes('broker')) want.push(`n${i}`);
  const key = [...want].sort().join(',');
  const wrong: string[] = [];
  for (const [o, got] of lists) {
    if (wrong.length >= 3) break;
    if (typeof got === 'string') wrong.push(`n${o}: ${got}`);
    else if ([...got].sort().join(',') !== key) {
      const sorted = [...got].sort();
      wrong.push(`n${o} lists ${sorted.length} (${sorted.slice(0, 5).join(', ')}${sorted.length > 5 ? ', …' : ''})`);
    }
  }
  const name = 'broker lists agree: every live node lists exactly the live brokers';
  const listed = want.length <= 6 ? want.join(', ') : `${want.length} brokers`;
  if (wrong.length === 0) return { name, status: 'pass', evidence: `all ${lists.size} live nodes list ${listed} at the end` };
  return { name, status: 'fail', evidence: `expected ${listed}; ${wrong.join('; ')}` };
}
