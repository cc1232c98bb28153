import t from 'tap';
import fc from 'fast-check';
import { Batcher, type BatchOutput, type TrafficClass } from '../../lib/codec/batcher.js';
import { FrameDecoder, FrameEncoder } from '../../lib/codec/frame.js';
import { Keyring } from '../../lib/codec/keyring.js';
import { encodeMessage, type AnyMessage } from '../../lib/codec/messages.js';
import { Random } from '../../lib/random.js';

const rnd = new Random('batcher-test');
const key = rnd.bytes(32);

const noise = rnd.bytes(4096);

/** An incompressible alive message of exactly `size` bytes (≥ 20), tagged by `id` (its incarnation). */
function msg(id: number, size = 40): Uint8Array {
  const make = (n: number): Uint8Array =>
    encodeMessage({ type: 'alive', node: 'n', incarnation: id, addr: 'h:1', meta: noise.subarray(0, Math.max(0, n)) });
  let n = size - make(0).length;
  let m = make(n);
  // the bin header grows from 2 to 3 bytes past 255: step back until the size matches
  while (m.length > size && n > 0) m = make(--n);
  return m;
}

function ids(decoder: FrameDecoder, out: BatchOutput): number[][] {
  return out.frames.map((f) => {
    const r = decoder.decode(f.frame);
    if (!r.ok) throw r.error;
    return r.messages.map((m: AnyMessage) => (m.type === 'alive' ? m.incarnation : m.type === 'nack' ? -m.seq : NaN));
  });
}

t.test('priority: membership, then replication, then sync', async (t) => {
  const b = new Batcher({ encoder: new FrameEncoder() });
  b.enqueue('p', msg(1), 'sync');
  b.enqueue('p', msg(2), 'replication');
  b.enqueue('p', msg(3), 'membership');
  b.enqueue('p', msg(4), 'replication');
  const out = b.flush(0);
  t.same(ids(new FrameDecoder(), out), [[3, 2, 4, 1]]);
  t.equal(b.stats.framesByClass.sync, 1);
  t.equal(b.flush(100).frames.length, 0, 'nothing left');
});

t.test('frames split at the budget and fill in priority order', async (t) => {
  const b = new Batcher({ encoder: new FrameEncoder({ compressThreshold: Infinity }), maxFrameBytes: 500 });
  for (let i = 0; i < 10; i++) b.enqueue('p', msg(i, 100), i % 2 ? 'membership' : 'sync');
  const out = b.flush(0);
  t.ok(out.frames.every((f) => f.frame.length <= 500));
  const all = ids(new FrameDecoder(), out).flat();
  t.same(all, [1, 3, 5, 7, 9, 0, 2, 4, 6, 8]);
  t.equal(out.frames.length, 3);
});

t.test('per-class allowances; membership is never held back', async (t) => {
  const b = new Batcher({
    encoder: new FrameEncoder(),
    replicationBytesPerFlush: 1000,
    syncBytesPerFlush: 400,
    bulkBytesPerFlush: 1200,
  });
  for (let i = 0; i < 20; i++) b.enqueue('p', msg(100 + i, 200), 'replication');
  for (let i = 0; i < 20; i++) b.enqueue('p', msg(200 + i, 200), 'sync');
  for (let i = 0; i < 50; i++) b.enqueue('p', msg(i, 200), 'membership');
  const d = new FrameDecoder();
  const first = ids(d, b.flush(0)).flat();
  t.equal(first.filter((x) => x < 100).length, 50, 'all membership sent');
  t.equal(first.filter((x) => x >= 100 && x < 200).length, 5, 'replication up to its allowance');
  t.equal(first.filter((x) => x >= 200).length, 1, 'sync limited by the combined allowance, but never starved');
  const second = ids(d, b.flush(100)).flat();
  t.same(second.slice(0, 5), [105, 106, 107, 108, 109], 'the rest waits for the next flush, in order');
  t.equal(b.queuedMessages('p', 'replication'), 10);
});

t.test('sendNow carries the critical message first plus queued messages', async (t) => {
  const b = new Batcher({ encoder: new FrameEncoder() });
  b.enqueue('p', msg(1), 'sync');
  b.enqueue('p', msg(2), 'membership');
  b.enqueue('q', msg(3), 'membership');
  const ping = encodeMessage({ type: 'nack', seq: 9 });
  const out = b.sendNow('p', ping);
  t.equal(out.frames.length, 1);
  t.equal(out.frames[0]!.peer, 'p');
  t.same(ids(new FrameDecoder(), out), [[-9, 2, 1]]);
  t.equal(b.queuedBytes('p'), 0);
  t.ok(b.queuedBytes('q') > 0, 'other peers untouched');
  const solo = b.sendNow('r', ping);
  t.same(ids(new FrameDecoder(), solo), [[-9]]);
});

