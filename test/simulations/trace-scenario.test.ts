import t from 'tap';
import type { FlightRecord } from '../../lib/client/flight-record.js';
import { traceToScenario } from '../../simulations/trace-scenario.js';
import type { Recording } from '../../simulations/trace-scenario.js';
import { validateScenario } from '../../simulations/scenario.js';
import type { ResolvedStep } from '../../simulations/scenario.js';

const T0 = 1_700_000_000_000;
const NAMES = ['alpha', 'bravo', 'charlie', 'delta'];

/**
 * A fixed recording of four agents: each probes the others in turn once a second (a
 * timeout is recorded at the end of its interval) with a
 * 0.4 ms round trip, except that one probe in five from alpha to bravo needs a helper
 * (loss on that link); charlie is stopped from 10.0 s to 14.0 s (its sampler says so,
 * alpha suspects it at 12.0 s, it refutes at 14.1 s); delta crashes at 20.0 s (last
 * answered probe 19.9 s, timeouts from 21.0 s, suspected at 21.0 s, dead at 24.0 s).
 */
function recording(): Recording {
  const seqs = new Map<string, number>();
  const rec = (node: string, at: number, r: Record<string, unknown>): FlightRecord => {
    const seq = seqs.get(node) ?? 0;
    seqs.set(node, seq + 1);
    return { ...r, seq, t: T0 + at } as FlightRecord;
  };
  const records = new Map<string, FlightRecord[]>(NAMES.map((n) => [n, []]));
  const up = (name: string, at: number): boolean => (name === 'charlie' ? at < 10_000 || at >= 14_000 : name === 'delta' ? at < 20_000 : true);
  let k = 0;
  for (let at = 100; at < 30_000; at += 100) {
    // each agent probes once a second, staggered by 100 ms
    const i = Math.floor(at / 100) % 10;
    if (i >= NAMES.length) continue;
    const observer = NAMES[i]!;
    if (!up(observer, at)) continue;
    const others = NAMES.filter((n) => n !== observer);
    // observers go round their targets out of step, as SWIM's shuffled rounds do
    const target = others[(Math.floor(at / 1000) + i) % others.length]!;
    const answered = up(target, at);
    let outcome = answered ? 'ack' : 'timeout';
    if (observer === 'alpha' && target === 'bravo' && k++ % 5 === 0) outcome = 'indirect-ack';
    // a probe is judged when answered, or at the end of its interval
    records.get(observer)!.push(rec(observer, answered ? at : at + 1000, { kind: 'probe', member: target, outcome, rttMs: outcome === 'ack' ? 0.4 : outcome === 'indirect-ack' ? 600 : null, helpers: outcome === 'ack' ? 0 : 2, nacks: 0 }));
  }
  const state = (obs: string, at: number, member: string, st: string, inc: number, by: string): void => void records.get(obs)!.push(rec(obs, at, { kind: 'state', member, state: st, incarnation: inc, by }));
  records.get('charlie')!.push(rec('charlie', 14_000, { kind: 'stall', lateMs: 3750 }));
  records.get('bravo')!.push(rec('bravo', 5_000, { kind: 'stall', lateMs: 300 })); // noise: below MIN_STALL_MS
  state('alpha', 12_000, 'charlie', 'suspect', 0, 'alpha');
  state('bravo', 12_100, 'charlie', 'suspect', 0, 'alpha');
  state('alpha', 14_100, 'charlie', 'alive', 1, 'charlie');
  state('bravo', 14_150, 'charlie', 'alive', 1, 'charlie');
  state('delta', 14_200, 'charlie', 'suspect', 0, 'alpha'); // a late echo of the closed suspicion
  state('alpha', 21_000, 'delta', 'suspect', 0, 'alpha');
  state('bravo', 21_100, 'delta', 'suspect', 0, 'alpha');
  state('alpha', 24_000, 'delta', 'dead', 0, 'alpha');
  state('bravo', 24_050, 'delta', 'dead', 0, 'alpha');
  state('charlie', 24_100, 'delta', 'dead', 0, 'alpha');
  for (const list of records.values()) list.sort((a, b) => a.t - b.t);
  return {
    startedAt: T0,
    durationMs: 30_000,
    members: NAMES.map((name) => ({ name, state: 'alive' })),
    agents: NAMES.map((node) => ({ node, profile: 'lan', probeIntervalMs: 1000, probeTimeoutMs: 500, records: records.get(node)!, lost: 0 })),
    unreachable: [],
  };
}

