import t from 'tap';
import { FaultPlan, loopbackHost } from '../../../simulations/real/fault-plan.js';

const host = (j: number): string => loopbackHost(j);
const base = { latencyMs: 1, jitterMs: 0, loss: 0 };

t.test('loopback hosts: one per node from 127.0.0.101, carrying into the next octet', async (t) => {
  t.equal(loopbackHost(0), '127.0.0.101');
  t.equal(loopbackHost(9), '127.0.0.110');
  t.equal(loopbackHost(155), '127.0.1.0');
  t.equal(loopbackHost(3, '127.0.5.250'), '127.0.5.253');
  t.throws(() => loopbackHost(0, '10.0.0.1'), /127\.0\.0\.0\/8/);
  t.throws(() => loopbackHost(0xffffff, '127.0.0.1'), /does not fit/);
});

t.test('no fault: no rules', async (t) => {
  const p = new FaultPlan({ ...base });
  for (let i = 0; i < 4; i++) t.same(p.rulesFor(i, 4, host), []);
});

t.test('a symmetric partition: each node drops both ways to the nodes of the other groups', async (t) => {
  const p = new FaultPlan({ ...base });
  p.partition([[0, 1]]);
  t.same(p.rulesFor(0, 4, host), [
    { peer: '127.0.0.103', direction: 'both', drop: 1, delayMs: 0 },
    { peer: '127.0.0.104', direction: 'both', drop: 1, delayMs: 0 },
  ]);
  t.same(p.rulesFor(3, 4, host).map((r) => r.peer), ['127.0.0.101', '127.0.0.102'], 'the unlisted nodes form one more group');
  t.ok(p.cut(0, 2) && p.cut(2, 0) && !p.cut(0, 1) && !p.cut(2, 3));
  p.heal();
  for (let i = 0; i < 4; i++) t.same(p.rulesFor(i, 4, host), [], 'heal clears it');
});

t.test('three groups: a node added later belongs to the rest', async (t) => {
  const p = new FaultPlan({ ...base });
  p.partition([[0], [1]]);
  t.ok(p.cut(0, 1) && p.cut(1, 2) && p.cut(0, 5));
  t.notOk(p.cut(2, 5), 'n5 (not listed) is with the rest');
});

t.test('a one-way partition: the sender drops out, the receiver drops in', async (t) => {
  const p = new FaultPlan({ ...base });
  p.partitionOneWay([0], [1, 2]);
  t.same(p.rulesFor(0, 3, host), [
    { peer: '127.0.0.102', direction: 'out', drop: 1, delayMs: 0 },
    { peer: '127.0.0.103', direction: 'out', drop: 1, delayMs: 0 },
  ]);
  t.same(p.rulesFor(1, 3, host), [{ peer: '127.0.0.101', direction: 'in', drop: 1, delayMs: 0 }]);
  t.ok(p.cut(0, 1));
  t.notOk(p.cut(1, 0), 'the reverse flows');
});

t.test('link loss and latency apply to what each side sends; the 1 ms base latency is loopback\'s own', async (t) => {
  const p = new FaultPlan({ ...base });
  p.setLink(0, 1, { loss: 0.2 });
  t.same(p.rulesFor(0, 3, host), [{ peer: '127.0.0.102', direction: 'out', drop: 0.2, delayMs: 0 }]);
  t.same(p.rulesFor(1, 3, host), [{ peer: '127.0.0.101', direction: 'out', drop: 0.2, delayMs: 0 }], 'both directions unless oneWay');
  p.setLink(0, 2, { latencyMs: 40 }, true);
  t.same(p.rulesFor(0, 3, host)[1], { peer: '127.0.0.103', direction: 'out', drop: 0, delayMs: 40 });
  t.same(p.rulesFor(2, 3, host), [], 'one way: the reverse is untouched');
  p.setLink(0, 1, { latencyMs: 5 });
  t.same(p.rulesFor(0, 3, host)[0], { peer: '127.0.0.102', direction: 'out', drop: 0.2, delayMs: 5 }, 'unset fields keep their value');
});

t.test('a partition wins over link settings; global settings reach links without their own', async (t) => {
  const p = new FaultPlan({ ...base });
  p.setLink(0, 1, { loss: 0.5 });
  p.setGlobal({ loss: 0.1 });
  t.same(p.rulesFor(0, 3, host), [
    { peer: '127.0.0.102', direction: 'out', drop: 0.5, delayMs: 0 },
    { peer: '127.0.0.103', direction: 'out', drop: 0.1, delayMs: 0 },
  ]);
  p.partition([[0]]);
  t.same(p.rulesFor(0, 3, host).map((r) => [r.direction, r.drop]), [['both', 1], ['both', 1]]);
  t.notOk(p.hasJitter);
  p.setGlobal({ jitterMs: 3 });
  t.ok(p.hasJitter, 'jitter is reported (the fault hook cannot apply it)');
});
