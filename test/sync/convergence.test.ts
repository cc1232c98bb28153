import t from 'tap';
import fc from 'fast-check';
import { Replica, type ReplicaOptions } from '../../lib/replica/replica.js';
import type { Delta } from '../../lib/replica/delta.js';
import type { HistoryEntry } from '../../lib/replica/history.js';
import { comparePositions, idKey, type Position } from '../../lib/replica/position.js';
import { ManualClock } from '../../lib/clock.js';
import { Hlc, hlcPack, hlcWall } from '../../lib/hlc.js';
import { Random } from '../../lib/random.js';
import { answerVectorRequest, digestsDiffer, handleDeltaReply, vectorRequest } from '../../lib/sync/digest.js';
import { historyView, presenceView, runSession } from './fixtures/harness.js';

/*
 * Random operations on 3 to 20 in-process replicas exchanging their pure messages
 * through a lossy, reordering queue, with partitions and crashes; then heal with digests
 * and Merkle sessions until quiescent, and compare every replica with a reference model.
 *
 * Crash model: the daemon persists history write-through, so a crash loses presence,
 * rings and out-of-order buffers, never a stored entry; the node comes back with the
 * next epoch from its snapshot. "dead" additionally has every other node call
 * removeOrigin (membership confirmed the death).
 */

const CAP = 4;
const TTL = 5_000;
const historyOptions = {
  defaultMaxEntries: 50,
  settingsFor: (ch: string) => (ch === 'capped' ? { maxEntries: CAP } : ch === 'ttl' ? { ttlMs: TTL, maxEntries: 20 } : undefined),
};
const CHANNELS = ['capped', 'ttl', 'wide'];

type Op =
  | { op: 'publish'; node: number; ch: number }
  | { op: 'join'; node: number; ch: number; client: number; user: number }
  | { op: 'leave'; node: number; ch: number; client: number }
  | { op: 'update'; node: number; ch: number; client: number }
  | { op: 'deliver'; k: number }
  | { op: 'drop'; k: number }
  | { op: 'partition'; mask: number }
  | { op: 'heal' }
  | { op: 'crash'; node: number; dead: boolean }
  | { op: 'tick'; ms: number }
  | { op: 'gossip'; a: number; b: number }
  | { op: 'merkle'; a: number; b: number };

const small = fc.nat({ max: 31 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('publish' as const), node: small, ch: small }), weight: 6 },
  { arbitrary: fc.record({ op: fc.constant('join' as const), node: small, ch: small, client: fc.nat({ max: 4 }), user: fc.nat({ max: 3 }) }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant('leave' as const), node: small, ch: small, client: fc.nat({ max: 4 }) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('update' as const), node: small, ch: small, client: fc.nat({ max: 4 }) }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('deliver' as const), k: fc.nat({ max: 40 }) }), weight: 6 },
  { arbitrary: fc.record({ op: fc.constant('drop' as const), k: fc.nat({ max: 10 }) }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('partition' as const), mask: fc.nat({ max: 0xfffff }) }), weight: 1 },
  { arbitrary: fc.constant({ op: 'heal' as const }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('crash' as const), node: small, dead: fc.boolean() }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 3000 }) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('gossip' as const), a: small, b: small }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('merkle' as const), a: small, b: small }), weight: 1 },
);

interface Sim {
  replicas: Replica[];
  hlcs: Hlc[];
  epochs: number[];
  clock: ManualClock;
  queue: { from: number; to: number; delta: Delta }[];
  group: number[];
  local: Map<string, { user: string; info: unknown }>[]; // per node: its connected clients
  published: Map<string, HistoryEntry[]>;
  maxLowWater: Map<string, Position>;
  rnd: Random;
}

const name = (i: number): string => `n${i}`;
const opts = (i: number, epoch: number): ReplicaOptions => ({ node: name(i), epoch, history: historyOptions, ringSize: 16, maxPendingPerOrigin: 8 });
const nowOf = (sim: Sim): number => hlcPack(sim.clock.wall(), 0);

