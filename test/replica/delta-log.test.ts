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

t.test('a ring grows with use up to its capacity and holds exactly the newest changes', async (t) => {
  for (const capacity of [1, 3, 10, 1024]) {
    const ring = new DeltaRing(1, capacity);
    for (let seq = 1; seq <= 2 * capacity + 5; seq++) {
      ring.push(publish(seq, seq), seq);
      t.equal(ring.endSeq, seq + 1);
      t.equal(ring.firstSeq, Math.max(1, seq + 1 - capacity), `capacity ${capacity}: first after ${seq}`);
      for (let s = ring.firstSeq; s <= seq; s++) {
        if (ring.get(s)?.seq !== s || ring.sizeOf(s) !== s) {
          t.fail(`capacity ${capacity}: seq ${s} lost after pushing ${seq}`);
          return;
        }
      }
      t.equal(ring.get(ring.firstSeq - 1), undefined);
    }
  }
  // a gap restarts the ring at the new seq, keeping its slots
  const ring = new DeltaRing(1, 16);
  for (let seq = 1; seq <= 9; seq++) ring.push(publish(seq, seq), seq);
  ring.push(publish(100, 100), 100);
  t.equal(ring.firstSeq, 100);
  t.equal(ring.get(9), undefined);
  for (let seq = 101; seq <= 130; seq++) ring.push(publish(seq, seq), seq);
  t.equal(ring.firstSeq, 115);
  t.equal(ring.get(115)?.seq, 115);
  t.equal(ring.get(130)?.seq, 130);
});
