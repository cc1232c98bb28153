/**
 * Memory over a soak: 5 agents on 127.0.0.71–75 under steady traffic (publishes to 20
 * channels and presence churn, spread over all agents), RSS and V8 heap sampled every
 * 10 s. Standalone: `node --import=tsx bench/http-soak.bench.ts` (BENCH_SOAK_SECONDS,
 * default 120; the goal is 600).
 */
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './harness.js';
import { table } from './harness.js';
import { MiB, rssBytes, startCluster, suspicions } from './http-cluster.js';

const SECONDS = Number(process.env.BENCH_SOAK_SECONDS ?? 120);
const RATE = 100;

async function heapUsed(http: string): Promise<number> {
  const text = await (await fetch(`http://${http}/metrics`)).text();
  const m = /clusterd_process_nodejs_heap_size_used_bytes (\d+(?:\.\d+)?(?:e\+\d+)?)/.exec(text);
  return m ? Number(m[1]) : NaN;
}

export default async function bench(): Promise<BenchResult> {
  const { agents, stop } = await startCluster(5, 71);
  try {
    let sent = 0;
    let failed = 0;
    const timer = setInterval(() => {
      for (let k = 0; k < RATE / 10; k++) {
        const i = sent++;
        const a = agents[i % agents.length]!;
        const ch = `soak-${i % 20}`;
        const req = i % 5 === 0
          ? fetch(`http://${a.http}/v1/channels/${ch}/presence/client-${i % 200}`, { method: i % 10 === 0 ? 'DELETE' : 'PUT', headers: { 'content-type': 'application/json' }, ...(i % 10 === 0 ? {} : { body: JSON.stringify({ user: `u${i % 50}` }) }) })
          : fetch(`http://${a.http}/v1/channels/${ch}/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ data: { n: i, text: 'steady traffic for the soak' } }) });
        req.then((r) => r.arrayBuffer(), () => void failed++);
      }
    }, 100);
    const samples: { t: number; rss: number; heap: number }[] = [];
    const start = Date.now();
    while (Date.now() - start < SECONDS * 1000) {
      await new Promise((r) => setTimeout(r, 10_000));
      const rss = Math.max(...agents.map((a) => rssBytes(a.proc.pid!)));
      const heap = Math.max(...(await Promise.all(agents.map((a) => heapUsed(a.http)))));
      samples.push({ t: Math.round((Date.now() - start) / 1000), rss, heap });
    }
    clearInterval(timer);
    const first = samples[Math.min(2, samples.length - 1)]!;
    const last = samples[samples.length - 1]!;
    const pick = samples.filter((_, i) => i % Math.max(1, Math.floor(samples.length / 8)) === 0 || i === samples.length - 1);
    return {
      title: 'Agent memory over a soak with steady traffic',
      markdown: [
        `Five agents (lan profile, esbuild bundle) on 127.0.0.71–75; ${RATE} requests/s spread over all agents (80 % publishes to 20 channels, 20 % presence joins/leaves of 200 clients), for ${SECONDS} s. Largest RSS and V8 heap used among the five, sampled every 10 s. ${sent} requests sent, ${failed} failed; suspicions: ${suspicions(agents)}.`,
        '',
        table(['t (s)', 'max RSS', 'max heap used'], pick.map((s) => [s.t, `${(s.rss / MiB).toFixed(1)} MiB`, `${(s.heap / MiB).toFixed(1)} MiB`])),
        '',
        `From t=${first.t} s (after warm-up) to t=${last.t} s: RSS ${((last.rss - first.rss) / MiB).toFixed(1)} MiB, heap ${((last.heap - first.heap) / MiB).toFixed(1)} MiB. History is capped per channel (100 entries) and presence by its clients, so memory should be flat once every channel is full.`,
      ].join('\n'),
    };
  } finally {
    await stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log((await bench()).markdown);
