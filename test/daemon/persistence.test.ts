import t from 'tap';
import { appendFileSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataDir, DataDirError } from '../../lib/daemon/persistence.js';
import type { HistoryEntry } from '../../lib/replica/history.js';
import { tempDir } from './fixtures.js';

const entry = (seq: number): HistoryEntry => ({ channel: 'c', node: 'n1', epoch: 1, seq, c: seq, ts: 1000 * 1024 + seq, data: { seq } });

t.test('round trip: identity, keys, members, snapshot and log', async (t) => {
  const { dir, cleanup } = tempDir();
  t.teardown(cleanup);
  const d = DataDir.open(dir);
  t.same(d.load(), { identity: undefined, keys: undefined, members: [], snapshot: undefined, entries: [], problems: [] });
  d.saveIdentity({ name: 'n1', incarnation: 3 });
  d.saveKeys([new Uint8Array(32).fill(7)]);
  d.saveMembers([{ name: 'n2', address: '127.0.0.2:7946' }]);
  d.openLog('always');
  d.appendEntry(entry(1));
  d.saveSnapshot(new Uint8Array([1, 2, 3]));
  d.appendEntry(entry(2));
  d.appendEntry(entry(3));
  await d.close();
  t.equal(statSync(join(dir, 'keyring.json')).mode & 0o777, 0o600, 'keyring is owner-only');
  t.notOk(existsSync(join(dir, 'LOCK')), 'lock released');

  const d2 = DataDir.open(dir);
  const s = d2.load();
  t.same(s.identity, { name: 'n1', incarnation: 3 });
  t.same(s.keys, [new Uint8Array(32).fill(7)]);
  t.same(s.members, [{ name: 'n2', address: '127.0.0.2:7946' }]);
  t.same(s.snapshot, new Uint8Array([1, 2, 3]));
  t.same(s.entries.map((e) => e.seq), [2, 3], 'the snapshot folded the log before it');
  t.same(s.problems, []);
  t.throws(() => DataDir.open(dir), DataDirError, 'a second agent cannot use the same data dir');
  await d2.close();
});

t.test('a truncated log tail is cut, not fatal', async (t) => {
  const { dir, cleanup } = tempDir();
  t.teardown(cleanup);
  const d = DataDir.open(dir);
  d.load();
  d.openLog('interval');
  for (let i = 1; i <= 5; i++) d.appendEntry(entry(i));
  await d.close();
  const log = join(dir, 'history.log');
  const full = readFileSync(log);
  writeFileSync(log, full.subarray(0, full.length - 7));
  const d2 = DataDir.open(dir);
  const s = d2.load();
  t.same(s.entries.map((e) => e.seq), [1, 2, 3, 4]);
  t.match(s.problems, [/history.log: truncated record .* kept 4 entries/]);
  d2.openLog('interval');
  d2.appendEntry(entry(6));
  await d2.close();
  const d3 = DataDir.open(dir);
  t.same(d3.load().entries.map((e) => e.seq), [1, 2, 3, 4, 6], 'appends continue after the cut');
  await d3.close();

  // garbage appended (a flipped length or checksum) is cut the same way
  appendFileSync(log, Buffer.from([0, 0, 0, 4, 1, 2, 3, 4, 9, 9, 9, 9]));
  const d4 = DataDir.open(dir);
  const s4 = d4.load();
  t.equal(s4.entries.length, 5);
  t.match(s4.problems, [/checksum mismatch/]);
  await d4.close();
});

t.test('corrupt files are moved aside and reported', async (t) => {
  const { dir, cleanup } = tempDir();
  t.teardown(cleanup);
  writeFileSync(join(dir, 'identity.json'), '{"name": "n1", "incarn');
  writeFileSync(join(dir, 'keyring.json'), '{"keys": ["short"]}');
  writeFileSync(join(dir, 'members.json'), 'null');
  writeFileSync(join(dir, 'history.snapshot'), 'CLDSNAP1\u0000\u0000\u0000\u0000garbage');
  writeFileSync(join(dir, 'LOCK'), '999999999\n');
  const d = DataDir.open(dir);
  const s = d.load();
  t.equal(s.identity, undefined);
  t.equal(s.keys, undefined);
  t.same(s.members, []);
  t.equal(s.snapshot, undefined);
  t.equal(s.problems.length, 4);
  t.match(s.problems.join('\n'), /identity.json is corrupt/);
  t.match(s.problems.join('\n'), /history.snapshot is corrupt \(bad header or checksum\)/);
  t.equal(readdirSync(dir).filter((f) => f.includes('.corrupt-')).length, 4, 'kept for inspection');
  await d.close();
});

t.test('binary payloads read back from the log own their bytes (a view would pin the whole file buffer)', async (t) => {
  const { dir, cleanup } = tempDir();
  t.teardown(cleanup);
  const d = DataDir.open(dir);
  d.load();
  d.openLog('always');
  for (let seq = 1; seq <= 3; seq++) d.appendEntry({ ...entry(seq), data: { blob: new Uint8Array(16).fill(seq) } });
  await d.close();
  const d2 = DataDir.open(dir);
  const blobs = d2.load().entries.map((e) => (e.data as { blob: Uint8Array }).blob);
  t.same(blobs.map((b) => b[0]), [1, 2, 3]);
  t.ok(blobs.every((b) => b.byteOffset === 0 && b.byteLength === b.buffer.byteLength));
  await d2.close();
});