function broadcast(sim: Sim, from: number, delta: Delta | undefined): void {
  if (!delta) return;
  for (let to = 0; to < sim.replicas.length; to++) if (to !== from && sim.rnd.chance(0.85)) sim.queue.push({ from, to, delta });
}

function sampleLowWater(sim: Sim): void {
  for (const r of sim.replicas) {
    for (const ch of CHANNELS) {
      const lw = r.history.lowWater(ch);
      const max = sim.maxLowWater.get(ch);
      if (lw && (!max || comparePositions(lw, max) > 0)) sim.maxLowWater.set(ch, lw);
    }
  }
}

function step(sim: Sim, op: Op): void {
  const n = sim.replicas.length;
  const now = nowOf(sim);
  switch (op.op) {
    case 'publish': {
      const i = op.node % n;
      const ch = CHANNELS[op.ch % CHANNELS.length]!;
      const res = sim.replicas[i]!.publish(ch, `${name(i)}#${sim.rnd.uint32()}`, sim.hlcs[i]!.now());
      const e: HistoryEntry = { ts: 0, node: '', epoch: 0, seq: 0, c: 0, channel: ch, data: null, ...(res.delta as object) };
      const list = sim.published.get(ch) ?? [];
      list.push(e);
      sim.published.set(ch, list);
      broadcast(sim, i, res.delta);
      break;
    }
    case 'join': {
      const i = op.node % n;
      const ch = CHANNELS[op.ch % CHANNELS.length]!;
      const client = `${name(i)}-c${op.client}`;
      const info = { v: sim.rnd.int(100) };
      const res = sim.replicas[i]!.join(ch, client, `u${op.user}`, info, sim.hlcs[i]!.now());
      sim.local[i]!.set(`${ch}/${client}`, { user: `u${op.user}`, info });
      broadcast(sim, i, res.delta);
      break;
    }
    case 'leave': {
      const i = op.node % n;
      const ch = CHANNELS[op.ch % CHANNELS.length]!;
      const client = `${name(i)}-c${op.client}`;
      sim.local[i]!.delete(`${ch}/${client}`);
      broadcast(sim, i, sim.replicas[i]!.leave(ch, client).delta);
      break;
    }
    case 'update': {
      const i = op.node % n;
      const ch = CHANNELS[op.ch % CHANNELS.length]!;
      const client = `${name(i)}-c${op.client}`;
      const mine = sim.local[i]!.get(`${ch}/${client}`);
      if (!mine) break;
      mine.info = { v: sim.rnd.int(100), u: true };
      broadcast(sim, i, sim.replicas[i]!.update(ch, client, mine.info).delta);
      break;
    }
    case 'deliver': {
      for (let k = 0; k <= op.k && sim.queue.length > 0; k++) {
        const m = sim.queue.splice(sim.rnd.int(sim.queue.length), 1)[0]!;
        if (sim.group[m.from] !== sim.group[m.to]) continue; // partitioned: lost
        sim.replicas[m.to]!.apply([m.delta], now);
      }
      break;
    }
    case 'drop':
      for (let k = 0; k <= op.k && sim.queue.length > 0; k++) sim.queue.splice(sim.rnd.int(sim.queue.length), 1);
      break;
    case 'partition':
      sim.group = sim.replicas.map((_, i) => (op.mask >> i) & 1);
      break;
    case 'heal':
      sim.group = sim.replicas.map(() => 0);
      break;
    case 'crash': {
      const i = op.node % n;
      const old = sim.epochs[i]!;
      const snapshot = sim.replicas[i]!.snapshotBytes();
      sim.epochs[i] = old + 1;
      sim.replicas[i] = Replica.restore(snapshot, opts(i, old + 1), now);
      sim.local[i] = new Map();
      sim.queue = sim.queue.filter((m) => m.to !== i);
      if (op.dead) for (let j = 0; j < n; j++) if (j !== i) sim.replicas[j]!.removeOrigin(name(i), old);
      break;
    }
    case 'tick':
      sim.clock.advance(op.ms);
      for (const r of sim.replicas) r.expire(nowOf(sim));
      break;
    case 'gossip':
    case 'merkle': {
      const a = op.a % n;
      const b = op.b % n;
      if (a === b || sim.group[a] !== sim.group[b]) break;
      if (op.op === 'gossip') gossip(sim.replicas[a]!, sim.replicas[b]!, now);
      else runSession(sim.replicas[a]!, sim.replicas[b]!, now);
      break;
    }
  }
  sampleLowWater(sim);
}

