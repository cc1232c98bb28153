import t from 'tap';
import { Replica, type ReplicaEvent } from '../../lib/replica/replica.js';
import type { Delta } from '../../lib/replica/delta.js';
import { VersionVector } from '../../lib/summary/version-vector.js';
import { hlcPack } from '../../lib/hlc.js';
import { isClusterError } from '../../lib/errors.js';

const NOW = hlcPack(1_700_000_000_000, 0);
const types = (events: ReplicaEvent[]): string[] => events.map((e) => e.type);
const make = (node: string, epoch = 1, extra = {}): Replica => new Replica({ node, epoch, ...extra });

t.test('local changes take consecutive seqs across record kinds and replicate', async (t) => {
  const a = make('a');
  const b = make('b');
  const d1 = a.join('room', 'c1', 'alice', { x: 1 }, NOW);
  const d2 = a.publish('room', 'hello', NOW + 1);
  const d3 = a.update('room', 'c1', { x: 2 });
  const d4 = a.leave('room', 'c1');
  t.same([d1, d2, d3, d4].map((c) => c.delta?.seq), [1, 2, 3, 4]);
  t.same(types(d1.events), ['client-join', 'user-join']);
  t.same(types(d2.events), ['message']);
  t.same(a.vector.get('a'), { epoch: 1, seq: 4 });
  const r = b.apply([d1.delta!, d2.delta!, d3.delta!], NOW);
  t.equal(r.applied, 3);
  t.notOk(r.gap);
  t.same(types(r.events), ['client-join', 'user-join', 'message', 'client-update']);
  t.same(b.presence.get('room', 'c1')?.info, { x: 2 });
  t.same(types(b.apply([d4.delta!], NOW).events), ['client-leave', 'user-leave']);
  t.same(a.tree.rootHash(), b.tree.rootHash());
  t.same(a.leave('room', 'c1'), { delta: undefined, events: [] }, 'leaving twice sends nothing');
});

t.test('out-of-order deltas are buffered and applied without gaps; duplicates ignored', async (t) => {
  const a = make('a');
  const b = make('b', 1, { maxPendingPerOrigin: 2 });
  const ds: Delta[] = [];
  for (let i = 0; i < 5; i++) ds.push(a.publish('ch', i, NOW + i).delta!);
  let r = b.apply([ds[2]!, ds[1]!], NOW);
  t.ok(r.gap);
  t.equal(r.applied, 0);
  r = b.apply([ds[3]!], NOW);
  t.ok(r.gap, 'buffer full: seq 4 dropped, catch-up needed');
  r = b.apply([ds[0]!, ds[0]!], NOW);
  t.equal(r.applied, 3);
  t.ok(b.vector.covers('a', 1, 3));
  t.notOk(b.vector.covers('a', 1, 4));
  r = b.apply([ds[4]!], NOW);
  t.ok(r.gap, 'seq 5 waits for seq 4');
  const missing = a.missingFor(b.vector);
  t.same(missing.deltas.map((d) => d.seq), [4, 5]);
  r = b.apply(missing.deltas, NOW);
  t.notOk(r.gap);
  t.same(b.history.entries('ch').map((e) => e.data), [0, 1, 2, 3, 4]);
  t.equal(b.apply([{ kind: 'publish', node: 'x' } as unknown as Delta, null as unknown as Delta], NOW).invalid, 2);
});

t.test('a newer epoch supersedes older presence but keeps older history', async (t) => {
  const a1 = make('a', 1);
  const b = make('b');
  b.apply([a1.join('room', 'c1', 'alice', null, NOW).delta!, a1.publish('room', 'old', NOW + 1).delta!], NOW);
  const a2 = make('a', 2);
  const late = a1.publish('room', 'late', NOW + 2).delta!;
  const r = b.apply([a2.publish('room', 'new', NOW + 3).delta!], NOW);
  t.same(types(r.events), ['client-leave', 'user-leave', 'message']);
  t.same(b.vector.get('a'), { epoch: 2, seq: 1 });
  t.same(types(b.apply([late], NOW).events), ['message'], 'late history of the old epoch is still data');
  t.same(b.apply([a1.join('room', 'c9', 'eve', null, NOW).delta!], NOW).events, [], 'late presence of the old epoch is not');
  t.same(b.history.entries('room').map((e) => e.data), ['old', 'late', 'new']);
});

