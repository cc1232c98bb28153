import t from 'tap';
import { decode } from '@msgpack/msgpack';
import { decodeMessage } from '../../lib/codec/messages.js';
import type { Message } from '../../lib/codec/messages.js';
import { Wire } from './wire.js';

/** `b` refuted a suspicion at incarnation 0 (now at 1) and its refutation has stopped spreading. */
function refuted(start = false): Wire {
  const w = new Wire(['a', 'b', 'c']);
  if (start) w.start();
  const b = w.node('b');
  b.handle({ type: 'suspect', node: 'b', incarnation: 0, from: 'c' }, 'c:1');
  while (b.queuedBroadcasts > 0) b.piggyback(Number.MAX_SAFE_INTEGER);
  return w;
}

t.test('a stale suspect or dead claim about ourselves re-announces our current incarnation', async (t) => {
  for (const type of ['suspect', 'dead'] as const) {
    const b = refuted().node('b');
    b.handle({ type, node: 'b', incarnation: 0, from: 'a' }, 'a:1');
    t.equal(b.incarnation, 1, `${type}: no new incarnation for an old claim`);
    t.equal(b.health, 1, `${type}: no further health penalty (only the first refutation's)`);
    const queued = b.piggyback(1200).map((x) => decodeMessage(decode(x)) as Message);
    t.match(queued, [{ type: 'alive', node: 'b', incarnation: 1 }], `${type}: alive@1 queued again`);
    b.handle({ type, node: 'b', incarnation: 0, from: 'c' }, 'c:1');
    t.equal(b.queuedBroadcasts, 1, `${type}: a burst of stale claims queues it once`);
  }
});

t.test('a suspecter that missed the refutation learns it from the ack to its buddy ping', async (t) => {
  const w = refuted(true);
  const a = w.node('a');
  a.handle({ type: 'suspect', node: 'b', incarnation: 0, from: 'c' }, 'c:1');
  t.equal(a.member('b')?.state, 'suspect');
  w.run(2500); // a probes both b and c within its first pass
  t.ok(w.messages('a', 'b', 'ping').length > 0, 'a pinged b, with the suspicion riding along');
  t.match(a.member('b'), { state: 'alive', incarnation: 1 }, 'the ack brought b\'s refutation back');
  w.run(10_000);
  t.equal(a.member('b')?.state, 'alive', 'never declared dead');
});
