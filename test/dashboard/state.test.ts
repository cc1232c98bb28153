import t from 'tap';
import { DashState } from '../../lib/dashboard/state.js';
import { manyMembers, member } from './fixtures.js';

t.test('member list, counts, events and the log', async (t) => {
  const s = new DashState('127.0.0.1:7947');
  s.setMembers([member('a'), member('b', { state: 'suspect' }), member('c', { state: 'left' })], 10_000);
  t.same(s.counts(), { alive: 1, suspect: 1, dead: 0, left: 1 });
  t.equal(s.member('a')?.enteredAt, 10_000);

  s.applyMemberEvent('member-alive', member('b', { incarnation: 2 }), 11_000);
  t.equal(s.member('b')?.state, 'alive');
  t.match(s.log.at(-1), { kind: 'alive', text: /b .*refuted the suspicion/ });
  s.applyMemberEvent('member-join', member('d'), 12_000);
  s.applyMemberEvent('member-suspect', member('d', { state: 'suspect' }), 13_000);
  s.applyMemberEvent('member-dead', member('d', { state: 'dead', sinceMs: 500 }), 14_000);
  t.equal(s.member('d')?.enteredAt, 13_500, 'time in state from the agent\'s sinceMs');
  s.applyMemberEvent('member-leave', member('a', { state: 'left' }), 15_000);
  s.applyMemberEvent('member-update', member('c', { state: 'left' }), 15_500);
  s.applyMemberEvent('member-reaped', member('c', { state: 'left' }), 16_000);
  t.equal(s.member('c'), undefined, 'reaped members disappear');
  t.same(s.log.map((e) => e.kind), ['alive', 'join', 'suspect', 'dead', 'leave', 'reaped'], 'updates are not logged');
  t.same(s.counts(), { alive: 1, suspect: 0, dead: 1, left: 1 });

  s.setMembers([member('a')], 20_000);
  t.equal(s.memberCount, 1, 'a full list replaces the members');
});

t.test('sort, filter and a selection that follows the member', async (t) => {
  const s = new DashState('x');
  s.setMembers([member('c', { state: 'dead' }), member('a'), member('b', { state: 'suspect' })], 0);
  t.same(s.visibleMembers().map((m) => m.name), ['a', 'b', 'c']);
  s.move(1);
  t.equal(s.selectedMember, 'b');
  s.cycleSort(); // address
  s.cycleSort(); // state
  t.equal(s.sort.column, 'state');
  t.same(s.visibleMembers().map((m) => m.name), ['c', 'b', 'a']);
  t.equal(s.selectedIndex(), 1, 'the selection stays on b');
  s.cycleSort(true);
  t.ok(s.sort.descending);
  t.same(s.visibleMembers().map((m) => m.name), ['a', 'b', 'c']);
  s.startFilter();
  t.ok(s.editingFilter);
  s.setFilter('dead');
  s.endFilter(true);
  t.same(s.visibleMembers().map((m) => m.name), ['c']);
  t.equal(s.filter, 'dead');
  s.startFilter();
  s.endFilter(false);
  t.equal(s.filter, '', 'escape clears the filter');
  s.jump(false);
  t.equal(s.selectedMember, 'c');
  s.jump(true);
  t.equal(s.selectedMember, 'a');
  s.move(-5);
  t.equal(s.selectedMember, 'a', 'clamped at the top');
});

t.test('enter opens member and channel details; focus cycles', async (t) => {
  const s = new DashState('x');
  s.setMembers([member('a')], 0);
  t.equal(s.open(), undefined);
  t.same(s.overlay, { kind: 'member', name: 'a' });
  s.setOverlay({ kind: 'none' });
  s.cycleFocus();
  t.equal(s.focus, 'channels');
  s.setChannels([{ channel: 'zeta', clients: 1, users: 1, messages: 3 }, { channel: 'alpha', clients: 0, users: 0, messages: 9 }]);
  t.same((s.channels as { channel: string }[]).map((c) => c.channel), ['alpha', 'zeta'], 'sorted by name');
  s.move(1);
  t.equal(s.open(), 'zeta', 'the feed is told which channel to load');
  t.equal(s.detailChannel, 'zeta');
  s.setChannelDetail('other', [], []);
  t.equal(s.channelDetail?.presence, undefined, 'answers for another channel are ignored');
  s.setChannelDetail('zeta', [{ clientId: 'c1', user: 'u', info: null, node: 'a', since: 0 }], [{ id: 'm1', ts: 1, node: 'a', data: 'x' }]);
  s.noteMessage('zeta', { id: 'm2', ts: 2, node: 'a', data: 'y' });
  s.noteMessage('zeta', { id: 'm2', ts: 2, node: 'a', data: 'y' });
  s.noteMessage('alpha', { id: 'm3', ts: 3, node: 'a', data: 'z' });
  t.same((s.channelDetail?.messages as { id: string }[]).map((m) => m.id), ['m1', 'm2'], 'live messages of the open channel, deduplicated');
  s.setChannels('unavailable');
  t.equal(s.channels, 'unavailable');
  s.cycleFocus();
  t.equal(s.focus, 'events');
  s.cycleFocus();
  t.equal(s.focus, 'members');
});

