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

async function cluster(n: number, extra: (i: number) => Partial<ClusterNodeOptions> = () => ({})) {
  const clock = new ManualClock();
  const net = new MemoryNetwork({ clock, random: new Random(7), latencyMs: 1 });
  const nodes: ClusterNode[] = [];
  for (let i = 0; i < n; i++) {
    const node = new ClusterNode({ name: `n${i}`, transport: net.createTransport(`127.0.0.${i + 1}:7946`), clock, random: new Random(i + 1), ...extra(i) });
    node.start();
    nodes.push(node);
  }
  for (const node of nodes.slice(1)) void node.join(['127.0.0.1:7946']);
  await run(clock, 3000);
  return { clock, net, nodes };
}

type Got = { node: string; from: string; body: number[] };

function listen(nodes: ClusterNode[], topic: string): Got[] {
  const got: Got[] = [];
  for (const n of nodes) n.messages.on(topic, (body, from) => got.push({ node: n.name, from, body: [...body.subarray(0, 4)] }));
  return got;
}

t.test('broadcast reaches every live member once, in order, batched into few frames', async (t) => {
  const { clock, nodes } = await cluster(3);
  t.same(nodes[0]!.messages.peers().sort(), ['n1', 'n2']);
  const got = listen(nodes, 'topic');
  for (let i = 0; i < 100; i++) t.equal(nodes[0]!.messages.broadcast('topic', Uint8Array.of(i)), 2);
  await run(clock, 300);
  for (const name of ['n1', 'n2']) {
    t.same(got.filter((g) => g.node === name).map((g) => g.body[0]), [...Array(100).keys()], `${name} got 0..99 in order, once`);
  }
  t.equal(got.filter((g) => g.node === 'n0').length, 0, 'the sender does not receive its own broadcast');
  const s = nodes[0]!.messages.stats;
  t.equal(s.messagesOut, 200);
  t.ok(s.framesOut <= 4, `100 messages to 2 peers in ${s.framesOut} frames`);
  t.equal(nodes[1]!.messages.stats.messagesIn, 100);
});

t.test('send reaches one member; a multi-part body arrives whole; direct and broadcast keep their order', async (t) => {
  const { clock, nodes } = await cluster(3);
  const got: { node: string; body: Uint8Array }[] = [];
  for (const n of nodes) n.messages.on('t', (body) => got.push({ node: n.name, body }));
  const big = Uint8Array.from({ length: 200_000 }, (_, i) => i & 0xff);
  t.ok(nodes[0]!.messages.send('n2', 't', Uint8Array.of(1)));
  nodes[0]!.messages.broadcast('t', Uint8Array.of(2));
  t.ok(nodes[0]!.messages.send('n2', 't', big));
  t.notOk(nodes[0]!.messages.send('nobody', 't', Uint8Array.of(3)), 'not a member: refused');
  t.notOk(nodes[0]!.messages.send('n0', 't', Uint8Array.of(3)), 'not to itself');
  await run(clock, 300);
  t.same(got.filter((g) => g.node === 'n1').map((g) => g.body.length), [1]);
  const n2 = got.filter((g) => g.node === 'n2');
  t.same(n2.map((g) => g.body.length), [1, 1, 200_000]);
  t.same([n2[0]!.body[0], n2[1]!.body[0]], [1, 2]);
  t.ok(Buffer.from(n2[2]!.body).equals(big), 'the 200,000-byte body arrives whole');
});

t.test('a broadcast to a role reaches only the members advertising it', async (t) => {
  const { clock, nodes } = await cluster(4, (i) => (i === 3 ? {} : { meta: { roles: ['sio'] } }));
  t.same(nodes[0]!.messages.peers('sio').sort(), ['n1', 'n2']);
  const got = listen(nodes, 't');
  t.equal(nodes[0]!.messages.broadcast('t', Uint8Array.of(1), 'sio'), 2);
  nodes[0]!.messages.send('n1', 't', Uint8Array.of(2));
  nodes[0]!.messages.broadcast('t', Uint8Array.of(3));
  await run(clock, 300);
  t.same(got.filter((g) => g.node === 'n1').map((g) => g.body[0]), [1, 2, 3]);
  t.same(got.filter((g) => g.node === 'n2').map((g) => g.body[0]), [1, 3]);
  t.same(got.filter((g) => g.node === 'n3').map((g) => g.body[0]), [3], 'not in the role: only the plain broadcast');
  // a role advertised later counts from then on
  nodes[3]!.updateMeta({ roles: ['sio'] });
  await run(clock, 1000);
  t.same(nodes[0]!.messages.peers('sio').sort(), ['n1', 'n2', 'n3']);
});

