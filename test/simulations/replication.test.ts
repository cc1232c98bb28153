import t from 'tap';
import { join } from 'node:path';
import { hlcWall } from '../../lib/hlc.js';
import type { HistoryEntry } from '../../lib/replica/history.js';
import type { PresenceEntry } from '../../lib/replica/presence.js';
import { LIBRARY_DIR } from '../../simulations/library.js';
import type { RepNode, SimReplication } from '../../simulations/replication.js';
import { runScenario } from '../../simulations/runner.js';
import type { SimResult } from '../../simulations/runner.js';
import { loadScenario, validateScenario } from '../../simulations/scenario.js';

// a partition of 30 s under load, healed; the load stops at 70 s, the run ends at 100 s
const partitioned = validateScenario({
  name: 'repl-partition', description: 'd', expected: 'e', nodes: 10, duration: '100s',
  timeline: [
    { at: '20s', action: 'partition', groups: ['0%..50%'] },
    { at: '50s', action: 'heal' },
  ],
  workload: {
    until: '70s',
    presence: { channels: 5, joinsPerSecond: 5, leavesPerSecond: 4 },
    publish: { channels: 5, perSecond: 30, payloadBytes: 64, historyLength: 20 },
  },
  invariants: { convergedWithin: '40s' },
});

const inv = (r: SimResult, re: RegExp) => r.invariants.find((i) => re.test(i.name))!;
const PURGED = /presence of dead and departed nodes purged/;
const EQUAL = /replicas equal/;
const RESURRECTED = /no resurrected or duplicated/;

// reaches into a replica's history to corrupt it behind the replica's back (test-only
// faults: the Merkle tree and the version vector are left claiming the old state)
interface ChannelInternals { items: HistoryEntry[]; sizes: number[]; head: number }
function channelOf(r: RepNode, channel: string): ChannelInternals {
  return (r.rep.replica.history as unknown as { channels: Map<string, ChannelInternals> }).channels.get(channel)!;
}
const rep = (repl: SimReplication, i: number): RepNode => repl.current(repl.net.nodes[i]!)!;

// the invariants a run without readers measures (the readers one says 'not measured' then)
const measured = (r: ReturnType<typeof runScenario>): ReturnType<typeof runScenario>['invariants'] =>
  r.invariants.filter((i) => !(i.status === 'not-measured' && /no readers/.test(i.evidence)));

t.test('a workload across a partition and heal: every replication invariant passes, with measurements', async (t) => {
  const r = runScenario(partitioned, { seed: 5 });
  // every invariant this scenario measures (it has no readers) passes
  for (const i of measured(r)) t.equal(i.status, 'pass', `${i.name}: ${i.evidence}`);
  t.match(inv(r, EQUAL).evidence, /all 10 live replicas hold the same \d+ presence entries and the same 100 history entries in 5 channels/);
  t.match(inv(r, PURGED).evidence, /\d+ checks 1 s after/);
  const repl = r.replication;
  t.equal(repl.status, 'measured');
  t.ok(repl.operations!.publishes >= 2000, `${repl.operations!.publishes} publishes`);
  t.ok(repl.operations!.presenceJoins > 0 && repl.operations!.presenceLeaves > 0);
  t.equal(repl.operations!.refused, 0);
  // the partition left each half behind the other: the heal was followed by a catch-up
  const heal = repl.convergence!.heals[0]!;
  t.equal(heal.atMs, 50_000);
  t.ok(heal.behindAtHeal > 20, `${heal.behindAtHeal} history entries behind at the heal`);
  t.ok(heal.caughtUpAfterMs >= 0 && heal.caughtUpAfterMs <= 50_000, `caught up ${heal.caughtUpAfterMs} ms after the heal`);
  t.ok(repl.convergence!.equalSinceMs > 70_000 && repl.convergence!.equalSinceMs <= 80_000, `equal since ${repl.convergence!.equalSinceMs}`);
  t.ok(repl.antiEntropy!.merkleSessions > 0 && repl.antiEntropy!.deltaCatchUps > 0 && repl.antiEntropy!.bulkSessions > 0);
  t.ok(repl.traffic!.deltaDatagramBytes > 100_000 && repl.traffic!.digests > 0 && (repl.traffic!.streamBytes.merkle ?? 0) > 0);
  t.ok(repl.traffic!.bytesPerNodePerSec > 0);
  t.equal(repl.series!.tMs.length, r.series.tMs.length);
  t.match(r.measurements.antiEntropy, /Merkle sessions .* bulk catch-ups .* digest catch-ups .* digests on acks/);
});

