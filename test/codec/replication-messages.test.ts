import t from 'tap';
import fc from 'fast-check';
import { decode } from '@msgpack/msgpack';
import { decodeMessage, encodeMessage, type AnyMessage } from '../../lib/codec/messages.js';
import { ReplicationMessageType, type DeltasMessage, type MerkleMessage } from '../../lib/codec/replication-messages.js';
import { FrameDecoder, FrameEncoder } from '../../lib/codec/frame.js';
import type { Delta, PresenceSetDelta, PublishDelta } from '../../lib/replica/delta.js';
import type { HistoryEntry } from '../../lib/replica/history.js';
import type { PresenceEntry } from '../../lib/replica/presence.js';
import { Replica, type SyncRecord } from '../../lib/replica/replica.js';
import { hlcPack } from '../../lib/hlc.js';
import { isClusterError } from '../../lib/errors.js';

const seed = 20240602;
const NOW = hlcPack(1_700_000_000_000, 0);
const name = fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 24 }).filter((s) => !s.includes('\u0000'));
const uint = fc.oneof(fc.nat(1000), fc.maxSafeNat());
const pos = fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER });
// payloads: any msgpack value of moderate depth (what the channels API accepts)
const payload: fc.Arbitrary<unknown> = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.boolean(),
  fc.constant(null),
  fc.uint8Array({ maxLength: 64 }),
  fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }).filter((k) => k !== '__proto__'), fc.oneof(fc.string(), fc.integer()), { maxKeys: 4 }),
  fc.array(fc.oneof(fc.string(), fc.integer(), fc.array(fc.integer(), { maxLength: 3 })), { maxLength: 5 }),
);
const headers = fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }).filter((k) => k !== '__proto__'), fc.string({ maxLength: 16 }), { maxKeys: 3 });

const delta: fc.Arbitrary<Delta> = fc.oneof(
  fc.record({ kind: fc.constantFrom('join' as const, 'update' as const), node: name, epoch: uint, seq: pos, channel: name, clientId: name, user: name, info: payload, since: uint }),
  fc.record({ kind: fc.constant('leave' as const), node: name, epoch: uint, seq: pos, channel: name, clientId: name }),
  fc.record({ kind: fc.constant('publish' as const), node: name, epoch: uint, seq: pos, channel: name, ts: uint, c: uint, data: payload, headers, idempotencyKey: name }, { requiredKeys: ['kind', 'node', 'epoch', 'seq', 'channel', 'ts', 'c', 'data'] }),
);
const vector = fc.array(fc.tuple(name, uint, uint), { maxLength: 8 });
const record: fc.Arbitrary<SyncRecord> = fc.oneof(
  fc.record({ kind: fc.constant('presence' as const), entry: fc.record({ channel: name, clientId: name, user: name, info: payload, node: name, epoch: uint, seq: uint, since: uint }) }),
  fc.record({ kind: fc.constant('history' as const), entry: fc.record({ channel: name, node: name, epoch: uint, seq: uint, ts: uint, c: uint, data: payload, headers, idempotencyKey: name }, { requiredKeys: ['channel', 'node', 'epoch', 'seq', 'ts', 'c', 'data'] }) }),
  fc.record({ kind: fc.constant('low-water' as const), channel: name, mark: fc.record({ ts: uint, node: name, epoch: uint, seq: uint }) }),
  fc.record({
    kind: fc.constant('low-water' as const), channel: name, mark: fc.record({ ts: uint, node: name, epoch: uint, seq: uint }),
    drops: fc.record({ records: fc.array(fc.record({ ts: uint, node: name, epoch: uint, seq: uint, c: pos }), { maxLength: 4 }), horizon: fc.record({ ts: uint, node: name, epoch: uint, seq: uint }) }, { requiredKeys: ['records'] }),
  }),
);
const bin8 = fc.uint8Array({ minLength: 8, maxLength: 8 });
const nodes = fc.array(fc.nat(69_904), { maxLength: 6 });
const merkle = fc.record({
  sid: uint,
  root: bin8, digest: bin8, wantContext: fc.constant(true as const),
  expand: fc.record({ nodes, levels: fc.integer({ min: 1, max: 4 }), hashes: fc.uint8Array({ maxLength: 64 }) }),
  list: nodes.chain((ns) => fc.record({ nodes: fc.constant(ns), counts: fc.array(fc.nat(40), { minLength: ns.length, maxLength: ns.length }), hashes: fc.uint8Array({ maxLength: 64 }) })),
  records: fc.array(record, { maxLength: 4 }),
  want: fc.uint8Array({ maxLength: 32 }),
  stale: fc.array(record, { maxLength: 3 }),
  done: fc.constant(true as const),
  context: fc.record({ vector, floors: vector }, { requiredKeys: ['vector'] }),
  partial: fc.constant(true as const),
}, { requiredKeys: ['sid'] });

