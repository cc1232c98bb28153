/**
 * Representative traffic for the benchmarks. The membership messages are real codec
 * messages; presence and history messages do not exist in the codec yet (replica/ will
 * register them), so {@link encodePresence} and {@link encodeHistory} encode them the
 * way a registered message would be: a msgpack array `[typeNumber, ...fields]`.
 */
import { encode } from '@msgpack/msgpack';
import type { AnyMessage } from '../lib/codec/messages.js';
import { Random } from '../lib/random.js';

const rnd = new Random('bench-fixtures');
const hex = (n: number): string => Array.from(rnd.bytes(n), (b) => b.toString(16).padStart(2, '0')).join('');
const names = Array.from({ length: 40 }, (_, i) => `broker-${['eu', 'us', 'ap'][i % 3]}-${String(i).padStart(2, '0')}`);
const addr = (i: number): string => `10.0.${i % 4}.${10 + i}:7946`;
const meta = (i: number): Uint8Array =>
  encode({ roles: ['broker'], ws: `wss://${names[i % names.length]}.example.net/ws`, load: 0.42, v: '0.1.0' });

/** A mix of membership messages shaped like real gossip (names, addresses, metadata). */
export function membershipMessages(n: number): AnyMessage[] {
  const out: AnyMessage[] = [];
  for (let i = 0; i < n; i++) {
    const a = i % names.length;
    const b = (i * 7 + 3) % names.length;
    switch (i % 6) {
      case 0:
        out.push({ type: 'ping', seq: 1000 + i, target: names[b]!, source: names[a]!, sourceAddr: addr(a) });
        break;
      case 1:
        out.push({ type: 'ack', seq: 1000 + i });
        break;
      case 2:
        out.push({ type: 'alive', node: names[a]!, incarnation: 3 + i, addr: addr(a), meta: meta(a) });
        break;
      case 3:
        out.push({ type: 'suspect', node: names[b]!, incarnation: 7, from: names[a]! });
        break;
      case 4:
        out.push({ type: 'ping-req', seq: 2000 + i, target: names[b]!, targetAddr: addr(b), source: names[a]!, sourceAddr: addr(a), nack: true });
        break;
      default:
        out.push({ type: 'dead', node: names[b]!, incarnation: 9, from: names[a]! });
    }
  }
  return out;
}

/** A presence update as the replica layer will send it. */
export interface Presence {
  channel: string;
  clientId: string;
  user: string;
  info: { name: string; avatar: string; status: string };
  node: string;
  since: number;
}

/** A history entry as the replica layer will send it. */
export interface History {
  channel: string;
  id: { origin: string; seq: number };
  ts: { wall: number; logical: number };
  payload: string;
}

const firstNames = ['Alice', 'Bob', 'Chiara', 'Dmitri', 'Emeka', 'Fatima', 'Gustavo', 'Hana', 'Ivan', 'Jun'];
// chat text is drawn word by word from a vocabulary, so payloads vary like real chat
// rather than repeating a handful of sentences (which would flatter compression)
const words = (
  'the a to and is we it on for you this that can deploy build review fix ship staging prod ' +
  'meeting notes doc later today tomorrow pm am lunch coffee thanks ok yes no maybe please ' +
  'who what why when where how bug crash latency broker cluster node restart rollback merge ' +
  'branch test flaky green red 👍 😅 🎉 lol nice great hmm sure done wip blocked'
).split(' ');

function chatText(): string {
  const n = rnd.between(4, 12);
  return Array.from({ length: n }, () => words[rnd.int(words.length)]!).join(' ') + (rnd.chance(0.3) ? ` #${rnd.int(5000)}` : '');
}

/** `n` presence updates in busy channels (`room:42` and a few others), distinct random client ids. */
export function presenceUpdates(n: number): Presence[] {
  return Array.from({ length: n }, (_, i) => {
    const first = firstNames[rnd.int(firstNames.length)]!;
    const user = `user-${rnd.between(1000, 99999)}`;
    return {
      channel: i % 4 === 0 ? `room:${rnd.between(1, 500)}` : 'room:42',
      clientId: `c-${hex(8)}`,
      user,
      info: { name: `${first} ${String.fromCharCode(65 + rnd.int(26))}.`, avatar: `https://cdn.example.com/a/${user}.png`, status: 'online' },
      node: names[rnd.int(8)]!,
      since: 1_717_000_000_000 + rnd.int(3_600_000),
    };
  });
}

/** `n` chat history entries (~100-byte JSON payload each). */
export function historyEntries(n: number): History[] {
  let seq = 10_000;
  return Array.from({ length: n }, () => {
    const from = firstNames[rnd.int(firstNames.length)]!.toLowerCase();
    const payload = JSON.stringify({ kind: 'chat', from, text: chatText(), mentions: [], v: 1 });
    return {
      channel: 'room:42',
      id: { origin: names[rnd.int(4)]!, seq: seq++ },
      ts: { wall: 1_717_000_000_000 + seq * 37, logical: rnd.int(3) },
      payload,
    };
  });
}

/** Placeholder type numbers from the replication range (16–31) until replica/ registers its own. */
const PRESENCE = 16;
const HISTORY = 17;

/** A presence update as a msgpack array (info stays a map: it is application data). */
export function encodePresence(p: Presence): Uint8Array {
  return encode([PRESENCE, p.channel, p.clientId, p.user, p.info, p.node, p.since]);
}

/** A history entry as a msgpack array; the payload is carried as the raw JSON string. */
export function encodeHistory(h: History): Uint8Array {
  return encode([HISTORY, h.channel, h.id.origin, h.id.seq, h.ts.wall, h.ts.logical, h.payload]);
}
