import t from 'tap';
import { compareRuns, nodeSeconds, partitionSettleMs, sideBySide, sideBySideSummary } from '../../../simulations/real/compare.js';
import { renderSideBySideHtml, resample, SIDE_BY_SIDE_CHART_IDS } from '../../../simulations/real/html.js';
import type { RealResult } from '../../../simulations/real/real-runner.js';
import { runScenario } from '../../../simulations/runner.js';
import { validateScenario } from '../../../simulations/scenario.js';
import { withDuration } from '../../../simulations/scenario-duration.js';

const sc = validateScenario({
  name: 'cmp', description: 'a crash, a split, a heal', expected: 'converges', nodes: 8, duration: '90s',
  timeline: [{ at: '5s', action: 'crash', nodes: 'n7' }, { at: '20s', action: 'partition', groups: ['0%..50%'] }, { at: '40s', action: 'heal' }],
});
const sim = runScenario(sc, { seed: 3 });
// A stand-in for a real run: the simulated result with different numbers where the comparison reads them.
const real: RealResult = {
  ...structuredClone(sim),
  passed: false,
  invariants: sim.invariants.map((i, k) => (k === 0 ? { ...i, status: 'fail', evidence: 'not converged at the end' } : i)),
  measurements: { ...structuredClone(sim.measurements), convergence: { lastFaultMs: 40_000, convergedAfterLastFaultMs: -1, heals: [{ atMs: 40_000, convergedAfterMs: -1 }] } },
  real: {
    wallMs: 95_000, formMs: 2500, processes: 8, hosts: ['127.0.0.101', '127.0.0.108'], notApplied: ['timeline[9] clock-skew: not applied in --real'],
    selfCheck: 'match', leftBehind: 0, pids: [], dataDir: '/tmp/x (removed)',
    traffic: { packetsOut: 1, datagramBytesOut: 1, streamBytesOut: 0, streamsOpened: 0, faultDropped: 0 },
  },
};

t.test('the comparison rows', async (t) => {
  const rows = compareRuns(sim, real, 1.25);
  const row = (label: string) => rows.find((r) => r.label === label)!;
  t.same([row('membership converged').sim, row('membership converged').real], ['PASS', 'FAIL']);
  t.equal(row('converged after each heal').real, 'never');
  t.match(row('converged after each heal').sim, /\d/);
  t.equal(row('converged after the last fault').real, 'not converged');
  t.match(row('crash → dead, per observer').sim, /^p50 .* \(n=7\)$/, 'seven observers saw n7 die');
  t.equal(row('wall time').sim, '1.3 s');
  t.match(row('wall time').real, /95\.0 s \(cluster formed in 2\.5 s\)/);
  t.equal(row('presence of dead and departed nodes purged everywhere').sim, 'n/a');
  const ns = nodeSeconds(sim);
  t.ok(ns > 7 * 85 && ns < 8 * 90, `node-seconds ${ns}`);
  t.equal(row('datagrams per node/s').sim, String(Math.round((sim.measurements.traffic.totals.framesSent! / ns) * 10) / 10));
});

t.test('partition → views settled: from the partition to the lowest agreement before the heal', async (t) => {
  const xs = partitionSettleMs(sim);
  t.equal(xs.length, 1);
  const i = sim.series.tMs.indexOf(20_000 + xs[0]!);
  t.ok(xs[0]! > 0 && xs[0]! < 20_000, `${xs[0]} ms`);
  t.equal(sim.series.agreement[i], Math.min(...sim.series.agreement.filter((_, k) => sim.series.tMs[k]! >= 20_000 && sim.series.tMs[k]! < 40_000)));
  t.ok(sim.series.agreement[i - 1]! > sim.series.agreement[i]!, 'the first sample at the lowest value');
  t.match(compareRuns(sim, real, 1).find((r) => r.label === 'partition → views settled')!.sim, /^\d+(\.\d)? s$/);
});

t.test('the terminal summary: two columns, evidence of both sides, what was not applied', async (t) => {
  const r = sideBySide(sim, real, 1.25);
  t.notOk(r.passed, 'fails when one side fails');
  const text = sideBySideSummary(r);
  t.match(text, /^cmp: 8 nodes, 90 s, seed 3: simulated \(virtual time\) vs real \(2 agent processes on 127\.0\.0\.101–127\.0\.0\.108, wall time\)/);
  t.match(text, /MEASURE\s+SIM\s+REAL\n/);
  t.match(text, /membership converged\s+PASS\s+FAIL\n/);
  t.match(text, /real: not converged at the end/);
  t.match(text, /NOT APPLIED IN --real\n {2}timeline\[9\] clock-skew: not applied in --real/);
  for (const line of text.split('\n')) if (/^(membership|crash|converged)/.test(line)) t.ok(line.length < 140, `narrow enough: ${line.length}`);
});

t.test('the side-by-side HTML has both runs\' charts', async (t) => {
  const html = renderSideBySideHtml(sideBySide(sim, real, 1.25));
  for (const id of SIDE_BY_SIDE_CHART_IDS) t.match(html, new RegExp(`<svg id="${id}"`), id);
  t.match(html, /simulated <span class="pass">PASS<\/span> · real <span class="fail">FAIL<\/span>/);
  t.match(html, /data-series="real median"/);
  t.notMatch(html, /https?:\/\//);
});

t.test('resample: the last sample at or before each time', async (t) => {
  t.same(resample([0, 1000, 2000, 3000], [0, 1000, 2500], [5, 6, 7]), [5, 6, 6, 7]);
  t.same(resample([0, 1000], [], []), [0, 0], 'no samples: zeros');
});

t.test('--duration shortens a run, refuses to cut its timeline', async (t) => {
  const short = withDuration(sc, 60_000);
  t.equal(short.durationMs, 60_000);
  t.equal(sc.durationMs, 90_000, 'the original is untouched');
  t.throws(() => withDuration(sc, 30_000), /timeline\[2\]\.at: is at 40000 ms, after the end of the run set by --duration/);
  t.throws(() => withDuration(sc, 0), /must be positive/);
  const churn = validateScenario({ name: 'c', description: 'd', expected: 'e', nodes: 10, duration: '5m', churn: { fractionPerMinute: 0.1 } });
  t.equal(withDuration(churn, 60_000).churn?.untilMs, 60_000, 'churn stops at the new end');
});
