import t from 'tap';
import fc from 'fast-check';
import { decode } from '@msgpack/msgpack';
import {
  decodeMessage,
  defineMessage,
  encodeMessage,
  isUnknownMessage,
  MessageType,
  resolveMessageLimits,
  type AnyMessage,
} from '../../lib/codec/messages.js';
import { FrameDecoder, FrameEncoder } from '../../lib/codec/frame.js';
import { isClusterError } from '../../lib/errors.js';
import { byType, norm } from './fixtures/arbitraries.js';

const seed = 20240601;

for (const [type, arb] of Object.entries(byType)) {
  t.test(`${type} round-trips through msgpack`, async (t) => {
    fc.assert(
      fc.property(arb as fc.Arbitrary<AnyMessage>, (m) => {
        const bytes = encodeMessage(m);
        const wire = decode(bytes) as unknown[];
        const back = decodeMessage(wire);
        return JSON.stringify(norm(back)) === JSON.stringify(norm(m));
      }),
      { seed, numRuns: 300 },
    );
    t.pass();
  });
}

t.test('wire layout is [typeNumber, ...fields] with optional fields omitted', async (t) => {
  t.same(decode(encodeMessage({ type: 'ack', seq: 7 })), [MessageType.ack, 7]);
  t.same(decode(encodeMessage({ type: 'nack', seq: 1 })), [4, 1]);
  t.same(decode(encodeMessage({ type: 'suspect', node: 'a', incarnation: 2, from: 'b' })), [5, 'a', 2, 'b']);
  t.same(
    decode(encodeMessage({ type: 'ping', seq: 1, target: '', source: 's', sourceAddr: '10.0.0.1:7946' })),
    [1, 1, '', 's', '10.0.0.1:7946'],
  );
  const pp = decode(
    encodeMessage({ type: 'push-pull', join: true, members: [{ node: 'n', addr: 'h:1', incarnation: 3, state: 'left', meta: new Uint8Array([1]) }] }),
  ) as unknown[];
  t.equal(pp[0], 8);
  t.same((pp[2] as unknown[][])[0]!.slice(0, 4), ['n', 'h:1', 3, 3]);
});

/** The error decodeMessage throws for `value`, or undefined when it accepts it. */
function rejection(value: unknown, limits = resolveMessageLimits()): unknown {
  try {
    decodeMessage(value, limits);
    return undefined;
  } catch (err) {
    return err;
  }
}

t.test('strict validation with precise messages', async (t) => {
  const rejects = (value: unknown, pattern: RegExp, limits = resolveMessageLimits()): void => {
    const err = rejection(value, limits);
    t.ok(isClusterError(err, 'E_MESSAGE_INVALID'), `E_MESSAGE_INVALID for ${pattern}`);
    t.match((err as Error | undefined)?.message, pattern);
  };
  rejects('nope', /expected an array/);
  rejects([], /integer type number/);
  rejects([1.5], /integer type number/);
  rejects([99], /unknown type number 99/);
  rejects([1, -1, 't', 's', 'a:1'], /ping\.seq: expected a non-negative safe integer, got -1/);
  rejects([1, 2 ** 53, 't', 's', 'a:1'], /ping\.seq/);
  rejects([1, 1.5, 't', 's', 'a:1'], /ping\.seq/);
  rejects([1, 1, 't', '', 'a:1'], /ping\.source: must not be empty/);
  rejects([1, 1, 't', 's'], /ping\.sourceAddr: missing/);
  rejects([5, 'x'.repeat(129), 1, 'b'], /suspect\.node: 129 bytes exceed the cap of 128/);
  rejects([5, 'é'.repeat(65), 1, 'b'], /suspect\.node: 130 bytes exceed the cap of 128/);
  rejects([6, 'n', 1, 'a'.repeat(301), new Uint8Array()], /alive\.addr: 301 bytes exceed the cap of 300/);
  rejects([6, 'n', 1, 'a:1', new Uint8Array(4097)], /alive\.meta: 4097 bytes exceed the cap of 4096/);
  rejects([6, 'n', 1, 'a:1', 'meta'], /alive\.meta: expected binary data/);
  rejects([2, 1, 't', 'a:1', 's', 'b:2', 1], /ping-req\.nack: expected a boolean/);
  rejects([3, 1, new Uint8Array(257)], /ack\.payload: 257 bytes exceed the cap of 256/);
  rejects([8, false, [['n', 'a:1', 1, 4, new Uint8Array()]]], /push-pull\.members\[0\]\.state: expected an integer in \[0, 3\]/);
  rejects([8, false, ['n']], /push-pull\.members\[0\]: expected an array/);
  rejects([8, false, [[], []]], /members\[0\]\.node: missing/, resolveMessageLimits());
  rejects([8, false, [[], [], []]], /members: 3 items exceed the cap of 2/, resolveMessageLimits({ maxPushPullMembers: 2 }));
  rejects([6, 'n', 1, 'a:1', new Uint8Array(11)], /cap of 10/, resolveMessageLimits({ maxMetaBytes: 10 }));
});

