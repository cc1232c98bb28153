import t from 'tap';
import { encode } from '@msgpack/msgpack';
import { MessageType } from 'socket.io-adapter';
import type { ClusterMessage } from 'socket.io-adapter';
import { encodeAppMessageTrusted } from '../../lib/codec/app-messages.js';
import { decodeEnvelope, encodeEnvelope } from '../../lib/socket.io/wire.js';

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
  const body = encodeEnvelope({ kind: 'message', message: broadcast, offset: 'server-1:1000' });
  const app = encodeAppMessageTrusted('server-1', 'socket.io', body);
  t.comment(`envelope ${body.length} bytes (offset included), app message ${app.length} bytes for the payload ${JSON.stringify(['chat', { text: 'hello' }])}`);
  t.ok(app.length < 160, `app message of ${app.length} bytes`);
});

t.test('responses and absent answers round-trip', async (t) => {
  const r = decodeEnvelope(encodeEnvelope({ kind: 'response', response: { uid: 'u', nsp: '/', type: MessageType.BROADCAST_CLIENT_COUNT, data: { requestId: 'r1', clientCount: 3 } } }));
  t.same(r, { kind: 'response', response: { uid: 'u', nsp: '/', type: MessageType.BROADCAST_CLIENT_COUNT, data: { requestId: 'r1', clientCount: 3 } } });
  t.same(decodeEnvelope(encodeEnvelope({ kind: 'absent', nsp: '/chat', requestId: 'r2' })), { kind: 'absent', nsp: '/chat', requestId: 'r2' });
  const m = decodeEnvelope(encodeEnvelope({ kind: 'message', message: broadcast, offset: 's1:7' }));
  t.equal(m.kind === 'message' ? m.offset : undefined, 's1:7', 'the offset travels with the message');
});

t.test('malformed bodies are refused with a message naming the problem', async (t) => {
  const cases: [unknown, RegExp][] = [
    [[0], /expected \[kind, payload\]/],
    [[0, { uid: 'u', nsp: '/', type: 9, data: { packet: ['ev'] } }, 7], /offset: expected a string/],
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
