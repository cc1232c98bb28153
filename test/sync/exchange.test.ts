import t from 'tap';
import { Replica } from '../../lib/replica/replica.js';
import { hlcPack } from '../../lib/hlc.js';
import { Random } from '../../lib/random.js';
import { ExchangeSession } from '../../lib/sync/exchange.js';
import { historyView, presenceView, runSession } from './fixtures/harness.js';

const NOW = hlcPack(1_700_000_000_000, 0);

t.test('converged replicas: one message and one tiny answer', async (t) => {
  const a = new Replica({ node: 'a', epoch: 1 });
  const b = new Replica({ node: 'b', epoch: 1 });
  b.apply([a.publish('c', 1, NOW).delta!], NOW);
  a.apply([b.publish('c', 2, NOW).delta!], NOW);
  const run = runSession(a, b, NOW);
  t.equal(run.messages, 2);
  t.ok(run.bytes <= 64, `${run.bytes} bytes`);
});

t.test('equal records but different vectors: the vectors join in one round trip', async (t) => {
  const a = new Replica({ node: 'a', epoch: 1 });
  const b = new Replica({ node: 'b', epoch: 1 });
  const run = runSession(a, b, NOW);
  t.equal(run.messages, 3, 'open, answer with context, context');
  t.same(a.vector.toWire(), b.vector.toWire());
  t.equal(runSession(a, b, NOW).messages, 2);
});

t.test('scattered differences are found and repaired both ways', async (t) => {
  const rnd = new Random('exchange');
  const origin = new Replica({ node: 'o', epoch: 1, history: { defaultMaxEntries: 1000 } });
  const a = new Replica({ node: 'a', epoch: 1, history: { defaultMaxEntries: 1000 } });
  const b = new Replica({ node: 'b', epoch: 1, history: { defaultMaxEntries: 1000 } });
  for (let i = 0; i < 3000; i++) {
    const d = origin.publish(`ch${i % 50}`, i, NOW + i).delta!;
    // a misses some, b misses others; both miss a few
    if (rnd.chance(0.99)) a.apply([d], NOW);
    if (rnd.chance(0.99)) b.apply([d], NOW);
  }
  a.join('room', 'ca', 'alice', null, NOW);
  b.join('room', 'cb', 'bob', null, NOW);
  let run = runSession(a, b, NOW);
  t.ok(run.roundTrips <= 4, `${run.roundTrips} round trips`);
  // adopting b's vector let a drain its out-of-order buffer: one more session settles that
  let sessions = 1;
  while (runSession(a, b, NOW).messages > 2) sessions++;
  t.ok(sessions <= 3, `${sessions} sessions`);
  run = runSession(b, a, NOW);
  t.same(a.tree.rootHash(), b.tree.rootHash());
  t.same(historyView(a), historyView(b));
  t.same(presenceView(a), presenceView(b));
  t.same(a.vector.toWire(), b.vector.toWire(), 'vectors joined too');
  t.equal(run.messages, 2, 'then converged');
});

t.test('obsolete presence is dropped on the side that still had it', async (t) => {
  const x = new Replica({ node: 'x', epoch: 1 });
  const a = new Replica({ node: 'a', epoch: 1 });
  const b = new Replica({ node: 'b', epoch: 1 });
  const j = x.join('room', 'c', 'u', null, NOW).delta!;
  a.apply([j], NOW);
  b.apply([j, x.leave('room', 'c').delta!], NOW);
  const run = runSession(a, b, NOW);
  t.equal(a.presence.size, 0, 'b proved the entry obsolete');
  t.ok(run.events.some((e) => e.type === 'client-leave'));
  t.same(a.tree.rootHash(), b.tree.rootHash());
});

t.test('low-water marks travel and stop resurrection', async (t) => {
  const opts = { history: { defaultMaxEntries: 3 } };
  const x = new Replica({ node: 'x', epoch: 1, ...opts });
  const a = new Replica({ node: 'a', epoch: 1, ...opts });
  const b = new Replica({ node: 'b', epoch: 1, ...opts });
  const ds = Array.from({ length: 5 }, (_, i) => x.publish('ch', i, NOW + i).delta!);
  a.apply(ds.slice(0, 3), NOW);
  b.apply(ds, NOW);
  // a still holds 0, 1, 2; b evicted 0 and 1
  runSession(a, b, NOW);
  t.same(a.history.entries('ch').map((e) => e.data), [2, 3, 4]);
  t.same(historyView(a), historyView(b));
  runSession(b, a, NOW);
  t.same(b.history.entries('ch').map((e) => e.data), [2, 3, 4]);
});

t.test('a budget too small for all records defers the rest to the next session', async (t) => {
  const a = new Replica({ node: 'a', epoch: 1, history: { defaultMaxEntries: 10_000 } });
  const b = new Replica({ node: 'b', epoch: 1, history: { defaultMaxEntries: 10_000 } });
  for (let i = 0; i < 500; i++) a.publish('ch', 'x'.repeat(100), NOW + i);
  let sessions = 0;
  while (runSession(a, b, NOW, sessions, { recordBudget: 8000 }).messages > 2) sessions++;
  t.ok(sessions > 3, `${sessions} sessions`);
  t.equal(b.history.count('ch'), 500);
});

t.test('hostile messages are ignored, not thrown', async (t) => {
  const a = new Replica({ node: 'a', epoch: 1 });
  a.publish('ch', 1, NOW);
  const s = new ExchangeSession(a, 7);
  const junk = [
    { sid: 7, expand: { nodes: [-1, 1e9, 0.5], levels: 1, hashes: new Uint8Array(24) } },
    { sid: 7, expand: { nodes: [0], levels: 99, hashes: new Uint8Array(8) } },
    { sid: 7, list: { nodes: [0], counts: [1000], hashes: new Uint8Array(8) } },
    { sid: 7, want: new Uint8Array(5), records: [null, { kind: 'history' }, { kind: 'presence', entry: {} }] },
    { sid: 7, root: new Uint8Array(3) },
  ];
  for (const m of junk) t.doesNotThrow(() => s.receive(m as never, NOW));
  t.equal(a.history.count('ch'), 1);
});
