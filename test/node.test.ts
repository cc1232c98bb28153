import t from 'tap';
import { ManualClock } from '../lib/clock.js';
import { Keyring } from '../lib/codec/keyring.js';
import { ClusterNode } from '../lib/node.js';
import type { ClusterNodeOptions } from '../lib/node.js';
import { Random } from '../lib/random.js';
import { MemoryNetwork } from '../lib/transport/memory.js';

/** Advances virtual time in small steps, letting promise callbacks (stream dials) run. */
async function run(clock: ManualClock, ms: number, step = 20): Promise<void> {
  for (let done = 0; done < ms; done += step) {
    clock.advance(step);
    await new Promise((r) => setImmediate(r));
  }
}

function cluster(n: number, extra: (i: number) => Partial<ClusterNodeOptions> = () => ({})) {
  const clock = new ManualClock();
  const net = new MemoryNetwork({ clock, random: new Random(7), latencyMs: 1 });
  const nodes: ClusterNode[] = [];
  for (let i = 0; i < n; i++) {
    const node = new ClusterNode({ name: `n${i}`, transport: net.createTransport(`127.0.0.${i + 1}:7946`), clock, random: new Random(i + 1), ...extra(i) });
    node.start();
    nodes.push(node);
  }
  return { clock, net, nodes };
}

const aliveCount = (n: ClusterNode): number => n.members().filter((m) => m.state === 'alive').length;

t.test('nodes on the in-memory network join and converge through real frames', async (t) => {
  const { clock, nodes } = cluster(5);
  const joins = nodes.slice(1).map((n) => n.join(['127.0.0.1:7946']));
  await run(clock, 200);
  t.same(await Promise.all(joins), [1, 1, 1, 1]);
  await run(clock, 3000);
  t.ok(nodes.every((n) => aliveCount(n) === 5), 'all see five alive');
  const s = nodes[0]!.stats();
  t.ok(s.framesIn > 0 && s.framesOut > 0 && s.bytesOut > 0);
});

t.test('an encrypted cluster rotates its key without anyone being suspected', async (t) => {
  const k1 = new Uint8Array(32).fill(1);
  const k2 = new Uint8Array(32).fill(2);
  const rings = Array.from({ length: 4 }, () => new Keyring(k1));
  const { clock, nodes } = cluster(4, (i) => ({ keyring: rings[i]! }));
  for (const n of nodes.slice(1)) void n.join(['127.0.0.1:7946']);
  await run(clock, 3000);
  t.ok(nodes.every((n) => aliveCount(n) === 4), 'encrypted cluster converged');
  let suspicions = 0;
  for (const n of nodes) n.membership.on('member-suspect', () => suspicions++);
  for (const r of rings) r.install(k2);
  await run(clock, 2000);
  for (const r of rings) r.use(k2);
  await run(clock, 2000);
  for (const r of rings) r.remove(k1);
  await run(clock, 10_000);
  t.equal(suspicions, 0, 'no suspicion during the rotation');
  t.ok(nodes.every((n) => aliveCount(n) === 4));
  const rejected = nodes.reduce((sum, n) => sum + Object.values(n.stats().rejected).reduce((a, b) => a + b, 0), 0);
  t.equal(rejected, 0, 'no frame was rejected');
});

t.test('a node with another cluster label cannot join', async (t) => {
  const { clock, nodes } = cluster(2, (i) => ({ label: i === 0 ? 'prod' : 'staging' }));
  const join = nodes[1]!.join(['127.0.0.1:7946']);
  const outcome = join.then(() => 'joined', (err: Error) => err.message);
  await run(clock, 12_000);
  t.match(await outcome, /no seed answered/);
  t.equal(aliveCount(nodes[0]!), 1);
  t.ok((nodes[0]!.stats().rejected.E_FRAME_LABEL ?? 0) > 0, 'mislabelled frames counted');
});

t.test('garbage datagrams are counted and dropped; the node keeps working', async (t) => {
  const { clock, net, nodes } = cluster(3);
  for (const n of nodes.slice(1)) void n.join(['127.0.0.1:7946']);
  await run(clock, 2000);
  const attacker = net.createTransport('127.0.0.99:7946');
  const random = new Random(99);
  for (let i = 0; i < 500; i++) attacker.sendPacket('127.0.0.1:7946', random.bytes(1 + random.int(1400)));
  await run(clock, 3000);
  const rejected = Object.values(nodes[0]!.stats().rejected).reduce((a, b) => a + b, 0);
  t.equal(rejected, 500, 'every garbage datagram was rejected and counted');
  t.ok(nodes.every((n) => aliveCount(n) === 3), 'membership unaffected');
});

t.test('leave() tells the others, close() makes them detect a failure', async (t) => {
  const { clock, nodes } = cluster(4);
  for (const n of nodes.slice(1)) void n.join(['127.0.0.1:7946']);
  await run(clock, 3000);
  const leaving = nodes[3]!.leave();
  await run(clock, 1000);
  await leaving;
  await nodes[2]!.close();
  await run(clock, 40_000);
  t.equal(nodes[0]!.membership.member('n3')?.state, 'left');
  t.equal(nodes[0]!.membership.member('n2')?.state, 'dead');
});
