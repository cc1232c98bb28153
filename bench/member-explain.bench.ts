/**
 * The cost of explaining members (decision 0056): heap per recorded probe slot, and the
 * time of `Membership.explain` at 1,000 members with full rings, beside `member()` (the
 * table lookup it builds on) in the same run.
 * Standalone: `node --expose-gc --import=tsx bench/member-explain.bench.ts` (without
 * --expose-gc, e.g. under bench/run.ts, it re-runs itself in a child process that has it).
 */
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './harness.js';
import { ManualClock } from '../lib/clock.js';
import { swimOptions } from '../lib/config.js';
import { Random } from '../lib/random.js';
import { EvidenceLog, HISTORY_RING, PROBE_RING } from '../lib/swim/evidence.js';
import { Membership } from '../lib/swim/membership.js';
import { seedMembers } from '../lib/swim/simulator-access.js';
import { fmt, quantile, runIfMain, stopwatch, table, verdict } from '../simulations/report.js';

const MEMBERS = 1000;

interface Sample {
  members: number;
  /** Heap per probe slot (filled rings minus the same log with empty rings). */
  bytesPerProbeSlot: number;
  /** Heap per member of the rest: the entry, its full history ring, a suspicion with two confirmations. */
  bytesPerMemberFixed: number;
  explainUs: { mean: number; p99: number };
  memberUs: { mean: number; p99: number };
}

function heap(): number {
  const gc = (globalThis as { gc?: () => void }).gc!;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

const names = Array.from({ length: MEMBERS }, (_, i) => `node-${i.toString(36).padStart(5, '0')}`);

/** Fills `log` as a long-running node's would be: full history rings, a past suspicion each, `probes` outcomes per member. */
function fill(log: EvidenceLog, probes: number): void {
  for (let i = 0; i < MEMBERS; i++) {
    const name = names[i]!;
    for (let h = 0; h < HISTORY_RING; h++) log.transition(name, h % 2 === 0 ? 'suspect' : 'alive', h, names[(i + h + 1) % MEMBERS]!, 1000 + h, h % 2 === 0 ? 'alive' : 'suspect');
    log.confirmed(name, names[(i + 2) % MEMBERS]!, 1500);
    log.confirmed(name, names[(i + 3) % MEMBERS]!, 1600);
    log.heard(name, 2000 + i);
    for (let p = 0; p < probes; p++) {
      const indirect = p % 5 === 4;
      const timeout = p % 7 === 6;
      log.probe(name, {
        at: 3000 + p * 1000 + i * 0.37, kind: timeout ? 'timeout' : indirect ? 'indirect-ack' : 'ack', rttMs: timeout ? undefined : 0.2 + (p % 9) * 0.13,
        via: indirect ? names[(i + p) % MEMBERS] : undefined, helpers: indirect || timeout ? 3 : 0, nacks: timeout ? 3 : 0, tcp: timeout ? 'failed' : 'none', verification: false,
      });
    }
  }
}

function timeEach(fn: (name: string) => unknown): { mean: number; p99: number } {
  const us: number[] = [];
  for (let round = 0; round < 5; round++) {
    for (const name of names) {
      const t0 = performance.now();
      fn(name);
      us.push((performance.now() - t0) * 1000);
    }
  }
  const warm = us.slice(MEMBERS); // the first round warms the JIT
  return { mean: warm.reduce((a, b) => a + b, 0) / warm.length, p99: quantile(warm, 0.99) };
}

function measure(): Sample {
  // each log measured alone: the empty one is dropped before the full one is built
  let base = heap();
  let empty: EvidenceLog | undefined = new EvidenceLog(MEMBERS);
  fill(empty, 0);
  const fixed = heap() - base;
  if (empty.size !== MEMBERS) throw new Error('not filled');
  empty = undefined;
  base = heap();
  const full = new EvidenceLog(MEMBERS);
  fill(full, PROBE_RING * 2); // wrapped: every slot replaced once
  const withProbes = heap() - base - fixed;

  const clock = new ManualClock();
  clock.advance(100_000);
  const m = new Membership({
    name: 'self', address: '10.255.255.255:7946', options: swimOptions('lan'), clock, random: new Random(1), evidence: full,
    out: { send: () => {}, gossip: () => {}, pushPull: () => {}, streamPing: () => {} },
  });
  seedMembers(m, names.map((n, i) => ({ node: n, addr: `10.0.${i >> 8}.${i & 255}:7946`, incarnation: 0, state: 'alive' as const, meta: new Uint8Array() })), { quiet: true });
  const check = m.explain(names[7]!)!;
  if (check.probes.length !== PROBE_RING || check.history.length !== HISTORY_RING) throw new Error('rings not full');
  const memberUs = timeEach((n) => m.member(n));
  const explainUs = timeEach((n) => JSON.stringify(m.explain(n)));
  return {
    members: MEMBERS, bytesPerProbeSlot: withProbes / (MEMBERS * PROBE_RING), bytesPerMemberFixed: fixed / MEMBERS, explainUs, memberUs,
  };
}

export default async function memberExplain(): Promise<BenchResult> {
  const elapsed = stopwatch();
  let s: Sample;
  if (typeof (globalThis as { gc?: unknown }).gc === 'function') {
    s = measure();
  } else {
    const out = execFileSync(process.execPath, ['--expose-gc', '--import=tsx', fileURLToPath(import.meta.url), '--json'], { encoding: 'utf8' });
    s = JSON.parse(out) as Sample;
  }
  const markdown = [
    `An EvidenceLog of ${s.members} members, each with a full history ring (${HISTORY_RING}), a suspicion with two confirmations, and its probe ring (${PROBE_RING}) filled twice over (acks, one in five indirect, one in seven a timeout). Heap by \`global.gc()\` before and after; the probe slots are what the filled log holds beyond the same log with empty probe rings. Times: \`Membership.explain(name)\` serialised to JSON (what the HTTP route does), each of the ${s.members} members four times, beside \`member(name)\` in the same run.`,
    '',
    table(['', 'value'], [
      ['heap per probe slot (bytes)', fmt(s.bytesPerProbeSlot, 0)],
      [`heap per member, rest of the evidence (bytes)`, fmt(s.bytesPerMemberFixed, 0)],
      ['explain + JSON, mean / p99 (µs)', `${fmt(s.explainUs.mean, 1)} / ${fmt(s.explainUs.p99, 1)}`],
      ['member(), mean / p99 (µs)', `${fmt(s.memberUs.mean, 1)} / ${fmt(s.memberUs.p99, 1)}`],
    ]),
    '',
    `Goals: ≤ 200 bytes per member per probe slot → ${verdict(s.bytesPerProbeSlot <= 200)}; explain ≤ 1 ms at ${s.members} members → ${verdict(s.explainUs.p99 <= 1000)}.`,
    '',
    `Wall time: ${fmt(elapsed(), 1)} s.`,
  ].join('\n');
  return { title: 'Explaining a member', markdown };
}

if (process.argv.includes('--json')) {
  console.log(JSON.stringify(measure()));
} else {
  runIfMain(import.meta.url, memberExplain);
}
