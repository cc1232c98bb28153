import t from 'tap';
import { encode, decode } from '@msgpack/msgpack';
import { Replica } from '../../lib/replica/replica.js';
import type { Delta } from '../../lib/replica/delta.js';
import { hlcPack } from '../../lib/hlc.js';
import { Random } from '../../lib/random.js';
import { BulkReceiver, BulkSender, type BulkChunk } from '../../lib/sync/bulk.js';
import { historyView, presenceView } from './fixtures/harness.js';

const NOW = hlcPack(1_700_000_000_000, 0);

t.test('an empty joiner converges from chunks while live deltas keep arriving', async (t) => {
  const rnd = new Random('bulk');
  const opts = { history: { defaultMaxEntries: 50 } };
  const writers = ['w1', 'w2', 'w3'].map((n) => new Replica({ node: n, epoch: 1, ...opts }));
  const source = new Replica({ node: 'src', epoch: 1, ...opts });
  const joiner = new Replica({ node: 'new', epoch: 1, ...opts });
  const live: Delta[] = [];
  const step = (i: number): void => {
    const w = rnd.pick(writers)!;
    const roll = rnd.int(10);
    const ch = `ch${rnd.int(20)}`;
    const change = roll < 6 ? w.publish(ch, i, NOW + i)
      : roll < 8 ? w.join(ch, `c${rnd.int(30)}`, `u${rnd.int(5)}`, i, NOW + i)
        : w.leave(ch, rnd.pick(w.presence.list(ch).filter((e) => e.node === w.node))?.clientId ?? 'none');
    if (change.delta) {
      source.apply([change.delta], NOW);
      live.push(change.delta);
    }
  };
  for (let i = 0; i < 3000; i++) step(i);
  const sender = new BulkSender(source, 4096);
  const receiver = new BulkReceiver(joiner);
  let chunks = 0;
  for (let chunk = sender.next(); chunk; chunk = sender.next()) {
    const wire = decode(encode(chunk)) as BulkChunk;
    t.ok(encode(chunk).byteLength <= 4096 + 200, 'chunk within budget');
    // live traffic interleaves with the stream: some delivered to the joiner, all to the source
    for (let k = 0; k < 5; k++) {
      step(10_000 + chunks * 10 + k);
      if (rnd.chance(0.7)) joiner.apply([live[live.length - 1]!], NOW);
    }
    const res = receiver.apply(wire, NOW);
    t.ok(res, 'chunk accepted');
    chunks++;
  }
  t.ok(receiver.done);
  t.ok(chunks > 10);
  // the live deltas the joiner missed come through digest catch-up from the source's rings
  const missing = source.missingFor(joiner.vector, 1e9);
  t.same(missing.unexplained, []);
  joiner.apply(missing.deltas, NOW);
  t.same(presenceView(joiner), presenceView(source));
  t.same(historyView(joiner), historyView(source));
  t.same(joiner.tree.rootHash(), source.tree.rootHash());
  t.equal(receiver.apply({ index: 99, records: [] }, NOW), undefined, 'after the end: ignored');
});

t.test('chunks out of order are refused', async (t) => {
  const src = new Replica({ node: 's', epoch: 1 });
  for (let i = 0; i < 100; i++) src.publish('c', 'y'.repeat(100), NOW + i);
  const s = new BulkSender(src, 2000);
  t.equal(s.total, 100);
  const r = new BulkReceiver(new Replica({ node: 'j', epoch: 1 }));
  const first = s.next()!;
  const second = s.next()!;
  t.equal(r.apply(second, NOW), undefined);
  t.ok(r.apply(first, NOW));
  t.ok(r.apply(second, NOW));
});