const messages: Record<string, fc.Arbitrary<AnyMessage>> = {
  deltas: fc.record({ type: fc.constant('deltas' as const), from: name, deltas: fc.array(delta, { maxLength: 6 }) }),
  'vector-request': fc.record({ type: fc.constant('vector-request' as const), from: name, vector }),
  'delta-reply': fc.record({
    type: fc.constant('delta-reply' as const), from: name,
    reply: fc.record({ deltas: fc.array(delta, { maxLength: 4 }), truncated: fc.constant(true as const), unexplained: fc.constant(true as const), vector }, { requiredKeys: ['deltas'] }),
  }),
  'origin-removed': fc.record({ type: fc.constant('origin-removed' as const), from: name, epoch: uint }),
  merkle: fc.record({ type: fc.constant('merkle' as const), from: name, msg: merkle }),
  'bulk-request': fc.record({ type: fc.constant('bulk-request' as const), from: name, sid: uint }),
  'bulk-chunk': fc.record({ type: fc.constant('bulk-chunk' as const), sid: uint, index: uint, parts: fc.array(fc.uint8Array({ maxLength: 32 }), { maxLength: 3 }), rawBytes: uint }),
};

// a decoded value equals the original up to msgpack's normal forms (Buffer vs Uint8Array, -0)
function norm(v: unknown): unknown {
  if (v instanceof Uint8Array) return { bin: [...v] };
  if (Array.isArray(v)) return v.map(norm);
  if (typeof v === 'number' && Object.is(v, -0)) return 0;
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, x]) => [k, norm(x)]));
  return v;
}

for (const [type, arb] of Object.entries(messages)) {
  t.test(`${type} round-trips through msgpack and frames`, async (t) => {
    const enc = new FrameEncoder();
    const dec = new FrameDecoder({ maxBodyBytes: 4 << 20 });
    fc.assert(
      fc.property(arb, (m) => {
        const bytes = encodeMessage(m);
        const back = decodeMessage(decode(bytes));
        const framed = dec.decode(enc.encode([bytes]));
        return JSON.stringify(norm(back)) === JSON.stringify(norm(m)) && framed.ok && JSON.stringify(norm(framed.messages[0])) === JSON.stringify(norm(m));
      }),
      { seed, numRuns: 200 },
    );
    t.pass();
  });
}

t.test('numbers sit in the replication (16-31) and anti-entropy (32-47) ranges', async (t) => {
  for (const [k, n] of Object.entries(ReplicationMessageType)) {
    t.ok(k === 'merkle' || k.startsWith('bulk') ? n >= 32 && n <= 47 : n >= 16 && n <= 31, `${k} = ${n}`);
  }
  t.same(decode(encodeMessage({ type: 'origin-removed', from: 'a', epoch: 3 })), [19, 'a', 3]);
  // a converged Merkle check is a handful of bytes: absent trailing fields are omitted
  t.ok(encodeMessage({ type: 'merkle', from: 'n1', msg: { sid: 1, root: new Uint8Array(8), digest: new Uint8Array(8) } }).length < 32);
});