t.test('a recording becomes a valid scenario with its members, crash, stall and links', (t) => {
  const { scenario, faults, nodes, notes } = traceToScenario(recording(), 'two-faults');
  const sc = validateScenario(scenario, 'recorded');
  t.equal(sc.nodes, 4);
  t.same(nodes, { n0: 'alpha', n1: 'bravo', n2: 'charlie', n3: 'delta' }, 'members by name order');
  t.equal(sc.profile, 'lan');
  const crash = sc.timeline.find((s) => s.action === 'crash') as ResolvedStep & { nodes: string };
  t.equal(crash.nodes, 'n3');
  t.ok(Math.abs(crash.atMs - 20_000) <= 1000, `crash at ${crash.atMs} ms (recorded 20,000 ± 1,000)`);
  const stalls = sc.timeline.filter((s) => s.action === 'stall') as (ResolvedStep & { nodes: string })[];
  t.equal(stalls.length, 1, 'one stall: the 300 ms noise and the echo of the suspicion add none');
  t.equal(stalls[0]!.nodes, 'n2');
  t.ok(Math.abs(stalls[0]!.atMs - 10_000) <= 1000, `stall from ${stalls[0]!.atMs} ms`);
  t.ok(Math.abs(stalls[0]!.durationMs! - 4000) <= 1000, `stall for ${stalls[0]!.durationMs} ms`);
  t.notOk(sc.timeline.some((s) => s.action === 'restart'), 'a crash never back is not restarted');
  const c = faults.find((f) => f.kind === 'crash')!;
  t.equal(c.firstSuspectMs, 21_000);
  t.equal(c.firstDeadMs, 24_000);
  t.equal(sc.network.latencyMs, 0.2, 'half the median round trip');
  t.equal(sc.network.loss, 0);
  const lossy = sc.timeline.filter((s) => s.action === 'link') as (ResolvedStep & { from: string; to: string; loss: number })[];
  t.equal(lossy.length, 1, 'only alpha–bravo differs from the network');
  t.same([lossy[0]!.from, lossy[0]!.to], ['n0', 'n1']);
  t.ok(lossy[0]!.loss > 0.03 && lossy[0]!.loss < 0.2, `loss ${lossy[0]!.loss} from one direct probe in five failing (of alpha's only)`);
  t.same(notes, []);
  t.match(scenario.expected, /n3 \(delta\) crashed at about (19|20)\.\d s; the real agents first suspected it at 21\.0 s and declared it dead at 24\.0 s/);
  t.end();
});

t.test('an agent that was not recorded: its suspicion and refutation become an inferred stall', (t) => {
  const r = recording();
  r.agents = r.agents.filter((a) => a.node !== 'charlie');
  r.unreachable = [{ name: 'charlie', error: 'connection refused' }];
  const { scenario, notes } = traceToScenario(r);
  const sc = validateScenario(scenario);
  const stall = sc.timeline.find((s) => s.action === 'stall') as ResolvedStep & { nodes: string };
  t.equal(stall.nodes, 'n2');
  t.ok(Math.abs(stall.atMs - 10_000) <= 1000, `inferred stall from ${stall.atMs} ms`);
  t.ok(Math.abs(stall.atMs + stall.durationMs! - 14_100) <= 1000, 'to the refutation');
  t.match(notes[0], /charlie: not recorded \(connection refused\)/);
  t.end();
});

t.test('a recorded agent suspected without stalling is a false suspicion, noted and not replayed', (t) => {
  const r = recording();
  const charlie = r.agents.find((a) => a.node === 'charlie')!;
  charlie.records = charlie.records.filter((x) => x.kind !== 'stall');
  const { scenario, notes } = traceToScenario(r);
  t.notOk(validateScenario(scenario).timeline.some((s) => s.action === 'stall'));
  t.match(notes.join('\n'), /charlie \(n2\) was suspected at 12\.0 s and refuted it, without a stall of its own/);
  t.end();
});

t.test('leaves, restarts, joins; a recording with no member is refused', (t) => {
  const r = recording();
  const a = r.agents[0]!.records;
  const push = (at: number, member: string, state: string, inc: number): void => void a.push({ kind: 'state', seq: 1000 + a.length, t: T0 + at, member, state, incarnation: inc, by: member } as FlightRecord);
  push(26_000, 'delta', 'alive', 3); // delta comes back
  push(27_000, 'bravo', 'left', 0);
  push(28_000, 'echo', 'alive', 0);
  a.sort((x, y) => x.t - y.t);
  const { scenario, nodes } = traceToScenario(r);
  const sc = validateScenario(scenario);
  t.match(sc.timeline.map((s) => `${s.action}@${s.atMs}`).join(' '), /restart@26000 leave@27000 add@28000/);
  t.equal(nodes.n4, 'echo', 'a member that joined takes the next index');
  t.throws(() => traceToScenario({ ...r, members: [] }), /no live member at its start/);
  t.end();
});
