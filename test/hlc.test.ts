import t from 'tap';
import { ManualClock } from '../lib/clock.js';
import { Hlc, hlcCounter, hlcPack, hlcWall, isHlcTimestamp } from '../lib/hlc.js';

t.test('timestamps are strictly increasing even when the wall clock stands still', async (t) => {
  const clock = new ManualClock(0, 1_700_000_000_000);
  const h = new Hlc(clock);
  const a = h.now();
  const b = h.now();
  t.ok(b > a);
  t.equal(hlcWall(a), 1_700_000_000_000);
  t.equal(hlcCounter(b), 1);
  clock.advance(5);
  const c = h.now();
  t.equal(hlcWall(c), 1_700_000_000_005);
  t.equal(hlcCounter(c), 0);
});

t.test('observing a remote timestamp moves the clock past it', async (t) => {
  const clock = new ManualClock(0, 1_700_000_000_000);
  const h = new Hlc(clock, 60_000);
  const remote = hlcPack(1_700_000_000_500, 3);
  t.ok(h.observe(remote));
  t.ok(h.now() > remote, 'next local event sorts after the remote one');
  t.notOk(h.observe(hlcPack(1_700_000_000_000 + 120_000, 0)), 'too far ahead: refused');
  t.notOk(h.observe(-1));
  t.ok(h.peek() > remote);
});

t.test('validation', async (t) => {
  t.ok(isHlcTimestamp(hlcPack(1, 2)));
  t.notOk(isHlcTimestamp(1.5));
  t.notOk(isHlcTimestamp('1'));
});
