/**
 * The load generator of bench/http-publish.bench.ts, run in its own process so that it
 * does not share a CPU budget or an event loop with what it measures:
 * `node --import=tsx bench/http-load.ts URL CONNECTIONS SECONDS [RATE]`. It keeps
 * CONNECTIONS keep-alive requests in flight (closed loop), or paces them at RATE per
 * second (open loop), POSTs small messages, and prints one JSON line of results.
 */
import { Agent, request } from 'node:http';
import hdr from 'hdr-histogram-js';

const [url, connArg, secArg, rateArg] = process.argv.slice(2);
const connections = Number(connArg ?? 16);
const seconds = Number(secArg ?? 10);
const rate = rateArg !== undefined ? Number(rateArg) : 0;
const agent = new Agent({ keepAlive: true, maxSockets: connections });
const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
const target = new URL(url!);
let ok = 0;
let errors = 0;
let seq = 0;
const end = Date.now() + seconds * 1000;

function one(): Promise<void> {
  const body = JSON.stringify({ data: { user: 'bench', text: 'hello from the load generator', n: ++seq } });
  const started = process.hrtime.bigint();
  return new Promise((resolve) => {
    const req = request({ agent, host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => {
        histogram.recordValue(Number(process.hrtime.bigint() - started) / 1000);
        if (res.statusCode === 201) ok++;
        else errors++;
        resolve();
      });
    });
    req.on('error', () => {
      errors++;
      resolve();
    });
    req.end(body);
  });
}

async function closedLoop(): Promise<void> {
  while (Date.now() < end) await one();
}

async function openLoop(): Promise<void> {
  const inflight = new Set<Promise<void>>();
  const interval = 1000 / rate;
  let next = Date.now();
  while (Date.now() < end) {
    next += interval;
    if (inflight.size < connections * 4) {
      const p = one().then(() => void inflight.delete(p));
      inflight.add(p);
    } else errors++;
    const wait = next - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  await Promise.all(inflight);
}

const t0 = Date.now();
await (rate > 0 ? openLoop() : Promise.all(Array.from({ length: connections }, closedLoop)));
const elapsed = (Date.now() - t0) / 1000;
process.stdout.write(`${JSON.stringify({ ok, errors, seconds: elapsed, rps: ok / elapsed, p50: histogram.getValueAtPercentile(50) / 1000, p99: histogram.getValueAtPercentile(99) / 1000, p999: histogram.getValueAtPercentile(99.9) / 1000, max: histogram.maxValue / 1000 })}\n`);
agent.destroy();
