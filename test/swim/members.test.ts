import t from 'tap';
import { Random } from '../../lib/random.js';
import { MemberIndex, MemberTable, SharedMembers, stateSet } from '../../lib/swim/members.js';
import type { Member, MemberState } from '../../lib/swim/members.js';

const rec = (name: string, state: MemberState = 'alive'): Member => ({ name, addr: `${name}:1`, incarnation: 0, state, meta: new Uint8Array(), changedAt: 0, rttMs: undefined });
const list = (table: MemberTable): Readonly<Member>[] => {
  const out: Readonly<Member>[] = [];
  table.forEach((m) => out.push(m));
  return out;
};
const names = (table: MemberTable): string[] => list(table).map((m) => m.name).sort();

t.test('a private index frees the slots of removed members and reuses them', async (t) => {
  const index = new MemberIndex();
  const table = new MemberTable(new Random(1), index);
  table.add(rec('self'), false);
  for (const n of ['a', 'b', 'c']) table.add(rec(n));
  t.equal(index.size, 4);
  t.ok(table.remove('b'));
  t.equal(index.find('b'), undefined, 'the name is gone from the index');
  table.add(rec('d'));
  t.equal(index.size, 4, 'd took the freed slot: the index does not grow with churn');
  t.equal(table.get('b'), undefined);
  t.same(names(table), ['a', 'c', 'd', 'self']);
  t.equal(table.size, 4);
});

t.test('a shared index keeps slots: another table may still use them', async (t) => {
  const index = new MemberIndex(true);
  const x = new MemberTable(new Random(1), index);
  const y = new MemberTable(new Random(2), index);
  x.add(rec('a'));
  y.add(rec('a'));
  x.remove('a');
  t.equal(index.find('a'), 0);
  t.equal(y.get('a')?.name, 'a');
  t.equal(x.get('a'), undefined);
});

t.test('tables seeded from shared members read them in place and copy on change', async (t) => {
  const index = new MemberIndex(true);
  const tables = ['n0', 'n1', 'n2'].map((n, i) => {
    const table = new MemberTable(new Random(i + 1), index);
    table.add(rec(n), false);
    return table;
  });
  const shared = new SharedMembers(index, ['n0', 'n1', 'n2', 'n3'].map((n) => rec(n)));
  t.throws(() => new SharedMembers(new MemberIndex(), []), /shared MemberIndex/);
  t.throws(() => new SharedMembers(index, [rec('z'), rec('z')]), /listed twice/);

  const [t0, t1] = tables as [MemberTable, MemberTable];
  t.equal(t0.addShared(shared), 3, 'everyone but itself');
  t.equal(t1.addShared(shared), 3);
  t.throws(() => t0.addShared(shared), /already has shared/);
  t.equal(t0.size, 4);
  t.equal(t0.count('alive'), 4);
  t.same(names(t0), ['n0', 'n1', 'n2', 'n3']);

  // forEach() hands out the shared record itself, frozen: changing it would change every table
  const viaValues = list(t0).find((m) => m.name === 'n3')!;
  t.ok(Object.isFrozen(viaValues));
  t.throws(() => {
    (viaValues as Member).incarnation = 5;
  }, TypeError);

  // so does get(), to read: redundant gossip copies nothing
  t.equal(t0.get('n3'), viaValues);
  const gone: string[] = [];
  t0.forEachGone((m) => gone.push(m.name));
  t.same(gone, [], 'nobody dead or left');
  // change() copies it into t0's own record first: t1 still sees the shared one
  const m = t0.change('n3')!;
  t.notOk(Object.isFrozen(m));
  t0.setState(m, 'suspect', 10);
  t0.setIncarnation(m, 2);
  t.equal(t0.get('n3'), m, 'the copy is kept');
  t.equal(t0.change('n3'), m, 'and copied once');
  t.equal(t0.change('nobody'), undefined);
  t.equal(t0.count('suspect'), 1);
  t.equal(t0.count('alive'), 3);
  t.equal(t1.get('n3')?.state, 'alive');
  t.equal(t1.get('n3')?.incarnation, 0);
  t.equal(t1.count('suspect'), 0);

  // removing a shared member hides it from this table only
  t.equal(t0.remove('n2')?.name, 'n2');
  t.equal(t0.get('n2'), undefined);
  t.equal(t0.remove('n2'), undefined, 'removed once');
  t.same(names(t0), ['n0', 'n1', 'n3']);
  t.equal(t0.size, 3);
  t.equal(t1.get('n2')?.name, 'n2');
  // and it can come back as a new record of this table
  t0.add(rec('n2', 'dead'));
  t.equal(t0.get('n2')?.state, 'dead');
  t.equal(t0.count('dead'), 1);
  t.throws(() => t0.add(rec('n1')), /already in the table/);
});

