/**
 * HTTP publish throughput and latency: 5 agents (lan profile) on 127.0.0.51–55, a load
 * generator in a second process POSTing to one agent, membership watched for
 * suspicions meanwhile. Standalone: `node --import=tsx bench/http-publish.bench.ts`.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './harness.js';
import { table } from './harness.js';
import { cpuSeconds, startCluster, suspicions } from './http-cluster.js';

const SECONDS = Number(process.env.BENCH_HTTP_SECONDS ?? 10);

interface Load { ok: number; errors: number; rps: number; p50: number; p99: number; p999: number; max: number }

function load(url: string, connections: number, rate = 0): Promise<Load> {
  const script = fileURLToPath(new URL('./http-load.ts', import.meta.url));
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import=tsx', script, url, String(connections), String(SECONDS), String(rate)], { maxBuffer: 1 << 20 }, (err, stdout) => {
      if (err) reject(err);
      else resolve(JSON.parse(stdout) as Load);
    });
  });
}

export default async function bench(): Promise<BenchResult> {
  const { agents, stop } = await startCluster(5, 51);
  try {
    const target = agents[0]!;
    const url = `http://${target.http}/v1/channels/bench/messages`;
    const rows: (string | number)[][] = [];
    for (const [label, connections, rate] of [['closed loop, 1 connection', 1, 0], ['closed loop, 16 connections', 16, 0], ['open loop, 500 req/s', 16, 500]] as const) {
      const before = suspicions(agents);
      const cpu0 = agents.map((a) => cpuSeconds(a.proc.pid!));
      const r = await load(url, connections, rate);
      const cpu = agents.map((a, i) => cpuSeconds(a.proc.pid!) - cpu0[i]!);
      rows.push([label, Math.round(r.rps).toLocaleString('en-US'), r.p50.toFixed(2), r.p99.toFixed(2), r.p999.toFixed(2), r.errors, `${Math.round((cpu[0]! / SECONDS) * 100)} %`, `${Math.round((Math.max(...cpu.slice(1)) / SECONDS) * 100)} %`, suspicions(agents) - before]);
      await new Promise((res) => setTimeout(res, 2000));
    }
    const history = (await (await fetch(`http://${agents[3]!.http}/v1/channels`)).json()) as { channels: { channel: string; messages: number }[] };
    return {
      title: 'HTTP API: publish throughput and latency (5 agents, load from a second process)',
      markdown: [
        `Five agent processes (lan profile, esbuild bundle) on 127.0.0.51–55; a separate load process (node:http keep-alive) POSTs ~80-byte JSON messages to \`/v1/channels/bench/messages\` on n1 for ${SECONDS} s per row. Every publish is replicated to the four other agents and appended to each history log (fsync interval). Latency is measured by the client, in ms.`,
        '',
        table(['load', 'publishes/s', 'p50', 'p99', 'p99.9', 'errors', 'CPU n1', 'CPU max other', 'suspicions'], rows),
        '',
        `Membership stayed healthy when the suspicions column is 0 (no member-suspect or member-dead logged by any agent during the row). After the run, n4 held ${history.channels.find((c) => c.channel === 'bench')?.messages ?? 0} entries of the channel (history cap 100 per channel).`,
      ].join('\n'),
    };
  } finally {
    await stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log((await bench()).markdown);
