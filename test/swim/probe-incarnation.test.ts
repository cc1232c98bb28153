import t from 'tap';
import { Wire } from './wire.js';

/** Runs until `from` has a ping to `target` in flight. */
function untilPing(w: Wire, from: string, target: string): void {
  for (let i = 0; i < 5000; i++) {
    if (w.messages(from, target, 'ping').length > 0) return;
    w.run(1);
  }
  throw new Error('no ping');
}

t.test('a probe that fails after its target refuted accuses the incarnation probed, not the new one', async (t) => {
  const w = new Wire(['a', 'b', 'c']);
  // everything between a and b is lost (a partition that heals mid-probe, for a's probe)
  w.drop = (from, to) => (from === 'a' && to === 'b') || (from === 'b' && to === 'a') || (from === 'c' && to === 'b') || (from === 'b' && to === 'c');
  w.start();
  untilPing(w, 'a', 'b');
  const a = w.node('a');
  // b's refutation reaches a by another path while a's probe of incarnation 0 is pending
  a.handle({ type: 'alive', node: 'b', incarnation: 1, addr: 'b:1', meta: new Uint8Array() }, 'c:1');
  const suspects: number[] = [];
  a.on('member-suspect', (x) => suspects.push(x.incarnation));
  // to the verdict of this probe, before any later probe (of b at 1, by a or c) can fail
  w.run(1002);
  t.equal(a.counters.probeFailures, 1, 'the probe failed');
  t.same(suspects, [], 'and suspected nobody: b moved past the incarnation it accused');
  t.match(a.member('b'), { state: 'alive', incarnation: 1 });
});

t.test('a probe that fails with no refutation meanwhile suspects the member as before', async (t) => {
  const w = new Wire(['a', 'b', 'c']);
  w.drop = (from, to) => (from === 'a' && to === 'b') || (from === 'b' && to === 'a') || (from === 'c' && to === 'b') || (from === 'b' && to === 'c');
  w.start();
  untilPing(w, 'a', 'b');
  const a = w.node('a');
  const suspects: number[] = [];
  a.on('member-suspect', (x) => suspects.push(x.incarnation));
  w.run(1002);
  t.equal(a.counters.probeFailures, 1);
  t.same(suspects, [0]);
});
