import t from 'tap';
import { ManualClock } from '../lib/clock.js';
import type { ChannelEvents } from '../lib/replication/channels.js';
import type { HistoryEntry } from '../lib/replica/history.js';
import { ClusterNode } from '../lib/node.js';
import type { ClusterNodeOptions } from '../lib/node.js';
import { Random } from '../lib/random.js';
import { MemoryNetwork } from '../lib/transport/memory.js';

/** Advances virtual time in small steps, letting promise callbacks (stream dials) run. */
async function run(clock: ManualClock, ms: number, step = 10): Promise<void> {
  for (let done = 0; done < ms; done += step) {
    clock.advance(step);
    await new Promise((r) => setImmediate(r));
  }
}

const addr = (i: number): string => `127.0.0.${i + 1}:7946`;

function network(seed = 7) {
  const clock = new ManualClock();
  const net = new MemoryNetwork({ clock, random: new Random(seed), latencyMs: 1 });
  return { clock, net };
}

function makeNode(net: MemoryNetwork, clock: ManualClock, i: number, extra: Partial<ClusterNodeOptions> = {}): ClusterNode {
  const node = new ClusterNode({ name: `n${i}`, transport: net.createTransport(addr(i)), clock, random: new Random(i + 1), ...extra });
  node.start();
  return node;
}

async function cluster(n: number, extra: (i: number) => Partial<ClusterNodeOptions> = () => ({})) {
  const { clock, net } = network();
  const nodes: ClusterNode[] = [];
  for (let i = 0; i < n; i++) nodes.push(makeNode(net, clock, i, extra(i)));
  await nodes[0]!.join([]);
  for (const node of nodes.slice(1)) void node.join([addr(0)]);
  await run(clock, 3000);
  return { clock, net, nodes };
}

function record<K extends keyof ChannelEvents>(node: ClusterNode, type: K): ChannelEvents[K][] {
  const out: ChannelEvents[K][] = [];
  node.channelEvents.on(type, (e) => out.push(e));
  return out;
}

const aliveCount = (n: ClusterNode): number => n.members().filter((m) => m.state === 'alive').length;

t.test('presence join and leave are visible on every node within one flush plus a round trip', async (t) => {
  const { clock, nodes } = await cluster(3);
  t.ok(nodes.every((n) => aliveCount(n) === 3), 'cluster formed');
  t.ok(nodes.every((n) => n.ready), 'every node ready');
  const joins = nodes.map((n) => record(n, 'client-join'));
  const userJoins = nodes.map((n) => record(n, 'user-join'));
  const view = nodes[0]!.channels.join('room', 'c1', 'alice', { tab: 1 });
  t.same({ clientId: view.clientId, user: view.user, node: view.node }, { clientId: 'c1', user: 'alice', node: 'n0' });
  t.equal(view.since, clock.wall(), 'since is wall-clock ms');
  await run(clock, 110, 1); // one 100 ms flush window + 1 ms latency each way
  for (const [i, n] of nodes.entries()) {
    const p = n.channels.presence('room');
    t.same(p.counts, { clients: 1, users: 1 }, `n${i} sees the client`);
    t.same(p.clients[0]!.info, { tab: 1 });
    t.equal(joins[i]!.length, 1, `n${i}: one client-join`);
    t.equal(userJoins[i]!.length, 1, `n${i}: one user-join`);
  }
  // a second tab of the same user: client-join but no user-join
  nodes[1]!.channels.join('room', 'c2', 'alice');
  await run(clock, 110, 1);
  t.ok(nodes.every((n) => n.channels.presence('room').counts.clients === 2 && n.channels.presence('room').counts.users === 1));
  t.ok(userJoins.every((u) => u.length === 1), 'no second user-join');
  const userLeaves = nodes.map((n) => record(n, 'user-leave'));
  t.ok(nodes[0]!.channels.leave('room', 'c1'));
  t.notOk(nodes[0]!.channels.leave('room', 'c2'), 'cannot leave a client of another node');
  t.notOk(nodes[0]!.channels.update('room', 'c2', {}), 'cannot update a client of another node');
  await run(clock, 110, 1);
  t.ok(nodes.every((n) => n.channels.presence('room').counts.clients === 1), 'leave replicated');
  t.ok(userLeaves.every((u) => u.length === 0), 'alice still has a tab');
  t.ok(nodes[1]!.channels.update('room', 'c2', { away: true }));
  t.ok(nodes[1]!.channels.leave('room', 'c2'));
  await run(clock, 110, 1);
  t.ok(nodes.every((n) => n.channels.presence('room').counts.clients === 0));
  t.ok(userLeaves.every((u) => u.length === 1 && u[0]!.user === 'alice'), 'user-leave on the last tab, everywhere');
  t.ok(nodes.every((n) => n.syncStatus().peers.length === 2));
  for (const n of nodes) await n.close();
});

