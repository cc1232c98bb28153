/**
 * False positives under loss and stalls, Lifeguard on and off (lan profile, virtual time).
 * Standalone: `node --import=tsx bench/swim-false-positives.bench.ts [virtual-seconds-per-run] [number-of-seeds]`.
 */
import type { BenchResult } from './harness.js';
import type { SwimOptions } from '../lib/config.js';
import { SimNetwork } from '../simulations/network.js';
import { fmt, runIfMain, stopwatch, table, verdict } from '../simulations/report.js';

const N = 100;
const LOSS = 0.1;
const STALLED = 5;

/** Lifeguard off: no health multiplier (so nacks change nothing) and a fixed suspicion timeout. */
const LIFEGUARD_OFF: Partial<SwimOptions> = { awarenessMaxMultiplier: 1, suspicionMaxTimeoutMult: 1 };

/** What one run counted. An episode is one (member, incarnation) declared dead by at least one node. */
export interface FalsePositiveRun {
  /** Episodes whose first declaration found the member not stalled (the goal's "healthy, unstalled"). */
  healthyEpisodes: number;
  /** Of those, members that had not been stalled in the 60 s before either. */
  neverStalledEpisodes: number;
  /**
   * Episodes whose first declaration found the member stalled. Every stall is shorter than the
   * minimum suspicion timeout (6 s < 8 s), so these are false positives too.
   */
  stalledEpisodes: number;
  /** member-dead events summed over observers. */
  deadEvents: number;
  suspectEvents: number;
  refutations: number;
  stalls: number;
  /** Longest time any member was stalled without a gap (must stay below the 8 s minimum suspicion timeout). */
  longestStallMs: number;
  wallSeconds: number;
}

/**
 * 100 members, 10 % datagram loss, and always 5 members stalled for 2–6 s each (a new
 * one picked, uniformly among the members neither stalled nor just woken, as each stall
 * ends), for `seconds`.
 */
export function falsePositives(seed: number, swim: Partial<SwimOptions>, seconds: number, overrides: Partial<SwimOptions> = {}): FalsePositiveRun {
  const elapsed = stopwatch();
  const net = new SimNetwork({ seed, loss: LOSS, swim: { ...swim, ...overrides } });
  net.addMany(N, 'converged');
  net.run(10_000);
  const lastStallEnd = new Map<string, number>();
  let stalls = 0;
  let longestStallMs = 0;
  const stallOne = (): void => {
    // Not the member whose stall ends at this very instant: picking it again would chain two
    // stalls into one of up to 12 s, longer than the 8 s minimum suspicion timeout, and its
    // death would then be legitimate.
    const candidates = net.nodes.filter((n) => n.up && !net.isStalled(n.name) && lastStallEnd.get(n.name) !== net.now);
    const node = candidates[net.random.int(candidates.length)]!;
    const ms = net.random.between(2000, 6000);
    net.stall(node.name, ms);
    lastStallEnd.set(node.name, net.now + ms);
    longestStallMs = Math.max(longestStallMs, ms);
    stalls++;
    net.clock.setTimer(ms, stallOne);
  };
  for (let i = 0; i < STALLED; i++) stallOne();
  const episodes = new Set<string>();
  let healthy = 0;
  let never = 0;
  let stalled = 0;
  let deadEvents = 0;
  let suspectEvents = 0;
  net.onMemberEvent((type, _observer, info) => {
    if (type === 'member-suspect') suspectEvents++;
    if (type !== 'member-dead') return;
    deadEvents++;
    // an episode is judged at its first declaration; later observers only relay it
    const key = `${info.name}@${info.incarnation}`;
    if (episodes.has(key)) return;
    episodes.add(key);
    if (net.isStalled(info.name)) stalled++;
    else {
      healthy++;
      if (net.now - (lastStallEnd.get(info.name) ?? -Infinity) > 60_000) never++;
    }
  });
  net.run(seconds * 1000);
  let refutations = 0;
  for (const n of net.nodes) refutations += n.m.counters.refutations;
  return {
    healthyEpisodes: healthy, neverStalledEpisodes: never, stalledEpisodes: stalled,
    deadEvents, suspectEvents, refutations, stalls, longestStallMs, wallSeconds: elapsed(),
  };
}

