/**
 * Idle agent cost: 5 agents (lan profile) on 127.0.0.61–65 doing nothing but membership
 * and anti-entropy; CPU share and RSS of each over a measurement window.
 * Standalone: `node --import=tsx bench/http-idle.bench.ts` (BENCH_IDLE_SECONDS, default 30).
 */
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './harness.js';
import { table } from './harness.js';
import { cpuSeconds, MiB, rssBytes, startCluster, suspicions } from './http-cluster.js';

const SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 30);

export default async function bench(): Promise<BenchResult> {
  const { agents, stop } = await startCluster(5, 61);
  try {
    await new Promise((r) => setTimeout(r, 5000));
    const cpu0 = agents.map((a) => cpuSeconds(a.proc.pid!));
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    const rows = agents.map((a, i) => {
      const share = ((cpuSeconds(a.proc.pid!) - cpu0[i]!) / SECONDS) * 100;
      return [a.name, `${share.toFixed(2)} %`, `${(rssBytes(a.proc.pid!) / MiB).toFixed(1)} MiB`];
    });
    const worstCpu = Math.max(...rows.map((r) => parseFloat(r[1]!)));
    const worstRss = Math.max(...rows.map((r) => parseFloat(r[2]!)));
    return {
      title: 'Agent at idle: CPU and RSS in a 5-node cluster',
      markdown: [
        `Five agent processes (lan profile, esbuild bundle, HTTP API on, no traffic) on 127.0.0.61–65, measured over ${SECONDS} s after a 5 s settle; CPU from /proc/<pid>/stat (user + system), RSS from /proc/<pid>/status.`,
        '',
        table(['agent', 'CPU (share of one core)', 'RSS'], rows),
        '',
        `Goal: ≤ 1 % of a core and ≤ 80 MiB RSS. Worst: ${worstCpu.toFixed(2)} % (${worstCpu <= 1 ? 'met' : 'NOT met'}), ${worstRss.toFixed(1)} MiB (${worstRss <= 80 ? 'met' : 'NOT met'}). Suspicions during the window: ${suspicions(agents)}.`,
      ].join('\n'),
    };
  } finally {
    await stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log((await bench()).markdown);
