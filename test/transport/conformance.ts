/**
 * The behaviour every Transport must share, run against each implementation (real
 * sockets on loopback, the memory network). A factory gives fresh transports `a`, `b`
 * and `c` built with {@link conformanceLimits}; when it supplies `advance`, time is
 * virtual and the suite moves it instead of waiting on the wall clock.
 */
import { setImmediate as tick } from 'node:timers/promises';
import t from 'tap';
import { isClusterError } from '../../lib/errors.js';
import { parseAddress } from '../../lib/transport/address.js';
import type { Stream, Transport, TransportLimits } from '../../lib/transport/transport.js';

/** Limits every factory must build its transports with. */
export const conformanceLimits = {
  maxPacketSize: 1400,
  maxStreamMessage: 2 * 1024 * 1024,
  maxInboundStreams: 4,
} as const satisfies TransportLimits;

/** What a factory returns: fresh transports and a way to dispose of them. */
export interface ConformancePeers {
  a: Transport;
  b: Transport;
  /** A third transport, closed by some tests to get an address nobody listens on. */
  c?: Transport;
  /** Moves virtual time forward; absent for real sockets (the suite then waits). */
  advance?(ms: number): Promise<void>;
  cleanup(): Promise<void>;
}

/** Makes a fresh set of transports. */
export type ConformanceFactory = () => Promise<ConformancePeers>;