t.test('the probe order of a seeded table visits every other member once per pass', async (t) => {
  const index = new MemberIndex(true);
  const all = Array.from({ length: 50 }, (_, i) => `n${i}`);
  const shared = new SharedMembers(index, all.map((n) => rec(n)));
  const table = new MemberTable(new Random(7), index);
  table.add(rec('n7'), false);
  table.addShared(shared);
  table.add(rec('late'));
  for (let pass = 0; pass < 3; pass++) {
    const seen: string[] = [];
    for (let i = 0; i < 50; i++) seen.push(table.nextProbeTarget()!.name);
    t.same(seen.sort(), [...all.filter((n) => n !== 'n7'), 'late'].sort(), `pass ${pass}`);
  }
  // a sample never returns the local node, a removed member or a rejected one
  table.remove('n3');
  for (let i = 0; i < 20; i++) {
    const got = table.sample(5, stateSet('alive'), (m) => m.name !== 'n4');
    t.equal(got.length, 5);
    t.notOk(got.some((m) => m.name === 'n7' || m.name === 'n3' || m.name === 'n4'));
  }
});

t.test('sample takes members by state on the dense copy, and asks the filter only about the states it names', async (t) => {
  const table = new MemberTable(new Random(9));
  table.add(rec('me'), false);
  for (const [n, st] of [['a', 'alive'], ['b', 'suspect'], ['c', 'dead'], ['d', 'left'], ['e', 'dead']] as const) table.add(rec(n, st));
  const pick = (states: ReturnType<typeof stateSet>, filter?: (m: Readonly<Member>) => boolean, filtered?: ReturnType<typeof stateSet>): string[] =>
    table.sample(10, states, filter, filtered).map((m) => m.name).sort();
  t.same(pick(stateSet('alive')), ['a']);
  t.same(pick(stateSet('alive', 'suspect')), ['a', 'b']);
  t.same(pick(stateSet('dead', 'left')), ['c', 'd', 'e']);
  const asked: string[] = [];
  const got = pick(stateSet('alive', 'suspect', 'dead', 'left'), (m) => {
    asked.push(m.name);
    return m.name !== 'c';
  }, stateSet('dead', 'left'));
  t.same(got, ['a', 'b', 'd', 'e'], 'live ones kept without the filter, c filtered out');
  t.same(asked.sort(), ['c', 'd', 'e'], 'the filter saw only the dead and left');
});

t.test('tables built before the index grew still seed (own arrays grow with the index)', async (t) => {
  const index = new MemberIndex(true);
  const early = new MemberTable(new Random(1), index);
  early.add(rec('e'), false);
  const shared = new SharedMembers(index, Array.from({ length: 3000 }, (_, i) => rec(`m${i}`)));
  t.equal(early.addShared(shared), 3000);
  t.equal(early.get('m2999')?.name, 'm2999');
  early.add(rec('after'));
  t.equal(early.get('after')?.name, 'after');
  t.equal(early.size, 3002);
});

t.test('push-pull entries: the local node first, shared members by their cached entry, own records fresh', async (t) => {
  const index = new MemberIndex(true);
  const table = new MemberTable(new Random(3), index);
  table.add(rec('me'), false);
  const shared = new SharedMembers(index, ['me', 'a', 'b', 'c'].map((n) => rec(n)));
  table.addShared(shared);
  table.setIncarnation(table.change('b')!, 4);
  table.remove('c');
  const entries = table.snapshots();
  t.same(entries.map((e) => [e.node, e.incarnation]), [['me', 0], ['a', 0], ['b', 4]]);
  t.equal(entries[1], shared.snapshots[index.find('a')!], 'the shared entry itself');
  t.ok(Object.isFrozen(entries[1]));
  t.notOk(Object.isFrozen(entries[2]));
});

