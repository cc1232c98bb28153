import t from 'tap';
import { ManualClock } from '../../lib/clock.js';
import { swimOptions } from '../../lib/config.js';
import type { PushPullMessage } from '../../lib/codec/messages.js';
import { Random } from '../../lib/random.js';
import { Membership } from '../../lib/swim/membership.js';
import type { SwimOutbound } from '../../lib/swim/membership.js';

/** A Membership named `b` at incarnation 2 that records its defunct notifications. */
function node(out: Partial<SwimOutbound> = {}): { m: Membership; defunct: number[] } {
  const defunct: number[] = [];
  const m = new Membership({
    name: 'b', address: 'b:1', incarnation: 2, options: swimOptions('lan'), clock: new ManualClock(), random: new Random(1),
    out: { send: () => {}, gossip: () => {}, pushPull: () => {}, streamPing: () => {}, ...out },
    onDefunct: (incarnation) => defunct.push(incarnation),
  });
  m.handle({ type: 'alive', node: 'a', incarnation: 0, addr: 'a:1', meta: new Uint8Array() }, 'a:1');
  return { m, defunct };
}

function listing(state: 'alive' | 'dead' | 'suspect', incarnation: number): PushPullMessage {
  return { type: 'push-pull', join: false, members: [
    { node: 'a', addr: 'a:1', incarnation: 0, state: 'alive', meta: new Uint8Array() },
    { node: 'b', addr: 'b:1', incarnation, state, meta: new Uint8Array() },
  ] };
}

t.test('a death certificate for us notifies once, after the refutation, with the new incarnation', async (t) => {
  const { m, defunct } = node();
  m.handle({ type: 'dead', node: 'b', incarnation: 2, from: 'a' }, 'a:1');
  t.equal(m.incarnation, 3, 'refuted');
  t.same(defunct, [3], 'notified with the refuting incarnation');
  m.handle({ type: 'dead', node: 'b', incarnation: 1, from: 'a' }, 'a:1');
  t.same(defunct, [3], 'an older certificate (already refuted) is not a new death');
  m.handle({ type: 'suspect', node: 'b', incarnation: 3, from: 'a' }, 'a:1');
  t.equal(m.incarnation, 4, 'a suspicion is refuted too');
  t.same(defunct, [3], 'but nobody dropped our presence for a suspicion');
});

t.test('a push-pull listing us dead notifies, on both sides of the exchange', async (t) => {
  const answered = node();
  answered.m.handlePushPull(listing('dead', 2));
  t.same(answered.defunct, [3], 'the answering side');
  answered.m.handlePushPull(listing('suspect', 3));
  t.same(answered.defunct, [3], 'listed suspect: no');

  let reply: ((r: PushPullMessage | undefined) => void) | undefined;
  const initiator = node({ pushPull: (_to, _msg, done) => (reply = done) });
  initiator.m.join(['a:1']);
  t.ok(reply, 'a push-pull went out');
  reply!(listing('dead', 5));
  t.equal(initiator.m.incarnation, 6);
  t.same(initiator.defunct, [6], 'the initiating side, from the reply');
});

t.test('no notification while leaving, nor for our own leave echoed back', async (t) => {
  const { m, defunct } = node();
  m.handle({ type: 'dead', node: 'b', incarnation: 2, from: 'b' }, 'a:1');
  t.same(defunct, [], 'a `left` about us is not a death certificate');
  m.leave(() => {});
  m.handle({ type: 'dead', node: 'b', incarnation: 9, from: 'a' }, 'a:1');
  t.same(defunct, [], 'leaving: nothing to re-announce');
});