t.test('removeOrigin drops presence with leave events; its later presence is ignored, history kept', async (t) => {
  const a = make('a');
  const b = make('b');
  b.apply([a.join('r1', 'c1', 'alice', null, NOW).delta!, a.join('r1', 'c2', 'alice', null, NOW).delta!,
    a.join('r2', 'c3', 'bob', null, NOW).delta!], NOW);
  b.join('r1', 'mine', 'carol', null, NOW);
  const events = b.removeOrigin('a');
  t.same(types(events).sort(), ['client-leave', 'client-leave', 'client-leave', 'user-leave', 'user-leave'].sort());
  t.same(b.presence.list('r1').map((e) => e.clientId), ['mine']);
  t.same(b.removeOrigin('a'), [], 'idempotent');
  t.same(b.removeOrigin('b'), [], 'never removes itself');
  const r = b.apply([a.join('r1', 'c4', 'dave', null, NOW).delta!, a.publish('r1', 'still data', NOW).delta!], NOW);
  t.same(types(r.events), ['message']);
  t.equal(r.applied, 2, 'the vector still advances');
  // the node comes back under a new epoch: its presence is accepted again
  const back = a.reincarnate(2);
  t.equal(back.length, 4);
  const r2 = b.apply(back.map((c) => c.delta!), NOW);
  t.equal(b.presence.counts('r1').clients, 4);
  t.ok(r2.events.length > 0);
  t.throws(() => a.reincarnate(2), { code: 'E_INVALID_ARGUMENT' });
});

t.test('a suspicion is not a removal: nothing in the replica reacts to membership except removeOrigin', async (t) => {
  const a = make('a');
  const b = make('b');
  b.apply([a.join('r', 'c', 'u', null, NOW).delta!], NOW);
  const before = b.tree.rootHash();
  // suspect → alive (refuted) produces no replica call at all; the same digest means nothing is resent
  t.same(b.tree.rootHash(), before);
  t.same(b.missingFor(a.vector).deltas, []);
  t.same(a.missingFor(b.vector).deltas, []);
  t.same(a.digest(), VersionVector.fromWire(a.vector.toWire()).digest());
});

t.test('missingFor: most lagging origin first, in order, within the budget; unexplained when evicted', async (t) => {
  const relay = make('relay', 1, { ringSize: 8 });
  const x = make('x');
  const y = make('y');
  const fresh = make('fresh');
  for (let i = 0; i < 3; i++) relay.apply([x.publish('c', i, NOW + i).delta!], NOW);
  for (let i = 0; i < 6; i++) relay.apply([y.publish('c', i, NOW + i).delta!], NOW);
  let m = relay.missingFor(fresh.vector);
  t.same(m.deltas.map((d) => `${d.node}${d.seq}`), ['y1', 'y2', 'y3', 'y4', 'y5', 'y6', 'x1', 'x2', 'x3']);
  t.notOk(m.truncated);
  t.same(m.unexplained, []);
  t.ok(m.remoteAhead, 'fresh knows its own origin');
  m = relay.missingFor(fresh.vector, m.bytes - 1);
  t.ok(m.truncated);
  t.same(m.deltas.map((d) => `${d.node}${d.seq}`), ['y1', 'y2', 'y3', 'y4', 'y5', 'y6', 'x1', 'x2']);
  for (let i = 0; i < 10; i++) relay.apply([y.publish('c', i, NOW + i).delta!], NOW);
  m = relay.missingFor(fresh.vector);
  t.same(m.unexplained, ['y'], 'y1.. fell out of the ring');
  t.same(m.deltas.map((d) => d.node), ['x', 'x', 'x']);
  const partial = relay.vector.clone();
  partial.set('y', 1, 10);
  m = relay.missingFor(partial);
  t.same(m.deltas.map((d) => `${d.node}${d.seq}`), ['y11', 'y12', 'y13', 'y14', 'y15', 'y16']);
});

