import t from 'tap';
import { EvidenceLog, HEALTH_RING, PROBE_RING } from '../../lib/swim/evidence.js';
import { addr, Wire } from './wire.js';

// Wire nodes run on a manual clock with 1 ms links: every time below is virtual.

t.test('direct acks: probe outcomes, RTT statistics and last heard', async (t) => {
  const w = new Wire(['a', 'b', 'c'], {}, 1, true);
  w.start();
  w.run(10_000);
  const e = w.node('a').explain('b')!;
  t.equal(e.recorded, true);
  t.match(e, { name: 'b', address: addr('b'), state: 'alive', observer: 'a', live: null, suspicion: null, death: null });
  t.ok(e.probes.length >= 3, `a probed b several times (${e.probes.length})`);
  for (const p of e.probes) t.match(p, { kind: 'ack', rttMs: 2, via: null, helpers: 0, tcp: 'none', verification: false }, 'a direct ack over two 1 ms hops');
  t.ok(e.probes.every((p, i) => i === 0 || p.agoMs >= e.probes[i - 1]!.agoMs), 'newest first');
  t.same(e.rtt, { lastMs: 2, p50Ms: 2, p99Ms: 2, samples: e.probes.length });
  t.ok(e.lastHeardAgoMs !== null && e.lastHeardAgoMs < 2000, `b reached a recently (${e.lastHeardAgoMs} ms ago)`);
  t.same(e.history.map((h) => h.state), ['alive'], 'joined once');
  t.same(e.health.why, [], 'a healthy observer has nothing to explain');
  t.equal(w.node('a').explain('nobody'), undefined, 'an unknown member has no explanation');
});

t.test('the probe ring keeps the last PROBE_RING outcomes', async (t) => {
  const w = new Wire(['a', 'b'], {}, 1, true);
  w.start();
  w.run((PROBE_RING + 10) * 1000);
  const e = w.node('a').explain('b')!;
  t.equal(e.probes.length, PROBE_RING);
  t.ok(e.probes[0]!.agoMs < 1000 && e.probes[PROBE_RING - 1]!.agoMs >= (PROBE_RING - 2) * 1000, 'the newest ones, spanning the last PROBE_RING periods');
});

t.test('an indirect ack names the helper that relayed it', async (t) => {
  const w = new Wire(['a', 'b', 'c'], { indirectChecks: 1 }, 1, true);
  // a cannot reach b directly (datagrams either way); c can
  w.drop = (from, to) => (from === 'a' && to === 'b') || (from === 'b' && to === 'a');
  w.start();
  w.run(8000);
  const e = w.node('a').explain('b')!;
  const indirect = e.probes.filter((p) => p.kind === 'indirect-ack');
  t.ok(indirect.length >= 1, `a reached b through a helper (${e.probes.map((p) => p.kind).join(', ')})`);
  t.match(indirect[0], { via: 'c', helpers: 1, verification: false });
  t.ok(indirect[0]!.rttMs! > 500, 'its round trip includes the probe timeout before the indirect stage');
  t.equal(e.state, 'alive', 'so b was never suspected');
});

