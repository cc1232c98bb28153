import t from 'tap';
import { Wire } from './wire.js';

// 3 members: the suspicion timeout is its minimum, 4 s, whatever the confirmations

t.test('a suspicion of a newer incarnation replaces the one we hold', async (t) => {
  const w = new Wire(['a', 'b', 'c']);
  const a = w.node('a');
  w.silence('b');
  const dead: [number, number][] = [];
  a.on('member-dead', (x) => dead.push([w.clock.now(), x.incarnation]));
  a.handle({ type: 'suspect', node: 'b', incarnation: 0, from: 'c' }, 'c:1');
  w.run(3000);
  // b refuted to 1 (a missed it) and c suspects it again
  a.handle({ type: 'suspect', node: 'b', incarnation: 1, from: 'c' }, 'c:1');
  t.match(a.member('b'), { state: 'suspect', incarnation: 1 });
  w.run(2000);
  t.same(dead, [], 'not declared dead on the deadline of the refuted suspicion (4 s)');
  w.run(5000);
  t.same(dead, [[7000, 1]], 'the new suspicion runs its own timeout, at the new incarnation');
});