/** One configuration of the comparison. */
interface Row {
  label: string;
  swim: Partial<SwimOptions>;
}

const ROWS: Row[] = [
  { label: 'Lifeguard on, verification on (our default)', swim: {} },
  { label: 'Lifeguard off, verification on', swim: LIFEGUARD_OFF },
  { label: 'Lifeguard on, verification off', swim: { verifyBeforeDeath: false } },
  { label: 'Lifeguard off, verification off (memberlist-like baseline)', swim: { ...LIFEGUARD_OFF, verifyBeforeDeath: false } },
];

/** Seeds run per row, one virtual hour each (the bench takes ~45 s per row-hour on a quiet machine). */
const SEEDS = [1, 2, 3, 4];

function sum(runs: FalsePositiveRun[]): FalsePositiveRun {
  const out: FalsePositiveRun = { healthyEpisodes: 0, neverStalledEpisodes: 0, stalledEpisodes: 0, deadEvents: 0, suspectEvents: 0, refutations: 0, stalls: 0, longestStallMs: 0, wallSeconds: 0 };
  for (const r of runs) {
    for (const k of Object.keys(out) as (keyof FalsePositiveRun)[]) out[k] = k === 'longestStallMs' ? Math.max(out[k], r[k]) : out[k] + r[k];
  }
  return out;
}