t.test('a suspect: who suspected it, each confirmation, the Lifeguard timer, the verification, then the death', async (t) => {
  const w = new Wire(['a', 'b', 'c', 'd', 'e'], {}, 1, true);
  const a = w.node('a');
  w.silence('b');
  w.streamPing = () => ({ afterMs: 100, ok: false });
  a.handle({ type: 'suspect', node: 'b', incarnation: 0, from: 'c' }, addr('c'));
  w.run(300);
  a.handle({ type: 'suspect', node: 'b', incarnation: 0, from: 'd' }, addr('d'));
  a.handle({ type: 'suspect', node: 'b', incarnation: 0, from: 'd' }, addr('d'));
  w.run(200);
  let e = a.explain('b')!;
  t.equal(e.state, 'suspect');
  t.match(e.suspicion, { by: 'c', agoMs: 500, incarnation: 0, confirmations: [{ from: 'd', agoMs: 200 }], restartedAgoMs: null }, 'a repeat from d counts once');
  t.equal(e.suspicion!.confirmations.length, 1);
  const live = e.live!;
  t.equal(live.confirmations, 1);
  t.equal(live.expected, 2, 'k = suspicionMult − 2');
  t.ok(live.minMs > 0 && live.maxMs === live.minMs * 6, `min ${live.minMs}, max ${live.maxMs}`);
  t.ok(live.timeoutMs < live.maxMs && live.timeoutMs >= live.minMs, `one confirmation shortened the timeout to ${live.timeoutMs}`);
  t.equal(live.leftMs, live.timeoutMs - 500);
  t.equal(live.verifying, false);
  t.same(e.history.map((h) => [h.state, h.by]), [['suspect', 'c'], ['alive', 'b']]);

  // the verification probe starts one probe interval before the deadline
  w.run(live.leftMs - 1000 + 10);
  e = a.explain('b')!;
  t.equal(e.live?.verifying, true, 'the verification probe is under way');
  w.run(2000);
  e = a.explain('b')!;
  t.equal(e.state, 'dead');
  t.equal(e.live, null);
  t.match(e.death, { by: 'a', incarnation: 0, state: 'dead', suspicion: { by: 'c', confirmations: [{ from: 'd' }] } }, 'declared here, on the evidence of c and d');
  t.match(e.probes[0], { kind: 'timeout', verification: true, helpers: 3, nacks: 3, tcp: 'failed' }, 'the verification probe failed: every helper nacked, TCP failed');
  t.same(e.history.map((h) => [h.state, h.by]), [['dead', 'a'], ['suspect', 'c'], ['alive', 'b']]);
  t.equal(a.health, 0, 'every helper nacked: the failure is not ours');
});

t.test('a death declared elsewhere names its declarer', async (t) => {
  const w = new Wire(['a', 'b', 'c'], {}, 1, true);
  const a = w.node('a');
  // b is really down: a verifies the certificate first (decision 0050), finds no answer
  // and applies it, naming c
  w.silence('b');
  a.handle({ type: 'dead', node: 'b', incarnation: 0, from: 'c' }, addr('c'));
  w.run(5000);
  const e = a.explain('b')!;
  t.match(e.death, { by: 'c', state: 'dead', incarnation: 0 });
  a.handle({ type: 'dead', node: 'c', incarnation: 0, from: 'c' }, addr('c'));
  t.match(a.explain('c')!.death, { by: 'c', state: 'left' }, 'a leave is its own declaration');
});

t.test('a refutation ends the suspicion and is kept with it', async (t) => {
  const w = new Wire(['a', 'b', 'c'], {}, 1, true);
  const a = w.node('a');
  a.handle({ type: 'suspect', node: 'b', incarnation: 0, from: 'c' }, addr('c'));
  w.run(100);
  a.handle({ type: 'alive', node: 'b', incarnation: 1, addr: addr('b'), meta: new Uint8Array() }, addr('b'));
  const e = a.explain('b')!;
  t.equal(e.state, 'alive');
  t.equal(e.live, null);
  t.match(e.refutation, { agoMs: 0, incarnation: 1, suspicion: { by: 'c', agoMs: 100, incarnation: 0 } });
  t.match(e.suspicion, { by: 'c' }, 'the last suspicion stays readable');
  t.same(e.history.map((h) => [h.state, h.incarnation, h.by]), [['alive', 1, 'b'], ['suspect', 0, 'c'], ['alive', 0, 'b']]);
});