t.test('broker changes are logged after the first answer', async (t) => {
  const s = new DashState('x');
  s.setBrokers([{ name: 'b1', address: 'a', endpoints: { ws: 'ws://1' }, load: {} }], 0);
  t.equal(s.log.length, 0, 'the initial list is not news');
  s.setBrokers([{ name: 'b1', address: 'a', endpoints: { ws: 'ws://2' }, load: {} }, { name: 'b2', address: 'b', endpoints: {}, load: {} }], 1);
  s.setBrokers([{ name: 'b2', address: 'b', endpoints: {}, load: { clients: 3 } }], 2);
  t.same(s.log.map((e) => e.text), ['broker b1 endpoints changed: ws=ws://2', 'broker b2 added (no endpoints)', 'broker b1 removed']);
  t.ok(s.log.every((e) => e.kind === 'broker'));
});

t.test('activity: rates, sparkline samples, outages', async (t) => {
  const s = new DashState('x');
  s.sampleActivity({ frames: 100, bytes: 1000, protocolMessages: 0, syncSessions: 0 }, undefined, 0);
  s.noteMessage('c', undefined);
  s.noteMessage('c', undefined);
  s.sampleActivity({ frames: 150, bytes: 3000, protocolMessages: 0, syncSessions: 1 }, undefined, 1000);
  t.equal(s.framesPerSecond, 50);
  t.equal(s.bytesPerSecond, 2000);
  t.equal(s.messagesSeries.latest, 2);
  t.equal(s.sessionsSeries.latest, 60, 'sessions per minute');
  s.setConnection({ status: 'unreachable', reason: 'ECONNREFUSED', retryAt: 3000 }, 2000);
  s.sampleActivity(undefined, undefined, 2000);
  t.equal(s.framesPerSecond, undefined);
  t.equal(s.bytesSeries.latest, undefined, 'an outage is a gap');
  t.match(s.log.at(-1), { kind: 'error', text: /unreachable: ECONNREFUSED/ });
  s.setConnection({ status: 'live' }, 4000);
  t.match(s.log.at(-1), { kind: 'agent', text: /reachable again/ });
});

t.test('agent restart is noticed by its pid; the log is bounded and scrolls', async (t) => {
  const s = new DashState('x', { logCapacity: 5 });
  s.setSelf({ name: 'a', healthScore: 0, pid: 10, uptimeMs: 1, profile: 'local' }, 0);
  s.setSelf({ name: 'a', healthScore: 0, pid: 11, uptimeMs: 1, profile: 'local' }, 1);
  t.match(s.log.at(-1)?.text, /agent restarted \(pid 10 → 11\)/);
  for (let i = 0; i < 10; i++) s.addLog(i, 'join', `e${i}`);
  t.equal(s.log.length, 5);
  s.focus = 'events';
  s.move(-2);
  t.equal(s.logScroll, 2, 'up scrolls back');
  s.addLog(11, 'join', 'new');
  t.equal(s.logScroll, 3, 'a reader scrolled back keeps the same lines in view');
  s.jump(false);
  t.equal(s.logScroll, 0, 'End follows the tail again');
});

t.test('every change bumps the version and notifies', async (t) => {
  const s = new DashState('x');
  let calls = 0;
  s.onChange = () => calls++;
  const v = s.version;
  s.setMembers(manyMembers(10), 0);
  s.cycleSort();
  t.equal(s.version, v + 2);
  t.equal(calls, 2);
});

t.test('1,000 members: the view is cached between changes', async (t) => {
  const s = new DashState('x');
  s.setMembers(manyMembers(1000), 0);
  const first = s.visibleMembers();
  t.equal(first.length, 1000);
  t.equal(s.visibleMembers(), first, 'same array until something changes');
  s.setFilter('suspect');
  t.equal(s.visibleMembers().length, 167, 'every sixth member is suspect');
});
