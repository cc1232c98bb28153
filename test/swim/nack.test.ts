import t from 'tap';
import { Wire } from './wire.js';

t.test('a helper nacks in time for the requester to count it (Lifeguard)', async (t) => {
  const w = new Wire(['a', 'h', 'x']);
  w.silence('x');
  w.start();
  w.run(2500);
  const a = w.node('a');
  t.ok(a.counters.probeFailures >= 1, 'a probed the silent member x and failed');
  t.equal(w.node('h').counters.nacksSent, a.counters.probeFailures, 'h nacked each failed probe');
  t.equal(a.counters.nacksReceived, a.counters.probeFailures, 'every nack arrived before a decided');
  t.equal(a.health, 0, 'a healthy prober is not penalised for a dead target');
});
