import t from 'tap';
import { HistoryStore, type HistoryEntry } from '../../lib/replica/history.js';
import { emptyCursor } from '../../lib/replica/cursor.js';
import { DropSummary } from '../../lib/replica/drops.js';
import { hlcPack } from '../../lib/hlc.js';
import { MerkleTree } from '../../lib/summary/merkle.js';

const at = (ms: number, node = 'n1', seq = ms): HistoryEntry => ({ ts: hlcPack(ms, 0), node, epoch: 1, seq, c: seq, channel: 'ch', data: ms });
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
  t.equal(h.latest('ch', 10, hlcPack(200, 0)).entries.length, 0, 'a read drops the expired entries before the sweep');
  t.equal(h.expire(hlcPack(200, 0)), 0, 'so that they count as dropped for readers (decision 0047)');
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
  const c1 = h.cursorAt('ch', at(1))!;
  page = h.after('ch', c1, 2);
  t.same(page.entries.map((e) => e.data), [2, 3]);
  t.ok(page.complete);
  t.ok(page.more);
  page = h.after('ch', page.cursor, 10);
  t.same(page.entries.map((e) => e.data), [4]);
  t.notOk(page.more);
  for (let i = 5; i <= 8; i++) h.insert(at(i), 1, NOW);
  page = h.after('ch', c1, 100);
  t.same(page.entries.map((e) => e.data), [4, 5, 6, 7, 8]);
  t.notOk(page.complete, 'entries 2 and 3 after the cursor were evicted');
  t.same(page.gaps, [{ node: 'n1', epoch: 1, from: 2, to: 3, count: 2, exact: true }], 'and the reader is told exactly which');
  t.ok(h.after('ch', page.cursor, 100).complete, 'the gap is reported once');
  t.same(h.after('ch', page.cursor, 100).entries, []);
  t.notOk(h.latest('ch', 10).complete, 'asked for 10, 5 held, some dropped');
  t.ok(h.latest('ch', 3).complete);
  const none = h.after('other', c1, 5);
  t.same([none.entries, none.complete, none.more], [[], true, false]);
});

t.test('a late entry behind what the reader has seen is delivered once (the bug of issue #13)', async (t) => {
  const h = new HistoryStore();
  const e = (ms: number, node: string, c: number): HistoryEntry => ({ ts: hlcPack(ms, 0), node, epoch: 1, seq: c, c, channel: 'ch', data: `${node}${c}` });
  h.insert(e(1, 'a', 1), 1, NOW);
  h.insert(e(3, 'a', 2), 1, NOW);
  h.insert(e(5, 'a', 3), 1, NOW);
  const first = h.after('ch', emptyCursor(), 100);
  t.same(first.entries.map((x) => x.data), ['a1', 'a2', 'a3']);
  // the other side of a partition published b1 (ts 2) and b2 (ts 4): they arrive at the heal
  h.insert(e(2, 'b', 1), 1, NOW);
  h.insert(e(4, 'b', 2), 1, NOW);
  const late = h.after('ch', first.cursor, 100);
  t.same(late.entries.map((x) => x.data), ['b1', 'b2'], 'merged behind a3, still delivered');
  t.ok(late.complete);
  t.same(h.after('ch', late.cursor, 100).entries, [], 'exactly once');
});

t.test('holes: an entry numbered after a missing one is delivered, the missing one later, pending meanwhile', async (t) => {
  const h = new HistoryStore();
  const e = (ms: number, c: number): HistoryEntry => ({ ts: hlcPack(ms, 0), node: 'a', epoch: 1, seq: c, c, channel: 'ch', data: c });
  h.insert(e(1, 1), 1, NOW);
  h.insert(e(3, 3), 1, NOW);
  const p1 = h.after('ch', emptyCursor(), 10);
  t.same(p1.entries.map((x) => x.data), [1, 3]);
  t.ok(p1.pending, 'number 2 is on its way');
  h.insert(e(2, 2), 1, NOW);
  const p2 = h.after('ch', p1.cursor, 10);
  t.same(p2.entries.map((x) => x.data), [2]);
  t.notOk(p2.pending);
  t.same(p2.cursor.origins.size, 1);
  t.same([...p2.cursor.origins.values()][0], { c: 3, extras: [] }, 'the prefix absorbed the extra');
});

t.test('drop summaries: a reader elsewhere learns what it lost even if this replica never held it', async (t) => {
  const a = new HistoryStore({ defaultMaxEntries: 2 });
  const b = new HistoryStore({ defaultMaxEntries: 2 });
  const e = (ms: number, node: string, c: number): HistoryEntry => ({ ts: hlcPack(ms, 0), node, epoch: 1, seq: c, c, channel: 'ch', data: `${node}${c}` });
  for (const x of [e(1, 'x', 1), e(2, 'x', 2), e(3, 'x', 3), e(4, 'x', 4)]) a.insert(x, 1, NOW);
  t.same(a.entries('ch').map((x) => x.data), ['x3', 'x4']);
  // b only learns a's mark and summary (a Merkle record), then x3 and x4
  const state = a.lowWaterState('ch')!;
  t.ok(b.raiseLowWater('ch', state.mark, NOW, state.drops));
  t.notOk(b.raiseLowWater('ch', state.mark, NOW, state.drops), 'merging the same again changes nothing');
  for (const x of a.entries('ch')) b.insert(x, 1, NOW);
  const page = b.after('ch', emptyCursor(), 10);
  t.same(page.entries.map((x) => x.data), ['x3', 'x4']);
  t.same(page.gaps, [{ node: 'x', epoch: 1, from: 1, to: 2, count: 2, exact: true }]);
  // a late entry below the mark is refused and recorded as dropped
  t.equal(b.insert(e(1, 'y', 1), 1, NOW), 'below-low-water');
  const after = b.after('ch', page.cursor, 10);
  t.same(after.gaps, [{ node: 'y', epoch: 1, from: 1, to: 1, count: 1, exact: true }]);
});

t.test('the drop summary is bounded and converges whatever the merge order', async (t) => {
  const s1 = new DropSummary(3);
  const s2 = new DropSummary(3);
  const recs = [1, 2, 3, 4, 5, 6].map((i) => ({ ts: hlcPack(i, 0), node: `n${i}`, epoch: 1, seq: 1, c: 1 }));
  for (const r of recs) s1.add(r, r.c);
  for (const r of [...recs].reverse()) s2.add(r, r.c);
  t.equal(s1.size, 3);
  t.same(s1.horizon, { ts: hlcPack(3, 0), node: 'n3', epoch: 1, seq: 1 });
  t.equal(s1.hash, s2.hash);
  const s3 = new DropSummary(3);
  s3.add(recs[0]!, 1);
  s3.merge(s1.toWire());
  t.equal(s3.hash, s1.hash, 'a record below the merged horizon is forgotten');
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
