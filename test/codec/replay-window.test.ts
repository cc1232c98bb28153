import t from 'tap';
import fc from 'fast-check';
import { FrameDecoder, FrameEncoder } from '../../lib/codec/frame.js';
import { Keyring } from '../../lib/codec/keyring.js';
import { encodeMessage } from '../../lib/codec/messages.js';
import { REPLAY_WINDOW, ReplayWindow } from '../../lib/codec/replay-window.js';
import { Random } from '../../lib/random.js';

t.test('window basics', async (t) => {
  const w = new ReplayWindow();
  t.ok(w.check(1, 10));
  w.record(1, 10);
  t.notOk(w.check(1, 10), 'exact replay');
  t.ok(w.check(1, 9), 'older but unseen, inside the window');
  w.record(1, 9);
  t.notOk(w.check(1, 9));
  t.ok(w.check(2, 10), 'prefixes are independent');
  w.record(1, 10 + REPLAY_WINDOW);
  t.notOk(w.check(1, 10), 'slid out');
  t.notOk(w.check(1, 10 + REPLAY_WINDOW));
  t.notOk(w.check(1, 10 + REPLAY_WINDOW - REPLAY_WINDOW), 'exactly 64 behind is refused');
  t.ok(w.check(1, 10 + REPLAY_WINDOW - (REPLAY_WINDOW - 1)), '63 behind is fine');
  w.record(1, 2 ** 48 - 1);
  t.notOk(w.check(1, 2 ** 48 - 1));
  t.ok(w.check(1, 2 ** 48 - 2));
});

t.test('matches a reference model (Set of seen + highest)', async (t) => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(3), fc.nat(300)), { maxLength: 400 }), (ops) => {
      const w = new ReplayWindow();
      const seen = new Map<number, { top: number; set: Set<number> }>();
      for (const [p, c] of ops) {
        const s = seen.get(p);
        const expected = !s || c > s.top || (s.top - c < REPLAY_WINDOW && !s.set.has(c));
        if (w.check(p, c) !== expected) return false;
        if (expected) {
          w.record(p, c);
          const st = s ?? { top: c, set: new Set<number>() };
          st.top = Math.max(st.top, c);
          st.set.add(c);
          seen.set(p, st);
        }
      }
      return true;
    }),
    { seed: 7, numRuns: 300 },
  );
  t.pass();
});

t.test('LRU bounds the number of prefixes', async (t) => {
  const w = new ReplayWindow(3);
  for (let p = 0; p < 10; p++) w.record(p, 1);
  t.equal(w.size, 3);
  t.notOk(w.check(9, 1));
  t.ok(w.check(0, 1), 'evicted prefix forgotten');
  w.record(7, 2); // refresh 7
  w.record(10, 1); // evicts 8, the least recently used
  t.notOk(w.check(7, 2));
  t.ok(w.check(8, 1));
  t.throws(() => new ReplayWindow(0), { code: 'E_CONFIG' });
});

t.test('frames: replays rejected, reordering within the window accepted', async (t) => {
  const rnd = new Random('replay');
  const ring = new Keyring(rnd.bytes(32));
  const enc = new FrameEncoder({ keyring: ring, noncePrefix: rnd.bytes(6) });
  const dec = new FrameDecoder({ keyring: ring });
  const frames = Array.from({ length: 100 }, (_, i) => enc.encode([encodeMessage({ type: 'nack', seq: i })]));
  t.ok(dec.decode(frames[50]!).ok);
  t.ok(dec.decode(frames[10]!).ok, '40 behind: inside the window');
  const r = dec.decode(frames[50]!);
  t.equal(!r.ok && r.error.code, 'E_FRAME_REPLAY');
  t.ok(dec.decode(frames[99]!).ok);
  const old = dec.decode(frames[20]!);
  t.equal(!old.ok && old.error.code, 'E_FRAME_REPLAY', '79 behind: too old');
  // a second sender (another prefix) has its own window
  const other = new FrameEncoder({ keyring: ring, noncePrefix: rnd.bytes(6) });
  t.ok(dec.decode(other.encode([])).ok);
  // a forged frame with a fresh counter does not move the window
  const forged = enc.encode([]).slice();
  forged[forged.length - 1]! ^= 1;
  t.equal(dec.decode(forged).ok, false);
  t.equal(dec.rejected.E_FRAME_REPLAY, 2);
  t.equal(dec.rejected.E_FRAME_DECRYPT, 1);
});