t.test('extra trailing fields are ignored (a newer sender may append optional fields)', async (t) => {
  t.same(decodeMessage([4, 9, 'future', 1]), { type: 'nack', seq: 9 });
});

t.test('encode validates at the sender', async (t) => {
  t.throws(() => encodeMessage({ type: 'suspect', node: '', incarnation: 1, from: 'b' }), { code: 'E_MESSAGE_INVALID' });
  t.throws(() => encodeMessage({ type: 'nack', seq: -1 }), { code: 'E_MESSAGE_INVALID' });
  t.throws(() => encodeMessage({ type: 'bogus' } as unknown as AnyMessage), { code: 'E_MESSAGE_INVALID' });
});

t.test('registry refuses duplicate numbers and types and bad numbers', async (t) => {
  t.throws(() => defineMessage(1, 'nack', (m) => [m.seq], (r) => ({ type: 'nack', seq: r.uint('seq') })), {
    code: 'E_INVALID_ARGUMENT',
  });
  t.throws(() => defineMessage(0, 'nack', (m) => [m.seq], (r) => ({ type: 'nack', seq: r.uint('seq') })), {
    code: 'E_INVALID_ARGUMENT',
  });
  t.throws(() => defineMessage(128, 'nack', (m) => [m.seq], (r) => ({ type: 'nack', seq: r.uint('seq') })), {
    code: 'E_INVALID_ARGUMENT',
  });
  t.ok(isUnknownMessage([60, 'x']));
  t.notOk(isUnknownMessage([1, 'x']));
  t.notOk(isUnknownMessage(['1']));
});

t.test('limits must be non-negative integers', async (t) => {
  t.throws(() => resolveMessageLimits({ maxMetaBytes: -1 }), { code: 'E_CONFIG' });
  t.throws(() => resolveMessageLimits({ maxNameBytes: 1.5 }), { code: 'E_CONFIG' });
});

t.test('member metadata decoded from a frame owns its bytes (it lives in the member table and the gossip queue)', async (t) => {
  const owns = (b: Uint8Array): boolean => b.byteOffset === 0 && b.byteLength === b.buffer.byteLength;
  const meta = new Uint8Array(200).fill(9);
  // a plain body's bytes are a view of the datagram; a deflated one's of native inflate's 16 KiB chunk
  for (const deflate of [false, true]) {
    const enc = new FrameEncoder({ compressThreshold: deflate ? 384 : 1 << 30 });
    const frame = enc.encode([
      encodeMessage({ type: 'alive', node: 'n1', incarnation: 2, addr: '127.0.0.1:7946', meta }),
      encodeMessage({ type: 'push-pull', join: false, members: Array.from({ length: 4 }, (_, i) => ({ node: `n${i}`, addr: '127.0.0.1:1', incarnation: 1, state: 'alive' as const, meta })) }),
    ]);
    const r = new FrameDecoder().decode(frame);
    if (!r.ok) throw r.error;
    const [alive, pushPull] = r.messages as [Extract<AnyMessage, { type: 'alive' }>, Extract<AnyMessage, { type: 'push-pull' }>];
    t.ok(owns(alive.meta), `alive (deflated: ${r.deflated})`);
    t.ok(pushPull.members.every((m) => owns(m.meta)), `push-pull members (deflated: ${r.deflated})`);
    t.same([...alive.meta], [...meta]);
  }
});