t.test('history: publish on one node, read from another with cursors; idempotency key', async (t) => {
  const { clock, nodes } = await cluster(3);
  const messages = record(nodes[2]!, 'message');
  const receipts = [];
  for (let i = 0; i < 10; i++) receipts.push(nodes[0]!.channels.publish('news', { i }, { headers: { k: `v${i}` } }));
  await run(clock, 110, 1);
  t.equal(messages.length, 10, 'message events on another node');
  t.equal(messages[0]!.entry.node, 'n0', 'the raw entry travels with the event');
  const page = nodes[2]!.channels.history('news', { limit: 4 });
  t.same(page.messages.map((m) => (m.data as { i: number }).i), [6, 7, 8, 9], 'latest 4');
  t.ok(page.complete);
  t.equal(page.messages[0]!.headers.k, 'v6');
  t.equal(page.messages[3]!.id, receipts[9]!.id, 'same id everywhere');
  const after = nodes[1]!.channels.history('news', { after: receipts[6]!.cursor, limit: 100 });
  t.same(after.messages.map((m) => (m.data as { i: number }).i), [7, 8, 9], 'read after a cursor');
  t.same(nodes[2]!.channels.history('news', { after: after.cursor }).messages, [], 'its cursor has everything, on any node');
  t.same(nodes[0]!.channels.history('news', { after: receipts[9]!.cursor }).messages, [], 'so has the last receipt\'s');
  t.ok(after.complete);
  // idempotency key: the second publish is a duplicate, nothing new replicated
  const a = nodes[1]!.channels.publish('news', 'once', { idempotencyKey: 'k1' });
  const b = nodes[1]!.channels.publish('news', 'once', { idempotencyKey: 'k1' });
  t.notOk(a.duplicate);
  t.ok(b.duplicate);
  t.equal(a.id, b.id);
  await run(clock, 110, 1);
  t.ok(nodes.every((n) => n.channels.history('news', { limit: 100 }).messages.length === 11), 'stored once everywhere');
  t.same(nodes[0]!.channels.list(), [{ channel: 'news', clients: 0, users: 0, messages: 11 }]);
  for (const n of nodes) await n.close();
});

t.test('history cap: an evicted range reads as incomplete', async (t) => {
  const { clock, nodes } = await cluster(2, () => ({ replica: { history: { defaultMaxEntries: 5 } } }));
  const first = nodes[0]!.channels.publish('cap', 0);
  for (let i = 1; i < 10; i++) nodes[0]!.channels.publish('cap', i);
  await run(clock, 110, 1);
  const page = nodes[1]!.channels.history('cap', { after: first.cursor });
  t.same(page.messages.map((m) => m.data), [5, 6, 7, 8, 9]);
  t.notOk(page.complete, 'entries after the cursor were evicted');
  for (const n of nodes) await n.close();
});

t.test('invalid writes throw clear errors', async (t) => {
  const { nodes } = await cluster(1);
  const ch = nodes[0]!.channels;
  t.throws(() => ch.publish('bad channel!', 1), { code: 'E_INVALID_ARGUMENT' });
  t.throws(() => ch.publish('c', new Uint8Array(70_000)), { code: 'E_LIMIT' });
  let deep: unknown = 1;
  for (let i = 0; i < 12; i++) deep = [deep];
  t.throws(() => ch.publish('c', deep), { code: 'E_INVALID_ARGUMENT' }, 'too deep for the wire');
  t.throws(() => ch.join('c', '', 'u'), { code: 'E_INVALID_ARGUMENT' });
  t.throws(() => ch.history('c', { limit: 0 }), { code: 'E_INVALID_ARGUMENT' });
  t.throws(() => ch.history('c', { after: '!!' }), { code: 'E_BAD_CURSOR', message: /not base64url/ });
  // the decode-only check throws what a read would, and accepts what a read accepts
  t.throws(() => ch.checkCursor('c', '!!'), { code: 'E_BAD_CURSOR', message: /not base64url/ });
  t.throws(() => ch.checkCursor('', 'start'), { code: 'E_INVALID_ARGUMENT' });
  const cursor = ch.publish('c', 1).cursor;
  t.doesNotThrow(() => ch.checkCursor('c', cursor));
  t.doesNotThrow(() => ch.checkCursor('c', 'start'));
  t.throws(() => ch.checkCursor('d', cursor), { code: 'E_BAD_CURSOR' }, 'a cursor of another channel');
  for (const n of nodes) await n.close();
});

