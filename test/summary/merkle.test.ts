import t from 'tap';
import { MerkleTree } from '../../lib/summary/merkle.js';
import { Random } from '../../lib/random.js';
import { hashString64 } from '../../lib/summary/hash64.js';

t.test('insert order does not matter; delete restores the empty root', async (t) => {
  const rnd = new Random('merkle');
  const keys = Array.from({ length: 2000 }, (_, i) => `k${i}`);
  const a = new MerkleTree();
  const b = new MerkleTree();
  for (const k of keys) a.set(k, 1, 2);
  for (const k of rnd.shuffle([...keys])) b.set(k, 1, 2);
  t.same(a.rootHash(), b.rootHash());
  t.equal(a.size, 2000);
  for (const k of keys) a.delete(k);
  t.equal(a.size, 0);
  t.same(a.rootHash(), new Uint8Array(8));
});

t.test('a new version changes the root; the old version restores it', async (t) => {
  const tree = new MerkleTree();
  tree.set('a', 1, 0);
  tree.set('b', 1, 0);
  const before = tree.rootHash();
  tree.set('a', 2, 0);
  t.notSame(tree.rootHash(), before);
  t.equal(tree.size, 2);
  tree.set('a', 1, 0);
  t.same(tree.rootHash(), before);
  tree.set('a', 1, 0); // same version twice is a no-op
  t.same(tree.rootHash(), before);
  tree.delete('missing');
  t.same(tree.rootHash(), before);
});

t.test('records with equal hashes do not cancel out (sum, not XOR)', async (t) => {
  const tree = new MerkleTree({ fanoutBits: 1, depth: 1 });
  // the same record hash added twice must not read as empty
  tree.set('x', 5, 5);
  const one = tree.rootHash();
  tree.delete('x');
  tree.set('x', 5, 5);
  t.same(tree.rootHash(), one);
  t.notSame(one, new Uint8Array(8));
});

t.test('counts and record listing follow the shape', async (t) => {
  const tree = new MerkleTree({ fanoutBits: 2, depth: 3 });
  t.equal(tree.nodeCount, 1 + 4 + 16 + 64);
  t.equal(tree.leafCount, 64);
  for (let i = 0; i < 100; i++) tree.set(`r${i}`, i, 0);
  let sum = 0;
  for (let n = tree.startOf(1); n < tree.startOf(2); n++) sum += tree.countOf(n);
  t.equal(sum, 100);
  const listed: string[] = [];
  tree.forEachRecord(0, (key) => listed.push(key));
  t.equal(listed.length, 100);
  t.ok(tree.has('r5'));
  t.notOk(tree.has('zz'));
  t.equal(tree.levelOf(0), 0);
  t.equal(tree.levelOf(5), 2);
  t.equal(tree.firstDescendant(0, 2), 5);
  tree.clear();
  t.equal(tree.size, 0);
  t.throws(() => new MerkleTree({ fanoutBits: 0 }), { code: 'E_INVALID_ARGUMENT' });
});

t.test('every level sums to the root', async (t) => {
  const tree = new MerkleTree();
  for (let i = 0; i < 5000; i++) tree.set(`key-${i}`, i, i * 7);
  for (let i = 0; i < 5000; i += 3) tree.delete(`key-${i}`);
  for (let level = 1; level <= tree.depth; level++) {
    let lo = 0;
    let hi = 0;
    let count = 0;
    const end = level === tree.depth ? tree.nodeCount : tree.startOf(level + 1);
    for (let n = tree.startOf(level); n < end; n++) {
      lo += tree.loOf(n);
      hi += tree.hiOf(n);
      count += tree.countOf(n);
    }
    hi = (hi + Math.floor(lo / 4294967296)) % 4294967296;
    lo %= 4294967296;
    t.equal(lo, tree.loOf(0), `lo lane at level ${level}`);
    t.equal(hi, tree.hiOf(0), `hi lane at level ${level}`);
    t.equal(count, tree.size);
  }
});