t.test('the observer explains its own health score', async (t) => {
  const w = new Wire(['a', 'b', 'c', 'd'], {}, 1, true);
  const a = w.node('a');
  // b is down, and the helpers' nacks never reach a: to Lifeguard, a looks like the problem
  w.silence('b');
  w.drop = (_from, to, msgs) => to === 'a' && msgs.some((m) => m.type === 'nack');
  a.handle({ type: 'suspect', node: 'a', incarnation: 0, from: 'c' }, addr('c'));
  t.match(a.explain('c')!.health.why, [{ cause: 'refuted', delta: 1, score: 1, detail: 'refuted a suspicion of ourselves at incarnation 0' }], 'it had to refute a suspicion');
  w.start();
  for (let i = 0; i < 100 && a.health < 2; i++) w.run(100);
  const h = a.explain('c')!.health;
  t.ok(a.health >= 2, `a's score rose (${a.health})`);
  t.equal(h.score, a.health);
  t.equal(h.max, 8);
  t.ok(h.why.some((x) => x.cause === 'missed-nacks' && x.detail === 'probe of b failed and only 0 of 2 helpers nacked: the others may be unreachable from here'), 'a failed probe without nacks');
  t.equal(h.why.reduce((s, x) => s + x.delta, 0) >= h.score, true, 'the raises account for the score');
  t.ok(h.totals.refuted === 1 && h.totals['missed-nacks'] >= 1);
  t.match(a.explain('b')!.probes[0], { kind: 'timeout', helpers: 2, nacks: 0, verification: false });
});

t.test('the health ring and the "why" walk stop where the score was last 0', async (t) => {
  const log = new EvidenceLog(10);
  log.health(0, 1, 1, 'late-timers', 'x', 40, 0);
  log.health(1, -1, 0, 'probe-acked', 'x', 0, 0);
  log.health(2, 2, 2, 'missed-nacks', 'y', 1, 3);
  log.health(3, 1, 3, 'refuted', 'me', 4, 0);
  const h = log.observer(3, 8, 10);
  t.same(h.why.map((x) => [x.cause, x.agoMs]), [['missed-nacks', 8], ['refuted', 7]]);
  t.equal(h.why[0]!.detail, 'probe of y failed and only 1 of 3 helpers nacked: the others may be unreachable from here');
  t.same(log.observer(0, 8, 10).why, [], 'nothing to explain at 0');
  for (let i = 0; i < HEALTH_RING * 2; i++) log.health(10 + i, 1, 1, 'late-timers', 'x', 1, 0);
  t.equal(log.observer(1, 8, 100).recent.length, HEALTH_RING, 'bounded');
  t.equal(log.observer(1, 8, 100).totals['late-timers'], HEALTH_RING * 2 + 1, 'totals count everything');
});

t.test('memory is bounded: at most maxMembers entries, forgotten on reap', async (t) => {
  const log = new EvidenceLog(2);
  log.heard('x', 1);
  log.heard('y', 1);
  log.heard('z', 1);
  t.equal(log.size, 2);
  t.equal(log.refused, 1);
  log.forget('x');
  t.equal(log.size, 1);

  const w = new Wire(['a', 'b', 'c'], { deadReapMs: 5000 }, 1, true);
  const a = w.node('a');
  w.start();
  w.run(3000);
  a.handle({ type: 'dead', node: 'b', incarnation: 0, from: 'c' }, addr('c'));
  w.silence('b');
  w.run(20_000);
  t.equal(a.explain('b'), undefined, 'reaped: no member, no evidence');
  // pings from a name not in the table leave nothing behind
  a.handle({ type: 'ping', seq: 1, target: 'a', source: 'stranger', sourceAddr: 'stranger:1' }, 'stranger:1');
  t.equal(a.explain('stranger'), undefined);
});

t.test('without evidence the explanation holds only the table and the live timer', async (t) => {
  const w = new Wire(['a', 'b', 'c'], {}, 1, false);
  const a = w.node('a');
  w.start();
  w.run(5000);
  a.handle({ type: 'suspect', node: 'b', incarnation: 0, from: 'c' }, addr('c'));
  const e = a.explain('b')!;
  t.equal(e.recorded, false);
  t.same(e.probes, []);
  t.equal(e.suspicion, null);
  t.equal(e.state, 'suspect');
  t.ok(e.live !== null && e.live.leftMs > 0, 'the live Lifeguard timer is read from the membership itself');
});
