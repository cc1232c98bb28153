import { setImmediate as tick } from 'node:timers/promises';
import t from 'tap';
import { ManualClock } from '../../lib/clock.js';
import { Random } from '../../lib/random.js';
import { MemoryNetwork } from '../../lib/transport/memory.js';
import type { MemoryNetworkOptions } from '../../lib/transport/memory.js';
import type { Stream } from '../../lib/transport/transport.js';
import { conformanceLimits, runConformance } from './conformance.js';

function memoryFactory(options: MemoryNetworkOptions) {
  return async () => {
    const clock = new ManualClock();
    const network = new MemoryNetwork({ clock, random: new Random(7), limits: conformanceLimits, ...options });
    const [a, b, c] = ['127.0.0.1:7001', '127.0.0.2:7001', '127.0.0.3:7001'].map((x) => network.createTransport(x));
    return {
      a: a!,
      b: b!,
      c: c!,
      advance: async (ms: number) => {
        clock.advance(ms);
        await tick();
      },
      cleanup: async () => void (await Promise.all([a!.close(), b!.close(), c!.close()])),
    };
  };
}

runConformance('MemoryNetwork', memoryFactory({}));
runConformance('MemoryNetwork with latency and jitter', memoryFactory({ latencyMs: 20, jitterMs: 15 }));

const A = '127.0.0.1:1';
const B = '127.0.0.2:1';
const C = '127.0.0.3:1';

function setup(options: MemoryNetworkOptions = {}) {
  const clock = new ManualClock();
  const network = new MemoryNetwork({ clock, random: new Random(42), ...options });
  const a = network.createTransport(A);
  const b = network.createTransport(B);
  const c = network.createTransport(C);
  const log: { at: number; to: string; from: string; id: number }[] = [];
  for (const node of [a, b, c]) {
    node.onPacket((data, from) => log.push({ at: clock.now(), to: node.address, from, id: data[0]! | (data[1]! << 8) }));
  }
  const packet = (id: number): Uint8Array => new Uint8Array([id & 0xff, id >> 8]);
  const received = (to: string): number[] => log.filter((e) => e.to === to).map((e) => e.id);
  return { clock, network, a, b, c, log, packet, received };
}

/** Resolves a promise that settles in virtual time by advancing the clock in 1 ms steps. */
async function settle<T>(clock: ManualClock, promise: Promise<T>, limitMs = 10_000): Promise<{ value?: T; error?: unknown; at: number }> {
  let state: { value?: T; error?: unknown; at: number } | undefined;
  promise.then(
    (value) => (state = { value, at: clock.now() }),
    (error: unknown) => (state = { error, at: clock.now() }),
  );
  for (let i = 0; i < limitMs && !state; i++) {
    await tick();
    if (!state) clock.advance(1);
  }
  await tick();
  if (!state) throw new Error('promise did not settle');
  return state;
}

t.test('latency: a datagram arrives exactly after the link latency', async (t) => {
  const { clock, a, packet, received } = setup({ latencyMs: 10 });
  a.sendPacket(B, packet(1));
  t.same(received(B), [], 'never delivered synchronously');
  clock.advance(9);
  t.same(received(B), []);
  clock.advance(1);
  t.same(received(B), [1]);
});

t.test('jitter: delays spread over [latency, latency + jitter) and reorder packets', async (t) => {
  const { clock, a, log, packet, received } = setup({ latencyMs: 10, jitterMs: 5 });
  for (let i = 0; i < 200; i++) a.sendPacket(B, packet(i));
  clock.advance(100);
  const ids = received(B);
  t.equal(ids.length, 200);
  t.ok(log.every((e) => e.at >= 10 && e.at < 15), 'every arrival within the jitter window');
  t.notSame(ids, [...ids].sort((x, y) => x - y), 'some packets overtook others');
});

t.test('per-link settings override the network defaults, one way or both', async (t) => {
  const { clock, network, a, b, c, log, packet } = setup({ latencyMs: 5 });
  network.setLink(A, B, { latencyMs: 50 });
  a.sendPacket(B, packet(1));
  b.sendPacket(A, packet(2));
  a.sendPacket(C, packet(3));
  clock.advance(100);
  t.same(log.map((e) => [e.id, e.at]), [[2, 5], [3, 5], [1, 50]]);
  log.length = 0;
  network.setLink(A, C, { latencyMs: 30, loss: 1 }, true);
  c.sendPacket(A, packet(4));
  a.sendPacket(C, packet(5));
  clock.advance(100);
  t.same(log, [], 'loss 1 both ways');
  network.clearLink(A, C, true);
  network.clearLink(A, B);
  a.sendPacket(B, packet(6));
  clock.advance(5);
  t.same(log.map((e) => e.id), [6], 'cleared links fall back to the defaults');
});