t.test('strict validation: every malformed field is refused with its name', async (t) => {
  const rejects = (value: unknown, pattern: RegExp): void => {
    try {
      decodeMessage(value);
      t.fail(`accepted ${JSON.stringify(value)}`);
    } catch (err) {
      t.ok(isClusterError(err, 'E_MESSAGE_INVALID'), 'E_MESSAGE_INVALID');
      t.match((err as Error).message, pattern);
    }
  };
  rejects([16, 'a', 'nope'], /deltas: expected an array/);
  rejects([16, 'a', [[7, 'n', 1, 1, 'c']]], /deltas\[0\]\.kind/);
  rejects([16, 'a', [[3, 'n', 1, 0, 'c', 1, 'x']]], /deltas\[0\]\.seq: sequence numbers start at 1/);
  rejects([16, 'a', [[3, 'n', 1.5, 1, 'c', 1, 'x']]], /deltas\[0\]\.epoch/);
  rejects([16, 'a', [[3, 'n', 1, 1, '', 1, 'x']]], /deltas\[0\]\.channel/);
  rejects([16, 'a', [[3, 'n', 1, 1, 'c\u0000d', 1, 'x']]], /contains NUL/);
  rejects([16, 'a', [[3, 'n', 1, 1, 'x'.repeat(2000), 1, 'x']]], /longer than 1024 bytes/);
  rejects([16, 'a', [[3, 'n', 1, 1, 'c', 1, 'x', 1, { h: 5 }]]], /headers/);
  rejects([16, 'a', [[3, 'n', 1, 1, 'c', 1]]], /publish has 6 fields/);
  rejects([16, 'a', [[3, 'n', 1, 1, 'c', 1, 'x']]], /publish has 7 fields, expected at least 8/);
  rejects([16, 'a', [[3, 'n', 1, 1, 'c', 1, 'x', -2]]], /deltas\[0\]\.c/);
  // the fast path for plain publishes accepts only what the checked path accepts
  rejects([16, 'a', [[3, 'é'.repeat(70), 1, 1, 'c', 1, 'x', 1]]], /deltas\[0\]\.node: longer than 128 bytes/);
  rejects([16, 'a', [[3, 'n\u0000', 1, 1, 'c', 1, 'x', 1]]], /deltas\[0\]\.node: contains NUL/);
  rejects([16, 'a', [[3, 'n', 1, 1, 'c', -1, 'x', 1]]], /deltas\[0\]\.ts/);
  rejects([16, 'a', [[3, 'n', 1, 1, 'c', 1, 'x', 1, null, 'k', 'extra']]], /deltas\[0\]: 11 items exceed/);
  rejects([16, 'a', [[3, 'n', 1, 1, 'c', 1, 'x', 1, null, 5]]], /deltas\[0\]\.idempotencyKey/);
  const accepted = decodeMessage([16, 'a', [[3, 'n'.repeat(100), 1, 2, 'c', 3, { x: 1 }, 1], [3, 'n', 1, 3, 'c', 4, 'y', 2, { h: 'v' }, 'k'], [3, 'n', 1, 4, 'c', 5, null, 3, null, null]]]) as { deltas: Delta[] };
  t.same(accepted.deltas, [
    { kind: 'publish', node: 'n'.repeat(100), epoch: 1, seq: 2, channel: 'c', ts: 3, c: 1, data: { x: 1 } },
    { kind: 'publish', node: 'n', epoch: 1, seq: 3, channel: 'c', ts: 4, c: 2, data: 'y', headers: { h: 'v' }, idempotencyKey: 'k' },
    { kind: 'publish', node: 'n', epoch: 1, seq: 4, channel: 'c', ts: 5, c: 3, data: null },
  ]);
  rejects([16, 'a', [[0, 'n', 1, 1, 'c', 'id', 'u', null]]], /join has 8 fields/);
  rejects([17, 'a', [['n', 1]]], /vector\[0\]/);
  rejects([17, 'a', [['n', 1, -1]]], /vector\[0\]\.seq/);
  rejects([18, 'a', [], 4], /flags/);
  rejects([19, 'a', -1], /epoch/);
  rejects([32, 'a', 1, 8], /flags/);
  rejects([32, 'a', 1, 0, new Uint8Array(7)], /root: expected 8 bytes/);
  rejects([32, 'a', 1, 0, null, null, [[1], 0, new Uint8Array(0)]], /expand\.levels/);
  rejects([32, 'a', 1, 0, null, null, null, [[1, 2], [3], new Uint8Array(0)]], /nodes and counts differ/);
  rejects([32, 'a', 1, 0, null, null, null, null, [[5, 'c']]], /records\[0\]\.kind/);
  rejects([32, 'a', 1, 0, null, null, null, null, [[0, 'c', 'id', 'u', null, 'n', 1, 1]]], /presence record needs 9 fields/);
  rejects([33, 'a', 'x'], /sid/);
  rejects([34, 1, 0, new Array(65).fill(new Uint8Array(1)), 1], /parts: 65 items exceed/);
  rejects([34, 1, 0, ['x'], 1], /parts\[0\]: expected binary/);
});

