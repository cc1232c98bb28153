/**
 * The runtime's conformance suite: the same assertions about one NodeRuntime class, run
 * over the two wires it has: ClusterNode's frames on the in-memory transport, and the
 * simulator's virtual network. What the simulator shows about the runtime then holds
 * for the runtime the daemon runs, as far as these assertions go.
 */
import t from 'tap';
import { ManualClock } from '../../lib/clock.js';
import { ClusterNode } from '../../lib/node.js';
import { Random } from '../../lib/random.js';
import type { NodeRuntime } from '../../lib/runtime/node-runtime.js';
import { MemoryNetwork } from '../../lib/transport/memory.js';
import { SimNetwork } from '../../simulations/network.js';
import { SimReplication } from '../../simulations/replication.js';

/** N runtimes on one wire, in virtual time. */
interface Harness {
  readonly runtimes: NodeRuntime[];
  /** Advances virtual time. */
  run(ms: number): Promise<void>;
  /** Node i's process dies without a word. */
  crash(i: number): Promise<void>;
}

const N = 4;

/** ClusterNodes (the runtime over FrameWire) on a MemoryNetwork. */
async function memory(): Promise<Harness> {
  const clock = new ManualClock();
  const net = new MemoryNetwork({ clock, random: new Random(3), latencyMs: 1 });
  const addr = (i: number): string => `127.0.0.${i + 1}:7946`;
  const nodes = Array.from({ length: N }, (_, i) => new ClusterNode({ name: `n${i}`, transport: net.createTransport(addr(i)), clock, random: new Random(i + 1) }));
  const run = async (ms: number): Promise<void> => {
    // stream dials settle on promises: let them run between virtual steps
    for (let done = 0; done < ms; done += 10) {
      clock.advance(10);
      await new Promise((r) => setImmediate(r));
    }
  };
  for (const n of nodes) n.start();
  await nodes[0]!.join([]);
  for (const n of nodes.slice(1)) void n.join([addr(0)]);
  return { runtimes: nodes.map((n) => n.runtime), run, crash: (i) => nodes[i]!.close() };
}

/** The simulator's network and replication, driving the same runtime class. */
async function simulated(): Promise<Harness> {
  const net = new SimNetwork({ seed: 3 });
  const repl = new SimReplication(net, 3, {});
  for (let i = 0; i < N; i++) net.add(`n${i}`, { join: i === 0 ? [] : ['n0'] });
  repl.bootstrap(0);
  return {
    get runtimes() {
      return net.nodes.map((n) => n.rt);
    },
    run: async (ms) => net.run(ms),
    crash: async (i) => {
      net.crash(`n${i}`);
      repl.ended(i);
    },
  };
}

const alive = (rt: NodeRuntime): number => rt.membership.members().filter((m) => m.state === 'alive').length;

for (const [wire, make] of [['frames on the in-memory transport', memory], ['the simulator\'s network', simulated]] as const) {
  t.test(`over ${wire}`, async (t) => {
    const h = await make();
    await h.run(3000);
    t.ok(h.runtimes.every((rt) => alive(rt) === N), 'the cluster formed: every runtime sees every member alive');
    t.ok(h.runtimes.every((rt) => rt.replicator!.ready), 'every replica caught up (or founded the cluster)');

    const receipt = h.runtimes[0]!.channels!.publish('room', { text: 'hello' });
    h.runtimes[1]!.channels!.join('room', 'c1', 'alice');
    h.runtimes[3]!.channels!.join('room', 'c3', 'carol');
    await h.run(300);
    for (const [i, rt] of h.runtimes.entries()) {
      t.same(rt.channels!.history('room').messages.map((e) => e.id), [receipt.id], `n${i} holds the publish`);
      t.same(rt.channels!.presence('room').clients.map((c) => c.clientId).sort(), ['c1', 'c3'], `n${i} sees both clients`);
    }

    // declared dead by gossip: the runtime refutes and re-announces under a new epoch
    const n1 = h.runtimes[1]!;
    const epoch = n1.replicator!.replica.epoch;
    n1.dispatch({ type: 'dead', node: 'n1', incarnation: n1.membership.incarnation, from: 'n2' }, 'x');
    t.ok(n1.replicator!.replica.epoch > epoch, `n1 re-epoched (${epoch} → ${n1.replicator!.replica.epoch})`);
    await h.run(3000);
    for (const [i, rt] of h.runtimes.entries()) {
      t.equal(rt.membership.member('n1')?.state, 'alive', `n${i} sees n1 alive after its refutation`);
      t.ok(rt.channels!.presence('room').clients.some((c) => c.clientId === 'c1'), `n${i} still sees n1's client`);
    }

    await h.crash(3);
    await h.run(15_000);
    for (const [i, rt] of h.runtimes.slice(0, 3).entries()) {
      t.equal(rt.membership.member('n3')?.state, 'dead', `n${i} declared the crashed n3 dead`);
      t.same(rt.channels!.presence('room').clients.map((c) => c.clientId), ['c1'], `n${i} purged n3's client`);
    }
    for (const rt of h.runtimes.slice(0, 3)) rt.stop();
  });
}
