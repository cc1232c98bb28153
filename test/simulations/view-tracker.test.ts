import t from 'tap';
import { ViewTracker } from '../../simulations/view-tracker.js';

t.test('converge() gives what seeing every node up one by one gives', async (t) => {
  let now = 0;
  const bulk = new ViewTracker(6, () => now);
  const oneByOne = new ViewTracker(6, () => now);
  for (const tr of [bulk, oneByOne]) for (let i = 0; i < 5; i++) tr.boot(i);
  t.notOk(bulk.converged, 'booted nodes know only themselves');
  now = 42;
  bulk.converge();
  for (let o = 0; o < 5; o++) for (let s = 0; s < 5; s++) oneByOne.see(o, s, true);
  for (const tr of [bulk, oneByOne]) {
    t.ok(tr.converged);
    t.equal(tr.convergedSince, 42);
  }
  for (let o = 0; o < 5; o++) for (let s = 0; s < 6; s++) t.equal(bulk.sees(o, s), oneByOne.sees(o, s), `${o} sees ${s}`);
  // and the counts stay right afterwards: a node going down is missed by everyone
  bulk.down(3);
  t.equal(bulk.total, 4);
  t.equal(bulk.wrongOf(0), 1);
});