function gossip(a: Replica, b: Replica, now: number): boolean {
  if (!digestsDiffer(a.digest(), b.digest())) return false;
  const reply = answerVectorRequest(b, vectorRequest(a));
  const outcome = handleDeltaReply(a, reply, now);
  if (outcome.push) b.apply(outcome.push.deltas, now);
  return true;
}

function heal(sim: Sim): number {
  sim.group = sim.replicas.map(() => 0);
  const now = nowOf(sim);
  for (const r of sim.replicas) r.expire(now);
  const n = sim.replicas.length;
  for (let round = 1; round <= 30; round++) {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        if (i === j) continue;
        const a = sim.replicas[i]!;
        const b = sim.replicas[j]!;
        while (gossip(a, b, now)) {
          if (!digestsDiffer(a.digest(), b.digest())) break;
          // digests still differ after one catch-up: what the rings cannot explain goes to Merkle
          runSession(a, b, now);
          break;
        }
        if (digestsDiffer(a.tree.rootHash(), b.tree.rootHash())) runSession(a, b, now, round);
      }
    }
    sampleLowWater(sim);
    const r0 = sim.replicas[0]!;
    if (sim.replicas.every((r) => !digestsDiffer(r.tree.rootHash(), r0.tree.rootHash()) && !digestsDiffer(r.digest(), r0.digest()))) return round;
  }
  return -1;
}

function check(sim: Sim): void {
  const now = nowOf(sim);
  const r0 = sim.replicas[0]!;
  // everyone equal
  for (const r of sim.replicas) {
    if (JSON.stringify(presenceView(r)) !== JSON.stringify(presenceView(r0))) throw new Error(`presence of ${r.node} differs from ${r0.node}`);
    if (JSON.stringify(historyView(r)) !== JSON.stringify(historyView(r0))) throw new Error(`history of ${r.node} differs from ${r0.node}\n${historyView(r).join('\n')}\n--\n${historyView(r0).join('\n')}`);
  }
  // presence = what each node's clients are, under the node's current epoch
  const expected: string[] = [];
  sim.local.forEach((clients, i) => {
    for (const [key, c] of clients) expected.push(`${key}@${name(i)}:${sim.epochs[i]}=${JSON.stringify(c.user)}/${JSON.stringify(c.info)}`);
  });
  const actual = [...r0.presence.entries()].map((e) => `${e.channel}/${e.clientId}@${e.node}:${e.epoch}=${JSON.stringify(e.user)}/${JSON.stringify(e.info)}`);
  if (JSON.stringify(actual.sort()) !== JSON.stringify(expected.sort())) throw new Error(`presence:\n${actual.join('\n')}\nexpected:\n${expected.join('\n')}`);
  // history = newest N of the published entries above the low-water mark and within TTL
  for (const ch of CHANNELS) {
    const { maxEntries, ttlMs } = r0.history.settings(ch);
    const lw = r0.history.lowWater(ch);
    const maxSeen = sim.maxLowWater.get(ch);
    if (maxSeen && (!lw || comparePositions(lw, maxSeen) < 0)) {
      // a mark may only vanish when it expired (then it guards nothing the TTL does not)
      if (!(ttlMs > 0 && hlcWall(maxSeen.ts) + ttlMs <= hlcWall(now))) throw new Error(`${ch}: low-water mark went backwards`);
    }
    const alive = (e: HistoryEntry): boolean => !(ttlMs > 0 && hlcWall(e.ts) + ttlMs <= hlcWall(now));
    const all = (sim.published.get(ch) ?? []).filter((e) => (!lw || comparePositions(e, lw) > 0) && alive(e));
    all.sort(comparePositions);
    const want = all.slice(Math.max(0, all.length - maxEntries)).map(idKey);
    const held = r0.history.entries(ch).map(idKey);
    if (new Set(held).size !== held.length) throw new Error(`${ch}: duplicates`);
    if (JSON.stringify(held) !== JSON.stringify(want)) throw new Error(`${ch}: held ${held.join(',')} want ${want.join(',')}`);
    if (lw && held.length < maxEntries && !(ttlMs > 0 && hlcWall(lw.ts) + ttlMs <= hlcWall(now))) {
      throw new Error(`${ch}: evicted below the cap (${held.length} < ${maxEntries}) without expiry`);
    }
  }
}

