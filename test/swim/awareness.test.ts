import t from 'tap';
import { Awareness } from '../../lib/swim/awareness.js';

t.test('score is clamped to [0, max-1] and scales timeouts', async (t) => {
  const a = new Awareness(3);
  t.equal(a.score, 0);
  t.notOk(a.apply(-1), 'cannot go below 0');
  t.ok(a.apply(1));
  t.equal(a.scale(500), 1000);
  t.ok(a.apply(5));
  t.equal(a.score, 2, 'capped at max - 1');
  t.equal(a.scale(1000), 3000);
  t.notOk(a.apply(1));
  t.ok(a.apply(-1));
  t.equal(a.score, 1);
});
