import t from 'tap';
import type { Message } from '../../lib/codec/messages.js';
import { Wire } from './wire.js';

// Only `a` is started: h serves ping-reqs and x is the target, neither probes. With the
// lan profile a's ping-reqs leave 500 ms into the period, h nacks 250 ms later (half the
// remaining window) and the wire takes 1 ms each way.

const isPing = (msgs: Message[], target: string): boolean => msgs.some((m) => m.type === 'ping' && m.target === target);

/** When `a` first pinged x directly, and when it suspected x on its own probe. */
function watch(w: Wire): { pingAt: () => number; suspectAt: () => number | undefined } {
  let suspectAt: number | undefined;
  const a = w.node('a');
  a.on('member-suspect', (m) => {
    if (m.name === 'x' && suspectAt === undefined) suspectAt = w.clock.now();
  });
  return {
    pingAt: () => w.sent.find((s) => s.from === 'a' && s.to === 'x' && isPing(s.msgs, 'x'))?.at ?? NaN,
    suspectAt: () => suspectAt,
  };
}

t.test('complete evidence (timeout, every nack, stream ping refused) suspects before the period ends', async (t) => {
  const w = new Wire(['a', 'h', 'x']);
  w.silence('x');
  w.streamPing = (_from, to) => ({ afterMs: 2, ok: to !== 'x' }); // a crashed process: RST
  const a = w.node('a');
  const seen = watch(w);
  a.start();
  w.run(3000);
  const lag = seen.suspectAt()! - seen.pingAt();
  t.equal(lag, 752, 'judged on the nack (500 + 1 + 250 + 1 ms), not at 1000 ms');
  t.equal(a.counters.nacksReceived, 1, 'h nacked');
  t.equal(a.counters.probeFailures >= 1, true);
  t.equal(a.health, 0, 'every nack arrived: a healthy prober is not penalised (Lifeguard)');
});

t.test('with the stream fallback off, every nack in hand is complete evidence', async (t) => {
  const w = new Wire(['a', 'h', 'x'], { streamFallbackPing: false });
  w.silence('x');
  const seen = watch(w);
  w.node('a').start();
  w.run(3000);
  t.equal(seen.suspectAt()! - seen.pingAt(), 752);
});

t.test('a missing nack leaves the verdict at the period end, and costs the prober health', async (t) => {
  const w = new Wire(['a', 'h', 'x']);
  w.silence('x');
  w.streamPing = (_from, to) => ({ afterMs: 2, ok: to !== 'x' });
  w.drop = (_from, _to, msgs) => msgs.some((m) => m.type === 'nack');
  const a = w.node('a');
  const health: number[] = [];
  a.on('health-changed', (h) => health.push(h.score));
  const seen = watch(w);
  a.start();
  w.run(3000);
  t.equal(seen.suspectAt()! - seen.pingAt(), 1000, 'judged at the end of the period');
  t.equal(a.counters.nacksReceived, 0);
  t.equal(health[0], 1, 'the missed nack raised a\'s health score');
});

t.test('a stream ping still under way leaves the verdict at the period end', async (t) => {
  const w = new Wire(['a', 'h', 'x']);
  w.silence('x');
  // the default wire: the stream ping neither connects nor fails until streamTimeoutMs
  const a = w.node('a');
  const seen = watch(w);
  a.start();
  w.run(3000);
  t.equal(a.counters.nacksReceived >= 1, true, 'h nacked');
  t.equal(seen.suspectAt()! - seen.pingAt(), 1000, 'judged at the end of the period');
  t.equal(a.health, 0);
});

t.test('an ack relayed after the helper nacked cancels the suspicion', async (t) => {
  const w = new Wire(['a', 'h', 'x']);
  let first = true;
  w.drop = (from, to, msgs) => {
    if (from === 'a' && to === 'x' && isPing(msgs, 'x') && first) {
      // x stalls for 800 ms from a's direct ping on, which is lost; h's ping waits in x's inbox
      first = false;
      w.pause('x');
      w.clock.setTimer(800, () => w.resume('x'));
      return true;
    }
    return false;
  };
  const a = w.node('a');
  const seen = watch(w);
  a.start();
  w.run(3000);
  t.ok(Number.isFinite(seen.pingAt()), 'a probed x');
  const nack = w.sent.find((x) => x.from === 'h' && x.msgs.some((m) => m.type === 'nack'));
  t.equal(nack?.at, seen.pingAt() + 751, 'h nacked 250 ms after the ping-req, before x woke');
  t.ok(w.sent.some((x) => x.from === 'h' && x.to === 'a' && x.at > nack!.at && x.msgs.some((m) => m.type === 'ack')), 'then relayed x\'s ack');
  t.equal(seen.suspectAt(), undefined, 'the relayed ack arrived before the evidence was complete: no suspicion');
  t.equal(a.counters.acks >= 1, true);
});

t.test('an ack read in the same turn as the last nack still wins', async (t) => {
  const w = new Wire(['a', 'h', 'x'], { streamFallbackPing: false });
  const a = w.node('a');
  const seen = watch(w);
  let seq = -1;
  w.drop = (from, to, msgs) => {
    for (const m of msgs) if (m.type === 'ping' && from === 'a' && to === 'x' && seq < 0) seq = m.seq;
    if (from === 'h' && to === 'a' && msgs.some((m) => m.type === 'nack')) {
      // an ack of the same probe read right after the nack, in the same loop turn
      w.clock.setTimer(1, () => w.clock.setTimer(0, () => a.handle({ type: 'ack', seq }, 'h:1')));
    }
    return to === 'x'; // nothing reaches x: the direct ping and h's ping go unanswered
  };
  a.start();
  w.run(3000);
  t.ok(seq >= 0, 'a probed x');
  t.equal(a.counters.nacksReceived, 1);
  t.equal(seen.suspectAt(), undefined, 'the verdict waited one turn and found the ack');
});

t.test('a verification probe is never judged early: death lands on the deadline', async (t) => {
  const w = new Wire(['a', 'b', 'c']);
  const a = w.node('a');
  w.silence('b');
  w.streamPing = (_from, to) => ({ afterMs: 2, ok: to !== 'b' });
  a.handle({ type: 'suspect', node: 'b', incarnation: 0, from: 'c' }, 'c:1');
  const dead: number[] = [];
  a.on('member-dead', () => dead.push(w.clock.now()));
  w.run(10_000);
  t.equal(w.messages('c', 'a', 'nack').length, 1, 'c nacked the verification early');
  t.same(dead, [4000], 'the 4 s suspicion timeout is kept');
});

t.test('verifyBeforeDeath: false declares on the deadline without probing (memberlist)', async (t) => {
  const w = new Wire(['a', 'b', 'c'], { verifyBeforeDeath: false });
  const a = w.node('a');
  // b is alive and would answer a verification probe
  a.handle({ type: 'suspect', node: 'b', incarnation: 0, from: 'c' }, 'c:1');
  const dead: number[] = [];
  a.on('member-dead', () => dead.push(w.clock.now()));
  w.run(10_000);
  t.same(w.messages('a', 'b', 'ping'), [], 'no verification probe');
  t.same(dead, [4000], 'dead at the deadline although it would have answered');
});