t.test('node death purges its presence everywhere with leave events; refutation purges nothing', async (t) => {
  const { clock, nodes } = await cluster(4);
  nodes[3]!.channels.join('room', 'x1', 'xavier');
  nodes[2]!.channels.join('room', 'y1', 'yann');
  await run(clock, 200);
  t.ok(nodes.every((n) => n.channels.presence('room').counts.clients === 2));

  // a suspicion that is refuted: the suspect's clients stay, no leave event anywhere
  const leaves = nodes.map((n) => record(n, 'client-leave'));
  const suspects: string[] = [];
  nodes[0]!.membership.on('member-suspect', (m) => suspects.push(m.name));
  nodes[0]!.membership.handle({ type: 'suspect', node: 'n2', incarnation: nodes[2]!.membership.incarnation, from: 'n1' }, addr(1));
  await run(clock, 3000);
  t.same(suspects, ['n2'], 'n2 was suspected');
  t.equal(nodes[0]!.membership.member('n2')?.state, 'alive', 'and refuted');
  t.ok(leaves.every((l) => l.length === 0), 'no leave event on suspicion');
  t.ok(nodes.every((n) => n.channels.presence('room').counts.clients === 2));

  // a crash: once the others confirm it dead, its clients vanish within a second
  await nodes[3]!.close();
  const confirmedAt = new Map<string, number>();
  for (const n of nodes.slice(0, 3)) n.membership.on('member-dead', (m) => m.name === 'n3' && confirmedAt.set(n.name, clock.now()));
  const goneAt = new Map<string, number>();
  for (const n of nodes.slice(0, 3)) n.channelEvents.on('client-leave', (e) => e.clientId === 'x1' && goneAt.set(n.name, clock.now()));
  await run(clock, 40_000);
  for (const n of nodes.slice(0, 3)) {
    t.same(n.channels.presence('room').clients.map((c) => c.clientId), ['y1'], `${n.name}: only y1 left`);
    t.ok(confirmedAt.has(n.name), `${n.name} confirmed n3 dead`);
    t.ok(goneAt.get(n.name)! - confirmedAt.get(n.name)! <= 1000, `${n.name}: purge within a second of the confirmation`);
  }
  for (const n of nodes.slice(0, 3)) await n.close();
});

t.test('a node declared dead that comes back re-announces its clients under a new epoch', async (t) => {
  const { clock, net, nodes } = await cluster(3);
  nodes[2]!.channels.join('room', 'z1', 'zoe');
  await run(clock, 200);
  const epoch = nodes[2]!.epoch;
  // cut n2 off long enough to be declared dead, then heal
  net.isolate(addr(2));
  await run(clock, 30_000);
  t.equal(nodes[0]!.membership.member('n2')?.state, 'dead');
  t.equal(nodes[0]!.channels.presence('room').counts.clients, 0, 'purged while dead');
  net.heal();
  await run(clock, 30_000);
  t.equal(nodes[0]!.membership.member('n2')?.state, 'alive', 'n2 refuted and is back');
  t.ok(nodes[2]!.epoch > epoch, 'n2 started a new epoch');
  t.ok(nodes.every((n) => n.channels.presence('room').counts.clients === 1), 'its client is visible again everywhere');
  for (const n of nodes) await n.close();
});

t.test('catch-up after a restart: restore from snapshot + entries, fetch only what was missed', async (t) => {
  const { clock, net } = network();
  const nodes = [makeNode(net, clock, 0), makeNode(net, clock, 1), makeNode(net, clock, 2)];
  await nodes[0]!.join([]);
  for (const n of nodes.slice(1)) void n.join([addr(0)]);
  await run(clock, 3000);
  for (let i = 0; i < 20; i++) nodes[i % 3]!.channels.publish('log', i);
  await run(clock, 200);
  // n2 persists a snapshot, then appends entries from 'message' events
  const snapshot = nodes[2]!.snapshot();
  const log: HistoryEntry[] = [];
  nodes[2]!.channelEvents.on('message', (e) => log.push(e.entry));
  for (let i = 20; i < 30; i++) nodes[i % 2]!.channels.publish('log', i);
  await run(clock, 200);
  t.equal(log.length, 10);
  const epoch = nodes[2]!.epoch;
  await nodes[2]!.close();
  // it misses these while down
  for (let i = 30; i < 40; i++) nodes[i % 2]!.channels.publish('log', i);
  await run(clock, 500);
  const restarted = new ClusterNode({ name: 'n2', transport: net.createTransport(addr(2)), clock, random: new Random(33), incarnation: epoch + 1, restore: { snapshot, entries: log } });
  t.equal(restarted.channels.history('log', { limit: 100 }).messages.length, 30, 'restored 20 from the snapshot and 10 from the log');
  restarted.start();
  const ready = record(restarted, 'ready');
  void restarted.join([addr(0)]);
  await run(clock, 5000);
  t.ok(restarted.ready, 'ready after its catch-up');
  t.equal(ready.length, 1, 'one ready event');
  const got = restarted.channels.history('log', { limit: 100 }).messages.map((m) => m.data);
  t.same(got, nodes[0]!.channels.history('log', { limit: 100 }).messages.map((m) => m.data), 'same history as the others');
  t.equal(got.length, 40);
  t.ok(restarted.syncStatus().sessions.merkle >= 1, 'one Merkle session ran');
  for (const n of [nodes[0]!, nodes[1]!, restarted]) await n.close();
});