t.test('bad input is refused at the sender; strangers and unrouted topics are counted', async (t) => {
  const { clock, nodes } = await cluster(2, () => ({ messages: { maxMessageBytes: 1000 } }));
  const m = nodes[0]!.messages;
  t.throws(() => m.broadcast('t', new Uint8Array(1001)), { code: 'E_LIMIT', message: /1001 bytes exceeds maxMessageBytes \(1000\)/ });
  t.throws(() => m.broadcast('', Uint8Array.of(1)), { code: 'E_INVALID_ARGUMENT' });
  t.throws(() => m.broadcast('x'.repeat(257), Uint8Array.of(1)), { code: 'E_INVALID_ARGUMENT' });
  t.throws(() => m.broadcast('t', 'text' as unknown as Uint8Array), { code: 'E_INVALID_ARGUMENT' });
  t.throws(() => new ClusterNode({ name: 'x', transport: nodes[0]!.transport, messages: { maxMessageBytes: 9e9 } }), { code: 'E_CONFIG' });
  // a message from a node that is not a member, or claims to be us, is rejected
  nodes[1]!.messages.handle({ type: 'app', from: 'ghost', topic: 't', body: Uint8Array.of(1) });
  nodes[1]!.messages.handle({ type: 'app', from: 'n1', topic: 't', body: Uint8Array.of(1) });
  t.equal(nodes[1]!.messages.stats.rejected, 2);
  m.broadcast('nobody-listens', Uint8Array.of(1));
  await run(clock, 300);
  t.equal(nodes[1]!.messages.stats.unrouted, 1);
});

t.test('what cannot be delivered is dropped and counted: a full queue, a peer that cannot be dialled', async (t) => {
  const { clock, net, nodes } = await cluster(3, () => ({ messages: { maxQueueBytes: 1000 } }));
  const got = listen(nodes, 't');
  // incompressible bodies, so that deflate does not shrink the frames under the cap
  let x = 12345;
  const noise = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => ((x = (x * 1103515245 + 12345) >>> 0) >>> 24));
  // no stream to n1 yet: the first frame waits in the queue, the next would pass 1,000 bytes
  nodes[0]!.messages.send('n1', 't', noise(600));
  nodes[0]!.messages.flush();
  nodes[0]!.messages.send('n1', 't', noise(600));
  nodes[0]!.messages.flush();
  t.equal(nodes[0]!.messages.stats.dropped, 1, 'the second frame did not fit the queue');
  await run(clock, 300);
  t.equal(got.filter((g) => g.node === 'n1').length, 1, 'the first arrived');
  // n2 unreachable for streams: the dial fails, what waited for it is dropped
  net.blockOneWay('127.0.0.1:7946', '127.0.0.3:7946');
  t.ok(nodes[0]!.messages.send('n2', 't', Uint8Array.of(1)));
  await run(clock, nodes[0]!.options.streamTimeoutMs + 500);
  t.equal(nodes[0]!.messages.stats.dropped, 2, 'the message for the unreachable peer is counted');
  t.equal(got.filter((g) => g.node === 'n2').length, 0);
  net.unblock('127.0.0.1:7946', '127.0.0.3:7946');
  t.ok(nodes[0]!.messages.send('n2', 't', Uint8Array.of(2)), 'n2 is still a member (probed through n1)');
  await run(clock, 300);
  t.same(got.filter((g) => g.node === 'n2').map((g) => g.body[0]), [2], 'a later message dials again and arrives');
});

t.test('a dead member stops counting: no more messages for it, its late messages are refused', async (t) => {
  const { clock, nodes } = await cluster(3);
  const got = listen(nodes, 't');
  nodes[2]!.messages.broadcast('t', Uint8Array.of(9));
  await run(clock, 300);
  t.equal(got.filter((g) => g.from === 'n2').length, 2);
  await nodes[2]!.close();
  await run(clock, 15_000);
  t.same(nodes[0]!.messages.peers(), ['n1'], 'n2 is no longer a peer');
  t.equal(nodes[0]!.messages.broadcast('t', Uint8Array.of(1)), 1);
  nodes[0]!.messages.handle({ type: 'app', from: 'n2', topic: 't', body: Uint8Array.of(1) });
  t.equal(nodes[0]!.messages.stats.rejected, 1, 'a dead member is refused');
});

t.test('an encrypted cluster carries app messages (own nonce prefix, in order per peer)', async (t) => {
  const key = new Uint8Array(32).fill(5);
  const { clock, nodes } = await cluster(3, () => ({ keyring: new Keyring(key) }));
  const got = listen(nodes, 't');
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < 20; i++) nodes[round % 3]!.messages.broadcast('t', Uint8Array.of(round, i));
    nodes[0]!.messages.send('n1', 't', Uint8Array.of(round, 99));
    await run(clock, 120);
  }
  await run(clock, 300);
  t.equal(got.length, 5 * 20 * 2 + 5);
  const rejected = nodes.reduce((sum, n) => sum + Object.values(n.stats().rejected).reduce((a, b) => a + b, 0), 0);
  t.equal(rejected, 0, 'no frame refused');
});

t.test('flushDelayMs sends a batch before the node flush tick', async (t) => {
  const { clock, nodes } = await cluster(2, () => ({ flushIntervalMs: 1000, messages: { flushDelayMs: 5 } }));
  const got = listen(nodes, 't');
  nodes[0]!.messages.broadcast('t', Uint8Array.of(1));
  await run(clock, 40, 5);
  t.equal(got.length, 1, 'delivered within 40 ms though the node flushes each second');
});
