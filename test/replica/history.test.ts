import t from 'tap';
import { HistoryStore, type HistoryEntry } from '../../lib/replica/history.js';
import { decodeCursor, encodeCursor } from '../../lib/replica/position.js';
import { hlcPack } from '../../lib/hlc.js';
import { MerkleTree } from '../../lib/sync/merkle.js';

const at = (ms: number, node = 'n1', seq = ms): HistoryEntry => ({ ts: hlcPack(ms, 0), node, epoch: 1, seq, channel: 'ch', data: ms });
const NOW = hlcPack(1000, 0);

t.test('total order is (ts, node, epoch, seq) whatever the arrival order', async (t) => {
  const h = new HistoryStore();
  for (const e of [at(3), at(1, 'b', 9), at(2), at(1, 'a', 9), at(1, 'a', 8)]) t.equal(h.insert(e, 1, NOW), 'added');
  t.same(h.entries('ch').map((e) => `${e.ts / 1024}${e.node}${e.seq}`), ['1a8', '1a9', '1b9', '2n12', '3n13']);
  t.equal(h.insert(at(3), 1, NOW), 'duplicate');
  t.equal(h.count('ch'), 5);
  t.ok(h.has('ch', { node: 'n1', epoch: 1, seq: 3 }));
  t.equal(h.get('ch', { node: 'n1', epoch: 1, seq: 3 })?.data, 3);
  t.equal(h.get('ch', { node: 'n1', epoch: 1, seq: 4 }), undefined);
  t.equal(h.get('ch', at(3))?.data, 3, 'by position: binary search');
  t.equal(h.get('ch', { ...at(3), ts: hlcPack(4, 0) }), undefined, 'the position must match');
  t.equal(h.get('other', at(3)), undefined);
  t.equal(h.insert(at(1, 'a', 8), 1, NOW), 'duplicate', 'a duplicate in the middle is found too');
});

t.test('the Merkle index follows inserts and evictions, entries by reference', async (t) => {
  const tree = new MerkleTree();
  const h = new HistoryStore({ defaultMaxEntries: 50 }, tree);
  const other = new MerkleTree();
  const h2 = new HistoryStore({ defaultMaxEntries: 50 }, other);
  const entries = Array.from({ length: 200 }, (_, i) => at(1 + (i % 70), `n${i % 3}`, i + 1));
  for (const e of entries) h.insert({ ...e }, 1, NOW);
  for (const e of [...entries].reverse()) h2.insert({ ...e }, 1, NOW);
  t.equal(h.size, 50);
  t.equal(tree.size, 51, 'fifty entries and the mark');
  t.same(tree.rootHash(), other.rootHash(), 'same entries, same root, whatever the order');
  t.same(h.entries('ch'), h2.entries('ch'));
  for (const e of entries) t.not(h.insert({ ...e }, 1, NOW), 'added', 'nothing comes back or doubles');
  t.equal(tree.size, 51);
});

t.test('the cap keeps the newest N and the low-water mark refuses resurrection', async (t) => {
  const tree = new MerkleTree();
  const h = new HistoryStore({ defaultMaxEntries: 3 }, tree);
  for (let i = 1; i <= 5; i++) h.insert(at(i), 1, NOW);
  t.same(h.entries('ch').map((e) => e.data), [3, 4, 5]);
  t.same(h.lowWater('ch'), { ts: hlcPack(2, 0), node: 'n1', epoch: 1, seq: 2 });
  t.equal(h.insert(at(1), 1, NOW), 'below-low-water', 'an evicted entry comes back from a peer: refused');
  t.equal(h.insert(at(2, 'a', 99), 1, NOW), 'below-low-water', 'anything at or below the mark is refused');
  t.equal(h.insert(at(2, 'z', 99), 1, NOW), 'added', 'just above the mark is fine...');
  t.same(h.entries('ch').map((e) => e.data), [3, 4, 5], '...but it is the oldest: evicted at once');
  t.equal(tree.size, 4, 'three entries and the mark');
  t.notOk(h.raiseLowWater('ch', at(1), NOW));
  t.ok(h.raiseLowWater('ch', at(4), NOW));
  t.same(h.entries('ch').map((e) => e.data), [5]);
  t.equal(tree.size, 2);
  t.equal(h.size, 1);
});

t.test('per-channel settings and the ceiling', async (t) => {
  const h = new HistoryStore({ defaultMaxEntries: 2, settingsFor: (c) => (c.startsWith('big') ? { maxEntries: 1e9 } : undefined), maxEntriesCeiling: 10 });
  t.same(h.settings('x'), { maxEntries: 2, ttlMs: 0 });
  t.same(h.settings('big-1'), { maxEntries: 10, ttlMs: 0 });
});

