import t from 'tap';
import type { SubscriptionItem } from '../../lib/replication/channels.js';
import { ManualClock } from '../../lib/clock.js';
import { ClusterNode } from '../../lib/node.js';
import { Random } from '../../lib/random.js';
import { MemoryNetwork } from '../../lib/transport/memory.js';

/*
 * node.channels.subscribe (issue #13, decision 0047): a live reader gets every message
 * once, including those that arrive behind messages it already has when a partition
 * heals, and resumes on another node with its cursor. Virtual time over the in-memory
 * network.
 */

async function run(clock: ManualClock, ms: number, step = 10): Promise<void> {
  for (let done = 0; done < ms; done += step) {
    clock.advance(step);
    await new Promise((r) => setImmediate(r));
  }
}

const addr = (i: number): string => `127.0.0.${i + 1}:7946`;

async function cluster(n: number, history = {}): Promise<{ clock: ManualClock; net: MemoryNetwork; nodes: ClusterNode[] }> {
  const clock = new ManualClock();
  const net = new MemoryNetwork({ clock, random: new Random(3), latencyMs: 1 });
  const nodes: ClusterNode[] = [];
  for (let i = 0; i < n; i++) {
    const node = new ClusterNode({ name: `n${i}`, transport: net.createTransport(addr(i)), clock, random: new Random(i + 1), replica: { history } });
    node.start();
    nodes.push(node);
  }
  await nodes[0]!.join([]);
  for (const node of nodes.slice(1)) void node.join([addr(0)]);
  await run(clock, 3000);
  return { clock, net, nodes };
}

const texts = (items: SubscriptionItem[]): unknown[] => items.filter((i) => i.type === 'message').map((i) => i.type === 'message' && i.message.data);

t.test('a live subscriber gets messages merged behind its position after a heal, each once', async (t) => {
  const { clock, net, nodes } = await cluster(2);
  t.teardown(async () => {
    for (const n of nodes) await n.close();
  });
  const [a, b] = nodes as [ClusterNode, ClusterNode];
  const items: SubscriptionItem[] = [];
  const sub = a.channels.subscribe('room', (i) => items.push(i));
  a.channels.publish('room', 'before');
  await run(clock, 300);
  net.partition([[addr(0)], [addr(1)]]);
  for (const [node, text] of [[b, 'B1'], [a, 'A1'], [b, 'B2'], [a, 'A2']] as const) {
    node.channels.publish('room', text);
    await run(clock, 20);
  }
  t.same(texts(items), ['before', 'A1', 'A2'], 'during the partition: its own side');
  net.heal();
  await run(clock, 15_000);
  t.same(a.channels.history('room').messages.map((m) => m.data), ['before', 'B1', 'A1', 'B2', 'A2'], 'replicas merged');
  t.same(texts(items), ['before', 'A1', 'A2', 'B1', 'B2'], 'the late ones delivered after the heal, once');
  t.notOk(items.some((i) => i.type === 'gap'), 'nothing lost');

  // the cursor of the last item resumes on the other node: nothing is owed, then live
  const resumed: SubscriptionItem[] = [];
  const again = b.channels.subscribe('room', (i) => resumed.push(i), { cursor: sub.cursor });
  sub.close();
  await run(clock, 50);
  t.same(resumed, [], 'nothing replayed twice');
  a.channels.publish('room', 'after');
  await run(clock, 300);
  t.same(texts(resumed), ['after']);
  again.close();
  t.throws(() => b.channels.subscribe('room', () => {}, { cursor: 'AQ' }), { code: 'E_BAD_CURSOR' });
});

t.test('a subscriber that resumes after its messages were evicted gets a gap naming them, then the rest', async (t) => {
  const { clock, nodes } = await cluster(2, { defaultMaxEntries: 3 });
  t.teardown(async () => {
    for (const n of nodes) await n.close();
  });
  const [a, b] = nodes as [ClusterNode, ClusterNode];
  const first = a.channels.publish('cap', 1);
  for (let i = 2; i <= 6; i++) a.channels.publish('cap', i);
  await run(clock, 500);
  const items: SubscriptionItem[] = [];
  const sub = b.channels.subscribe('cap', (i) => items.push(i), { cursor: first.cursor });
  await run(clock, 50);
  t.same(items.map((i) => i.type), ['gap', 'message', 'message', 'message']);
  t.match(items[0], { type: 'gap', gaps: [{ node: 'n0', from: 2, to: 3, count: 2, exact: true }] });
  t.same(texts(items), [4, 5, 6]);
  sub.close();
});
