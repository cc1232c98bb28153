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
