import t from 'tap';
import { PendingTable } from '../../lib/swim/pending.js';

interface P {
  seq: number;
  until: number;
  tag: string;
}

t.test('finds entries by sequence number until deleted or out of time', async (t) => {
  const table = new PendingTable<P>();
  table.set({ seq: 1, until: Infinity, tag: 'probe' }, 0);
  table.set({ seq: 2, until: 1000, tag: 'relay' }, 0);
  t.equal(table.get(1, 0)?.tag, 'probe');
  t.equal(table.get(2, 999)?.tag, 'relay');
  t.equal(table.get(2, 1000), undefined, 'a relay is gone at its until');
  t.equal(table.get(3, 0), undefined, 'never set');
  t.equal(table.get(17, 0), undefined, 'another number on the same slot is not it');
  table.delete(1);
  t.equal(table.get(1, 0), undefined);
  table.delete(1);
  table.delete(99);
  t.equal(table.get(2, 10)?.tag, 'relay', 'deleting others leaves it');
  table.clear();
  t.equal(table.get(2, 10), undefined);
});

t.test('grows only with what is live at once', async (t) => {
  const table = new PendingTable<P>();
  // a node's steady state: each entry lives 5 numbers' worth of time, deleted or expired
  for (let seq = 1; seq <= 10_000; seq++) {
    table.set({ seq, until: seq % 2 === 0 ? seq + 5 : Infinity, tag: '' }, seq);
    if (seq % 2 === 1 && seq > 5) table.delete(seq - 6);
  }
  t.equal(table.capacity, 16, 'the ring never needed more than its first size');
  for (let seq = 10_001; seq <= 10_100; seq++) table.set({ seq, until: Infinity, tag: String(seq) }, 10_001);
  t.ok(table.capacity >= 100 && table.capacity <= 256, `100 live at once: ${table.capacity} slots`);
  let found = 0;
  for (let seq = 10_001; seq <= 10_100; seq++) if (table.get(seq, 10_001)?.tag === String(seq)) found++;
  t.equal(found, 100, 'every live entry kept through the growth');
  t.equal(table.get(9_999, 10_001)?.until, Infinity, 'one left live before the burst is still there');
  t.equal(table.get(9_993, 10_001), undefined, 'one deleted before it is not');
});

t.test('an expired entry gives its slot to the next number that needs it', async (t) => {
  const table = new PendingTable<P>();
  table.set({ seq: 5, until: 100, tag: 'old' }, 0);
  table.set({ seq: 21, until: Infinity, tag: 'new' }, 100);
  t.equal(table.capacity, 16, 'no growth for an expired neighbour');
  t.equal(table.get(21, 100)?.tag, 'new');
  t.equal(table.get(5, 50), undefined, 'overwritten');
});

t.test('sequence numbers near 2³² wrap to small ones without confusion', async (t) => {
  const table = new PendingTable<P>();
  table.set({ seq: 0xffffffff, until: Infinity, tag: 'last' }, 0);
  table.set({ seq: 1, until: Infinity, tag: 'first' }, 0);
  t.equal(table.get(0xffffffff, 0)?.tag, 'last');
  t.equal(table.get(1, 0)?.tag, 'first');
  table.delete(0xffffffff);
  t.equal(table.get(0xffffffff, 0), undefined);
  t.equal(table.get(1, 0)?.tag, 'first');
});