t.test('a replica that silently loses an entry fails the equality invariant, naming it', async (t) => {
  let lost = '';
  const r = runScenario(partitioned, {
    seed: 5,
    faults: [{
      atMs: 80_000,
      run: (repl) => {
        // n3 forgets the newest entry of ch0: tree and vector still claim it, so no repair comes
        const ch = channelOf(rep(repl, 3), 'ch0');
        const e = ch.items.pop()!;
        ch.sizes.pop();
        lost = `${e.node}:${e.epoch}:${e.seq}`;
      },
    }],
  });
  t.equal(r.passed, false);
  const eq = inv(r, EQUAL);
  t.equal(eq.status, 'fail');
  t.match(eq.evidence, /1 of 9 live replicas differ from n0/);
  t.match(eq.evidence, new RegExp(`history ch0: n3 holds 19, n0 20; n3 lacks ${lost}`));
  t.equal(inv(r, RESURRECTED).status, 'pass', 'the other invariants are untouched');
  t.equal(inv(r, PURGED).status, 'pass');
});

t.test('an evicted entry that comes back fails the resurrection invariant', async (t) => {
  let evicted: HistoryEntry | undefined;
  const r = runScenario(partitioned, {
    seed: 5,
    faults: [
      // remember n2's oldest ch1 entry; at 20 publishes/s over 5 channels the cap of 20 evicts it within seconds
      { atMs: 10_000, run: (repl) => void (evicted = channelOf(rep(repl, 2), 'ch1').items[channelOf(rep(repl, 2), 'ch1').head]) },
      {
        atMs: 30_000,
        run: (repl) => {
          const ch = channelOf(rep(repl, 2), 'ch1');
          ch.items.splice(ch.head, 0, evicted!);
          ch.sizes.splice(ch.head, 0, 64);
        },
      },
    ],
  });
  const res = inv(r, RESURRECTED);
  t.equal(res.status, 'fail');
  t.match(res.evidence, new RegExp(`n2 holds ch1 ${evicted!.node}:${evicted!.epoch}:${evicted!.seq} \\(ts ${evicted!.ts}\\) at 30000 ms, at or below the low-water mark`));
});

t.test('presence of a dead node kept by one replica fails the purge invariant (1 s after the declaration)', async (t) => {
  const sc = validateScenario({
    name: 'repl-crash', description: 'd', expected: 'e', nodes: 8, duration: '80s',
    timeline: [{ at: '20s', action: 'crash', nodes: 'n5' }],
    workload: { until: '50s', presence: { channels: 3, joinsPerSecond: 10, leavesPerSecond: 2 } },
  });
  let kept: PresenceEntry | undefined;
  const r = runScenario(sc, {
    seed: 2,
    faults: [{
      atMs: 19_000,
      run: (repl) => {
        const n3 = rep(repl, 3);
        kept = n3.rep.replica.presence.ofNode('n5')[0]!;
        // right after n3's replicator purges n5 (it subscribed first), the entry is put back
        n3.node.m.on('member-dead', (info) => {
          if (info.name === 'n5') n3.rep.replica.presence.put(kept!);
        });
      },
    }],
  });
  const p = inv(r, PURGED);
  t.equal(p.status, 'fail');
  t.match(p.evidence, new RegExp(`n3 still held 1 presence entry of n5 \\(e\\.g\\. ${kept!.channel}/${kept!.clientId}, epoch 0\\) 1000 ms after declaring it dead`));
  t.match(p.evidence, /^1 of \d+ checks 1 s after a confirmation found presence left/);
  // a Merkle session later proves n3's copy stale and drops it: only the continuous check saw it
  t.notMatch(p.evidence, /at the end/);
  t.equal(inv(r, EQUAL).status, 'pass', inv(r, EQUAL).evidence);
});

