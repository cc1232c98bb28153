/**
 * The WebSocket side of bench/http-vs-redis.bench.ts, in its own process:
 * `node --import=tsx bench/ws-load.ts URL CONNECTIONS IN_FLIGHT SECONDS [json|msgpack]`.
 * Opens CONNECTIONS sockets to the agent's /v2/ws (msgpack: under the
 * clusterd.v2.msgpack subprotocol) and keeps IN_FLIGHT publishes in flight on each (a
 * new one as each ack comes back), after 1 s of warm-up; prints one JSON line: acked
 * publishes/s, errors, latency in ms (send to ack).
 */
import { decode, encode } from '@msgpack/msgpack';
import hdr from 'hdr-histogram-js';
import { WebSocket } from 'ws';

const [url, connArg, inflightArg, secArg, formatArg] = process.argv.slice(2);
const msgpack = formatArg === 'msgpack';
const connections = Number(connArg ?? 16);
const inflight = Number(inflightArg ?? 1);
const seconds = Number(secArg ?? 8);
const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
const data = { user: 'bench', text: 'hello from the load generator', n: 0 };
let acked = 0;
let errors = 0;
let total = 0;

const sockets = await Promise.all(Array.from({ length: connections }, () => new Promise<WebSocket>((resolve, reject) => {
  const ws = new WebSocket(url!, msgpack ? ['clusterd.v2.msgpack'] : [], { perMessageDeflate: false });
  ws.once('open', () => resolve(ws));
  ws.once('error', reject);
})));
const warmEnd = Date.now() + 1000;
const end = warmEnd + seconds * 1000;

await Promise.all(sockets.map((ws) => new Promise<void>((resolve) => {
  const sentAt = new Map<number, bigint>();
  let next = 0;
  const send = (): void => {
    const id = next++;
    sentAt.set(id, process.hrtime.bigint());
    const frame = { id, op: 'publish', channel: 'bench', data };
    ws.send(msgpack ? encode(frame) : JSON.stringify(frame));
  };
  ws.on('message', (raw) => {
    const a = (msgpack ? decode(raw as Buffer) : JSON.parse(String(raw))) as { id: number; ok: boolean };
    const started = sentAt.get(a.id)!;
    sentAt.delete(a.id);
    total++;
    if (Date.now() >= warmEnd) {
      if (a.ok) acked++;
      else errors++;
      histogram.recordValue(Number(process.hrtime.bigint() - started) / 1000);
    }
    if (Date.now() < end) send();
    else if (sentAt.size === 0) resolve();
  });
  for (let i = 0; i < inflight; i++) send();
})));
for (const ws of sockets) ws.close();
const ms = (p: number): number => histogram.getValueAtPercentile(p) / 1000;
console.log(JSON.stringify({ rate: acked / seconds, errors, total, warmup: 0, p50: ms(50), p99: ms(99) }));
