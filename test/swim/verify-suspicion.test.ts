import t from 'tap';
import { suspicionTimeout } from '../../lib/swim/suspicion.js';
import { Wire } from './wire.js';

// Nodes are not started: no probe loop, no gossip ticks, so the only traffic is what the
// suspicion itself causes. With 3 members the suspicion timeout is its minimum, 4 s.

t.test('a suspect that answers when the suspicion expires is not declared dead', async (t) => {
  const w = new Wire(['a', 'b', 'c']);
  const a = w.node('a');
  const b = w.node('b');
  // b refuted c's suspicion long ago; a heard the suspicion but none of the refutation
  b.handle({ type: 'suspect', node: 'b', incarnation: 0, from: 'c' }, 'c:1');
  while (b.queuedBroadcasts > 0) b.piggyback(Number.MAX_SAFE_INTEGER);
  a.handle({ type: 'suspect', node: 'b', incarnation: 0, from: 'c' }, 'c:1');
  const dead: string[] = [];
  a.on('member-dead', (x) => dead.push(x.name));
  w.run(10_000);
  t.ok(w.messages('a', 'b', 'ping').length > 0, 'a probed b before deciding');
  t.same(dead, [], 'b answered, so it is not dead');
  t.match(a.member('b'), { state: 'alive', incarnation: 1 }, 'and the ack carried its refutation');
});

t.test('a silent suspect is declared dead on its deadline', async (t) => {
  const w = new Wire(['a', 'b', 'c']);
  const a = w.node('a');
  w.silence('b');
  a.handle({ type: 'suspect', node: 'b', incarnation: 0, from: 'c' }, 'c:1');
  const dead: number[] = [];
  a.on('member-dead', () => dead.push(w.clock.now()));
  w.run(10_000);
  t.same(dead, [4000], 'the verification probe ends on the deadline');
});

t.test('a suspect that reached us after the suspicion began is judged afresh, not on the old deadline', async (t) => {
  const w = new Wire(['a', 'b', 'c']);
  const a = w.node('a');
  w.silence('b');
  a.handle({ type: 'suspect', node: 'b', incarnation: 0, from: 'c' }, 'c:1');
  const dead: number[] = [];
  a.on('member-dead', () => dead.push(w.clock.now()));
  w.run(1000);
  // b pings a (it recovered; a missed its refutation), then falls silent again
  a.handle({ type: 'ping', seq: 7, target: 'a', source: 'b', sourceAddr: 'b:1' }, 'b:1');
  w.run(5000);
  t.same(dead, [], 'not dead at the old deadline (4 s): the failed verification starts a new suspicion');
  t.equal(a.member('b')?.state, 'suspect');
  w.run(4000);
  t.equal(dead.length, 1, 'which runs its course (c, suspecting b since a told it at 3.5 s, may declare first)');
});

// With 6 members a suspicion counts k = 2 confirmations: its timeout starts at 24 s and
// shrinks to 4 s (the minimum) with them.
const SIX = ['a', 'b', 'c', 'd', 'e', 'f'];
const afterOne = suspicionTimeout(1, 2, 4000, 24_000);

for (const [when, confirmAt, confirmers, deadAt] of [
  ['none arrives', -1, [], 24_000],
  ['one arrives early', 1000, ['d'], afterOne],
  ['one arrives after the minimum is up', 8000, ['d'], afterOne],
  ['two arrive after their deadline has passed', 8000, ['d', 'e'], 9000],
] as const) {
  t.test(`a silent suspect dies on the deadline its confirmations set: ${when}`, async (t) => {
    const w = new Wire(SIX);
    const a = w.node('a');
    w.silence('b');
    a.handle({ type: 'suspect', node: 'b', incarnation: 0, from: 'c' }, 'c:1');
    const dead: number[] = [];
    a.on('member-dead', () => dead.push(w.clock.now()));
    if (confirmAt >= 0) {
      w.run(confirmAt);
      for (const from of confirmers) a.handle({ type: 'suspect', node: 'b', incarnation: 0, from }, `${from}:1`);
    }
    w.run(30_000 - Math.max(0, confirmAt));
    // the verification probe starts one probe period before the deadline and ends on it
    // (with the deadline already past, it starts at once)
    t.same(dead, [deadAt]);
  });
}