/** Waits (in virtual or real time) until `done()` holds; returns the ms it took. */
async function waitFor(env: ConformancePeers, done: () => boolean, what: string, limitMs = 1500): Promise<number> {
  const start = performance.now();
  let virtual = 0;
  for (;;) {
    if (done()) return env.advance ? virtual : performance.now() - start;
    const elapsed = env.advance ? virtual : performance.now() - start;
    if (elapsed > limitMs) throw new Error(`timed out after ${Math.round(elapsed)} ms waiting for ${what}`);
    if (env.advance) {
      await env.advance(1);
      virtual += 1;
    } else {
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }
}

interface Settled<T> {
  done: boolean;
  value?: T;
  error?: unknown;
}

function track<T>(promise: Promise<T>): Settled<T> {
  const state: Settled<T> = { done: false };
  promise.then(
    (value) => Object.assign(state, { done: true, value }),
    (error: unknown) => Object.assign(state, { done: true, error }),
  );
  return state;
}

async function resolveIn<T>(env: ConformancePeers, promise: Promise<T>, what: string, limitMs = 1500): Promise<T> {
  const state = track(promise);
  await waitFor(env, () => state.done, what, limitMs);
  if (state.error !== undefined) throw state.error;
  return state.value as T;
}

/** Sends `messages` in order, honouring back-pressure; call `pump()` until it returns true. */
function sender(stream: Stream, messages: Uint8Array[]): () => boolean {
  let next = 0;
  return () => {
    while (next < messages.length && stream.send(messages[next]!)) next++;
    return next === messages.length;
  };
}

function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

interface Connected {
  out: Stream;
  accepted: Stream;
}

async function connect(env: ConformancePeers, from: Transport, to: Transport): Promise<Connected> {
  const accepted: Stream[] = [];
  to.onStream((s) => accepted.push(s));
  const out = await resolveIn(env, from.dial(to.advertiseAddress, 1000), 'dial');
  await waitFor(env, () => accepted.length > 0, 'accept');
  return { out, accepted: accepted[0]! };
}

/** Registers the conformance tests for one transport implementation under `name`. */
export function runConformance(name: string, factory: ConformanceFactory): void {
  void t.test(`${name}: transport conformance`, async (t) => {
    const use = async (): Promise<ConformancePeers> => {
      const env = await factory();
      t.teardown(() => env.cleanup());
      return env;
    };

    t.test('datagrams arrive with the sender address and move the counters', async (t) => {
      const env = await use();
      const { a, b } = env;
      const got: [Uint8Array, string][] = [];
      b.onPacket((data, from) => got.push([data, from]));
      const payload = bytes(100, 1);
      a.sendPacket(b.advertiseAddress, payload);
      await waitFor(env, () => got.length === 1, 'datagram');
      t.ok(same(got[0]![0], payload), 'payload intact');
      t.equal(got[0]![1], a.advertiseAddress, 'from is the sender address');
      t.equal(a.stats.packetsOut, 1);
      t.equal(a.stats.bytesOut, 100);
      t.equal(b.stats.packetsIn, 1);
      t.equal(b.stats.bytesIn, 100);

      const back: string[] = [];
      a.onPacket((_data, from) => back.push(from));
      b.sendPacket(got[0]![1], new Uint8Array([1]));
      await waitFor(env, () => back.length === 1, 'reply to the from address');
      t.equal(back[0], b.advertiseAddress);
    });

    t.test('a burst of datagrams all arrive on a clean link', async (t) => {
      const env = await use();
      const { a, b } = env;
      const seen = new Set<number>();
      b.onPacket((data) => seen.add(data[0]! | (data[1]! << 8)));
      for (let i = 0; i < 50; i++) a.sendPacket(b.advertiseAddress, new Uint8Array([i & 0xff, i >> 8, 7, 7]));
      await waitFor(env, () => seen.size === 50, '50 datagrams');
      t.equal(seen.size, 50);
    });

    t.test('an oversized datagram is dropped, counted and never sent', async (t) => {
      const env = await use();
      const { a, b } = env;
      const sizes: number[] = [];
      b.onPacket((data) => sizes.push(data.length));
      const dropped = a.stats.packetsDropped;
      a.sendPacket(b.advertiseAddress, new Uint8Array(conformanceLimits.maxPacketSize + 1));
      t.equal(a.stats.packetsDropped, dropped + 1, 'counted at once');
      t.equal(a.stats.packetsOut, 0, 'not sent');
      a.sendPacket(b.advertiseAddress, new Uint8Array(conformanceLimits.maxPacketSize));
      await waitFor(env, () => sizes.length === 1, 'the max-size datagram');
      t.same(sizes, [conformanceLimits.maxPacketSize], 'only the datagram within the limit arrived');
    });

    t.test('sendPacket never throws for bad destinations', async (t) => {
      const env = await use();
      const { a } = env;
      t.doesNotThrow(() => a.sendPacket('not an address', new Uint8Array(3)));
      t.doesNotThrow(() => a.sendPacket('[::1', new Uint8Array(3)));
      t.equal(a.stats.packetsDropped, 2);
    });

    t.test('dial and accept', async (t) => {
      const env = await use();
      const { a, b } = env;
      const { out, accepted } = await connect(env, a, b);
      t.equal(out.remote, b.advertiseAddress, 'dialed stream names the dialed address');
      t.equal(parseAddress(accepted.remote).host, parseAddress(a.advertiseAddress).host, 'accepted stream names the dialer host');
      t.equal(a.stats.streamsOpened, 1);
      t.equal(b.stats.streamsAccepted, 1);
    });

    t.test('stream messages arrive whole and in order, both ways, up to 1 MiB', async (t) => {
      const env = await use();
      const { a, b } = env;
      const { out, accepted } = await connect(env, a, b);
      const make = (seed: number): Uint8Array[] => {
        const list: Uint8Array[] = [];
        for (let i = 0; i < 100; i++) list.push(bytes(1 + (i % 50), seed + i));
        list.push(new Uint8Array(0));
        list.push(bytes(1024 * 1024, seed));
        list.push(bytes(70_000, seed + 1));
        for (let i = 0; i < 100; i++) list.push(bytes(1 + i, seed + 1000 + i));
        return list;
      };
      const toB = make(1);
      const toA = make(2);
      const atA: Uint8Array[] = [];
      const atB: Uint8Array[] = [];
      out.onMessage((m) => atA.push(m));
      accepted.onMessage((m) => atB.push(m));
      const pumpA = sender(out, toB);
      const pumpB = sender(accepted, toA);
      await waitFor(env, () => {
        pumpA();
        pumpB();
        return atA.length === toA.length && atB.length === toB.length;
      }, 'all stream messages', 5000);
      t.ok(toB.every((m, i) => same(m, atB[i]!)), 'a → b in order and intact');
      t.ok(toA.every((m, i) => same(m, atA[i]!)), 'b → a in order and intact');
      t.ok(a.stats.bytesOut >= 1024 * 1024 && b.stats.bytesIn >= 1024 * 1024, 'stream bytes counted');
    });

    t.test('close flushes pending messages, then ends both sides without error', async (t) => {
      const env = await use();
      const { a, b } = env;
      const { out, accepted } = await connect(env, a, b);
      const got: number[] = [];
      const closes: (Error | undefined)[] = [];
      accepted.onMessage((m) => got.push(m[0]!));
      accepted.onClose((err) => closes.push(err));
      out.onClose((err) => closes.push(err));
      for (let i = 0; i < 3; i++) t.ok(out.send(new Uint8Array([i])));
      out.close();
      t.notOk(out.send(new Uint8Array([9])), 'send after close is refused');
      await waitFor(env, () => closes.length === 2, 'both ends closed');
      t.same(got, [0, 1, 2], 'messages sent before close were delivered');
      t.same(closes, [undefined, undefined], 'a clean close carries no error');
      let late: unknown = 'not called';
      accepted.onClose((err) => (late = err));
      t.equal(late, undefined, 'onClose after the end is called at once');
    });

    t.test('a message larger than maxStreamMessage is refused by the sender', async (t) => {
      const env = await use();
      const { out } = await connect(env, env.a, env.b);
      t.throws(() => out.send(new Uint8Array(conformanceLimits.maxStreamMessage + 1)), { code: 'E_LIMIT' });
      t.ok(out.send(new Uint8Array(10)), 'the stream still works');
    });

    t.test('dialing an address nobody listens on fails within the timeout', async (t) => {
      const env = await use();
      const { a, c } = env;
      if (!c) {
        t.pass('skipped: the factory gives no third transport');
        return;
      }
      const address = c.advertiseAddress;
      await c.close();
      const state = track(a.dial(address, 400));
      const took = await waitFor(env, () => state.done, 'dial to settle', 1000);
      t.ok(took <= 400 + 100, `settled in ${Math.round(took)} ms`);
      t.ok(isClusterError(state.error, 'E_UNREACHABLE') || isClusterError(state.error, 'E_TIMEOUT'), String(state.error));
    });

    t.test('close is idempotent, rejects pending dials and ends streams', async (t) => {
      const env = await use();
      const { a, b } = env;
      const { out, accepted } = await connect(env, a, b);
      const closes: string[] = [];
      out.onClose(() => closes.push('a'));
      accepted.onClose(() => closes.push('b'));
      const pending = track(a.dial(b.advertiseAddress, 2000));
      const first = a.close();
      const second = a.close();
      await Promise.all([first, second]);
      await a.close();
      await waitFor(env, () => pending.done, 'pending dial to reject');
      t.ok(isClusterError(pending.error, 'E_CLOSED'), `pending dial: ${String(pending.error)}`);
      await t.rejects(a.dial(b.advertiseAddress, 100), { code: 'E_CLOSED' });
      t.doesNotThrow(() => a.sendPacket(b.advertiseAddress, new Uint8Array(1)));
      await waitFor(env, () => closes.length === 2, 'both stream ends closed');
      t.notOk(out.send(new Uint8Array(1)), 'a closed stream refuses sends');
    });

    t.test('inbound streams beyond maxInboundStreams are refused and counted', async (t) => {
      const env = await use();
      const { a, b } = env;
      const accepted: Stream[] = [];
      b.onStream((s) => accepted.push(s));
      const streams: Stream[] = [];
      for (let i = 0; i < conformanceLimits.maxInboundStreams; i++) {
        streams.push(await resolveIn(env, a.dial(b.advertiseAddress, 1000), 'dial'));
      }
      await waitFor(env, () => accepted.length === conformanceLimits.maxInboundStreams, 'accepts');
      const errors = b.stats.streamErrors;
      const extra = track(a.dial(b.advertiseAddress, 1000));
      let extraClosed = false;
      await waitFor(env, () => {
        if (extra.done && extra.value && !extraClosed) extra.value.onClose(() => (extraClosed = true));
        return extra.done && (extra.error !== undefined || extraClosed);
      }, 'the extra stream to be refused');
      t.equal(b.stats.streamErrors, errors + 1, 'refusal counted');
      t.equal(accepted.length, conformanceLimits.maxInboundStreams, 'not handed to the application');

      // a slot frees up when a stream ends
      let freed = false;
      accepted[0]!.onClose(() => (freed = true));
      streams[0]!.close();
      await waitFor(env, () => freed, 'a stream to end');
      const again = await resolveIn(env, a.dial(b.advertiseAddress, 1000), 'dial after a slot freed');
      await waitFor(env, () => accepted.length === conformanceLimits.maxInboundStreams + 1, 'accept');
      const echoed: Uint8Array[] = [];
      accepted.at(-1)!.onMessage((m) => echoed.push(m));
      t.ok(again.send(new Uint8Array([42])));
      await waitFor(env, () => echoed.length === 1, 'message on the new stream');
    });

    t.test('messages that arrive before onMessage is set are held', async (t) => {
      const env = await use();
      const { a, b } = env;
      const accepted: Stream[] = [];
      b.onStream((s) => {
        accepted.push(s);
        s.send(new Uint8Array([1]));
        s.send(new Uint8Array([2]));
      });
      const out = await resolveIn(env, a.dial(b.advertiseAddress, 1000), 'dial');
      // give the messages time to arrive with no handler set
      await waitFor(env, () => accepted.length === 1, 'accept');
      for (let i = 0; i < 20; i++) {
        if (env.advance) await env.advance(5);
        else await tick();
      }
      const got: number[] = [];
      out.onMessage((m) => got.push(m[0]!));
      await waitFor(env, () => got.length === 2, 'held messages');
      t.same(got, [1, 2]);
    });
  });
}
