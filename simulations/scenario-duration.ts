/**
 * `--duration`: the same scenario over a shorter (or longer) run, for `clusterd sim` and
 * its `--real` mode alike, so that a real run in wall time can stop once the interesting
 * part of a long timeline is over (split-brain: partition at 60 s, heal at 120 s, then
 * 60 s to converge) and still be compared with a simulated run of exactly the same
 * scenario.
 */
import { ScenarioError } from './scenario.js';
import type { Scenario } from './scenario.js';

/**
 * `sc` lasting `durationMs`. A timeline step after the new end is an error naming it
 * (a truncated timeline would silently be another scenario); churn stops at the end.
 */
export function withDuration(sc: Scenario, durationMs: number): Scenario {
  if (!(durationMs > 0)) throw new ScenarioError('--duration', 'must be positive', sc.source);
  sc.timeline.forEach((s, i) => {
    if (s.atMs > durationMs) throw new ScenarioError(`timeline[${i}].at`, `is at ${s.atMs} ms, after the end of the run set by --duration (${durationMs} ms)`, sc.source);
  });
  const churn = sc.churn ? { ...sc.churn, untilMs: Math.min(sc.churn.untilMs, durationMs) } : undefined;
  return { ...sc, durationMs, churn };
}
