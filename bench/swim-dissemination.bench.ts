/**
 * How fast a membership change spreads through 1,000 members (lan profile, virtual time).
 * Standalone: `node --import=tsx bench/swim-dissemination.bench.ts`.
 */
import type { BenchResult } from './harness.js';
import { SimNetwork } from '../simulations/network.js';
import { fmt, quantile, runIfMain, sparkline, stopwatch, table, verdict } from '../simulations/report.js';
import { encodeMeta } from '../lib/swim/meta.js';

const N = 1000;
const SEEDS = [1, 2, 3];
const STEP_MS = 100;
const HORIZON_MS = 8000;

interface Spread {
  /** Fraction of the other members aware at each 100 ms step after the change. */
  curve: number[];
  /** ms until 99.9 % were aware, or -1. */
  t999: number;
  /** ms until all were aware, or -1. */
  t100: number;
}

/** One node changes its metadata; times its arrival at every other member. */
function spread(seed: number, loss: number): Spread {
  const net = new SimNetwork({ seed, loss });
  net.addMany(N, 'converged');
  net.run(5000);
  const origin = net.nodes[net.random.int(N)]!;
  const aware = new Set<string>();
  net.onMemberEvent((type, observer, info) => {
    if (type === 'member-update' && info.name === origin.name && observer !== origin) aware.add(observer.name);
  });
  origin.m.updateMeta(encodeMeta({ roles: ['broker'], tags: { zone: 'b' }, endpoints: { ws: 'wss://broker:8443' }, load: { clients: 1 } }));
  const others = N - 1;
  const curve: number[] = [];
  let t999 = -1;
  let t100 = -1;
  for (let t = 0; t <= HORIZON_MS; t += STEP_MS) {
    if (t > 0) net.run(STEP_MS);
    const f = aware.size / others;
    curve.push(f);
    if (t999 < 0 && aware.size >= Math.ceil(0.999 * others)) t999 = t;
    if (t100 < 0 && aware.size === others) t100 = t;
  }
  return { curve, t999, t100 };
}

export default async function dissemination(): Promise<BenchResult> {
  const elapsed = stopwatch();
  const rows: (string | number)[][] = [];
  const curves: string[] = [];
  const verdicts: string[] = [];
  const mids: number[][] = [];
  for (const [loss, goalMs] of [[0, 3000], [0.1, 4000]] as const) {
    const runs = SEEDS.map((seed) => spread(seed, loss));
    const worst999 = Math.max(...runs.map((r) => (r.t999 < 0 ? Infinity : r.t999)));
    runs.forEach((r, i) => rows.push([`${loss * 100} %`, SEEDS[i]!, r.t999 < 0 ? `> ${HORIZON_MS}` : r.t999, r.t100 < 0 ? `> ${HORIZON_MS}` : r.t100]));
    // the median run's curve, at 100 ms per character; then a few values
    const mid = [...runs].sort((a, b) => a.t999 - b.t999)[Math.floor(runs.length / 2)]!;
    mids.push(mid.curve);
    const at = (ms: number): string => `${fmt(100 * (mid.curve[ms / STEP_MS] ?? NaN), 1)} %`;
    curves.push(`- loss ${loss * 100} %: \`${sparkline(mid.curve.slice(0, 50))}\` (0–5 s, 100 ms per bar); aware at 0.5 s ${at(500)}, 1 s ${at(1000)}, 1.5 s ${at(1500)}, 2 s ${at(2000)}, 3 s ${at(3000)}, 4 s ${at(4000)}`);
    verdicts.push(`- 99.9 % within ${goalMs / 1000} s at ${loss * 100} % loss (worst of ${SEEDS.length} seeds: ${worst999 === Infinity ? 'never' : `${worst999} ms`}) → ${verdict(worst999 <= goalMs)}`);
  }
  const all = rows.map((r) => Number(r[2]));
  const wall = elapsed();
  const markdown = [
    `${N} members started converged (\`lan\`: gossip to 3 members every 200 ms, piggyback on every frame, retransmit limit 4 × ⌈log10(n+1)⌉ = 16), 1 ms links, run 5 s; then a random member changes its metadata (a new alive incarnation). Awareness = the \`member-update\` event on each of the other ${N - 1} members, sampled every ${STEP_MS} ms. Seeds ${SEEDS.join(', ')}; loss applies to every datagram independently.`,
    '',
    table(['loss', 'seed', 'ms to 99.9 %', 'ms to 100 %'], rows),
    '',
    'Dissemination curve (median seed, fraction aware):',
    '',
    ...curves,
    '',
    table(['ms after the change', ...Array.from({ length: 13 }, (_, i) => String(i * 100))], [
      ['aware, 0 % loss', ...Array.from({ length: 13 }, (_, i) => `${fmt(100 * (mids[0]?.[i] ?? NaN), 1)} %`)],
      ['aware, 10 % loss', ...Array.from({ length: 13 }, (_, i) => `${fmt(100 * (mids[1]?.[i] ?? NaN), 1)} %`)],
    ]),
    '',
    ...verdicts,
    '',
    `Median over all runs to 99.9 %: ${quantile(all, 0.5)} ms. Wall time: ${fmt(wall, 1)} s.`,
  ].join('\n');
  return { title: 'SWIM dissemination to 1,000 members (simulated)', markdown };
}

runIfMain(import.meta.url, dissemination);
