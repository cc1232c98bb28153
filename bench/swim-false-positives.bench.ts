/**
 * False positives under loss and stalls, Lifeguard on and off (lan profile, virtual time).
 * Standalone: `node --import=tsx bench/swim-false-positives.bench.ts [virtual-seconds]`.
 */
import type { BenchResult } from './harness.js';
import type { SwimOptions } from '../lib/config.js';
import { SimNetwork } from '../simulations/network.js';
import { fmt, runIfMain, stopwatch, table, verdict } from '../simulations/report.js';

const N = 100;
const LOSS = 0.1;
const STALLED = 5;
const SEED = 1;

/** Lifeguard off: no health multiplier (so nacks change nothing) and a fixed suspicion timeout. */
const LIFEGUARD_OFF: Partial<SwimOptions> = { awarenessMaxMultiplier: 1, suspicionMaxTimeoutMult: 1 };

/** What one run counted. */
export interface FalsePositiveRun {
  /** Distinct (member, incarnation) declared dead while the member was not stalled. */
  healthyEpisodes: number;
  /** Of those, members that had not been stalled in the 60 s before either. */
  neverStalledEpisodes: number;
  /** Distinct (member, incarnation) declared dead while the member was stalled. */
  stalledEpisodes: number;
  /** member-dead events summed over observers. */
  deadEvents: number;
  suspectEvents: number;
  refutations: number;
  stalls: number;
  wallSeconds: number;
}

/**
 * 100 members, 10 % datagram loss, and always 5 members stalled for 2–6 s each (a new
 * one picked, uniformly among the unstalled, as each stall ends), for `seconds`.
 */
export function falsePositives(seed: number, swim: Partial<SwimOptions>, seconds: number, overrides: Partial<SwimOptions> = {}): FalsePositiveRun {
  const elapsed = stopwatch();
  const net = new SimNetwork({ seed, loss: LOSS, swim: { ...swim, ...overrides } });
  net.addMany(N, 'converged');
  net.run(10_000);
  const lastStallEnd = new Map<string, number>();
  let stalls = 0;
  const stallOne = (): void => {
    const candidates = net.nodes.filter((n) => n.up && !net.isStalled(n.name));
    const node = candidates[net.random.int(candidates.length)]!;
    const ms = net.random.between(2000, 6000);
    net.stall(node.name, ms);
    lastStallEnd.set(node.name, net.now + ms);
    stalls++;
    net.clock.setTimer(ms, stallOne);
  };
  for (let i = 0; i < STALLED; i++) stallOne();
  const healthy = new Set<string>();
  const never = new Set<string>();
  const stalled = new Set<string>();
  let deadEvents = 0;
  let suspectEvents = 0;
  net.onMemberEvent((type, _observer, info) => {
    if (type === 'member-suspect') suspectEvents++;
    if (type !== 'member-dead') return;
    deadEvents++;
    const key = `${info.name}@${info.incarnation}`;
    if (net.isStalled(info.name)) stalled.add(key);
    else {
      healthy.add(key);
      if (net.now - (lastStallEnd.get(info.name) ?? -Infinity) > 60_000) never.add(key);
    }
  });
  net.run(seconds * 1000);
  let refutations = 0;
  for (const n of net.nodes) refutations += n.m.counters.refutations;
  return {
    healthyEpisodes: healthy.size, neverStalledEpisodes: never.size, stalledEpisodes: stalled.size,
    deadEvents, suspectEvents, refutations, stalls, wallSeconds: elapsed(),
  };
}

export default async function bench(): Promise<BenchResult> {
  const arg = Number(process.argv[2]);
  const seconds = Number.isFinite(arg) && arg > 0 && process.argv[1]?.endsWith('swim-false-positives.bench.ts') ? arg : 3600;
  const on = falsePositives(SEED, {}, seconds);
  const off = falsePositives(SEED, LIFEGUARD_OFF, seconds);
  const row = (label: string, r: FalsePositiveRun): (string | number)[] => [
    label, r.healthyEpisodes, r.neverStalledEpisodes, r.stalledEpisodes, r.deadEvents, r.suspectEvents, r.refutations, r.stalls, fmt(r.wallSeconds, 1),
  ];
  const ratio = on.healthyEpisodes === 0 ? (off.healthyEpisodes === 0 ? NaN : Infinity) : off.healthyEpisodes / on.healthyEpisodes;
  const markdown = [
    `${N} members started converged, ${LOSS * 100} % loss on every datagram (streams are reliable), 1 ms links, and at any time ${STALLED} members stalled for 2–6 s (uniform; a new one picked as each stall ends; a stalled node runs its overdue timers before reading the datagrams that queued up, as Node's event loop does). ${seconds} virtual seconds after a 10 s warm-up, seed ${SEED}. Lifeguard off = \`awarenessMaxMultiplier: 1\` (no health score, so nacks and refutations change nothing) and \`suspicionMaxTimeoutMult: 1\` (fixed suspicion timeout of 4 × log10(100) × 1 s = 8 s); on = the \`lan\` defaults (health up to ×8, suspicion timeout 48 s shrinking to 8 s with 2 confirmations).`,
    '',
    'An episode is one (member, incarnation) declared dead by at least one node; "healthy" = not stalled at the moment it was declared dead; "not stalled for 60 s" = nor in the minute before.',
    '',
    table(['Lifeguard', 'healthy members declared dead (episodes)', 'of which not stalled for 60 s', 'stalled members declared dead', 'member-dead events (all observers)', 'member-suspect events', 'refutations', 'stalls', 'wall s'], [row('on', on), row('off', off)]),
    '',
    'Findings. (1) Before commit 5df332e every false declaration was made by an observer waking from its own stall: its overdue suspicion timer ran before it read the refutation waiting in its inbox (5 virtual minutes: 51 episodes on, 72 off). Membership now decides an expired suspicion one loop turn later, a period later when the timer ran late; that class is gone. (2) What remains concerns members that had themselves been stalled within the previous minute (the "not stalled for 60 s" column is 0): after waking they are suspected again and, in a few cases, fail to get a refutation to every suspecter before the timeout. With Lifeguard on the remaining episodes reach more observers (compare the member-dead events), for a reason not yet diagnosed: the next step is the event log of one episode (`trace: true`).',
    '',
    `Goals: zero healthy members declared dead with Lifeguard on → ${verdict(on.healthyEpisodes === 0)} (${on.healthyEpisodes}); at least 20× fewer than with it off → ${verdict(ratio >= 20)} (off/on = ${on.healthyEpisodes === 0 ? `${off.healthyEpisodes}/0` : fmt(ratio, 1)}).`,
  ].join('\n');
  return { title: 'SWIM false positives under loss and stalls, Lifeguard on/off (simulated)', markdown };
}

runIfMain(import.meta.url, bench);
