import t from 'tap';
import { VersionVector } from '../../lib/summary/version-vector.js';

t.test('compare, merge, covers', async (t) => {
  const a = new VersionVector();
  const b = new VersionVector();
  t.equal(a.compare(b), 'equal');
  a.set('n1', 1, 5);
  t.equal(a.compare(b), 'after');
  t.equal(b.compare(a), 'before');
  b.set('n2', 1, 1);
  t.equal(a.compare(b), 'concurrent');
  t.same(a.merge(b), ['n2']);
  t.equal(a.compare(b), 'after');
  t.ok(a.covers('n1', 1, 5));
  t.notOk(a.covers('n1', 1, 6));
  t.ok(a.covers('n1', 0, 99), 'a newer epoch covers an older one');
  t.notOk(a.advance('n1', 1, 3));
  t.ok(a.advance('n1', 2, 1));
  t.same(a.get('n1'), { epoch: 2, seq: 1 });
  t.same(b.behind(a), [{ node: 'n1', epoch: 2, fromSeq: 0, toSeq: 1 }]);
});

t.test('digest: equal vectors equal digests, whatever the history', async (t) => {
  const a = new VersionVector();
  const b = new VersionVector();
  a.set('x', 1, 1);
  a.set('y', 3, 9);
  a.set('x', 1, 4);
  b.set('y', 3, 9);
  b.set('x', 1, 4);
  t.same(a.digest(), b.digest());
  t.equal(a.digest().length, 8);
  b.set('z', 0, 1);
  t.notSame(a.digest(), b.digest());
  b.delete('z');
  t.same(a.digest(), b.digest());
  t.same(VersionVector.fromWire(a.toWire()).digest(), a.digest());
  t.same(a.toWire(), [['x', 1, 4], ['y', 3, 9]]);
  t.equal(VersionVector.fromWire([['ok', 1, 1], ['bad', -1, 2] as never, 'junk' as never]).size, 1);
  t.same(a.clone().toWire(), a.toWire());
});