function simulate(n: number, seed: number, ops: Op[]): void {
  const clock = new ManualClock(0);
  const sim: Sim = {
    replicas: [], hlcs: [], epochs: [], clock, queue: [], group: [], local: [], published: new Map(), maxLowWater: new Map(),
    rnd: new Random(seed),
  };
  for (let i = 0; i < n; i++) {
    sim.replicas.push(new Replica(opts(i, 1)));
    sim.hlcs.push(new Hlc(clock));
    sim.epochs.push(1);
    sim.group.push(0);
    sim.local.push(new Map());
  }
  for (const op of ops) step(sim, op);
  if (heal(sim) < 0) {
    const r0 = sim.replicas[0]!;
    const diff = sim.replicas.map((r) => `${r.node} vector=${JSON.stringify(r.vector.toWire())} root=${Buffer.from(r.tree.rootHash()).toString('hex')}` +
      ` p=${presenceView(r).filter((x) => !presenceView(r0).includes(x)).join(' ')} h=${historyView(r).filter((x) => !historyView(r0).includes(x)).join(' ')}` +
      ` r0-only-p=${presenceView(r0).filter((x) => !presenceView(r).includes(x)).join(' ')} r0-only-h=${historyView(r0).filter((x) => !historyView(r).includes(x)).join(' ')}`);
    throw new Error(`no quiescence after 30 rounds:\n${diff.join('\n')}`);
  }
  check(sim);
}

t.test('random operations, loss, partitions, crashes: replicas converge to the model', async (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 3, max: 20 }), fc.integer(), fc.array(opArb, { minLength: 20, maxLength: 250 }), (n, seed, ops) => {
      simulate(n, seed, ops);
    }),
    { seed: 20240601, numRuns: 400, endOnFailure: true },
  );
  t.pass('converged');
});

t.test('a long partition with crashes on both sides heals', async (t) => {
  const ops: Op[] = [{ op: 'partition', mask: 0b00111 }];
  for (let i = 0; i < 120; i++) {
    ops.push({ op: 'publish', node: i % 6, ch: i % 3 });
    ops.push({ op: 'join', node: i % 6, ch: i % 3, client: i % 5, user: i % 4 });
    if (i % 7 === 0) ops.push({ op: 'leave', node: (i + 1) % 6, ch: i % 3, client: i % 5 });
    if (i % 10 === 0) ops.push({ op: 'deliver', k: 40 });
    if (i === 50) ops.push({ op: 'crash', node: 1, dead: false }, { op: 'crash', node: 4, dead: true });
    if (i % 20 === 0) ops.push({ op: 'tick', ms: 900 });
  }
  simulate(6, 7, ops);
  t.pass('converged');
});
