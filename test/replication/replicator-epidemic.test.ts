import t from 'tap';
import { ManualClock } from '../../lib/clock.js';
import { ClusterNode } from '../../lib/node.js';
import type { ReplicationOptions, ReplicatorHost } from '../../lib/replication/replicator.js';
import { Random } from '../../lib/random.js';
import { MemoryNetwork } from '../../lib/transport/memory.js';

/*
 * Epidemic dissemination (docs/decisions/0024): above `directPushMax` peers a writer's
 * flush goes to `gossipFanout` random peers, and each node relays what was new to it once
 * (infect-and-die); digests and Merkle sessions repair what the epidemic misses. These
 * tests run whole ClusterNodes over the in-memory network in virtual time.
 */

async function run(clock: ManualClock, ms: number, step = 10): Promise<void> {
  for (let done = 0; done < ms; done += step) {
    clock.advance(step);
    await new Promise((r) => setImmediate(r));
  }
}

const addr = (i: number): string => `127.0.${i >> 8}.${(i & 255) + 1}:7946`;

interface Sent {
  at: number;
  from: string;
  to: string;
}

async function cluster(n: number, replica: ReplicationOptions, seed = 11) {
  const clock = new ManualClock();
  const net = new MemoryNetwork({ clock, random: new Random(seed), latencyMs: 1, jitterMs: 2 });
  const nodes: ClusterNode[] = [];
  // every replication datagram message a node queues: (when, from, to)
  const deltaSends: Sent[] = [];
  // when each node stored each entry ('message' events, publishes included)
  const arrivals = new Map<string, Map<string, number>>();
  for (let i = 0; i < n; i++) {
    const node = new ClusterNode({ name: `n${i}`, transport: net.createTransport(addr(i)), clock, random: new Random(seed * 1000 + i), replica });
    const host = (node as unknown as { replicator: { host: ReplicatorHost } }).replicator.host;
    const enqueue = host.enqueue.bind(host);
    host.enqueue = (to, message, cls) => {
      if (cls === 'replication') deltaSends.push({ at: clock.now(), from: node.name, to });
      enqueue(to, message, cls);
    };
    node.channelEvents.on('message', (e) => {
      const id = e.message.id;
      let m = arrivals.get(id);
      if (!m) arrivals.set(id, (m = new Map()));
      m.set(node.name, clock.now());
    });
    node.start();
    nodes.push(node);
  }
  await nodes[0]!.join([]);
  for (const node of nodes.slice(1)) void node.join([addr(0)]);
  for (let waited = 0; waited < 60_000; waited += 500) {
    await run(clock, 500);
    if (nodes.every((x) => x.ready && x.members().filter((m) => m.state === 'alive').length === n)) break;
  }
  return { clock, net, nodes, deltaSends, arrivals };
}

/** Runs until every node stored every id (or `maxMs` passes); returns how long each id took to be everywhere. */
async function spread(clock: ManualClock, nodes: ClusterNode[], arrivals: Map<string, Map<string, number>>, ids: Map<string, number>, maxMs: number): Promise<Map<string, number>> {
  const everywhere = (): Map<string, number> => {
    const out = new Map<string, number>();
    for (const [id, at] of ids) {
      const seen = arrivals.get(id);
      if (seen && seen.size === nodes.length) out.set(id, Math.max(...seen.values()) - at);
    }
    return out;
  };
  const started = clock.now();
  while (everywhere().size < ids.size && clock.now() - started < maxMs) await run(clock, 50);
  return everywhere();
}

/** The version vectors (as JSON) of nodes whose digest differs from the first one's, for a failure message. */
function vectorDiff(nodes: ClusterNode[]): string {
  const vec = (x: ClusterNode): string => JSON.stringify((x as unknown as { replicator: { replica: { vector: { toWire(): unknown } } } }).replicator.replica.vector.toWire());
  const d0 = nodes[0]!.syncStatus().digest;
  return nodes.filter((x) => x.syncStatus().digest !== d0).slice(0, 3).map((x) => `${x.name}: ${vec(x)}\n${nodes[0]!.name}: ${vec(nodes[0]!)}`).join('\n');
}

