import t from 'tap';
import { encodeMessage } from '../../lib/codec/messages.js';
import type { Message } from '../../lib/codec/messages.js';
import { wireSize } from '../../simulations/wire-size.js';

const long = 'x'.repeat(40);
const meta = (n: number): Uint8Array => new Uint8Array(n);

t.test('wireSize equals the encoded length for every membership message', async (t) => {
  const cases: Message[] = [];
  for (const seq of [0, 127, 128, 255, 256, 65535, 65536, 0xffffffff]) {
    cases.push({ type: 'ping', seq, target: 'n1', source: long, sourceAddr: '10.0.0.1:7946' });
    cases.push({ type: 'ping', seq, target: '', source: 'a', sourceAddr: 'é:1' });
    cases.push({ type: 'ack', seq });
    cases.push({ type: 'ack', seq, payload: meta(7) });
    cases.push({ type: 'nack', seq });
    cases.push({ type: 'ping-req', seq, target: 'b', targetAddr: 'x:1', source: 'a', sourceAddr: 'y:2', nack: true });
    cases.push({ type: 'suspect', node: 'n3', incarnation: seq, from: long });
    cases.push({ type: 'dead', node: 'n3', incarnation: seq, from: 'n3' });
  }
  for (const n of [0, 10, 255, 256, 4096]) cases.push({ type: 'alive', node: 'n9', incarnation: 3, addr: '10.0.0.9:7946', meta: meta(n) });
  for (const count of [0, 1, 15, 16, 300]) {
    cases.push({
      type: 'push-pull', join: true,
      members: Array.from({ length: count }, (_, i) => ({ node: `n${i}`, addr: `10.0.0.${i}:7946`, incarnation: i * 100, state: 'suspect' as const, meta: meta(i % 300) })),
    });
  }
  for (const m of cases) t.equal(wireSize(m), encodeMessage(m).length, `${m.type} ${JSON.stringify(m).slice(0, 60)}`);
});

t.test('the cached sizes of frozen (shared) push-pull entries are exact, and stay so when they repeat', async (t) => {
  const shared = [Object.freeze({ node: 'n1', addr: '10.0.0.1:7946', incarnation: 300, state: 'alive' as const, meta: meta(40) }), Object.freeze({ node: long, addr: 'é:1', incarnation: 0, state: 'dead' as const, meta: meta(300) })];
  const fresh = { node: 'n9', addr: 'z:9', incarnation: 1, state: 'suspect' as const, meta: meta(0) };
  for (let round = 0; round < 2; round++) {
    const msg: Message = { type: 'push-pull', join: false, members: [fresh, ...shared, ...shared] };
    t.equal(wireSize(msg), encodeMessage(msg).length, `round ${round}`);
  }
});
