import t from 'tap';
import { Dialing } from '../../lib/runtime/dialing.js';

t.test('settles synchronously, once, and chains', async (t) => {
  const d = new Dialing<number>();
  const seen: string[] = [];
  const next = d.then((v) => {
    seen.push(`ok ${v}`);
    return v * 2;
  }, () => seen.push('err'));
  t.same(seen, [], 'nothing before it settles');
  d.resolve(21);
  t.same(seen, ['ok 21'], 'the callback ran inside resolve(), not on a later microtask');
  d.reject(new Error('late'));
  d.resolve(1);
  t.same(seen, ['ok 21'], 'settles once');
  let chained = 0;
  next.then((v) => (chained = v as number));
  t.equal(chained, 42, 'a then() after settling runs at once, with the previous result');
});

t.test('a rejection reaches the error callback; a throwing callback propagates to the settler', async (t) => {
  const d = new Dialing<number>();
  let reason: unknown;
  d.then(undefined, (e) => (reason = e));
  const err = new Error('refused');
  d.reject(err);
  t.equal(reason, err);
  const bad = new Dialing<number>();
  bad.then(() => {
    throw new Error('bug in the session');
  });
  t.throws(() => bad.resolve(1), /bug in the session/, 'not swallowed');
});
