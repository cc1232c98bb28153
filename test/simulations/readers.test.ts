import t from 'tap';
import type { HistoryEntry, HistoryGap } from '../../lib/replica/history.js';
import type { RepNode } from '../../simulations/replication.js';
import { READERS_INVARIANT, covers, readerProblems } from '../../simulations/readers.js';
import type { Owed, Reader } from '../../simulations/readers.js';
import { runScenario } from '../../simulations/runner.js';
import type { SimResult } from '../../simulations/runner.js';
import { ScenarioError, validateScenario } from '../../simulations/scenario.js';

// a split brain of 20 s under load with readers resuming every 2 s, then a crash and a
// restart from the persisted replica; the load stops at 60 s, the run ends at 90 s
const scenario = (readers: Record<string, unknown> = { count: 6, interval: '2s', limit: 20 }) => validateScenario({
  name: 'readers', description: 'd', expected: 'e', nodes: 8, duration: '90s',
  timeline: [
    { at: '10s', action: 'partition', groups: ['0%..50%'] },
    { at: '30s', action: 'heal' },
    { at: '35s', action: 'crash', nodes: 'n6' },
    { at: '40s', action: 'restart', nodes: 'n6', persisted: true },
  ],
  workload: {
    until: '60s',
    publish: { channels: 3, perSecond: 20, payloadBytes: 32, historyLength: 30 },
    readers,
  },
  invariants: { convergedWithin: '40s' },
});

const readersOf = (r: SimResult) => r.invariants.find((i) => i.name === READERS_INVARIANT)!;

t.test('readers resuming on random nodes through a split brain and a crash lose nothing silently', async (t) => {
  const r = runScenario(scenario(), { seed: 3 });
  for (const i of r.invariants) t.equal(i.status, 'pass', `${i.name}: ${i.evidence}`);
  const ev = readersOf(r).evidence;
  t.match(ev, /^6 readers on 3 channels resumed \d+ times/);
  // the readers were behind the cap at times (20 publishes/s on 3 channels, a cap of 30,
  // pages of 20): some entries reached them only as gaps
  const m = /of the (\d+) entries published on those channels, every one not received was reported in one of the (\d+) gaps \((\d+) reader-entries covered; \d+ gaps without origins\)/.exec(ev);
  t.ok(m, ev);
  t.ok(Number(m![1]) > 800, ev);
  t.ok(Number(m![3]) > 0, `some entries were reported in gaps: ${ev}`);
  t.same(r.replication.workload!.readers, { count: 6, interval: 2000, limit: 20 });
});

// reaches into a replica's history behind its back (test-only fault): the entry vanishes
// without a drop record, so no replica can ever report it
interface ChannelInternals { items: HistoryEntry[]; sizes: number[] }
const channelOf = (r: RepNode, ch: string): ChannelInternals => (r.rep.replica.history as unknown as { channels: Map<string, ChannelInternals> }).channels.get(ch)!;

t.test('an entry that vanishes from every replica without a trace fails the invariant, naming it', async (t) => {
  let lost = '';
  // after the load stopped (no later eviction can cover it), readers of ch0 not due yet
  const r = runScenario(scenario({ count: 6, interval: '20s', limit: 20 }), {
    seed: 3,
    faults: [{
      atMs: 61_000,
      run: (repl) => {
        for (const n of repl.net.nodes) {
          const rep = repl.current(n);
          if (!rep) continue;
          const ch = channelOf(rep, 'ch0');
          if (!lost) {
            const e = ch.items[ch.items.length - 1]!;
            lost = `${e.node}:${e.epoch}:${e.seq}`;
          }
          const k = ch.items.findIndex((e) => `${e.node}:${e.epoch}:${e.seq}` === lost);
          if (k < 0) continue;
          ch.items.splice(k, 1);
          ch.sizes.splice(k, 1);
        }
      },
    }],
  });
  const v = readersOf(r);
  t.equal(v.status, 'fail', v.evidence);
  // the replicas all lost it alike: only the readers can tell
  t.equal(r.invariants.find((i) => /replicas equal/.test(i.name))!.status, 'pass');
  t.match(v.evidence, new RegExp(`reader \\d+ \\(ch0\\) silently lost ${lost} #\\d+`));
});