t.test('limits are validated with precise errors', async (t) => {
  const a = make('a', 1, { limits: { maxPayloadBytes: 10, maxChannels: 1, maxChannelNameLength: 5, maxInfoBytes: 4, maxHeaders: 1 } });
  const expect = (fn: () => unknown, code: string, re: RegExp): void => {
    try {
      fn();
      t.fail('should throw');
    } catch (err) {
      t.ok(isClusterError(err), 'ClusterError');
      t.equal((err as { code: string }).code, code);
      t.match((err as Error).message, re);
    }
  };
  expect(() => a.publish('toolongname', 1, NOW), 'E_INVALID_ARGUMENT', /6 characters|11 characters long; the limit is 5/);
  expect(() => a.publish('a b', 1, NOW), 'E_INVALID_ARGUMENT', /characters outside/);
  expect(() => a.publish('', 1, NOW), 'E_INVALID_ARGUMENT', /non-empty/);
  expect(() => a.publish('ok', new Uint8Array(11), NOW), 'E_LIMIT', /11 bytes; the limit is 10/);
  expect(() => a.publish('ok', 1, -1), 'E_INVALID_ARGUMENT', /HLC timestamp/);
  expect(() => a.publish('ok', 1, NOW, { headers: { a: '1', b: '2' } }), 'E_LIMIT', /2 headers/);
  expect(() => a.publish('ok', 1, NOW, { headers: { a: 1 as unknown as string } }), 'E_INVALID_ARGUMENT', /must be a string/);
  expect(() => a.publish('ok', 1, NOW, { idempotencyKey: '' }), 'E_INVALID_ARGUMENT', /idempotency key/);
  a.publish('ok', 1, NOW);
  expect(() => a.publish('ok2', 1, NOW), 'E_LIMIT', /history for 1 channels/);
  expect(() => a.join('ok', 'c', 'u', 'long info', NOW), 'E_LIMIT', /presence info is \d+ bytes/);
  expect(() => a.join('ok', '', 'u', 1, NOW), 'E_INVALID_ARGUMENT', /clientId/);
  expect(() => a.join('ok', 'c\u0000', 'u', 1, NOW), 'E_INVALID_ARGUMENT', /NUL/);
  a.join('ok', 'c', 'u', 1, NOW);
  expect(() => a.join('ok2', 'c', 'u', 1, NOW), 'E_LIMIT', /presence for 1 channels/);
  expect(() => a.update('ok', 'nobody', 1), 'E_INVALID_ARGUMENT', /not in channel/);
  expect(() => new Replica({ node: '', epoch: 1 }), 'E_INVALID_ARGUMENT', /node name/);
  expect(() => new Replica({ node: 'n', epoch: -1 }), 'E_INVALID_ARGUMENT', /epoch/);
  expect(() => a.join('ok', 'c', 'u', () => 1, NOW), 'E_INVALID_ARGUMENT', /msgpack/);
});

t.test('publish is idempotent by client key on any node that saw the original', async (t) => {
  const a = make('a');
  const b = make('b');
  const first = a.publish('ch', 'x', NOW, { idempotencyKey: 'k1', headers: { h: 'v' } });
  const again = a.publish('ch', 'x', NOW + 5, { idempotencyKey: 'k1' });
  t.ok(again.duplicate);
  t.equal(again.delta, undefined);
  t.same(again.id, first.id);
  b.apply([first.delta!], NOW);
  const retried = b.publish('ch', 'x', NOW + 9, { idempotencyKey: 'k1' });
  t.ok(retried.duplicate, 'a retry on another node is caught once the original replicated');
  t.same(b.history.entries('ch')[0]!.headers, { h: 'v' });
});

t.test('a client that moves to another node: the later join wins everywhere', async (t) => {
  const a = make('a');
  const b = make('b');
  const c = make('c');
  const ja = a.join('room', 'cl', 'u', 'on-a', NOW).delta!;
  const jb = b.join('room', 'cl', 'u', 'on-b', NOW + 10).delta!;
  c.apply([jb, ja], NOW);
  t.equal(c.presence.get('room', 'cl')?.node, 'b');
  const la = a.leave('room', 'cl').delta!;
  c.apply([la], NOW);
  t.equal(c.presence.get('room', 'cl')?.node, 'b', "a's leave does not remove b's client");
});

t.test('a restored snapshot\'s binary payloads own their bytes, not views of the snapshot', async (t) => {
  const a = make('a');
  a.publish('ch', new Uint8Array(8).fill(1), NOW);
  a.publish('ch', { nested: [new Uint8Array(4).fill(2)] }, NOW + 1);
  const r = Replica.restore(a.snapshotBytes(), { node: 'a', epoch: 2 }, NOW);
  const [first, second] = r.history.entries('ch') as unknown as [{ data: Uint8Array }, { data: { nested: Uint8Array[] } }];
  for (const b of [first.data, second.data.nested[0]!]) t.ok(b.byteOffset === 0 && b.byteLength === b.buffer.byteLength);
  t.same([...first.data], [1, 1, 1, 1, 1, 1, 1, 1]);
});

