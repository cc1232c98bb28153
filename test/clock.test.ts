import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import t from 'tap';
import { ManualClock, SystemClock } from '../lib/clock.js';
import type { Timer } from '../lib/clock.js';

t.test('manual clock fires timers in time then scheduling order', async (t) => {
  const c = new ManualClock(0, 1000);
  const log: string[] = [];
  c.setTimer(20, () => log.push('b'));
  c.setTimer(10, () => log.push('a'));
  c.setTimer(20, () => log.push('c'));
  const cancelled = c.setTimer(15, () => log.push('x'));
  cancelled.cancel();
  cancelled.cancel();
  t.equal(c.pending, 3);
  c.advance(15);
  t.same(log, ['a']);
  t.equal(c.now(), 15);
  t.equal(c.wall(), 1015);
  c.advance(100);
  t.same(log, ['a', 'b', 'c']);
  t.equal(c.pending, 0);
  t.equal(c.nextAt(), undefined);
});

t.test('timers scheduled by timers run within the same advance', async (t) => {
  const c = new ManualClock();
  const at: number[] = [];
  const tick = (): void => {
    at.push(c.now());
    if (at.length < 5) c.setTimer(10, tick);
  };
  c.setTimer(0, tick);
  c.advance(100);
  t.same(at, [0, 10, 20, 30, 40]);
});

t.test('heap order holds for many random timers', async (t) => {
  const c = new ManualClock();
  const fired: number[] = [];
  let x = 12345;
  for (let i = 0; i < 2000; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const at = x % 10_000;
    c.setTimer(at, () => fired.push(at));
  }
  c.advance(10_000);
  t.equal(fired.length, 2000);
  t.ok(fired.every((v, i) => i === 0 || fired[i - 1]! <= v), 'non-decreasing');
});

t.test('schedule passes its argument; order holds across compaction of cancelled timers', async (t) => {
  const c = new ManualClock();
  const fired: number[] = [];
  const record = (v: number): void => {
    fired.push(v);
  };
  const keep: number[] = [];
  const timers = [];
  // 20,000 timers on 50 distinct instants, most cancelled: the buckets get compacted
  for (let i = 0; i < 20_000; i++) {
    const at = (i * 7919) % 50;
    timers.push(c.schedule(at, record, i));
    if (i % 5 === 0) keep.push(i);
  }
  for (let i = 0; i < 20_000; i++) if (i % 5 !== 0) timers[i]!.cancel();
  t.equal(c.pending, keep.length);
  // one more after compaction, at an instant that already has timers: it fires last there
  c.schedule(0, record, -1);
  c.advance(100);
  const expected = [...keep].sort((a, b) => ((a * 7919) % 50) - ((b * 7919) % 50) || a - b);
  expected.splice(expected.findIndex((v) => (v * 7919) % 50 > 0), 0, -1);
  t.same(fired, expected, 'time order, then scheduling order');
  t.equal(c.pending, 0);
  t.equal(c.nextAt(), undefined);
});

t.test('system clock is monotonic and its timers fire', async (t) => {
  const c = new SystemClock();
  const a = c.now();
  // system timers are unref'd (they must not keep a daemon alive): hold the loop here
  const keep = setInterval(() => {}, 1000);
  await new Promise<void>((resolve) => c.setTimer(1, resolve));
  clearInterval(keep);
  t.ok(c.now() >= a);
  t.ok(Math.abs(c.wall() - Date.now()) < 1000);
});

t.test('a fired or cancelled timer lets go of its callback and argument', async (t) => {
  // A spent timer's handle often lives on in an older object; what it still references
  // would survive every scavenge until the next full GC (decision 0045).
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const c = new ManualClock();
  const held: Timer[] = [];
  const refs: WeakRef<object>[] = [];
  const schedule = (cancel: boolean): void => {
    const state = { payload: new Array(1000).fill(1) };
    const arg = { other: new Array(1000).fill(2) };
    refs.push(new WeakRef(state), new WeakRef(arg));
    const timer = c.schedule(10, (a) => void [state, a], arg);
    if (cancel) timer.cancel();
    held.push(timer);
  };
  schedule(false);
  schedule(true);
  c.advance(20);
  // a WeakRef holds its target until the job that made it ends
  await new Promise((r) => setImmediate(r));
  gc();
  t.same(refs.map((r) => r.deref() === undefined), [true, true, true, true], 'nothing reachable from the handles kept');
  t.equal(held.length, 2);
});