t.test('binary payloads decoded from a frame own their bytes, so what the replica keeps does not pin the frame', async (t) => {
  // the msgpack decoder returns bins as views of the body it decodes: of the datagram, or
  // of the 16 KiB chunk native inflate wrote a deflated body into. Kept in history,
  // presence or the delta ring, each such view would keep that whole buffer alive.
  const owns = (b: unknown): boolean => b instanceof Uint8Array && b.byteOffset === 0 && b.byteLength === b.buffer.byteLength;
  const bin = (n: number): Uint8Array => new Uint8Array(n).fill(n);
  const source = new Replica({ node: 'a', epoch: 1 });
  const deltas = [
    source.publish('ch', bin(10), NOW).delta!,
    source.join('ch', 'c1', 'u1', { avatar: bin(5), tags: [bin(3)] }, NOW + 1).delta!,
    source.publish('ch', { parts: [bin(7)], padding: 'x'.repeat(600) }, NOW + 2).delta!,
  ];
  const records: SyncRecord[] = [
    { kind: 'history', entry: { channel: 'ch', node: 'a', epoch: 1, seq: 9, ts: NOW + 9, c: 3, data: bin(6) } },
    { kind: 'presence', entry: { channel: 'ch', clientId: 'c2', user: 'u2', info: bin(4), node: 'a', epoch: 1, seq: 10, since: NOW } },
  ];
  for (const deflate of [false, true]) {
    const enc = new FrameEncoder({ compressThreshold: deflate ? 384 : 1 << 30 });
    const dec = new FrameDecoder();
    const frame = enc.encode([encodeMessage({ type: 'deltas', from: 'a', deltas }), encodeMessage({ type: 'merkle', from: 'a', msg: { sid: 1, records } })]);
    const r = dec.decode(frame);
    if (!r.ok) throw r.error;
    t.equal(r.deflated, deflate, deflate ? 'deflated body' : 'plain body');
    const [ds, mk] = r.messages as [DeltasMessage, MerkleMessage];
    const got = ds.deltas as [PublishDelta, PresenceSetDelta, PublishDelta];
    t.ok(owns(got[0].data), 'publish data');
    t.ok(owns((got[1].info as { avatar: Uint8Array }).avatar) && owns((got[1].info as { tags: Uint8Array[] }).tags[0]), 'presence info, nested');
    t.ok(owns((got[2].data as { parts: Uint8Array[] }).parts[0]), 'publish data, nested');
    const [hist, pres] = mk.msg.records as unknown as [{ entry: HistoryEntry }, { entry: PresenceEntry }];
    t.ok(owns(hist.entry.data) && owns(pres.entry.info), 'Merkle records');
    // and what a replica stores from them
    const sink = new Replica({ node: 'b', epoch: 1 });
    sink.apply(got, NOW + 3);
    const stored = sink.history.entries('ch');
    t.equal(stored.length, 2);
    t.ok(owns(stored[0]!.data) && owns((stored[1]!.data as { parts: Uint8Array[] }).parts[0]), 'history entries the replica holds');
    t.ok(owns((sink.presence.get('ch', 'c1')!.info as { avatar: Uint8Array }).avatar), 'presence the replica holds');
    t.same([...(stored[0]!.data as Uint8Array)], [...bin(10)], 'same bytes');
  }
});