t.test('a later epoch of a dead node arriving after the declaration fails the purge invariant too (only a live, refuted node may re-announce)', async (t) => {
  const sc = validateScenario({
    name: 'repl-crash', description: 'd', expected: 'e', nodes: 8, duration: '80s',
    timeline: [{ at: '20s', action: 'crash', nodes: 'n5' }],
    workload: { until: '50s', presence: { channels: 3, joinsPerSecond: 10, leavesPerSecond: 2 } },
  });
  const r = runScenario(sc, {
    seed: 2,
    faults: [{
      atMs: 19_000,
      run: (repl) => {
        const n3 = rep(repl, 3);
        const kept = n3.rep.replica.presence.ofNode('n5')[0]!;
        // after the purge, an entry of a newer epoch of the (crashed) node turns up
        n3.node.m.on('member-dead', (info) => {
          if (info.name === 'n5') n3.rep.replica.presence.put({ ...kept, epoch: 7 });
        });
      },
    }],
  });
  const p = inv(r, PURGED);
  t.equal(p.status, 'fail');
  t.match(p.evidence, /n3 still held 1 presence entry of n5 \(e\.g\. [^)]*, epoch 7\) 1000 ms after declaring it dead at \d+ ms \(it knew epoch 0 then; a later epoch, but the subject is down\)/);
});

t.test('clock skew: the skewed node times and stamps by its own clock; history order is the same everywhere', async (t) => {
  const sc = await loadScenario(join(LIBRARY_DIR, 'clock-skew.json'));
  const seen: { lead: number; behind: number; wallLead: number } = { lead: 0, behind: 0, wallLead: 0 };
  const r = runScenario(sc, {
    seed: 1,
    faults: [{
      atMs: 10_000,
      run: (repl) => {
        const shared = repl.net.clock.wall();
        seen.wallLead = rep(repl, 1).clock.wall() - shared;
        // n1 publishes now: its HLC starts from its own wall clock, 5 s ahead
        rep(repl, 1).channels.publish('ch0', 'probe');
        seen.lead = hlcWall(rep(repl, 1).rep.hlc.peek()) - shared;
        seen.behind = rep(repl, 2).clock.wall() - shared;
      },
    }],
  });
  t.ok(seen.wallLead >= 5000 && seen.wallLead < 5002, `n1's wall clock leads by ${seen.wallLead} ms (5 s + 200 ppm over 5 s)`);
  t.ok(seen.lead >= 5000, `n1's HLC leads by ${seen.lead} ms`);
  t.ok(seen.behind <= -3000 && seen.behind > -3001, `n2's wall clock lags by ${-seen.behind} ms`);
  for (const i of measured(r)) t.equal(i.status, 'pass', `${i.name}: ${i.evidence}`);
  t.ok(r.replication.order!.againstRealTime > 0, `${r.replication.order!.againstRealTime} of ${r.replication.order!.pairs} consecutive entries ordered against real time (the skew shows)`);
  t.equal(r.notModelled.length, 0);
});

t.test('a scenario without a workload builds no replication and says so', async (t) => {
  const sc = validateScenario({ name: 'm', description: 'd', expected: 'e', nodes: 5, duration: '10s' });
  const r = runScenario(sc);
  t.equal(r.replication.status, 'not measured: the scenario has no workload (membership only)');
  t.equal(r.replication.traffic, null);
  t.same(r.invariants.slice(-3).map((i) => i.status), ['not-measured', 'not-measured', 'not-measured']);
});