t.test('TTL: expired entries are dropped, refused, and the mark is forgotten once it guards nothing', async (t) => {
  const tree = new MerkleTree();
  const h = new HistoryStore({ defaultTtlMs: 100 }, tree);
  h.insert(at(10), 1, hlcPack(20, 0));
  h.insert(at(50), 1, hlcPack(60, 0));
  t.equal(h.insert(at(5), 1, hlcPack(120, 0)), 'expired');
  t.same(h.entries('ch').map((e) => e.data), [10, 50]);
  t.equal(h.expire(hlcPack(115, 0)), 1);
  t.same(h.entries('ch').map((e) => e.data), [50]);
  t.ok(h.lowWater('ch'));
  t.equal(h.latest('ch', 10, hlcPack(200, 0)).entries.length, 0, 'reads hide expired entries before the sweep');
  t.equal(h.expire(hlcPack(200, 0)), 1);
  t.notOk(h.hasChannel('ch'), 'empty channel with an expired mark is forgotten');
  t.equal(tree.size, 0);
  t.notOk(h.raiseLowWater('ch', at(1), hlcPack(200, 0)), 'an expired mark from a peer is ignored');
  t.equal(h.channelCount, 0);
});

t.test('reads: latest K and after a cursor, with completeness', async (t) => {
  const h = new HistoryStore({ defaultMaxEntries: 5 });
  for (let i = 1; i <= 4; i++) h.insert(at(i), 1, NOW);
  let page = h.latest('ch', 10);
  t.same(page.entries.map((e) => e.data), [1, 2, 3, 4]);
  t.ok(page.complete, 'nothing was ever dropped');
  const c1 = encodeCursor(at(1));
  page = h.after('ch', c1, 2);
  t.same(page.entries.map((e) => e.data), [2, 3]);
  t.ok(page.complete);
  t.ok(page.more);
  page = h.after('ch', page.cursor!, 10);
  t.same(page.entries.map((e) => e.data), [4]);
  t.notOk(page.more);
  for (let i = 5; i <= 8; i++) h.insert(at(i), 1, NOW);
  page = h.after('ch', c1, 100);
  t.same(page.entries.map((e) => e.data), [4, 5, 6, 7, 8]);
  t.notOk(page.complete, 'entries 2 and 3 after the cursor were evicted');
  page = h.after('ch', encodeCursor(at(3)), 100);
  t.ok(page.complete, 'a cursor at the mark misses nothing');
  t.notOk(h.latest('ch', 10).complete, 'asked for 10, 5 held, some dropped');
  t.ok(h.latest('ch', 3).complete);
  t.same(h.after('other', c1, 5), { entries: [], complete: true, more: false, cursor: c1 });
  t.throws(() => h.after('ch', 'not a cursor!', 5), { code: 'E_INVALID_ARGUMENT' });
  t.throws(() => h.after('ch', Buffer.from('zz').toString('base64url'), 5), { code: 'E_INVALID_ARGUMENT' });
  t.same(decodeCursor(encodeCursor({ ts: 123456, node: 'a.b:c', epoch: 3, seq: 9 })), { ts: 123456, node: 'a.b:c', epoch: 3, seq: 9 });
});

t.test('idempotency keys are remembered within a bounded window', async (t) => {
  const h = new HistoryStore({ dedupeWindow: 2 });
  for (let i = 1; i <= 3; i++) h.insert({ ...at(i), idempotencyKey: `k${i}` }, 1, NOW);
  t.equal(h.dedupe('ch', 'k1'), undefined, 'fell out of the window');
  t.same(h.dedupe('ch', 'k3'), { node: 'n1', epoch: 1, seq: 3 });
});

t.test('snapshot lists channels with marks and entries', async (t) => {
  const h = new HistoryStore({ defaultMaxEntries: 2 });
  for (let i = 1; i <= 3; i++) h.insert(at(i), 1, NOW);
  const snap = h.snapshot();
  t.equal(snap.channels.length, 1);
  t.same(snap.channels[0]!.entries.map((e) => e.data), [2, 3]);
  t.same(snap.channels[0]!.lowWater, { ts: hlcPack(1, 0), node: 'n1', epoch: 1, seq: 1 });
});

t.test('the dead prefix is compacted', async (t) => {
  const h = new HistoryStore({ defaultMaxEntries: 10 });
  for (let i = 1; i <= 1000; i++) h.insert(at(i), 1, NOW);
  t.same(h.entries('ch').map((e) => e.data), Array.from({ length: 10 }, (_, i) => 991 + i));
  t.same([...h.allEntries()].length, 10);
});
