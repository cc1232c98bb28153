import t from 'tap';
import { Suspicion, suspicionMinTimeout, suspicionTimeout } from '../../lib/swim/suspicion.js';

t.test('minimum timeout follows SuspicionMult × max(1, log10 n) × interval', async (t) => {
  t.equal(suspicionMinTimeout(4, 1, 1000), 4000);
  t.equal(suspicionMinTimeout(4, 10, 1000), 4000);
  t.equal(suspicionMinTimeout(4, 100, 1000), 8000);
  t.equal(suspicionMinTimeout(4, 1000, 1000), 12000);
});

t.test('timeout shrinks from max to min as confirmations arrive', async (t) => {
  const min = 4000;
  const max = 24000;
  t.equal(suspicionTimeout(0, 2, min, max), max);
  const one = suspicionTimeout(1, 2, min, max);
  t.ok(one < max && one > min, `one confirmation: ${one}`);
  t.equal(one, Math.floor(max - (max - min) * (Math.log(2) / Math.log(3))));
  t.equal(suspicionTimeout(2, 2, min, max), min);
  t.equal(suspicionTimeout(5, 2, min, max), min, 'never below min');
  t.equal(suspicionTimeout(0, 0, min, max), min, 'k = 0 (tiny cluster): min at once');
});

t.test('only distinct non-originator confirmations count, up to k', async (t) => {
  const s = new Suspicion(1000, 'a', 2, 4000, 24000);
  t.equal(s.deadline(), 25000);
  t.notOk(s.confirm('a'), 'originator does not confirm');
  t.ok(s.confirm('b'));
  t.notOk(s.confirm('b'), 'duplicate ignored');
  t.equal(s.confirmations, 1);
  t.ok(s.confirm('c'));
  t.notOk(s.confirm('d'), 'beyond k ignored');
  t.equal(s.deadline(), 5000);
});

t.test('with k above 2, every distinct confirmer counts once, up to k', async (t) => {
  const s = new Suspicion(0, 'o', 4, 1000, 6000);
  t.same(['a', 'o', 'b', 'a', 'c', 'b', 'd', 'c', 'e'].map((f) => s.confirm(f)), [true, false, true, false, true, false, true, false, false]);
  t.equal(s.confirmations, 4);
  t.ok(s.complete);
  t.equal(s.deadline(), 1000);
});

t.test('restart begins again: new start and originator, no confirmations, same bounds', async (t) => {
  const s = new Suspicion(0, 'o', 2, 1000, 6000);
  s.confirm('a');
  s.confirm('b');
  t.ok(s.complete);
  s.restart(500, 'a');
  t.equal(s.start, 500);
  t.equal(s.confirmations, 0);
  t.notOk(s.complete);
  t.equal(s.deadline(), 6500, 'back to the longest timeout');
  t.notOk(s.confirm('a'), 'the new originator does not confirm');
  t.ok(s.confirm('o'), 'the old one now does');
  t.ok(s.confirm('b'), 'and earlier confirmers count again');
});
