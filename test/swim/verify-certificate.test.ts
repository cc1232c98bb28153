import t from 'tap';
import { Wire } from './wire.js';

// Decision 0050: a death certificate gossiped about a member we have no doubt of (alive
// in our table, or suspected only just now) is verified by a probe before it is applied.
// Nodes are not started (no probe loop, no gossip ticks): the only traffic is what the
// certificate causes. lan timings: probe period 1 s; with 3 members the minimum
// suspicion timeout is 4 s.

const cert = { type: 'dead', node: 'b', incarnation: 0, from: 'c' } as const;

t.test('a certificate about a member we hold alive is verified: b answers, so it is neither dead nor relayed', async (t) => {
  const w = new Wire(['a', 'b', 'c']);
  const a = w.node('a');
  const events: string[] = [];
  a.on('member-dead', (x) => events.push(`dead ${x.name}`));
  a.on('member-suspect', (x) => events.push(`suspect ${x.name}`));
  a.handle(cert, 'c:1');
  t.equal(a.member('b')?.state, 'alive', 'not applied while it is verified');
  t.equal(a.queuedBroadcasts, 0, 'nor queued for gossip');
  t.ok(w.messages('a', 'b', 'ping').length === 1, 'a probes b at once');
  t.ok(w.messages('a', 'b', 'dead').length === 1, 'and hands b the certificate, so that it refutes');
  w.run(2000);
  t.same(events, [], 'no death, no suspicion');
  t.match(a.member('b'), { state: 'alive', incarnation: 1 }, "b's refutation came back (its incarnation rose)");
  t.match(a.counters, { certificatesVerified: 1, certificatesRefused: 0 }, 'the refutation overtook the verdict: the certificate was moot');
  t.equal(w.node('b').incarnation, 1);
});

t.test('a certificate disproved by the ack alone (the member does not refute in time) is refused', async (t) => {
  const w = new Wire(['a', 'b', 'c']);
  const a = w.node('a');
  // b's copy of the certificate is lost: only a's ping reaches it
  w.drop = (from, to, msgs) => from === 'a' && to === 'b' && msgs.some((m) => m.type === 'dead');
  const dead: string[] = [];
  a.on('member-dead', (x) => dead.push(x.name));
  a.handle(cert, 'c:1');
  w.run(2000);
  t.same(dead, []);
  t.match(a.member('b'), { state: 'alive', incarnation: 0 });
  t.match(a.counters, { certificatesVerified: 1, certificatesRefused: 1 });
  // a repeat of the same certificate is verified again (one probe each), never taken on faith
  a.handle(cert, 'c:1');
  w.run(2000);
  t.same(dead, []);
  t.equal(a.counters.certificatesRefused, 2);
});

t.test('a certificate about a silent member stands once the verification fails, one probe period later', async (t) => {
  const w = new Wire(['a', 'b', 'c']);
  const a = w.node('a');
  w.silence('b');
  const dead: { name: string; at: number }[] = [];
  a.on('member-dead', (x) => dead.push({ name: x.name, at: w.clock.now() }));
  a.handle(cert, 'c:1');
  w.run(999);
  t.same(dead, [], 'the probe takes its period');
  w.run(10_000);
  t.same(dead, [{ name: 'b', at: 1000 }], 'no answer: dead at the end of the period (then its verdict turn)');
  t.equal(a.queuedBroadcasts > 0, true, 'and relayed from then on');
  t.match(a.counters, { certificatesVerified: 1, certificatesRefused: 0 });
});

t.test('a second copy during the verification starts no second probe', async (t) => {
  const w = new Wire(['a', 'b', 'c']);
  const a = w.node('a');
  w.silence('b');
  a.handle(cert, 'c:1');
  a.handle({ ...cert, from: 'd' }, 'd:1');
  t.equal(w.messages('a', 'b', 'ping').length, 1);
  t.equal(a.counters.certificatesVerified, 1);
});

t.test('a certificate about a member we have suspected for a while is taken as it is (a crash is not slowed down)', async (t) => {
  const w = new Wire(['a', 'b', 'c']);
  const a = w.node('a');
  w.silence('b');
  a.handle({ type: 'suspect', node: 'b', incarnation: 0, from: 'c' }, 'c:1');
  // half the minimum suspicion timeout (4 s) later, the suspicion is old enough to be the one the certificate ends
  w.run(2000);
  const dead: number[] = [];
  a.on('member-dead', () => dead.push(w.clock.now()));
  a.handle(cert, 'c:1');
  t.same(dead, [2000], 'applied on arrival');
  t.equal(a.counters.certificatesVerified, 0);
});

t.test('a certificate arriving just after a suspicion of our own began is verified (the suspicion came with it)', async (t) => {
  const w = new Wire(['a', 'b', 'c']);
  const a = w.node('a');
  a.handle({ type: 'suspect', node: 'b', incarnation: 0, from: 'c' }, 'c:1');
  w.run(100);
  const dead: string[] = [];
  a.on('member-dead', (x) => dead.push(x.name));
  a.handle(cert, 'c:1');
  t.equal(a.counters.certificatesVerified, 1);
  w.run(2000);
  t.same(dead, []);
  t.match(a.member('b'), { state: 'alive', incarnation: 1 });
});

t.test('a certificate about a suspect that reached us since we began suspecting it is verified', async (t) => {
  const w = new Wire(['a', 'b', 'c']);
  const a = w.node('a');
  a.handle({ type: 'suspect', node: 'b', incarnation: 0, from: 'c' }, 'c:1');
  w.run(3000);
  // b pings a: it is up, whatever the suspicion says
  a.handle({ type: 'ping', seq: 9, target: 'a', source: 'b', sourceAddr: 'b:1' }, 'b:1');
  a.handle(cert, 'c:1');
  t.equal(a.counters.certificatesVerified, 1);
  t.not(a.member('b')?.state, 'dead');
});

t.test('our own declarations and departures are never held back', async (t) => {
  const w = new Wire(['a', 'b', 'c']);
  const a = w.node('a');
  const events: string[] = [];
  a.on('member-leave', (x) => events.push(`left ${x.name}`));
  a.handle({ type: 'dead', node: 'b', incarnation: 0, from: 'b' }, 'b:1');
  t.same(events, ['left b'], 'a departure is announced by the member itself');
  t.equal(a.counters.certificatesVerified, 0);
});

t.test('a certificate for an older incarnation is ignored; one for a newer incarnation is applied at once', async (t) => {
  const w = new Wire(['a', 'b', 'c']);
  const a = w.node('a');
  a.handle({ type: 'alive', node: 'b', incarnation: 3, addr: 'b:1', meta: new Uint8Array() }, 'b:1');
  a.handle({ ...cert, incarnation: 2 }, 'c:1');
  t.match(a.member('b'), { state: 'alive', incarnation: 3 });
  // a newer incarnation than we know is news we have no evidence against
  a.handle({ ...cert, incarnation: 4 }, 'c:1');
  t.match(a.member('b'), { state: 'dead', incarnation: 4 });
  t.equal(a.counters.certificatesVerified, 0);
});
