import t from 'tap';
import { Wire } from './wire.js';

/** Runs until `a` has a ping to `target` in flight, and returns its send time. */
function untilPing(w: Wire, from: string, target: string): number {
  for (let i = 0; i < 5000; i++) {
    if (w.messages(from, target, 'ping').length > 0) return w.clock.now();
    w.run(1);
  }
  throw new Error('no ping');
}

t.test('a node paused right after pinging reads the ack before judging the probe', async (t) => {
  const w = new Wire(['a', 'b', 'c']);
  w.start();
  untilPing(w, 'a', 'b');
  w.pause('a');
  w.run(3000); // b's ack (and c's answers) queue up; a's probe period ends meanwhile
  w.resume('a');
  w.run(1);
  t.equal(w.node('a').member('b')?.state, 'alive', 'b is not suspected on a probe result a had not read');
  t.equal(w.node('a').counters.probeFailures, 0);
});

t.test('a probe whose indirect phase a pause swallowed accuses nobody and costs our own health', async (t) => {
  const w = new Wire(['a', 'b', 'c']);
  w.start();
  untilPing(w, 'a', 'b');
  w.silence('b'); // b really is silent now: only a's own pause makes the verdict unfair
  w.pause('a');
  w.run(3000);
  w.resume('a');
  w.run(1);
  // c suspects b as well (b is silent to everyone), so look at what a itself concluded
  t.equal(w.node('a').counters.probeFailures, 0, 'no failed-probe verdict from a probe the helpers had no time to answer');
  t.ok(w.node('a').health > 0, 'the paused prober blames itself');
  w.run(5000);
  t.ok(w.node('a').counters.probeFailures > 0, 'the next fair probe of the silent member does fail');
});