t.test('snapshot/restore: history and vector come back, presence does not, epoch moves on', async (t) => {
  const a = make('a', 3, { history: { defaultMaxEntries: 2 } });
  const b = make('b');
  a.apply([b.publish('ch', 'from-b', NOW).delta!, b.join('room', 'cb', 'u', null, NOW).delta!], NOW);
  a.publish('ch', 'one', NOW + 1);
  a.publish('ch', 'two', NOW + 2);
  a.join('room', 'ca', 'u', null, NOW);
  const bytes = a.snapshotBytes();
  const r = Replica.restore(bytes, { node: 'a', epoch: 4, history: { defaultMaxEntries: 2 } }, NOW);
  t.same(r.history.entries('ch').map((e) => e.data), ['one', 'two']);
  t.same(r.history.lowWater('ch'), a.history.lowWater('ch'));
  t.same(r.vector.get('b'), { epoch: 1, seq: 2 });
  t.same(r.vector.get('a'), { epoch: 4, seq: 0 });
  t.equal(r.presence.size, 0);
  // b's presence (covered by the restored vector) is accepted from a peer despite the coverage
  const events: ReplicaEvent[] = [];
  t.equal(r.applyRecord({ kind: 'presence', entry: b.presence.get('room', 'cb')! }, NOW, events), 'applied');
  // a's own presence of the old epoch is obsolete
  t.equal(r.applyRecord({ kind: 'presence', entry: a.presence.get('room', 'ca')! }, NOW, events), 'stale');
  t.throws(() => Replica.restore(bytes, { node: 'a', epoch: 3 }, NOW), { code: 'E_INVALID_ARGUMENT' });
  t.throws(() => Replica.restore(bytes, { node: 'x', epoch: 9 }, NOW), { code: 'E_INVALID_ARGUMENT' });
  t.throws(() => Replica.restore({} as never, { node: 'a', epoch: 9 }, NOW), { code: 'E_INVALID_ARGUMENT' });
});

t.test('a restore floor goes once a floor-less peer handed over its presence: a left client is not resurrected', async (t) => {
  const a = make('a', 3);
  const b = make('b');
  const c = make('c');
  const joined = b.join('room', 'cb', 'u', null, NOW).delta!;
  a.apply([joined], NOW);
  c.apply([joined], NOW);
  const r = Replica.restore(a.snapshotBytes(), { node: 'a', epoch: 4 }, NOW);
  const record = { kind: 'presence' as const, entry: b.presence.get('room', 'cb')! };
  // a floor-carrying peer does not clear the floor: its presence may be incomplete too
  const restoredPeer = Replica.restore(c.snapshotBytes(), { node: 'c', epoch: 2 }, NOW);
  r.adoptContext(restoredPeer.syncContext(), NOW);
  t.ok(r.syncContext().floors?.some(([n]) => n === 'b'), 'floor kept after a peer with a floor');
  t.equal(r.applyRecord(record, NOW, []), 'applied', 'under the floor, absence proves nothing');
  r.adoptContext(c.syncContext(), NOW);
  t.notOk(r.syncContext().floors?.some(([n]) => n === 'b'), 'floor gone after a complete peer');
  // and a complete replica does not catch a floor from a restored peer
  c.adoptContext(restoredPeer.syncContext(), NOW);
  t.notOk(c.syncContext().floors?.some(([n]) => n === 'b'), 'a complete replica takes no floor it does not need');
  const empty = make('e');
  empty.adoptContext(restoredPeer.syncContext(), NOW);
  t.ok(empty.syncContext().floors?.some(([n]) => n === 'b'), 'an empty replica takes the floor with the state');
  const left = b.leave('room', 'cb').delta!;
  r.apply([left], NOW);
  t.equal(r.presence.get('room', 'cb'), undefined, 'the leave removes the client');
  // a peer that missed the leave offers the old record again (a Merkle session)
  t.equal(r.applyRecord(record, NOW, []), 'stale', 'the left client does not come back');
  t.equal(r.presence.get('room', 'cb'), undefined);
});

t.test('records: stale presence is detected by vector coverage', async (t) => {
  const a = make('a');
  const b = make('b');
  const join = a.join('room', 'c', 'u', null, NOW);
  b.apply([join.delta!], NOW);
  const old = b.presence.get('room', 'c')!;
  b.apply([a.leave('room', 'c').delta!], NOW);
  const events: ReplicaEvent[] = [];
  t.equal(b.applyRecord({ kind: 'presence', entry: old }, NOW, events), 'stale', 'b saw the leave: the record is obsolete');
  const c = make('c');
  t.equal(c.applyRecord({ kind: 'presence', entry: old }, NOW, events), 'applied');
  c.dropStale({ kind: 'presence', entry: old }, events);
  t.equal(c.presence.size, 0);
  t.same(types(events), ['client-join', 'user-join', 'client-leave', 'user-leave']);
  t.equal(c.getRecord('zz'), undefined);
  t.equal(c.applyRecord({ kind: 'bogus' } as never, NOW, events), 'unchanged');
});
