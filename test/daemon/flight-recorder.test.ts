import t from 'tap';
import { FlightRecorder, RecordingEvidenceLog } from '../../lib/daemon/flight-recorder.js';

t.test('the ring keeps the newest records, pages them by seq and counts what was overwritten', (t) => {
  let now = 1000;
  const rec = new FlightRecorder(4, () => now++);
  for (let i = 0; i < 6; i++) rec.add({ kind: 'stall', lateMs: i });
  const all = rec.page(0, 100);
  t.same(all.records.map((r) => r.seq), [2, 3, 4, 5], 'the oldest two were overwritten');
  t.equal(all.first, 2);
  t.equal(all.next, 6);
  t.equal(all.lost, 2, 'asked from 0: seq 0 and 1 are lost');
  t.same(all.records.map((r) => r.t), [1002, 1003, 1004, 1005], 'stamped with the wall clock');
  const part = rec.page(3, 2);
  t.same(part.records.map((r) => r.seq), [3, 4]);
  t.equal(part.next, 5, 'continue from next');
  t.equal(part.lost, 0);
  t.same(rec.page(6, 10).records, [], 'nothing new');
  t.same(rec.page(0, 0).records, [], 'limit 0 answers the cursor only');
  t.end();
});

t.test('the evidence log feeds the recorder with probe verdicts and state changes', (t) => {
  const rec = new FlightRecorder(16, () => 5);
  const log = new RecordingEvidenceLog(10, rec);
  log.transition('b', 'suspect', 3, 'c', 1, 'alive');
  log.probe('b', { at: 2, kind: 'indirect-ack', rttMs: 12.34567, via: 'c', helpers: 3, nacks: 0, tcp: 'none', verification: false });
  t.same(rec.page(0, 10).records, [
    { kind: 'state', member: 'b', state: 'suspect', incarnation: 3, by: 'c', seq: 0, t: 5 },
    { kind: 'probe', member: 'b', outcome: 'indirect-ack', rttMs: 12.346, helpers: 3, nacks: 0, seq: 1, t: 5 },
  ]);
  t.equal(log.member('b', 10).probes.length, 1, 'the evidence is kept as before');
  t.end();
});
