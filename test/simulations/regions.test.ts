import t from 'tap';
import { SimNetwork } from '../../simulations/network.js';
import { runScenario } from '../../simulations/runner.js';
import { regionIndexOf, ScenarioError, validateScenario } from '../../simulations/scenario.js';

const base = { name: 'x', description: 'd', expected: 'e', nodes: 10, duration: '1m' };

function problem(raw: unknown): string {
  try {
    runScenario({ ...validateScenario(raw), durationMs: 1 });
  } catch (err) {
    if (err instanceof ScenarioError) return `${err.path}: ${err.problem}`;
    throw err;
  }
  return 'valid';
}

t.test('regions: contiguous blocks of the initial nodes, validated, selected by region:<name>', async (t) => {
  t.same([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => regionIndexOf(i, 10, 3)), [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]);
  t.same(Array.from({ length: 30 }, (_, i) => regionIndexOf(i, 30, 3)).filter((r) => r === 2).length, 10);
  const sc = validateScenario({ ...base, regions: ['A', 'B'], network: { latencyMs: 2 }, interRegion: { latencyMs: 40 } });
  t.same(sc.regions, ['A', 'B']);
  t.same(sc.interRegion, { latencyMs: 40, jitterMs: 0, loss: 0 }, 'unset fields of the inter-region link default to 0 jitter and loss');
  t.match(problem({ ...base, regions: ['A'] }), /^regions: must be an array of at least two region names/);
  t.match(problem({ ...base, regions: ['A', 'A'] }), /^regions\[1\]: duplicate region "A"/);
  t.match(problem({ ...base, regions: ['A', 'b c'] }), /^regions\[1\]: region names must match/);
  t.match(problem({ ...base, interRegion: { latencyMs: 5 } }), /^interRegion: needs regions/);
  t.match(problem({ ...base, regions: ['A', 'B'], interRegion: { latency: 5 } }), /^interRegion\.latency: unknown field/);
  t.match(problem({ ...base, regions: ['A', 'B'], timeline: [{ at: '1s', action: 'crash', nodes: 'region:C' }] }), /^timeline\[0\]\.nodes: selector "region:C": the scenario has no region "C"/);
  t.match(problem({ ...base, timeline: [{ at: '1s', action: 'crash', nodes: 'region:A' }] }), /no region "A"/, 'no regions at all');
  t.equal(problem({ ...base, regions: ['A', 'B'], timeline: [{ at: '1s', action: 'partition', groups: ['region:B'] }] }), 'valid');
});

t.test('the inter-region link applies between regions only; per-link overrides win', async (t) => {
  const net = new SimNetwork({ latencyMs: 1 });
  const [a, b, c] = [net.add('a', { noStart: true, region: 0 }), net.add('b', { noStart: true, region: 0 }), net.add('c', { noStart: true, region: 1 })];
  const d = net.add('d', { noStart: true });
  net.setInterRegion({ latencyMs: 80, jitterMs: 0, loss: 0.5 });
  t.equal(net.route(a, b)?.latencyMs, 1, 'same region: the global link');
  t.match(net.route(a, c), { latencyMs: 80, loss: 0.5 }, 'across regions');
  t.equal(net.route(c, d)?.latencyMs, 1, 'a node of no region: the global link');
  net.setLink('a', 'c', { loss: 1 });
  t.match(net.route(a, c), { latencyMs: 80, loss: 1 }, 'an override keeps the inter-region latency it did not set');
  t.match(net.route(c, b), { latencyMs: 80, loss: 0.5 });
});

// 12 nodes in three regions on lan timings, region C cut off for 20 s: C declares A and B
// dead shortly before the heal, and its fresh death certificates meet A and B there.
// Before decision 0050 A and B took them on faith (18 dead declarations of members the
// declaring node could reach, seed 2); membership only, so it runs in well under a second.
const cut = validateScenario({
  ...base, nodes: 12, duration: '60s', profile: 'lan', regions: ['A', 'B', 'C'], interRegion: { latencyMs: 60, jitterMs: 40, loss: 0.02 },
  timeline: [{ at: '10s', action: 'partition', groups: ['region:C'] }, { at: '30s', action: 'heal' }],
});

t.test('a region cut off and healed: no member declared dead by a node that could reach it, converged within 5 s', async (t) => {
  const r = runScenario(cut, { seed: 2 });
  const fp = r.measurements.falsePositives;
  t.equal(fp.ofReachable, 0, fp.ofReachableExamples.join('; '));
  t.ok(fp.ofLiveNodes > 0, `the two sides did declare each other dead during the cut (${fp.ofLiveNodes} declarations): those are not counted`);
  const conv = r.measurements.convergence;
  t.ok(conv.convergedAfterLastFaultMs >= 0 && conv.convergedAfterLastFaultMs <= 5000, `converged ${conv.convergedAfterLastFaultMs} ms after the heal, for good`);
  t.ok(r.passed, r.invariants.filter((i) => i.status === 'fail').map((i) => i.evidence).join('; '));
});

t.test('the count of reachable dead declarations counts what a partition does not excuse', async (t) => {
  // the same run with a trickle of workload (faults run on the replication runtime), and
  // n0 (region A) declaring n5 (region B, never cut off from A) dead on its own at 45 s
  const sc = { ...cut, workload: { until: '40s', publish: { channels: 2, perSecond: 1 } } };
  const r = runScenario(sc, {
    seed: 2,
    faults: [{ atMs: 45_000, run: (repl) => {
      const n0 = repl.net.node('n0');
      n0.m.handle({ type: 'dead', node: 'n5', incarnation: n0.m.member('n5')!.incarnation, from: 'n0' }, n0.addr);
    } }],
  });
  t.equal(r.measurements.falsePositives.ofReachable, 1);
  t.match(r.measurements.falsePositives.ofReachableExamples, [/^n0 declared n5 \(incarnation \d+\) dead at 45 s$/]);
  // a crash is no false death: the crashed node is down
  const crash = validateScenario({ ...base, nodes: 6, duration: '40s', regions: ['A', 'B'], timeline: [{ at: '5s', action: 'crash', nodes: 'region:B' }] });
  const c = runScenario(crash, { seed: 1 });
  t.equal(c.measurements.detection.crashes, 3);
  t.equal(c.measurements.falsePositives.ofReachable, 0);
});

t.test('publish → stored latency per region pair', async (t) => {
  const sc = validateScenario({
    ...base, nodes: 6, duration: '20s', regions: ['A', 'B'], interRegion: { latencyMs: 50 },
    workload: { until: '15s', publish: { channels: 4, perSecond: 20 } },
  });
  const r = runScenario(sc, { seed: 1 });
  const d = r.replication.delivery!;
  t.same(Object.keys(d), ['A→A', 'A→B', 'B→A', 'B→B']);
  t.ok(d['A→B']!.count > 100, `${d['A→B']!.count} deliveries A→B`);
  // one 100 ms flush window at most, plus the link: within a region ≤ 101 ms, across ≥ 50 ms
  t.ok(d['A→A']!.max <= 101 && d['A→A']!.p50 > 0, `A→A p50 ${d['A→A']!.p50}, max ${d['A→A']!.max}`);
  t.ok(d['A→B']!.p50 >= 50 && d['A→B']!.p50 <= 150, `A→B p50 ${d['A→B']!.p50}`);
  t.equal(runScenario({ ...sc, regions: [], interRegion: undefined }, { seed: 1 }).replication.delivery, null, 'without regions: not measured');
});