t.test('above directPushMax a flush goes to gossipFanout peers and relays reach every node', async (t) => {
  const n = 24;
  const { clock, nodes, deltaSends, arrivals } = await cluster(n, { directPushMax: 8, gossipFanout: 4, history: { defaultMaxEntries: 1000 } });
  t.ok(nodes.every((x) => x.ready && x.members().filter((m) => m.state === 'alive').length === n), 'cluster formed');
  const ids = new Map<string, number>();
  for (let k = 0; k < 12; k++) {
    const writer = nodes[(k * 7) % n]!;
    const before = deltaSends.length;
    ids.set(writer.channels.publish('e', { k }).id, clock.now());
    await run(clock, 110);
    // the writer's flush that carried the new entry (the first after the publish): gossipFanout peers, not n − 1
    const own = deltaSends.slice(before).filter((s) => s.from === writer.name);
    const first = own.filter((s) => s.at === own[0]?.at);
    t.equal(new Set(first.map((s) => s.to)).size, 4, `publish ${k}: the writer sent to 4 peers`);
  }
  const relayed = nodes.reduce((a, x) => a + (x as unknown as { replicator: { counters: { relayed: number } } }).replicator.counters.relayed, 0);
  t.ok(relayed > 0, `nodes relayed what was new to them (${relayed} deltas)`);
  const times = await spread(clock, nodes, arrivals, ids, 10_000);
  t.equal(times.size, ids.size, 'every entry reached every node');
  t.comment(`time to all ${n} nodes (ms after publish): ${[...times.values()].map(Math.round).join(', ')}`);
  for (const node of nodes) await node.close();
});

t.test('the same cluster at the default crossover (256) pushes directly to every peer', async (t) => {
  const n = 24;
  const { clock, nodes, deltaSends } = await cluster(n, { history: { defaultMaxEntries: 1000 } });
  const before = deltaSends.length;
  const id = nodes[3]!.channels.publish('d', 1).id;
  await run(clock, 110);
  const own = deltaSends.slice(before).filter((s) => s.from === 'n3');
  t.equal(new Set(own.map((s) => s.to)).size, n - 1, 'the writer sent to every peer');
  t.equal(deltaSends.slice(before).filter((s) => s.from !== 'n3').length, 0, 'nobody relays');
  t.ok(nodes.every((x) => x.channels.history('d').messages.some((m) => m.id === id)), 'everyone has it after one window');
  for (const node of nodes) await node.close();
});

// the default crossover (256 peers) would need 258 nodes, too slow for a unit test; 64 was
// the default before bench/replication-crossover measured it, and takes the same code path
t.test('80 nodes above a crossover of 64 with 10 % datagram loss: every change reaches every node', async (t) => {
  const n = 80;
  const { clock, net, nodes, deltaSends, arrivals } = await cluster(n, { directPushMax: 64, history: { defaultMaxEntries: 1000 } }, 5);
  t.ok(nodes.every((x) => x.ready && x.members().filter((m) => m.state === 'alive').length === n), 'cluster formed');
  net.configure({ loss: 0.1 });
  const rnd = new Random(99);
  const ids = new Map<string, number>();
  const before = deltaSends.length;
  const writers: string[] = [];
  for (let k = 0; k < 20; k++) {
    const writer = nodes[rnd.int(n)]!;
    writers.push(writer.name);
    ids.set(writer.channels.publish('big', { k }).id, clock.now());
    if (k % 4 === 0) writer.channels.join('room', `${writer.name}-c${k}`, `u${k}`, { k });
    await run(clock, 50);
  }
  // in epidemic mode no flush of any writer reached more than gossipFanout peers
  const perFlush = new Map<string, Set<string>>();
  for (const s of deltaSends.slice(before)) {
    const key = `${s.from}@${s.at}`;
    const set = perFlush.get(key) ?? new Set();
    set.add(s.to);
    perFlush.set(key, set);
  }
  t.ok([...perFlush.values()].every((s) => s.size <= 4), `every flush went to at most 4 peers (${perFlush.size} flushes)`);
  const times = await spread(clock, nodes, arrivals, ids, 30_000);
  t.equal(times.size, ids.size, 'every entry reached every node');
  const sorted = [...times.values()].sort((a, b) => a - b);
  t.comment(`time to all ${n} nodes with 10 % loss (ms): median ${Math.round(sorted[sorted.length >> 1]!)}, max ${Math.round(sorted[sorted.length - 1]!)}`);
  // the vectors also carry every origin's epoch (seq 0 for nodes that wrote nothing), which
  // only digest catch-ups spread: give them a few probe rounds
  for (let waited = 0; waited < 30_000 && new Set(nodes.map((x) => x.syncStatus().digest)).size > 1; waited += 500) await run(clock, 500);
  const joined = nodes.map((x) => x.channels.presence('room').counts.clients);
  t.ok(joined.every((c) => c === 5), 'every presence join reached every node');
  t.equal(new Set(nodes.map((x) => x.syncStatus().digest)).size, 1, 'all digests agree', { diff: vectorDiff(nodes) });
  for (const node of nodes) await node.close();
});