t.test('loss: the delivered fraction matches the loss probability', async (t) => {
  const { clock, network, a, packet, received } = setup({ loss: 0.3 });
  const n = 20_000;
  for (let i = 0; i < n; i++) a.sendPacket(B, packet(i));
  clock.advance(10);
  const delivered = received(B).length;
  // 4 standard deviations of a binomial(20000, 0.7)
  const sd = Math.sqrt(n * 0.3 * 0.7);
  t.ok(Math.abs(delivered - 0.7 * n) < 4 * sd, `${delivered} of ${n} delivered`);
  t.equal(network.stats.dropped.loss, n - delivered);
  t.equal(network.stats.packetsDelivered, delivered);
  t.equal(network.stats.packetsSent, n);
  t.equal(a.stats.packetsDropped, n - delivered);
});

t.test('partition: groups cannot talk across, both ways; unlisted nodes form one more group', async (t) => {
  const { clock, network, a, b, c, packet, received } = setup();
  network.partition([[A], [B]]);
  a.sendPacket(B, packet(1));
  b.sendPacket(A, packet(2));
  c.sendPacket(A, packet(3));
  clock.advance(10);
  t.same(received(A), []);
  t.same(received(B), []);
  t.equal(network.stats.dropped.partition, 3);
  t.notOk(network.canReach(C, B));

  network.partition([[A, B]]);
  a.sendPacket(B, packet(4));
  c.sendPacket(A, packet(5));
  const d = network.createTransport('127.0.0.4:1');
  d.sendPacket(C, packet(6));
  clock.advance(10);
  t.same(received(B), [4], 'same group talks');
  t.same(received(A), [], 'the unlisted rest is cut off from the group');
  t.same(received(C), [6], 'unlisted nodes (even new ones) reach each other');

  network.heal();
  a.sendPacket(C, packet(7));
  c.sendPacket(B, packet(8));
  clock.advance(10);
  t.same(received(C), [6, 7]);
  t.same(received(B), [4, 8]);
  t.throws(() => network.partition([[A], [A, B]]), { code: 'E_INVALID_ARGUMENT' });
});

t.test('one-way block drops one direction only', async (t) => {
  const { clock, network, a, b, packet, received } = setup();
  network.blockOneWay(A, B);
  a.sendPacket(B, packet(1));
  b.sendPacket(A, packet(2));
  clock.advance(10);
  t.same(received(B), []);
  t.same(received(A), [2]);
  t.equal(network.stats.dropped.blocked, 1);
  network.unblock(A, B);
  a.sendPacket(B, packet(3));
  clock.advance(10);
  t.same(received(B), [3]);
});

t.test('isolate cuts a node off from everyone until reconnected', async (t) => {
  const { clock, network, a, b, c, packet, received } = setup();
  network.isolate(B);
  a.sendPacket(B, packet(1));
  b.sendPacket(C, packet(2));
  b.sendPacket(B, packet(3));
  clock.advance(10);
  t.same(received(B), [3], 'only itself');
  t.same(received(C), []);
  network.reconnect(B);
  c.sendPacket(B, packet(4));
  clock.advance(10);
  t.same(received(B), [3, 4]);
});

t.test('a partition breaks open streams and makes dials fail with E_UNREACHABLE after the timeout', async (t) => {
  const { clock, network, a, b } = setup({ latencyMs: 5 });
  const accepted: Stream[] = [];
  b.onStream((s) => accepted.push(s));
  const { value: stream } = await settle(clock, a.dial(B, 1000));
  const closes: (Error | undefined)[] = [];
  stream!.onClose((err) => closes.push(err));
  accepted[0]!.onClose((err) => closes.push(err));
  network.partition([[A], [B]]);
  clock.advance(0);
  t.equal(closes.length, 2, 'both ends broken at the next tick');
  t.match(closes, [{ code: 'E_UNREACHABLE' }, { code: 'E_UNREACHABLE' }]);
  t.equal(network.stats.streamsBroken, 1);

  const start = clock.now();
  const result = await settle(clock, a.dial(B, 300));
  t.match(result.error, { code: 'E_UNREACHABLE' });
  t.equal(result.at - start, 300, 'fails when the timeout expires');

  network.blockOneWay(B, A);
  network.heal();
  const healed = await settle(clock, a.dial(B, 300));
  t.ok(healed.value, 'dials work again after heal');
  network.blockOneWay(B, A);
  clock.advance(0);
  let broken: Error | undefined;
  healed.value!.onClose((err) => (broken = err));
  t.match(broken, { code: 'E_UNREACHABLE' }, 'a one-way block breaks the stream too');
});