t.test('oversized messages go to the stream path', async (t) => {
  const b = new Batcher({ encoder: new FrameEncoder() });
  const big = msg(1, 1500);
  t.equal(b.enqueue('p', big, 'replication'), 'needs-stream');
  const out = b.sendNow('p', big);
  t.same(out.stream, [{ peer: 'p', message: big }]);
  t.equal(out.frames.length, 0);
  t.equal(b.stats.needsStream, 2);
  const exact = msg(2, b.maxMessageBytes());
  t.equal(exact.length, b.maxMessageBytes());
  t.equal(b.enqueue('p', exact, 'replication'), 'queued');
  const f = b.flush(0).frames;
  t.equal(f.length, 1);
  t.equal(f[0]!.frame.length, 1400, 'fills the datagram to the byte');
});

t.test('switching encryption on re-routes queued messages that no longer fit', async (t) => {
  const ring = new Keyring(key, { encryptOutgoing: false, requireEncryptedIncoming: false });
  const b = new Batcher({ encoder: new FrameEncoder({ keyring: ring, noncePrefix: rnd.bytes(6) }) });
  const m = msg(1, b.maxMessageBytes());
  t.equal(b.enqueue('p', m, 'membership'), 'queued');
  b.enqueue('p', msg(2), 'membership');
  ring.encryptOutgoing = true;
  const out = b.flush(0);
  t.same(out.stream.map((s) => s.message), [m]);
  t.same(ids(new FrameDecoder({ keyring: ring }), out), [[2]]);
});

t.test('bounded outbox drops oldest lowest-priority messages and counts them', async (t) => {
  const size = 100;
  const b = new Batcher({ encoder: new FrameEncoder(), maxOutboxBytes: 10 * size });
  for (let i = 0; i < 4; i++) b.enqueue('p', msg(i, size), 'membership');
  for (let i = 10; i < 14; i++) b.enqueue('p', msg(i, size), 'replication');
  for (let i = 20; i < 22; i++) b.enqueue('p', msg(i, size), 'sync');
  t.equal(b.enqueue('p', msg(30, size), 'replication'), 'queued');
  t.equal(b.stats.dropped.sync, 1, 'oldest sync evicted first');
  t.equal(b.enqueue('p', msg(31, size), 'sync'), 'queued', 'sync evicts only sync');
  t.equal(b.stats.dropped.sync, 2);
  t.equal(b.enqueue('p', msg(32, size), 'membership'), 'queued');
  t.equal(b.enqueue('p', msg(33, size), 'membership'), 'queued');
  t.equal(b.stats.dropped.sync, 3);
  t.equal(b.stats.dropped.replication, 1);
  const s = new Batcher({ encoder: new FrameEncoder(), maxOutboxBytes: 2 * size });
  s.enqueue('p', msg(1, size), 'membership');
  s.enqueue('p', msg(2, size), 'membership');
  t.equal(s.enqueue('p', msg(3, size), 'sync'), 'dropped', 'sync never evicts membership');
  t.equal(s.enqueue('p', msg(4, size), 'membership'), 'queued', 'membership evicts its own oldest last');
  t.same(ids(new FrameDecoder(), s.flush(0)).flat(), [2, 4]);
  t.equal(s.stats.dropped.membership, 1);
  t.equal(s.stats.dropped.sync, 1);
});

t.test('piggyback is offered the exact free space and cannot starve the queues', async (t) => {
  const offers: number[] = [];
  let n = 1000;
  const b = new Batcher({
    encoder: new FrameEncoder({ compressThreshold: Infinity }),
    piggyback: (_peer, remaining) => {
      offers.push(remaining);
      // greedy: fill everything offered with 50-byte gossip
      const out: Uint8Array[] = [];
      for (let left = remaining; left >= 50; left -= 50) out.push(msg(n++, 50));
      return out;
    },
  });
  for (let i = 0; i < 30; i++) b.enqueue('p', msg(i, 300), 'replication');
  const out = b.flush(0);
  const got = ids(new FrameDecoder(), out);
  t.equal(got.flat().filter((x) => x < 1000).length, 30, 'every queued message still went out');
  t.ok(out.frames.every((f) => f.frame.length <= 1400));
  t.equal(b.stats.piggybackRefused, 0, 'offers were honest');
  t.ok(b.stats.piggybacked > 0);
  t.equal(offers.length, out.frames.length, 'offered once per frame');
  t.equal(b.flush(100).frames.length, 0, 'no gossip-only frames from flush');
});

