import t from 'tap';
import { BroadcastQueue } from '../../lib/swim/broadcasts.js';

const bytes = (tag: number, size = 10): Uint8Array => new Uint8Array(size).fill(tag);

t.test('transmit limit is retransmitMult × ceil(log10(n+1))', async (t) => {
  const q = new BroadcastQueue(4);
  t.equal(q.limit(1), 4);
  t.equal(q.limit(9), 4);
  t.equal(q.limit(10), 8);
  t.equal(q.limit(1000), 16);
});

t.test('fewest transmissions first, newest first among equals', async (t) => {
  const q = new BroadcastQueue(3);
  q.queue('a', bytes(1));
  q.queue('b', bytes(2));
  t.same(q.take(10, 5).map((b) => b[0]), [2], 'newest of the untransmitted first');
  q.queue('c', bytes(3));
  // c (0 transmits) before a (0) before b (1)
  t.same(q.take(30, 5).map((b) => b[0]), [3, 1, 2]);
});

t.test('a newer message about the same key replaces the old one', async (t) => {
  let doneOld = 0;
  const q = new BroadcastQueue(3);
  q.queue('a', bytes(1), () => doneOld++);
  q.queue('a', bytes(9));
  t.equal(doneOld, 1, 'replaced message reports done');
  t.equal(q.size, 1);
  t.same(q.take(100, 5).map((b) => b[0]), [9]);
});

t.test('messages leave the queue after the limit and call done once', async (t) => {
  let done = 0;
  const q = new BroadcastQueue(2); // limit(1) = 2
  q.queue('a', bytes(1), () => done++);
  t.equal(q.take(100, 1).length, 1);
  t.equal(done, 0);
  t.equal(q.take(100, 1).length, 1);
  t.equal(done, 1);
  t.equal(q.size, 0);
  t.same(q.take(100, 1), []);
});

t.test('respects the byte budget and skips what does not fit', async (t) => {
  const q = new BroadcastQueue(4);
  q.queue('big', bytes(1, 50));
  q.queue('small', bytes(2, 10));
  const got = q.take(30, 3);
  t.same(got.map((b) => b[0]), [2]);
  t.equal(q.take(0, 3).length, 0);
});

t.test('bounded: the most transmitted message is dropped first', async (t) => {
  const q = new BroadcastQueue(10, 2);
  q.queue('a', bytes(1));
  q.take(100, 1); // a transmitted once
  q.queue('b', bytes(2));
  q.queue('c', bytes(3));
  t.equal(q.size, 2);
  t.notOk(q.has('a'));
  t.ok(q.has('b') && q.has('c'));
});

t.test('many queue/take cycles keep size consistent', async (t) => {
  const q = new BroadcastQueue(1);
  for (let i = 0; i < 1000; i++) {
    q.queue(`k${i % 50}`, bytes(i % 256));
    q.take(25, 3);
  }
  let drained = 0;
  while (q.size > 0 && drained < 10000) drained += q.take(1000, 3).length;
  t.equal(q.size, 0);
});
