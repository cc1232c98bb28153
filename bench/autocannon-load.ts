/**
 * The HTTP side of bench/http-vs-redis.bench.ts: autocannon in its own process,
 * `node --import=tsx bench/autocannon-load.ts URL CONNECTIONS SECONDS BODY_FILE`. POSTs
 * the JSON body with one request in flight per keep-alive connection (no pipelining) and
 * prints one JSON line: requests/s, requests sent (warm-up apart), non-2xx and errors,
 * latency in ms.
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

const [url, connArg, secArg, bodyFile] = process.argv.slice(2);
const body = readFileSync(bodyFile!, 'utf8');
const opts = { url: url!, method: 'POST' as const, headers: { 'content-type': 'application/json' }, body, connections: Number(connArg ?? 16), pipelining: 1 };
// a second of warm-up, not counted
const warm = await autocannon({ ...opts, duration: 1 });
const r = await autocannon({ ...opts, duration: Number(secArg ?? 8) });
console.log(JSON.stringify({ rate: r.requests.average, total: r.requests.total, warmup: warm.requests.total, non2xx: r.non2xx, errors: r.errors + r.timeouts, p50: r.latency.p50, p99: r.latency.p99, max: r.latency.max }));
