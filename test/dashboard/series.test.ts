import t from 'tap';
import { EventCounter, RateTracker, Series } from '../../lib/dashboard/series.js';

t.test('rate of a counter, with resets', async (t) => {
  const r = new RateTracker();
  t.equal(r.sample(100, 0), undefined, 'the first sample has no rate');
  t.equal(r.sample(300, 2000), 100, '200 in 2 s');
  t.equal(r.sample(50, 3000), undefined, 'a counter that went down (agent restart) gives no rate');
  t.equal(r.sample(150, 4000), 100, 'then measures from the new baseline');
  t.equal(r.sample(undefined, 5000), undefined, 'a failed scrape');
  t.equal(r.sample(250, 6000), undefined, 'no rate averaged over the outage');
});

t.test('series keeps the newest samples', async (t) => {
  const s = new Series(3);
  for (const v of [1, 2, 3, 4]) s.push(v);
  t.same(s.values(), [2, 3, 4]);
  t.equal(s.latest, 4);
  s.push(undefined);
  t.equal(s.latest, undefined);
});

t.test('event counter', async (t) => {
  const c = new EventCounter();
  t.equal(c.take(0), undefined);
  c.add();
  c.add(4);
  t.equal(c.take(500), 10, '5 events in 0.5 s');
  t.equal(c.take(1500), 0);
});