t.test('emptied leaves are released: a sliding window of keys holds as many leaves as keys, not every leaf ever touched', async (t) => {
  const tree = new MerkleTree();
  const window = 500;
  let maxOccupied = 0;
  // 50,000 keys through a window of 500, as capped history does: without the release
  // the tree ends with most of its 65,536 leaves allocated
  for (let i = 0; i < 50_000; i++) {
    tree.set(`key-${i}`, i, 0);
    if (i >= window) tree.delete(`key-${i - window}`);
    maxOccupied = Math.max(maxOccupied, tree.occupiedLeaves);
  }
  t.equal(tree.size, window);
  t.ok(tree.occupiedLeaves <= window, `${tree.occupiedLeaves} leaves for ${window} keys`);
  t.ok(maxOccupied <= window + 1);
  // a leaf holding two keys stays until both are gone
  for (let i = 50_000 - window; i < 50_000; i++) tree.delete(`key-${i}`);
  t.equal(tree.occupiedLeaves, 0);
  t.same(tree.rootHash(), new Uint8Array(8));
  tree.set('again', 1, 1);
  t.equal(tree.occupiedLeaves, 1);
  tree.clear();
  t.equal(tree.occupiedLeaves, 0);
});

t.test('records inserted by reference: identity, same hashes as string keys, keys derived only to list', async (t) => {
  const refs = Array.from({ length: 300 }, (_, i) => ({ name: `ref-${i}` }));
  let derived = 0;
  const keyOf = (r: object): string => {
    derived++;
    return (r as { name: string }).name;
  };
  const byRef = new MerkleTree({}, keyOf);
  const byKey = new MerkleTree();
  for (const [i, r] of refs.entries()) {
    // the caller's key hash decides the leaf; use a string hash so both trees agree
    const h = hashString64(r.name);
    byRef.setRef(r, h[0]!, h[1]!, i, 1);
    byKey.set(r.name, i, 1);
  }
  t.same(byRef.rootHash(), byKey.rootHash(), 'same key hash and version, same record hash');
  t.equal(byRef.size, 300);
  t.equal(derived, 0, 'inserting built no key');
  // a different object with the same key hash is a different record (identity, not value)
  const twin = { name: 'ref-0' };
  const h0 = [...hashString64('ref-0')]; // a copy: the scratch output is overwritten by the next hash
  byRef.setRef(twin, h0[0]!, h0[1]!, 0, 1);
  t.equal(byRef.size, 301);
  byRef.deleteRef(twin, h0[0]!, h0[1]!);
  t.equal(byRef.size, 300);
  byRef.deleteRef({ name: 'absent' }, h0[0]!, h0[1]!);
  t.equal(byRef.size, 300, 'deleting an unknown ref is a no-op');
  const listed: string[] = [];
  byRef.forEachRecord(0, (key) => listed.push(key));
  t.same(listed.sort(), refs.map((r) => r.name).sort());
  t.equal(derived, 300, 'keys derived when listed');
  for (const [i, r] of refs.entries()) {
    const h = hashString64(r.name);
    byRef.setRef(r, h[0]!, h[1]!, i, 2);
  }
  t.notSame(byRef.rootHash(), byKey.rootHash(), 'a new version of the same ref replaces the record');
  t.equal(byRef.size, 300);
  for (const r of refs) {
    const h = hashString64(r.name);
    byRef.deleteRef(r, h[0]!, h[1]!);
  }
  t.equal(byRef.size, 0);
  t.same(byRef.rootHash(), new Uint8Array(8));
  const plain = new MerkleTree();
  plain.setRef(twin, h0[0]!, h0[1]!, 0, 1);
  t.throws(() => plain.forEachRecord(0, () => undefined), { code: 'E_INVALID_ARGUMENT' }, 'listing a ref without keyOf is an error');
});