t.test('idle outboxes are forgotten', async (t) => {
  const b = new Batcher({ encoder: new FrameEncoder() });
  b.enqueue('p', msg(1), 'membership');
  b.flush(0);
  b.flush(100);
  t.equal(b.queuedBytes('p'), 0);
  t.equal(b.lastFlushAt, 100);
  t.throws(() => new Batcher({ encoder: new FrameEncoder(), maxFrameBytes: 3 }), { code: 'E_CONFIG' });
});

const classes: TrafficClass[] = ['membership', 'replication', 'sync'];
const op = fc.oneof(
  fc.record({ kind: fc.constant('enqueue' as const), peer: fc.nat(2), size: fc.integer({ min: 20, max: 1600 }), cls: fc.nat(2) }),
  fc.record({ kind: fc.constant('send' as const), peer: fc.nat(2), size: fc.integer({ min: 20, max: 200 }) }),
  fc.record({ kind: fc.constant('flush' as const) }),
);

t.test('property: no frame exceeds the budget, nothing is lost or reordered within a class', async (t) => {
  fc.assert(
    fc.property(
      fc.array(op, { maxLength: 60 }),
      fc.integer({ min: 200, max: 1500 }),
      fc.boolean(),
      fc.constantFrom('', 'lbl', 'a-much-longer-cluster-label'),
      fc.boolean(),
      (ops, budget, encrypt, label, gossip) => {
        const ring = new Keyring(key);
        const encoder = new FrameEncoder({
          label,
          compressThreshold: 64,
          ...(encrypt ? { keyring: ring, noncePrefix: rnd.bytes(6) } : {}),
        });
        const decoder = new FrameDecoder({ label, ...(encrypt ? { keyring: ring } : {}) });
        let gossipId = 1_000_000;
        const b = new Batcher({
          encoder,
          maxFrameBytes: budget,
          maxOutboxBytes: 1 << 30,
          ...(gossip ? { piggyback: (_p: string, r: number) => (r >= 60 ? [msg(gossipId++, Math.min(r, 90))] : []) } : {}),
        });
        const sent = new Map<string, number[]>(); // peer/class → ids in enqueue order
        const got = new Map<string, number[]>();
        let id = 0;
        const collect = (out: BatchOutput): boolean => {
          for (const f of out.frames) {
            if (f.frame.length > budget) return false;
            const r = decoder.decode(f.frame);
            if (!r.ok) return false;
            for (const m of r.messages) {
              if (m.type !== 'alive' || m.incarnation >= 1_000_000) continue;
              const cls = m.incarnation % 3;
              const k = `${f.peer}/${cls}`;
              got.set(k, [...(got.get(k) ?? []), m.incarnation]);
            }
          }
          return true;
        };
        for (const o of ops) {
          if (o.kind === 'flush') {
            if (!collect(b.flush(0))) return false;
          } else if (o.kind === 'send') {
            if (!collect(b.sendNow(`p${o.peer}`, encodeMessage({ type: 'nack', seq: 1 })))) return false;
          } else {
            const myId = id * 3 + o.cls;
            id++;
            const m = msg(myId, o.size);
            const r = b.enqueue(`p${o.peer}`, m, classes[o.cls]!);
            if (r === 'needs-stream') {
              if (m.length <= b.maxMessageBytes()) return false;
              continue;
            }
            const k = `p${o.peer}/${o.cls}`;
            sent.set(k, [...(sent.get(k) ?? []), myId]);
          }
        }
        for (let i = 0; i < 200 && [0, 1, 2].some((p) => b.queuedBytes(`p${p}`) > 0); i++) {
          if (!collect(b.flush(i))) return false;
        }
        for (const [k, list] of sent) if (JSON.stringify(got.get(k) ?? []) !== JSON.stringify(list)) return false;
        return [...got.keys()].every((k) => sent.has(k));
      },
    ),
    { seed: 99, numRuns: 150 },
  );
  t.pass();
});