t.test('a dial to a node that does not answer in time fails with E_TIMEOUT', async (t) => {
  const { clock, network, a, b } = setup({ latencyMs: 5 });
  b.onStream(() => {});
  network.stall(B, 1000);
  const result = await settle(clock, a.dial(B, 100));
  t.match(result.error, { code: 'E_TIMEOUT' });
  clock.advance(2000);
  t.equal(b.stats.streamsAccepted, 0, 'at stall end the abandoned SYN is ignored');
  t.equal(b.stats.streamErrors, 0);

  network.stall(B, 1000);
  const pending = settle(clock, a.dial(B, 500));
  clock.advance(100);
  network.crash(B);
  const late = await pending;
  t.match(late.error, { code: 'E_UNREACHABLE', message: /refused/ }, 'a crash while stalled refuses queued dials');
});

t.test('stall: nothing in or out during the stall, then the backlog in order', async (t) => {
  const { clock, network, a, b, log, packet, received } = setup({ latencyMs: 2 });
  network.stall(B, 100);
  for (let i = 0; i < 5; i++) {
    a.sendPacket(B, packet(i));
    b.sendPacket(A, packet(100 + i));
    clock.advance(1);
  }
  clock.advance(90);
  t.same(received(B), [], 'stalled node receives nothing');
  t.same(received(A), [], 'and sends nothing');
  clock.advance(4);
  t.equal(clock.now(), 99);
  t.same(received(B), []);
  clock.advance(1);
  t.same(received(B), [0, 1, 2, 3, 4], 'backlog delivered at stall end, in order');
  t.ok(log.filter((e) => e.to === B).every((e) => e.at === 100));
  clock.advance(2);
  t.same(received(A), [100, 101, 102, 103, 104], 'queued sends go out at stall end, in order');
});

t.test('stall: the backlog is bounded; excess datagrams are dropped and counted', async (t) => {
  const { clock, network, a, b, packet, received } = setup({ maxBacklog: 3 });
  network.stall(B, 50);
  for (let i = 0; i < 5; i++) {
    a.sendPacket(B, packet(i));
    b.sendPacket(A, packet(10 + i));
  }
  clock.advance(60);
  t.same(received(B), [0, 1, 2]);
  t.same(received(A), [10, 11, 12]);
  t.equal(network.stats.dropped.backlog, 4);
});