t.test('after a long partition both sides converge (digests, then Merkle repair)', async (t) => {
  const { clock, net, nodes } = await cluster(4, () => ({ replica: { history: { defaultMaxEntries: 5000 } } }));
  net.partition([[addr(0), addr(1)], [addr(2), addr(3)]]);
  // more changes per origin than the delta rings hold: only Merkle can explain them
  for (let i = 0; i < 1500; i++) {
    nodes[0]!.channels.publish('a', i);
    nodes[2]!.channels.publish('b', i);
    if (i % 100 === 0) await run(clock, 100);
  }
  nodes[1]!.channels.join('room', 'left-side', 'l');
  nodes[3]!.channels.join('room', 'right-side', 'r');
  await run(clock, 60_000);
  net.heal();
  await run(clock, 90_000);
  t.ok(nodes.every((n) => aliveCount(n) === 4), 'membership healed');
  const digests = new Set(nodes.map((n) => n.syncStatus().digest));
  t.equal(digests.size, 1, 'digests agree');
  for (const n of nodes) {
    t.equal(n.channels.history('a', { limit: 10_000 }).messages.length, 1500, `${n.name} has channel a`);
    t.equal(n.channels.history('b', { limit: 10_000 }).messages.length, 1500, `${n.name} has channel b`);
    t.equal(n.channels.presence('room').counts.clients, 2, `${n.name} sees both clients`);
  }
  for (const n of nodes) await n.close();
});

t.test('after a split brain, the members that come back are repaired at once, not at the next periodic Merkle session', async (t) => {
  // periodic sessions an hour apart: only the repair of returning members can close the gap
  const { clock, net, nodes } = await cluster(4, () => ({ replica: { history: { defaultMaxEntries: 5000 }, merkleMinIntervalMs: 3_600_000, merkleMaxIntervalMs: 3_600_001 } }));
  net.partition([[addr(0), addr(1)], [addr(2), addr(3)]]);
  // more than one session's record budget, and more than the delta rings hold
  for (let i = 0; i < 1500; i++) {
    nodes[0]!.channels.publish('a', i);
    nodes[2]!.channels.publish('b', i);
    if (i % 100 === 0) await run(clock, 100);
  }
  await run(clock, 60_000);
  t.ok(nodes.every((n) => aliveCount(n) === 2), 'each side declared the other dead');
  net.heal();
  let healedAt = -1;
  for (let waited = 0; waited < 90_000 && healedAt < 0; waited += 500) {
    await run(clock, 500);
    if (nodes.every((n) => aliveCount(n) === 4)) healedAt = clock.now();
  }
  t.ok(healedAt > 0, 'membership healed');
  const complete = (): boolean => nodes.every((n) => n.channels.history('a', { limit: 10_000 }).messages.length === 1500 && n.channels.history('b', { limit: 10_000 }).messages.length === 1500);
  let repairedAfter = -1;
  for (let waited = 0; waited <= 20_000; waited += 500) {
    if (complete()) {
      repairedAfter = waited;
      break;
    }
    await run(clock, 500);
  }
  t.ok(repairedAfter >= 0 && repairedAfter <= 20_000, `every node holds both sides' 3,000 entries ${repairedAfter} ms after membership healed (limit 20 s)`);
  for (const n of nodes) await n.close();
});