t.test('the dense state and incarnation copy follows every change', async (t) => {
  const index = new MemberIndex(true);
  const table = new MemberTable(new Random(4), index);
  table.add({ ...rec('me'), incarnation: 9 }, false);
  t.equal(table.slotOf('me'), index.find('me'));
  t.equal(table.incarnationAt(table.slotOf('me')), 9);
  const shared = new SharedMembers(index, [{ ...rec('me'), incarnation: 1 }, { ...rec('a'), incarnation: 2 ** 40 }, rec('b', 'dead'), rec('c', 'left')]);
  table.addShared(shared);
  t.equal(table.incarnationAt(table.slotOf('me')), 9, 'its own record wins over the shared one');
  t.equal(table.incarnationAt(table.slotOf('a')), 2 ** 40, 'incarnations past 32 bits');
  t.notOk(table.goneAt(table.slotOf('a')));
  t.ok(table.goneAt(table.slotOf('b')));
  t.ok(table.goneAt(table.slotOf('c')));
  t.equal(table.slotOf('nobody'), -1);
  const a = table.change('a')!;
  table.setState(a, 'dead', 5);
  table.setIncarnation(a, 2 ** 40 + 1);
  t.ok(table.goneAt(table.slotOf('a')));
  t.equal(table.incarnationAt(table.slotOf('a')), 2 ** 40 + 1);
  table.remove('b');
  t.equal(table.slotOf('b'), -1, 'removed');
  // a table that never grew with the shared index does not read past its arrays
  const late = new MemberIndex(true);
  const small = new MemberTable(new Random(5), late);
  for (let i = 0; i < 100; i++) late.slot(`x${i}`);
  t.equal(small.slotOf('x99'), -1);
  // a private index reuses a freed slot: the copy is the new member's
  const priv = new MemberTable(new Random(6));
  priv.add({ ...rec('p'), incarnation: 3 });
  priv.remove('p');
  priv.add(rec('q', 'suspect'));
  t.equal(priv.slotOf('p'), -1);
  t.equal(priv.incarnationAt(priv.slotOf('q')), 0);
  t.notOk(priv.goneAt(priv.slotOf('q')));
});

t.test('forEachGone visits exactly the dead and left members, and the visited one may be removed', async (t) => {
  const table = new MemberTable(new Random(8));
  table.add(rec('me'), false);
  for (const [n, st] of [['a', 'alive'], ['b', 'dead'], ['c', 'suspect'], ['d', 'left'], ['e', 'dead']] as const) table.add(rec(n, st));
  const seen: string[] = [];
  table.forEachGone((m) => {
    seen.push(m.name);
    table.remove(m.name);
  });
  t.same(seen, ['b', 'd', 'e']);
  t.same(names(table), ['a', 'c', 'me']);
  t.equal(table.count('dead'), 0);
});

t.test('a mark lasts until the member changes state or incarnation', async (t) => {
  const table = new MemberTable(new Random(10));
  table.add(rec('a', 'suspect'));
  const s = table.slotOf('a');
  t.notOk(table.markedAt(s));
  table.mark(s);
  t.ok(table.markedAt(s));
  const a = table.change('a')!;
  table.setIncarnation(a, 0);
  t.ok(table.markedAt(s), 'the same incarnation again changes nothing');
  table.setIncarnation(a, 1);
  t.notOk(table.markedAt(s), 'a new incarnation clears it');
  table.mark(s);
  table.setState(a, 'suspect', 1);
  t.ok(table.markedAt(s), 'the same state changes nothing');
  table.setState(a, 'alive', 2);
  t.notOk(table.markedAt(s), 'a new state clears it');
  table.mark(s);
  table.unmark(s);
  t.notOk(table.markedAt(s));
  table.mark(s);
  table.remove('a');
  table.add(rec('b'));
  t.notOk(table.markedAt(table.slotOf('b')), 'a reused slot starts unmarked');
});