t.test('stall: streams survive and deliver in order afterwards', async (t) => {
  const { clock, network, a, b } = setup({ latencyMs: 3, jitterMs: 4 });
  const got: number[] = [];
  b.onStream((s) => s.onMessage((m) => got.push(m[0]!)));
  const { value: s } = await settle(clock, a.dial(B, 1000));
  network.stall(B, 50);
  for (let i = 0; i < 10; i++) s!.send(new Uint8Array([i]));
  clock.advance(45);
  t.same(got, []);
  clock.advance(10);
  t.same(got, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

t.test('crash resets peers; the address can be reused', async (t) => {
  const { clock, network, a, b, packet } = setup({ latencyMs: 5 });
  b.onStream(() => {});
  const { value: s } = await settle(clock, a.dial(B, 1000));
  let reset: Error | undefined;
  s!.onClose((err) => (reset = err));
  a.sendPacket(B, packet(1));
  network.crash(B);
  t.equal(network.transport(B), undefined);
  clock.advance(10);
  t.match(reset, { code: 'E_UNREACHABLE', message: /reset/ });
  t.equal(network.stats.dropped.closed, 1, 'in-flight datagram to the crashed node dropped');
  a.sendPacket(B, packet(2));
  t.equal(network.stats.dropped.unknown, 1, 'nobody at the address');
  const start = clock.now();
  const dial = await settle(clock, a.dial(B, 1000));
  t.match(dial.error, { code: 'E_UNREACHABLE', message: /refused/ });
  t.equal(dial.at - start, 10, 'refused after one round trip');
  const b2 = network.createTransport(B);
  let got = 0;
  b2.onPacket(() => got++);
  a.sendPacket(B, packet(3));
  clock.advance(5);
  t.equal(got, 1, 'a restarted node at the same address receives');
  t.throws(() => network.createTransport(B), { code: 'E_ADDRESS' });
});

t.test('stream back-pressure: send refuses over the high-water mark, drains after delivery', async (t) => {
  const { clock, a, b } = setup({ latencyMs: 10, streamHighWaterMark: 1000 });
  let received = 0;
  b.onStream((s) => s.onMessage(() => received++));
  const { value: s } = await settle(clock, a.dial(B, 1000));
  const chunk = new Uint8Array(400);
  t.ok(s!.send(chunk));
  t.ok(s!.send(chunk));
  t.ok(s!.send(chunk), '1200 bytes in flight: over the mark only after this one');
  t.notOk(s!.send(chunk), 'refused');
  let drained = 0;
  s!.onDrain?.(() => drained++);
  clock.advance(10);
  t.equal(received, 3);
  t.equal(drained, 1);
  t.ok(s!.send(chunk));
});

t.test('a stream message over the receiver limit breaks the stream', async (t) => {
  const clock = new ManualClock();
  const network = new MemoryNetwork({ clock });
  const a = network.createTransport(A, { limits: { maxStreamMessage: 1000 } });
  const b = network.createTransport(B, { limits: { maxStreamMessage: 100 } });
  b.onStream(() => {});
  const { value: s } = await settle(clock, a.dial(B, 1000));
  let err: Error | undefined;
  s!.onClose((e) => (err = e));
  s!.send(new Uint8Array(500));
  clock.advance(5);
  t.match(err, { code: 'E_LIMIT' });
  t.equal(b.stats.streamErrors, 1);
});

t.test('bad settings are refused', async (t) => {
  t.throws(() => new MemoryNetwork({ loss: 2 }), { code: 'E_CONFIG' });
  t.throws(() => new MemoryNetwork({ latencyMs: -1 }), { code: 'E_CONFIG' });
  t.throws(() => new MemoryNetwork({ jitterMs: Infinity }), { code: 'E_CONFIG' });
  t.throws(() => new MemoryNetwork().createTransport('nope'), { code: 'E_ADDRESS' });
});

function scenario(seed: number): string[] {
  const clock = new ManualClock();
  const network = new MemoryNetwork({ clock, random: new Random(seed), latencyMs: 5, jitterMs: 20, loss: 0.2 });
  const nodes = Array.from({ length: 10 }, (_, i) => network.createTransport(`127.0.0.${i + 1}:1`));
  const out: string[] = [];
  const rng = new Random(seed + 1);
  for (const node of nodes) {
    node.onPacket((data, from) => {
      out.push(`${clock.now().toFixed(3)} ${from}>${node.address} ${data[0]}`);
      if (data[0]! > 0) node.sendPacket(rng.pick(nodes)!.address, new Uint8Array([data[0]! - 1]));
    });
  }
  for (let i = 0; i < 50; i++) nodes[i % 10]!.sendPacket(rng.pick(nodes)!.address, new Uint8Array([8]));
  network.stall(nodes[3]!.address, 40);
  clock.advance(1000);
  return out;
}

t.test('determinism: the same seed gives the same deliveries at the same times', async (t) => {
  const first = scenario(5);
  t.ok(first.length > 100, `${first.length} deliveries`);
  t.same(scenario(5), first);
  t.notSame(scenario(6), first, 'another seed, another run');
});

t.test('throughput: a million datagrams across 1000 nodes', async (t) => {
  const clock = new ManualClock();
  const network = new MemoryNetwork({ clock, random: new Random(1), latencyMs: 2, jitterMs: 3, loss: 0.01 });
  const nodes = Array.from({ length: 1000 }, (_, i) => network.createTransport(`10.${i >> 8}.${i & 255}.1:7946`));
  let delivered = 0;
  for (const node of nodes) node.onPacket(() => delivered++);
  const payload = new Uint8Array(64);
  const start = performance.now();
  for (let round = 0; round < 100; round++) {
    for (let i = 0; i < 1000; i++) {
      const from = nodes[i]!;
      for (let k = 1; k <= 10; k++) from.sendPacket(nodes[(i + k * 37) % 1000]!.address, payload);
    }
    clock.advance(10);
  }
  clock.advance(100);
  const seconds = (performance.now() - start) / 1000;
  t.equal(delivered + network.stats.dropped.loss, 1_000_000);
  t.equal(network.inFlight, 0);
  t.comment(`${Math.round(1_000_000 / seconds).toLocaleString('en')} datagrams/s`);
  t.ok(seconds < 10, `took ${seconds.toFixed(2)} s`);
});