t.test('an empty joiner streams 100,000 entries in and becomes ready', async (t) => {
  const { clock, net, nodes } = await cluster(2, () => ({ replica: { history: { defaultMaxEntries: 1000 } } }));
  for (let i = 0; i < 100_000; i++) {
    nodes[i % 2]!.channels.publish(`ch-${i % 200}`, `message ${i}`);
    if (i % 5000 === 4999) await run(clock, 100);
  }
  nodes[0]!.channels.join('room', 'c', 'u');
  await run(clock, 5000);
  const joiner = makeNode(net, clock, 2, { replica: { history: { defaultMaxEntries: 1000 } } });
  const ready = record(joiner, 'ready');
  t.notOk(joiner.ready);
  void joiner.join([addr(0)]);
  // live traffic keeps flowing during the stream
  for (let step = 0; step < 100 && !joiner.ready; step++) {
    nodes[1]!.channels.publish('live', step);
    await run(clock, 50);
  }
  t.ok(joiner.ready, 'ready');
  t.equal(ready.length, 1);
  await run(clock, 2000);
  let total = 0;
  for (const c of joiner.channels.list()) total += c.messages;
  t.equal(total, nodes[0]!.channels.list().reduce((s, c) => s + c.messages, 0), 'same number of entries as the source');
  t.ok(total >= 100_000, `holds ${total} entries`);
  t.equal(joiner.channels.presence('room').counts.clients, 1, 'presence came along');
  t.equal(joiner.syncStatus().digest, nodes[0]!.syncStatus().digest, 'digests agree');
  for (const n of [...nodes, joiner]) await n.close();
});

t.test('binary payloads an empty joiner streams in own their bytes, not views of the bulk chunk', async (t) => {
  const { clock, net, nodes } = await cluster(2);
  for (let i = 0; i < 40; i++) nodes[0]!.channels.publish('bin', new Uint8Array(32).fill(i));
  await run(clock, 500);
  const joiner = makeNode(net, clock, 2);
  void joiner.join([addr(0)]);
  for (let step = 0; step < 100 && !joiner.ready; step++) await run(clock, 50);
  t.ok(joiner.ready, 'ready');
  t.equal(joiner.syncStatus().sessions.bulk, 1, 'the history came by a bulk stream');
  const blobs = joiner.channels.history('bin', { limit: 100 }).messages.map((m) => m.data as Uint8Array);
  t.equal(blobs.length, 40);
  t.same([...blobs[39]!].slice(0, 2), [39, 39]);
  t.ok(blobs.every((b) => b instanceof Uint8Array && b.byteOffset === 0 && b.byteLength === b.buffer.byteLength));
  for (const n of [...nodes, joiner]) await n.close();
});

t.test('malformed replication messages are counted and dropped', async (t) => {
  const { clock, net, nodes } = await cluster(2);
  const { encode } = await import('@msgpack/msgpack');
  const attacker = net.createTransport('127.0.0.99:7946');
  const frame = (messages: unknown[]): Uint8Array => {
    const body = encode(messages);
    const out = new Uint8Array(body.length + 2);
    out[0] = 1;
    out.set(body, 2);
    return out;
  };
  const bad: unknown[][] = [
    [16, 'evil', [[9, 'n', 1, 1, 'c']]], // unknown delta kind
    [16, 'evil', [[3, 'n', 1, 0, 'c', 1, 'x']]], // seq 0
    [16, 'evil', [[3, 'n', -1, 1, 'c', 1, 'x']]], // negative epoch
    [16, 'evil', [[0, 'n', 1, 1, 'c\u0000x', 'id', 'u', null, 1]]], // NUL in a channel
    [17, 'evil', [['n', 'x', 1]]], // vector entry with a string epoch
    [18, 'evil', [], 9], // unknown flags
    [32, 'evil', 1, 0, new Uint8Array(3)], // root of the wrong size
    [34, 1, 0, ['not binary'], 10],
  ];
  for (const m of bad) attacker.sendPacket(addr(0), frame([m]));
  await run(clock, 500);
  t.equal(nodes[0]!.stats().rejected.E_MESSAGE_INVALID, bad.length, 'each frame refused and counted');
  // a well-formed bulk chunk outside any session, and a merkle message on a datagram
  attacker.sendPacket(addr(0), frame([[34, 1, 0, [new Uint8Array(4)], 10]]));
  attacker.sendPacket(addr(0), frame([[32, 'evil', 1, 0]]));
  await run(clock, 200);
  t.equal(nodes[0]!.stats().replicationRejected, 2, 'misplaced session messages counted');
  // the node still replicates
  nodes[1]!.channels.publish('ok', 1);
  await run(clock, 200);
  t.equal(nodes[0]!.channels.history('ok').messages.length, 1);
  for (const n of nodes) await n.close();
});
