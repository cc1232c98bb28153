import t from 'tap';
import { formatProgress, Progress, progressMode } from '../../simulations/progress.js';

/** A Progress on a fake clock, collecting what it writes. */
function fake(mode: 'tty' | 'lines' | 'off', final = false): { p: Progress; out: string[]; clock: { ms: number } } {
  const clock = { ms: 1000 };
  const out: string[] = [];
  const p = new Progress({ mode, write: (s) => out.push(s), now: () => clock.ms, final });
  return { p, out, clock };
}

t.test('formatProgress: done of total, wall, messages per second, ETA from the rate so far', async (t) => {
  t.equal(formatProgress({ doneMs: 150_000, totalMs: 600_000, wallMs: 30_000, events: 1_500_000, what: 'virtual' }), ' 25%  2 min 30 s / 10 min virtual  30.0 s wall  50,000 msgs/s  ETA 90 s');
  t.equal(formatProgress({ doneMs: 600_000, totalMs: 600_000, wallMs: 120_000, what: 'real' }), '100%  10 min / 10 min real  120.0 s wall', 'no ETA at the end, no rate without a count');
  t.equal(formatProgress({ doneMs: 0, totalMs: 60_000, wallMs: 0, events: 0, what: 'virtual' }), '  0%  0 ms / 60 s virtual  0.0 s wall', 'nothing to project from yet');
});

t.test('progressMode: --quiet wins, --progress forces lines, else the terminal decides', async (t) => {
  t.equal(progressMode({ quiet: true, progress: false }, true), 'off');
  t.equal(progressMode({ quiet: false, progress: true }, true), 'lines');
  t.equal(progressMode({ quiet: false, progress: false }, true), 'tty');
  t.equal(progressMode({ quiet: false, progress: false }, false), 'lines');
});

t.test('lines: one plain line per 10 s of wall time, a last one with final', async (t) => {
  const { p, out, clock } = fake('lines', true);
  for (let k = 1; k <= 30; k++) {
    clock.ms += 1000; // one virtual second per wall second
    p.update(k * 1000, 30_000, k * 100);
  }
  t.equal(out.length, 3, 'at 10, 20 and 30 s of wall time');
  t.equal(out[0], ' 33%  10 s / 30 s virtual  10.0 s wall  100 msgs/s  ETA 20 s\n');
  clock.ms += 500;
  p.end();
  t.equal(out.length, 4);
  t.equal(out[3], '100%  30 s / 30 s virtual  30.5 s wall  98 msgs/s\n', 'the final line carries the whole wall time');
});

t.test('lines without final: a short run prints nothing', async (t) => {
  const { p, out, clock } = fake('lines');
  for (let k = 1; k <= 9; k++) {
    clock.ms += 1000;
    p.update(k * 1000, 9000);
  }
  p.end();
  t.same(out, []);
});

t.test('tty: redrawn in place at most every 100 ms, the end always drawn, cleared at the end', async (t) => {
  const { p, out, clock } = fake('tty');
  p.update(0, 1000);
  for (let k = 1; k <= 10; k++) {
    clock.ms += 30;
    p.update(k * 100, 1000);
  }
  // draws at 0, 120, 240 ms (k = 4, 8) and the last update (done = total)
  t.equal(out.length, 4);
  for (const s of out) t.match(s, /^\r\x1b\[2K\[[█░]{30}\] /);
  t.match(out[3], /100% {2}1 s \/ 1 s virtual/);
  p.end();
  t.equal(out[4], '\r\x1b[2K');
});

t.test('off: nothing at all', async (t) => {
  const { p, out, clock } = fake('off', true);
  clock.ms += 60_000;
  p.update(1000, 1000, 5);
  p.end();
  t.same(out, []);
});