export default async function bench(): Promise<BenchResult> {
  const standalone = process.argv[1]?.endsWith('swim-false-positives.bench.ts') ?? false;
  const arg = Number(process.argv[2]);
  const seconds = standalone && Number.isFinite(arg) && arg > 0 ? arg : 3600;
  const seedArg = Number(process.argv[3]);
  const seeds = standalone && Number.isInteger(seedArg) && seedArg > 0 ? Array.from({ length: seedArg }, (_, i) => i + 1) : SEEDS;
  const results = ROWS.map((row) => ({ row, runs: seeds.map((seed) => falsePositives(seed, row.swim, seconds)) }));
  const totals = results.map((r) => sum(r.runs));
  const [on, off, onNoVerify, baseline] = totals as [FalsePositiveRun, FalsePositiveRun, FalsePositiveRun, FalsePositiveRun];
  const hours = (seeds.length * seconds) / 3600;
  const line = (label: string, r: FalsePositiveRun): (string | number)[] => [
    label, r.healthyEpisodes, r.neverStalledEpisodes, r.stalledEpisodes, r.deadEvents, r.suspectEvents, r.refutations, r.stalls, fmt(r.wallSeconds, 1),
  ];
  const perSeed = results.map(({ row, runs }) => `${row.label}: ${runs.map((r) => r.healthyEpisodes + r.stalledEpisodes).join(' / ')}`);
  // 0 against b is read as "at most 1 in b": the reduction shown is b / max(1, count)
  const reduction = (base: FalsePositiveRun, with_: FalsePositiveRun): string =>
    `${base.healthyEpisodes} vs ${with_.healthyEpisodes}: ${with_.healthyEpisodes === 0 ? '≥ ' : ''}${fmt(base.healthyEpisodes / Math.max(1, with_.healthyEpisodes), 1)}×`;
  const shown = (base: FalsePositiveRun, with_: FalsePositiveRun): boolean => base.healthyEpisodes >= 20 * Math.max(1, with_.healthyEpisodes);
  const markdown = [
    `${N} members started converged, ${LOSS * 100} % loss on every datagram (streams are reliable), 1 ms links, and at any time ${STALLED} members stalled for 2–6 s (uniform; as each stall ends a new member is picked among those neither stalled nor waking at that instant; a stalled node runs its overdue timers before reading the datagrams that queued up, all of which it keeps, as Node's event loop and a socket buffer do). ${seconds} virtual seconds after a 10 s warm-up per run, seeds ${seeds.join(', ')} (${fmt(hours, 0)} virtual hours per row); the table sums them. Lifeguard off = \`awarenessMaxMultiplier: 1\` (no health score, so nacks and refutations change nothing) and \`suspicionMaxTimeoutMult: 1\` (fixed suspicion timeout of 4 × log10(100) × 1 s = 8 s); on = the \`lan\` defaults (health up to ×8, suspicion timeout 48 s shrinking to 8 s with 2 confirmations). Verification off = \`verifyBeforeDeath: false\`: a suspicion that runs out is declared dead without probing the suspect, as memberlist does, instead of only after a probe of it failed (decision 0040 §8); the declaration still waits one loop turn, or a period when its timer ran late after a pause, so a node waking from a stall reads the refutations waiting for it first (without that grace the baseline row counted 129 episodes in 10 virtual minutes of seed 1 instead of 1; the one traced was an observer that woke from a stall, declared on its overdue timer, and read the refutation queued for it in the same millisecond). The baseline (both off) is memberlist's rules apart from our other deviations in decision 0040 (notably §6 and §11 earlier nacks, §7 probe verdicts after the backlog, §9 stale claims answered, §10 newer suspicions replace older).`,
    '',
    `An episode is one (member, incarnation) declared dead by at least one node, judged at its first declaration: "healthy" = the member was not stalled then (the goal's definition); "not stalled for 60 s" = nor in the minute before. No member is ever unresponsive for as long as the 8 s minimum suspicion timeout (longest stall: ${fmt(Math.max(...totals.map((r) => r.longestStallMs)) / 1000, 1)} s), so a member declared dead *while* stalled is a false positive too and is counted in its own column.`,
    '',
    table(['configuration', 'healthy members declared dead (episodes)', 'of which not stalled for 60 s', 'members declared dead while stalled', 'member-dead events (all observers)', 'member-suspect events', 'refutations', 'stalls', 'wall s'], results.map(({ row }, i) => line(row.label, totals[i]!))),
    '',
    `Episodes per seed (healthy + while stalled): ${perSeed.join('; ')}.`,
    '',
    'Goals:',
    '',
    `- zero healthy members declared dead with Lifeguard on (our default) → ${verdict(on.healthyEpisodes === 0)} (${on.healthyEpisodes}; while stalled: ${on.stalledEpisodes})`,
    `- at least 20× fewer than with Lifeguard off: against Lifeguard off with our verification kept (${off.healthyEpisodes}) the ratio ${off.healthyEpisodes === 0 ? 'is 0 vs 0 and says nothing: verification alone removes these false positives in both modes' : `is ${reduction(off, on)}`}; so the denominator is the memberlist-like baseline (Lifeguard and verification off): ${reduction(baseline, on)} → ${verdict(shown(baseline, on))}`,
    `- what Lifeguard does alone (verification off in both): baseline ${reduction(baseline, onNoVerify)} → ${verdict(shown(baseline, onNoVerify))} for the 20× goal`,
    '',
    'History (seed 1, one hour, healthy + while-stalled episodes, Lifeguard on / off; the verification and the fixes below are described in decision 0040 §6–§10): before this work 8 + 2 / 14 + 0; picker fixed (two back-to-back stalls of one member made it silent longer than the 8 s minimum suspicion timeout), nacks at 80 %, probes judged after the backlog, re-announcement of refuted incarnations: 6 + 0 / 7 + 0; with verification: 0 + 3 / 0 + 0; with a fresh suspicion for a suspect heard from since: 0 + 0 / 0 + 0. Every false declaration left before the verification was one observer that had missed every copy of the suspect\'s refutation (a transmit-limited epidemic reaches a given member with probability about 1 − e^−11; 4,000 refutations an hour times 99 observers make that a few misses an hour); memberlist has the same exposure.',
  ].join('\n');
  return { title: 'SWIM false positives under loss and stalls, Lifeguard on/off (simulated)', markdown };
}

runIfMain(import.meta.url, bench);