t.test('a scenario without readers says not measured; readers need a publish workload', async (t) => {
  const sc = validateScenario({ name: 'x', description: 'd', expected: 'e', nodes: 3, duration: '10s', workload: { publish: { perSecond: 5 } } });
  t.equal(readersOf(runScenario(sc)).status, 'not-measured');
  t.throws(() => validateScenario({ name: 'x', description: 'd', expected: 'e', nodes: 3, duration: '10s', workload: { readers: { count: 2 } } }), ScenarioError);
  t.throws(() => scenario({ count: 0 }), /workload\.readers\.count/);
  t.throws(() => scenario({ interval: 0 }), /workload\.readers\.interval/);
  t.throws(() => scenario({ every: '1s' }), /workload\.readers/);
});

const owed = (node: string, epoch: number, seq: number, n: number, optional = false): Owed => ({ id: `${node}:${epoch}:${seq}`, channel: 'ch0', node, epoch, n, pos: { ts: seq, node, epoch, seq }, optional });
const reader = (got: string[], gaps: HistoryGap[] = []): Reader => ({ channel: 'ch0', cursor: 'start', got: new Map(got.map((id) => [id, 1])), gaps });

t.test('the checker: a silently missing entry fails, a gap or the crash excuse covers it, duplicates and unreceived held entries fail', async (t) => {
  const published = [owed('n1', 2, 10, 1), owed('n1', 2, 11, 2), owed('n2', 1, 5, 1)];
  const held = (): string[] => ['n1:2:11', 'n2:1:5'];
  // everything received: nothing to report
  t.same(readerProblems([reader(['n1:2:10', 'n1:2:11', 'n2:1:5'])], held, published).count, 0);
  // n1:2:10 (#1) neither received nor in a gap: silently lost
  const lost = readerProblems([reader(['n1:2:11', 'n2:1:5'])], held, published);
  t.equal(lost.count, 1);
  t.match(lost.problems[0], /reader 0 \(ch0\) silently lost n1:2:10 #1/);
  // a gap of that origin epoch covering #1 reports it; one of another epoch or range does not
  t.equal(readerProblems([reader(['n1:2:11', 'n2:1:5'], [{ node: 'n1', epoch: 2, to: 1, count: 1, exact: false }])], held, published).count, 0);
  t.equal(readerProblems([reader(['n1:2:11', 'n2:1:5'], [{ node: 'n1', epoch: 3, from: 1, to: 1, count: 1, exact: true }])], held, published).count, 1);
  t.equal(readerProblems([reader(['n1:2:11', 'n2:1:5'], [{ node: 'n1', epoch: 2, from: 2, to: 4, count: 3, exact: true }])], held, published).count, 1);
  // a gap without origins covers anything
  t.equal(readerProblems([reader(['n1:2:11', 'n2:1:5'], [{ count: 1, exact: false }])], held, published).count, 0);
  // lost with a node that went down (no other live replica held it): excused
  t.equal(readerProblems([reader(['n1:2:11', 'n2:1:5'])], held, [owed('n1', 2, 10, 1, true), ...published.slice(1)]).count, 0);
  // a held entry never received fails even when a gap would cover it
  const unreceived = readerProblems([reader(['n1:2:10', 'n2:1:5'], [{ count: 1, exact: false }])], held, published);
  t.equal(unreceived.count, 1);
  t.match(unreceived.problems[0], /never got held n1:2:11/);
  // an entry received twice fails
  const twice = reader(['n1:2:10', 'n1:2:11', 'n2:1:5']);
  twice.got.set('n2:1:5', 2);
  t.match(readerProblems([twice], held, published).problems[0], /got n2:1:5 2 times/);
  // a reader of another channel is owed nothing of ch0
  t.equal(readerProblems([{ ...reader([]), channel: 'ch1' }], () => [], published).count, 0);
  t.ok(covers({ node: 'n1', epoch: 2, from: 1, to: 2, count: 2, exact: true }, owed('n1', 2, 11, 2)));
  t.notOk(covers({ node: 'n1', epoch: 2, from: 1, count: 2, exact: false }, owed('n1', 2, 11, 2)));
});
