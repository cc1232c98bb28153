/**
 * The Redis side of bench/http-vs-redis.bench.ts, in its own process like autocannon:
 * `node --import=tsx bench/redis-load.ts HOST PORT CONNECTIONS SECONDS`. Each of CONNECTIONS
 * ioredis connections keeps one message in flight: RPUSH to the channel's list, LTRIM it
 * to the newest 100, PUBLISH it (one pipelined round trip, what a broker keeping history
 * in Redis does per message). Prints one JSON line: messages/s and latency in ms.
 */
import hdr from 'hdr-histogram-js';
import { Redis } from 'ioredis';

const [hostArg, portArg, connArg, secArg] = process.argv.slice(2);
const host = hostArg!;
const port = Number(portArg);
const connections = Number(connArg ?? 16);
const seconds = Number(secArg ?? 8);
const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
const clients = Array.from({ length: connections }, () => new Redis({ host, port, enableOfflineQueue: true, lazyConnect: false }));
await Promise.all(clients.map((c) => c.ping()));
const body = JSON.stringify({ data: { user: 'bench', text: 'hello from the load generator', n: 0 } });
let done = 0;
let errors = 0;
const warmEnd = Date.now() + 1000;
const end = warmEnd + seconds * 1000;

async function loop(c: Redis): Promise<void> {
  while (Date.now() < end) {
    const started = process.hrtime.bigint();
    const r = await c.pipeline().rpush('history:bench', body).ltrim('history:bench', -100, -1).publish('bench', body).exec();
    if (Date.now() < warmEnd) continue;
    if (!r || r.some(([err]) => err)) errors++;
    else done++;
    histogram.recordValue(Number(process.hrtime.bigint() - started) / 1000);
  }
}

await Promise.all(clients.map(loop));
for (const c of clients) c.disconnect();
const ms = (p: number): number => histogram.getValueAtPercentile(p) / 1000;
console.log(JSON.stringify({ rate: done / seconds, errors, p50: ms(50), p99: ms(99) }));
