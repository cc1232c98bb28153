import t from 'tap';
import { RenderThrottle } from '../../lib/dashboard/throttle.js';

/** Fake timers: time advances only through `advance`. */
function fakeTimers(): { now: () => number; setTimeout: (fn: () => void, ms: number) => unknown; clearTimeout: (h: unknown) => void; advance: (ms: number) => void } {
  let now = 0;
  let timers: { at: number; fn: () => void; id: number }[] = [];
  let next = 1;
  return {
    now: () => now,
    setTimeout: (fn, ms) => {
      timers.push({ at: now + ms, fn, id: next });
      return next++;
    },
    clearTimeout: (h) => {
      timers = timers.filter((x) => x.id !== h);
    },
    advance: (ms) => {
      const end = now + ms;
      for (;;) {
        timers.sort((a, b) => a.at - b.at);
        const first = timers[0];
        if (!first || first.at > end) break;
        timers.shift();
        now = first.at;
        first.fn();
      }
      now = end;
    },
  };
}

t.test('at most one draw per interval, however many requests', async (t) => {
  const timers = fakeTimers();
  let draws = 0;
  const th = new RenderThrottle(() => draws++, 250, timers);
  th.request();
  t.equal(draws, 0, 'never synchronous');
  timers.advance(0);
  t.equal(draws, 1, 'the first request draws on the next turn');
  // a burst: 1,000 events over 10 s, one every 10 ms
  for (let i = 0; i < 1000; i++) {
    th.request();
    timers.advance(10);
  }
  timers.advance(300);
  t.ok(draws <= 1 + 10_000 / 250 + 1, `${draws} draws in 10 s: at most 4 a second`);
  t.ok(draws >= 10_000 / 250 - 1, 'but it keeps drawing during the burst');
  t.equal(th.draws, draws);
});

t.test('a request after a quiet period draws at once; stop cancels', async (t) => {
  const timers = fakeTimers();
  let draws = 0;
  const th = new RenderThrottle(() => draws++, 250, timers);
  th.request();
  timers.advance(1000);
  th.request();
  timers.advance(0);
  t.equal(draws, 2);
  th.request();
  th.stop();
  timers.advance(1000);
  t.equal(draws, 2, 'nothing after stop');
});
