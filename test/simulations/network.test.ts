import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import t from 'tap';
import type { Timer } from '../../lib/clock.js';
import { SimNetwork } from '../../simulations/network.js';

/** A small scripted run touching every fault the network offers. */
function scripted(seed: number): SimNetwork {
  const net = new SimNetwork({ seed, trace: true, loss: 0.05, jitterMs: 3 });
  net.addMany(12);
  net.run(5000);
  net.crash('n3');
  net.stall('n5', 2500);
  net.partition([['n0', 'n1', 'n2', 'n4']]);
  net.run(15_000);
  net.heal();
  net.leave('n7');
  net.restart('n3');
  net.run(20_000);
  return net;
}

t.test('same seed, same run: identical counters and event log', async (t) => {
  const a = scripted(42);
  const b = scripted(42);
  t.ok(a.log.length > 50, `${a.log.length} events logged`);
  t.same(b.log, a.log);
  t.same(b.nodes.map((n) => n.counters()), a.nodes.map((n) => n.counters()));
  t.equal(b.framesLost, a.framesLost);
  const c = scripted(43);
  t.not(c.log.join('\n'), a.log.join('\n'), 'another seed gives another run');
});

t.test('the harness scenarios: join, crash detection, converged view', async (t) => {
  const net = new SimNetwork({ seed: 2 });
  net.addMany(8);
  net.run(5000);
  t.ok(net.converged(), 'eight nodes converge through one seed');
  const dead: string[] = [];
  net.onMemberEvent((type, observer, info) => type === 'member-dead' && info.name === 'n3' && dead.push(observer.name));
  net.crash('n3');
  net.run(40_000);
  t.equal(dead.length, 7, 'every survivor declares n3 dead once');
  t.ok(net.converged());
});

t.test('a two-way partition splits the cluster and heals', async (t) => {
  const net = new SimNetwork({ seed: 5 });
  net.addMany(10);
  net.run(5000);
  const even = net.nodes.filter((n) => n.index % 2 === 0).map((n) => n.name);
  net.partition([even]);
  net.run(60_000);
  t.equal(net.node('n0').m.member('n1')?.state, 'dead', 'the other side is dead during the split');
  t.equal(net.node('n0').m.counts().alive, 5);
  net.heal();
  const took = net.runUntil(() => net.converged(), 120_000, 1000);
  t.ok(took >= 0, `converged ${took} ms after the heal`);
});

t.test('a one-way partition only drops one direction', async (t) => {
  const net = new SimNetwork({ seed: 6 });
  net.addMany(3);
  net.run(5000);
  const before = net.node('n1').msgsRecv;
  const n0sent = net.node('n0').msgsSent;
  net.partitionOneWay(['n0'], ['n1']);
  net.run(10_000);
  t.ok(net.node('n0').msgsSent > n0sent, 'n0 keeps sending');
  const fromN1 = net.node('n0').msgsRecv;
  net.run(5000);
  t.ok(net.node('n0').msgsRecv > fromN1, 'n0 still hears from n1');
  t.ok(net.node('n1').msgsRecv > before, 'n1 hears from n2');
});

t.test('a stalled node defers its timers and inbound, then refutes and stays alive', async (t) => {
  const net = new SimNetwork({ seed: 7 });
  net.addMany(6);
  net.run(5000);
  let deaths = 0;
  net.onMemberEvent((type) => type === 'member-dead' && deaths++);
  const n2 = net.node('n2');
  const sent = n2.msgsSent;
  const handledBefore = n2.m.counters.acks + n2.m.counters.probes;
  net.stall('n2', 3000);
  net.run(2900);
  t.equal(n2.msgsSent, sent, 'nothing sent while stalled');
  t.equal(n2.m.counters.acks + n2.m.counters.probes, handledBefore, 'no timer or inbound handled while stalled');
  t.ok(n2.deferred.length > 0, `${n2.deferred.length} items deferred`);
  net.run(200);
  t.equal(n2.deferred.length, 0, 'backlog drained at the end of the stall');
  t.ok(n2.msgsSent > sent, 'sending again');
  net.run(30_000);
  t.equal(deaths, 0);
  t.ok(net.converged());
});

t.test('restart: persisted incarnation or learned and refuted', async (t) => {
  const net = new SimNetwork({ seed: 8 });
  net.addMany(5);
  net.run(5000);
  const old = net.node('n4').m.incarnation;
  net.crash('n4');
  net.run(40_000);
  t.equal(net.node('n0').m.member('n4')?.state, 'dead');
  net.restart('n4', { persisted: false });
  net.run(5000);
  t.ok(net.node('n4').m.incarnation > old, 'learned its old incarnation and refuted');
  t.ok(net.converged());
  net.crash('n2');
  net.restart('n2');
  net.run(5000);
  t.ok(net.converged(), 'persisted restart rejoins');
});

t.test('a converged start needs no join traffic and stays converged', async (t) => {
  const net = new SimNetwork({ seed: 9 });
  net.addMany(40, 'converged');
  t.ok(net.converged());
  t.ok(net.node('n3').m.queuedBroadcasts <= 1, 'only its own start announcement is queued');
  net.run(10_000);
  t.ok(net.converged());
  t.ok(net.totals().msgsSent > 0);
});

t.test("a node's fired or cancelled timer lets go of its callback", async (t) => {
  // the handle may outlive the timer in an older object (decision 0045)
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const net = new SimNetwork({ seed: 8 });
  const [node] = net.addMany(1);
  const clock = net.nodeClock(node!, node!.gen);
  const refs: WeakRef<object>[] = [];
  const set = (ms: number): Timer => {
    const state = { payload: new Array(1000).fill(1) };
    refs.push(new WeakRef(state));
    return clock.setTimer(ms, () => void state);
  };
  const held = [set(10), set(50)];
  held[1]!.cancel();
  net.run(100);
  await new Promise((r) => setImmediate(r));
  gc();
  t.same(refs.map((r) => r.deref() === undefined), [true, true], 'neither callback reachable from its handle');
});
