import t from 'tap';
import { ManualClock } from '../../lib/clock.js';
import type { Clock, Timer } from '../../lib/clock.js';
import { swimOptions } from '../../lib/config.js';
import { Random } from '../../lib/random.js';
import { Membership } from '../../lib/swim/membership.js';
import type { SwimOutbound } from '../../lib/swim/membership.js';

/**
 * A process pause, as an event loop lives it: timers that come due while paused run
 * late, all at once, before the datagrams that queued up meanwhile are read.
 */
function pausedNode(verifyBeforeDeath: boolean): { m: Membership; clock: ManualClock; pause: () => void; resume: (inbox: () => void) => void } {
  const clock = new ManualClock();
  let paused = false;
  const backlog: (() => void)[] = [];
  const nodeClock: Clock = {
    now: () => clock.now(),
    wall: () => clock.wall(),
    setTimer: (ms: number, fn: () => void): Timer => clock.setTimer(ms, () => (paused ? backlog.push(fn) : fn())),
  };
  const out: SwimOutbound = { send: () => {}, gossip: () => {}, pushPull: () => {}, streamPing: () => {} };
  const m = new Membership({ name: 'a', address: 'a:1', options: swimOptions('lan', { verifyBeforeDeath }), clock: nodeClock, random: new Random(1), out });
  for (const n of ['b', 'c']) m.handle({ type: 'alive', node: n, incarnation: 1, addr: `${n}:1`, meta: new Uint8Array() }, `${n}:1`);
  return {
    m,
    clock,
    pause: () => (paused = true),
    resume: (inbox) => {
      paused = false;
      for (const fn of backlog.splice(0)) fn();
      inbox();
    },
  };
}

// The same rules hold whether the suspecter verifies (a probe decides) or declares on the
// deadline (verifyBeforeDeath: false, memberlist's way): neither acts on a stale timer.
for (const verifyBeforeDeath of [true, false]) {
  t.test(`verifyBeforeDeath: ${verifyBeforeDeath}`, async (t) => {
    t.test('a suspicion timer that fires late after a pause waits for the backlog before declaring death', async (t) => {
      const { m, clock, pause, resume } = pausedNode(verifyBeforeDeath);
      const dead: string[] = [];
      m.on('member-dead', (x) => dead.push(x.name));
      m.handle({ type: 'suspect', node: 'b', incarnation: 1, from: 'c' }, 'c:1');
      t.equal(m.member('b')?.state, 'suspect');
      clock.advance(1000);
      pause();
      // the 4 s suspicion timeout passes while paused; b's refutation arrives meanwhile
      clock.advance(9000);
      resume(() => m.handle({ type: 'alive', node: 'b', incarnation: 2, addr: 'b:1', meta: new Uint8Array() }, 'b:1'));
      clock.advance(5000);
      t.same(dead, [], 'b is not declared dead on a stale timer');
      t.equal(m.member('b')?.state, 'alive');
    });

    t.test('a late suspicion timer still declares a member that stays silent dead', async (t) => {
      const { m, clock, pause, resume } = pausedNode(verifyBeforeDeath);
      const dead: number[] = [];
      m.on('member-dead', () => dead.push(clock.now()));
      m.handle({ type: 'suspect', node: 'b', incarnation: 1, from: 'c' }, 'c:1');
      clock.advance(1000);
      pause();
      clock.advance(9000);
      resume(() => {});
      t.same(dead, [], 'not at the moment of waking');
      clock.advance(1000);
      t.same(dead, [11_000], 'one probe interval later');
    });

    t.test('a suspicion timer on time is not delayed', async (t) => {
      const { m, clock } = pausedNode(verifyBeforeDeath);
      const dead: number[] = [];
      m.on('member-dead', () => dead.push(clock.now()));
      m.handle({ type: 'suspect', node: 'b', incarnation: 1, from: 'c' }, 'c:1');
      clock.advance(10_000);
      t.same(dead, [4000]);
    });
  });
}
