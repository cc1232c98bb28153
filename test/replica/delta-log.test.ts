import t from 'tap';
import { DeltaRing } from '../../lib/replica/delta-log.js';
import { deltaSize, type Delta } from '../../lib/replica/delta.js';
import { payloadSize } from '../../lib/replica/limits.js';

const publish = (seq: number, data: unknown): Delta => ({ kind: 'publish', node: 'n', epoch: 1, seq, channel: 'ch', ts: seq * 1024, c: seq, data });

t.test('sizes given as -1 are measured on first request, the same as measured up front', async (t) => {
  const ring = new DeltaRing(1, 4);
  const payloads: unknown[] = [{ text: 'an object payload', n: [1, 2, 3] }, 'a string', new Uint8Array(10), null, { deep: { x: 1 } }];
  payloads.forEach((p, i) => ring.push(publish(i + 1, p), i % 2 === 0 ? -1 : deltaSize(publish(i + 1, p), payloadSize(p, 'p'))));
  t.equal(ring.firstSeq, 2, 'capacity 4: the first fell out');
  t.equal(ring.sizeOf(1), 0);
  for (let seq = 2; seq <= 5; seq++) {
    const p = payloads[seq - 1];
    t.equal(ring.sizeOf(seq), deltaSize(publish(seq, p), payloadSize(p, 'p')), `seq ${seq}`);
    t.equal(ring.sizeOf(seq), ring.sizeOf(seq), 'stable once measured');
  }
  const presence: Delta = { kind: 'join', node: 'n', epoch: 1, seq: 6, channel: 'ch', clientId: 'c', user: 'u', info: { a: 1 }, since: 0 };
  const leave: Delta = { kind: 'leave', node: 'n', epoch: 1, seq: 7, channel: 'ch', clientId: 'c' };
  ring.push(presence, -1);
  ring.push(leave, -1);
  t.equal(ring.sizeOf(6), deltaSize(presence, payloadSize({ a: 1 }, 'p')));
  t.equal(ring.sizeOf(7), deltaSize(leave, 0));
});
