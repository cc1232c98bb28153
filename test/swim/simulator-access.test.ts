import { decode } from '@msgpack/msgpack';
import t from 'tap';
import { ManualClock } from '../../lib/clock.js';
import { swimOptions } from '../../lib/config.js';
import type { SwimOptions } from '../../lib/config.js';
import { decodeMessage } from '../../lib/codec/messages.js';
import type { MemberSnapshot, Message } from '../../lib/codec/messages.js';
import { Random } from '../../lib/random.js';
import { MemberIndex, SharedMembers } from '../../lib/swim/members.js';
import type { Member } from '../../lib/swim/members.js';
import { Membership } from '../../lib/swim/membership.js';
import type { MembershipInit } from '../../lib/swim/membership.js';
import { encodeMeta } from '../../lib/swim/meta.js';
import { piggybackMessages, seedMembers, seedShared, simulatedMembership } from '../../lib/swim/simulator-access.js';

const broker = encodeMeta({ roles: ['broker'], tags: {}, endpoints: { ws: 'ws://x' }, load: {} });
const noop = { send: () => {}, gossip: () => {}, pushPull: () => {}, streamPing: () => {} };
const init = (name: string, overrides: Partial<SwimOptions> = {}): MembershipInit => ({
  name, address: `${name}:1`, options: swimOptions('lan', overrides), clock: new ManualClock(), random: new Random(1), out: noop,
});
const snap = (node: string, state: MemberSnapshot['state'] = 'alive', meta: Uint8Array = new Uint8Array()): MemberSnapshot => ({ node, addr: `${node}:1`, incarnation: 0, state, meta });
const rec = (name: string, meta: Uint8Array = new Uint8Array()): Member => ({ name, addr: `${name}:1`, incarnation: 0, state: 'alive', meta, changedAt: 0, rttMs: undefined });

t.test('the simulator hooks are not on Membership\'s surface', async (t) => {
  const m = new Membership(init('self'));
  for (const hook of ['seedShared', 'seedMembers', 'piggybackMessages']) t.notOk(hook in m, hook);
  t.equal(Object.getOwnPropertySymbols(m).filter((s) => Object.getOwnPropertyDescriptor(m, s)?.enumerable).length, 0, 'the internals symbol is not enumerable');
});

t.test('seedMembers adds unknown alive, dead and left members, and only those', async (t) => {
  const m = new Membership(init('self', { maxMembers: 5 }));
  const joins: string[] = [];
  const brokerLists: string[][] = [];
  m.on('member-join', (i) => joins.push(i.name));
  m.on('brokers-changed', (b) => brokerLists.push(b.map((x) => x.name)));
  const added = seedMembers(m, [snap('self'), snap('a'), snap('b', 'suspect'), snap('c', 'dead'), snap('d', 'left'), snap('br', 'alive', broker), snap('a'), snap('over')]);
  t.equal(added, 4, 'a, c, d, br (self, the suspect and the repeat skipped; the cap reached before "over")');
  t.same(m.counts(), { alive: 3, suspect: 0, dead: 1, left: 1 });
  t.equal(m.counters.rejectedMembers, 1, 'over the member cap');
  t.same(joins, ['a', 'br'], 'joins for alive members only');
  t.same(brokerLists, [['br']], 'one brokers-changed for the batch');
  t.same(m.brokers().map((b) => b.name), ['br']);
  t.equal(m.queuedBroadcasts, 0, 'nothing queued for gossip');

  const quiet = new Membership(init('self'));
  quiet.on('member-join', () => t.fail('quiet'));
  t.equal(seedMembers(quiet, [snap('a')], { quiet: true }), 1);
  t.equal(seedMembers(quiet, [snap('big', 'alive', new Uint8Array(5000))]), 0, 'metadata over the limit');
});

t.test('seedShared reads shared records, lists brokers, and refuses what handle() must do', async (t) => {
  const index = new MemberIndex(true);
  const shared = new SharedMembers(index, [rec('n0'), rec('n1'), rec('br', broker)]);
  const m = simulatedMembership(init('n0'), { index });
  t.equal(seedShared(m, shared), 2, 'everyone but itself');
  t.same(m.brokers().map((b) => b.name), ['br']);
  t.same(m.members().map((x) => x.name).sort(), ['br', 'n0', 'n1']);

  const suspects = new SharedMembers(index, [{ ...rec('s'), state: 'suspect' }]);
  t.throws(() => seedShared(simulatedMembership(init('x'), { index }), suspects), RangeError);
  const few = simulatedMembership(init('y', { maxMembers: 2 }), { index });
  t.throws(() => seedShared(few, shared), /over the cap of 2/);
});

t.test('piggybackMessages hands out what piggyback would, as messages, measured by messageSize', async (t) => {
  const fill = (m: Membership): void => {
    for (const n of ['a', 'b', 'c']) m.handle({ type: 'alive', node: n, incarnation: 1, addr: `${n}:1`, meta: new Uint8Array() }, `${n}:1`);
  };
  const bytes = new Membership(init('self'));
  fill(bytes);
  const sizes: number[] = [];
  const messages = simulatedMembership(init('self'), { messageSize: (msg) => { sizes.push(1); return 30 + msg.type.length; } });
  fill(messages);
  const encoded = bytes.piggyback(1400).map((b) => decodeMessage(decode(b)));
  const out = { msgs: [] as Message[], count: 0 };
  const taken = piggybackMessages(messages, 1400, out);
  t.equal(out.count, 3, 'the three alive messages');
  t.same(out.msgs.slice(0, out.count), encoded, 'the same messages in the same order');
  t.ok(sizes.length > 0, 'sized with messageSize, not encoded');
  t.equal(taken, out.msgs.slice(0, out.count).reduce((sum, msg) => sum + 30 + msg.type.length, 0), 'returns their size');
});
