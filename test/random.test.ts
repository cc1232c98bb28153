import t from 'tap';
import { Random, hashString } from '../lib/random.js';

t.test('same seed, same sequence; different seeds differ', async (t) => {
  const a = new Random(42);
  const b = new Random(42);
  const c = new Random('42');
  const seqA = Array.from({ length: 20 }, () => a.uint32());
  t.same(seqA, Array.from({ length: 20 }, () => b.uint32()));
  t.notSame(seqA, Array.from({ length: 20 }, () => c.uint32()));
});

t.test('ranges and distribution', async (t) => {
  const r = new Random(1);
  const counts = new Array<number>(10).fill(0);
  for (let i = 0; i < 100_000; i++) {
    const v = r.int(10);
    counts[v] = counts[v]! + 1;
    const f = r.next();
    if (f < 0 || f >= 1) t.fail('next() out of [0,1)');
  }
  t.ok(counts.every((n) => n > 9000 && n < 11000), `roughly uniform: ${counts.join(',')}`);
  let hits = 0;
  for (let i = 0; i < 10_000; i++) if (r.chance(0.2)) hits++;
  t.ok(hits > 1800 && hits < 2200, `chance(0.2) ≈ 20 %: ${hits}`);
  t.notOk(r.chance(0));
  const v = r.between(5, 7);
  t.ok(v >= 5 && v <= 7);
});

t.test('shuffle, sample and pick', async (t) => {
  const r = new Random(3);
  const items = Array.from({ length: 50 }, (_, i) => i);
  const shuffled = r.shuffle([...items]);
  t.same([...shuffled].sort((a, b) => a - b), items, 'a permutation');
  t.notSame(shuffled, items);
  const s = r.sample(items, 5, (x) => x % 2 === 0);
  t.equal(s.length, 5);
  t.equal(new Set(s).size, 5, 'distinct');
  t.ok(s.every((x) => x % 2 === 1), 'exclusions honoured');
  t.same(r.sample(items, 0), []);
  t.equal(r.sample([1, 2], 5).length, 2);
  t.equal(r.pick([]), undefined);
  t.equal(r.bytes(7).length, 7);
});

t.test('fork gives independent deterministic streams', async (t) => {
  const a = new Random(9).fork('x');
  const b = new Random(9).fork('x');
  const c = new Random(9).fork('y');
  t.equal(a.uint32(), b.uint32());
  t.not(new Random(9).fork('x').uint32(), c.uint32());
  t.equal(hashString('abc'), hashString('abc'));
});

t.test('sample draws exactly what a partial Fisher–Yates over a map of displaced indices draws, call after call, reentrant too', async (t) => {
  // the reference: the algorithm written plainly
  const reference = (r: Random, items: number[], k: number, exclude?: (x: number) => boolean): number[] => {
    const out: number[] = [];
    if (k <= 0 || items.length === 0) return out;
    const swapped = new Map<number, number>();
    for (let i = 0; i < items.length && out.length < k; i++) {
      const j = i + r.int(items.length - i);
      const vj = swapped.get(j) ?? j;
      swapped.set(j, swapped.get(i) ?? i);
      const item = items[vj]!;
      if (!exclude || !exclude(item)) out.push(item);
    }
    return out;
  };
  const a = new Random(77);
  const b = new Random(77);
  for (let round = 0; round < 200; round++) {
    const n = 1 + (round * 37) % 500;
    const items = Array.from({ length: n }, (_, i) => i);
    const k = round % 7;
    const odd = (x: number): boolean => x % 2 === 1;
    t.same(a.sample(items, k, round % 3 === 0 ? odd : undefined), reference(b, items, k, round % 3 === 0 ? odd : undefined), `round ${round}`);
  }
  // a sample taken inside another's exclude callback gets its own scratch
  const inner: number[][] = [];
  const got = a.sample([1, 2, 3, 4, 5, 6], 3, (x) => {
    inner.push(a.sample([10, 20, 30], 2));
    return x === 3;
  });
  const want = reference(b, [1, 2, 3, 4, 5, 6], 3, (x) => {
    const r = reference(b, [10, 20, 30], 2);
    t.same(inner.shift(), r);
    return x === 3;
  });
  t.same(got, want);
});
