import t from 'tap';
import { encode } from '@msgpack/msgpack';
import { MessageType } from 'socket.io-adapter';
import type { ClusterMessage } from 'socket.io-adapter';
import { encodeAppMessageTrusted } from '../../lib/codec/app-messages.js';
import { decodeEnvelope, encodeEnvelope } from '../../lib/socket.io/wire.js';
import type { Envelope } from '../../lib/socket.io/wire.js';

const broadcast: ClusterMessage = {
  uid: '0123456789abcdef',
  nsp: '/',
  type: MessageType.BROADCAST,
  data: { opts: { rooms: ['room1'], except: [], flags: {} }, packet: { type: 2, nsp: '/', data: ['chat', { text: 'hello' }] } },
};

t.test('a broadcast round-trips; binary stays binary; its overhead is small', async (t) => {
  const withBinary = structuredClone(broadcast);
  (withBinary as { data: { packet: { data: unknown[] } } }).data.packet.data.push(Buffer.from([1, 2, 3]));
  const e = decodeEnvelope(encodeEnvelope({ kind: 'message', message: withBinary }));
  t.equal(e.kind, 'message');
  const data = (e as { message: { data: { packet: { data: unknown[] } } } }).message.data.packet.data;
  t.same(data.slice(0, 2), ['chat', { text: 'hello' }]);
  t.ok(data[2] instanceof Uint8Array && Buffer.from(data[2]).equals(Buffer.from([1, 2, 3])));
  // what a 26-byte JSON payload costs on the wire before framing (docs/socket.io.md quotes these)
  const plain = encodeAppMessageTrusted('server-1', 'socket.io', encodeEnvelope({ kind: 'message', message: broadcast }));
  const body = encodeEnvelope({ kind: 'message', message: broadcast, stored: { epoch: 1_764_680_000_123, n: 100_000, wall: 1_764_680_000_456 } });
  const app = encodeAppMessageTrusted('server-1', 'socket.io', body);
  t.comment(`envelope ${body.length} bytes (with where it was stored for recovery), app message ${app.length} bytes (${plain.length} without recovery) for the payload ${JSON.stringify(['chat', { text: 'hello' }])}`);
  t.ok(app.length < 180 && plain.length < 150, `app message of ${app.length} bytes`);
});

t.test('responses and absent answers round-trip', async (t) => {
  const r = decodeEnvelope(encodeEnvelope({ kind: 'response', response: { uid: 'u', nsp: '/', type: MessageType.BROADCAST_CLIENT_COUNT, data: { requestId: 'r1', clientCount: 3 } } }));
  t.same(r, { kind: 'response', response: { uid: 'u', nsp: '/', type: MessageType.BROADCAST_CLIENT_COUNT, data: { requestId: 'r1', clientCount: 3 } } });
  t.same(decodeEnvelope(encodeEnvelope({ kind: 'absent', nsp: '/chat', requestId: 'r2' })), { kind: 'absent', nsp: '/chat', requestId: 'r2' });
  const m = decodeEnvelope(encodeEnvelope({ kind: 'message', message: broadcast, stored: { epoch: 3, n: 7, wall: 1000 } }));
  t.same(m.kind === 'message' ? m.stored : undefined, { epoch: 3, n: 7, wall: 1000 }, 'where the packet was stored travels with the message');
  const open: Envelope = { kind: 'session', nsp: '/', pid: 'p1', state: 0, sid: 's1', rooms: ['a', 7], data: { user: 'ann' } };
  t.same(decodeEnvelope(encodeEnvelope(open)), open, 'a session round-trips');
  t.same(decodeEnvelope(encodeEnvelope({ kind: 'session', nsp: '/', pid: 'p1', state: 2 })), { kind: 'session', nsp: '/', pid: 'p1', state: 2 });
});

t.test('malformed bodies are refused with a message naming the problem', async (t) => {
  const cases: [unknown, RegExp][] = [
    [[0], /expected \[kind, payload\]/],
    [[0, { uid: 'u', nsp: '/', type: 9, data: { packet: ['ev'] } }, 7], /stored: expected \[epoch, n, wallMs\]/],
    [[0, { uid: 'u', nsp: '/', type: 9, data: { packet: ['ev'] } }, [1, 0, 5]], /stored: n starts at 1/],
    [[3, { nsp: '/', pid: 'p', state: 9 }], /state: unknown session state 9/],
    [[3, { nsp: '/', pid: 'p', state: 0, rooms: [] }], /sid: expected a string/],
    [[7, {}], /kind: unknown kind 7/],
    [[0, []], /payload: expected a map/],
    [[0, { uid: '', nsp: '/', type: 3 }], /uid: expected a string/],
    [[0, { uid: 'u', nsp: '/', type: 8 }], /type: not a request type: 8/],
    [[0, { uid: 'u', nsp: '/', type: 3, data: { opts: { rooms: 'r', except: [] }, packet: { type: 2 } } }], /data\.opts\.rooms: expected an array/],
    [[0, { uid: 'u', nsp: '/', type: 3, data: { opts: { rooms: [{}], except: [] }, packet: { type: 2 } } }], /rooms: expected room names/],
    [[0, { uid: 'u', nsp: '/', type: 3, data: { opts: { rooms: [], except: [] }, packet: { type: 'x' } } }], /packet\.type: expected an integer/],
    [[0, { uid: 'u', nsp: '/', type: 9, data: { packet: [] } }], /data\.packet: expected a non-empty array/],
    [[1, { uid: 'u', nsp: '/', type: 11, data: { requestId: 'r', clientCount: -1 } }], /clientCount: expected a non-negative integer/],
    [[1, { uid: 'u', nsp: '/', type: 8, data: { requestId: 'r', sockets: [{ id: 's', rooms: [] }] } }], /sockets\[0\]\.handshake: expected a map/],
  ];
  for (const [value, re] of cases) t.throws(() => decodeEnvelope(encode(value)), { code: 'E_MESSAGE_INVALID', message: re }, String(re));
  t.throws(() => decodeEnvelope(Uint8Array.of(0xc1)), { code: 'E_MESSAGE_INVALID', message: /socket\.io message: msgpack/ });
  // a map with a __proto__ key must not reach Socket.IO as a prototype
  const proto = encode([0, { uid: 'u', nsp: '/', type: 9, data: { packet: ['ev', { ['__proto__']: { polluted: true } }] } }]);
  let polluted = false;
  try {
    decodeEnvelope(proto);
  } catch {
    // refused: fine
  }
  polluted = ({} as { polluted?: boolean }).polluted === true;
  t.notOk(polluted, 'no prototype pollution');
});
