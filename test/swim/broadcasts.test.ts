import t from 'tap';
import { BroadcastQueue } from '../../lib/swim/broadcasts.js';
import type { MessageBuffer } from '../../lib/swim/broadcasts.js';

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

t.test('reset drops everything, runs each done once, and the queue works on', async (t) => {
  const q = new BroadcastQueue(3);
  const done: string[] = [];
  for (const k of ['a', 'b', 'c']) q.queue(k, bytes(k.charCodeAt(0)), () => done.push(k));
  q.take(10, 5);
  q.reset();
  t.same(done.sort(), ['a', 'b', 'c']);
  t.equal(q.size, 0);
  t.same(q.take(100, 5), []);
  q.queue('d', bytes(4));
  t.same(q.take(100, 5).map((b) => b[0]), [4]);
  t.same(done.sort(), ['a', 'b', 'c'], 'nothing ran twice');
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

/**
 * The queue's rules written the slow, obvious way: every take walks every item, fewest
 * transmissions first, newest first among equals. The real queue stops its walk early
 * (once nothing left can fit) and sizes messages lazily; it must agree with this model.
 */
class ModelQueue {
  items: { key: string; size: number; tag: number; transmits: number; seq: number }[] = [];
  /** Tags whose message left the queue (replaced, sent `limit` times or evicted), in order. */
  readonly done: number[] = [];
  private seq = 0;
  constructor(private readonly mult: number, private readonly max: number) {}
  queue(key: string, tag: number, size: number): void {
    const old = this.items.find((x) => x.key === key);
    if (old) this.remove(old);
    this.items.push({ key, size, tag, transmits: 0, seq: this.seq++ });
    if (this.items.length > this.max) {
      // the oldest of the most transmitted
      const victim = [...this.items].sort((a, b) => b.transmits - a.transmits || a.seq - b.seq)[0]!;
      this.remove(victim);
    }
  }
  private remove(it: ModelQueue['items'][number]): void {
    this.items = this.items.filter((x) => x !== it);
    this.done.push(it.tag);
  }
  take(budget: number, n: number): number[] {
    const limit = this.mult * Math.max(1, Math.ceil(Math.log10(n + 1)));
    const order = [...this.items].sort((a, b) => a.transmits - b.transmits || b.seq - a.seq);
    const out: number[] = [];
    let left = budget;
    const taken: typeof order = [];
    for (const it of order) {
      if (left <= 0) break;
      if (it.size <= left) {
        out.push(it.tag);
        left -= it.size;
        taken.push(it);
      }
    }
    // promoted items go to the back of their new level, in reverse order of taking
    for (const it of taken.reverse()) {
      it.transmits++;
      it.seq = this.seq++;
      if (it.transmits >= limit) this.remove(it);
    }
    return out;
  }
}

t.test('take agrees with a full walk of the queue, with early stops, lazy sizing, replacement and eviction', async (t) => {
  let x = 7;
  const rnd = (n: number): number => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x % n;
  };
  for (const mode of ['bytes', 'lazy bytes', 'messages by encoding', 'messages by sizeOf'] as const) {
    // 40 keys, at most 30 queued: replacement and eviction both happen
    const model = new ModelQueue(2, 30);
    const encodes: number[] = [];
    const done: number[] = [];
    const q = new BroadcastQueue<{ tag: number; size: number }>(2, 30, (m) => {
      encodes.push(m.tag);
      return bytes(m.tag, m.size);
    }, mode === 'messages by sizeOf' ? (m) => m.size : undefined);
    let mismatches = 0;
    // one buffer for every take, as the simulator reuses one: takes after it must overwrite
    // its stale slots, and the ones before the count (the frame's own messages) stay
    const buf: MessageBuffer<{ tag: number; size: number }> = { msgs: [], count: 0 };
    const own = { tag: -1, size: 0 };
    const takeInto = (budget: number): number[] => {
      buf.msgs[0] = own;
      buf.count = 1;
      q.takeMessages(budget, 9, buf);
      return buf.msgs.slice(1, buf.count).map((m) => m.tag);
    };
    for (let step = 0; step < 3000; step++) {
      if (rnd(3) > 0) {
        const key = `k${rnd(40)}`;
        const tag = step % 256;
        const size = 5 + rnd(4) * rnd(30);
        model.queue(key, tag, size);
        const onDone = (): number => done.push(tag);
        if (mode === 'bytes') q.queue(key, bytes(tag, size), onDone);
        else if (mode === 'lazy bytes') q.queue(key, () => bytes(tag, size), onDone);
        else q.queueMessage(key, { tag, size }, undefined, onDone);
      } else {
        const budget = rnd(200);
        const want = model.take(budget, 9);
        const got = mode === 'bytes' || mode === 'lazy bytes'
          ? q.take(budget, 9).map((b) => b[0]!)
          : takeInto(budget);
        if (buf.count > 0 && buf.msgs[0] !== own) mismatches++;
        if (JSON.stringify(got) !== JSON.stringify(want)) mismatches++;
      }
    }
    t.equal(mismatches, 0, `${mode}: every take matches the model`);
    t.equal(q.size, model.items.length, `${mode}: same queue size`);
    t.ok(model.done.length > 1000, `${mode}: ${model.done.length} messages left the queue`);
    t.same(done, model.done, `${mode}: the same messages left it, in the same order`);
    if (mode === 'messages by sizeOf') t.equal(encodes.length, 0, 'takeMessages with sizeOf never encodes');
  }
});
