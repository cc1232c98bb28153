import t from 'tap';
import { cutTagged, renderActivity, renderBrokers, renderChannels, renderFooter, renderHeader, renderLog, renderMembers, renderOverlay } from '../../lib/dashboard/render.js';
import { DashState } from '../../lib/dashboard/state.js';
import { manyMembers, member } from './fixtures.js';

/** What the terminal shows: tags removed, escaped braces restored. */
const visible = (s: string): string => s.replace(/\{(\/?[a-z-]+)\}/g, (m, tag: string) => (tag === 'open' ? '{' : tag === 'close' ? '}' : ''));

t.test('cutTagged counts only visible cells and keeps closing tags', async (t) => {
  t.equal(cutTagged('{red-fg}abcdef{/red-fg}', 3), '{red-fg}abc{/red-fg}');
  t.equal(visible(cutTagged('a{open}b{close}c', 3)), 'a{b');
  t.equal(cutTagged('abc', 10), 'abc');
});

t.test('header: sizes by state, health, sync, rates, connection', async (t) => {
  const s = new DashState('127.0.0.1:7947');
  s.setMembers([member('a'), member('b', { state: 'suspect' }), member('c', { state: 'dead' }), member('d', { state: 'dead' })], 0);
  s.setSelf({ name: 'a', healthScore: 2, pid: 1, uptimeMs: 1, profile: 'lan' }, 0);
  s.setSync({ ready: true, peers: [{ name: 'b', inSync: true }, { name: 'c', inSync: false }], sessions: undefined });
  s.setConnection({ status: 'live' }, 0);
  let [l1, l2] = renderHeader(s, 200).map(visible);
  t.match(l1, /clusterd dash 127\.0\.0\.1:7947 +node a +● live/);
  t.match(l2, /members 4: 1 alive 1 suspect 2 dead 0 left/);
  t.match(l2, /health 2 \(degraded\)/);
  t.match(l2, /in sync no \(1\/2 peers\)/);
  t.match(l2, /frames -\/s +bytes -\/s/);
  s.setSync('n/a');
  s.setConnection({ status: 'unreachable', reason: 'cannot reach http://x (ECONNREFUSED)', retryAt: 0 }, 0);
  [l1, l2] = renderHeader(s, 200).map(visible);
  t.match(l1, /AGENT UNREACHABLE.*ECONNREFUSED/);
  t.match(l2, /in sync n\/a/);
  for (const line of renderHeader(s, 80)) t.ok(visible(line).length <= 80, 'cut to the width');
});

t.test('members: only the visible window is rendered, the selection stays in view', async (t) => {
  const s = new DashState('x');
  s.setMembers(manyMembers(1000), 100_000);
  const p = renderMembers(s, 77, 20, 100_000);
  t.equal(p.lines.length, 20, 'title + 19 rows for 1,000 members');
  t.match(p.label, /Members 1-19 of 1000/);
  t.match(visible(p.lines[0]!), /^NAME▲ +ADDRESS +STATE +INC +ROLES +RTT +IN STATE/);
  t.match(visible(p.lines[1]!), /^m0000 +10\.0\.0\.0:7946 +alive +0 broker +- /);
  for (const l of p.lines) t.ok(visible(l).length <= 77, 'no line wider than the panel');
  t.match(p.lines[1], /^\{inverse\}/, 'the selected row is highlighted');
  t.match(p.lines[4], /\{yellow-fg\}suspect/, 'states are coloured');
  t.match(p.lines[5], /\{red-fg\}dead/);
  s.jump(false);
  const end = renderMembers(s, 77, 20, 100_000);
  t.match(visible(end.lines.at(-1)!), /^m0999 /, 'End shows the last member');
  t.match(end.label, /982-1000 of 1000/);
});

t.test('members: rendering 1,000 members is cheap (virtualised)', async (t) => {
  const s = new DashState('x');
  s.setMembers(manyMembers(1000), 0);
  const start = process.hrtime.bigint();
  for (let i = 0; i < 200; i++) {
    s.move(7);
    renderMembers(s, 117, 30, 0);
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6 / 200;
  t.ok(ms < 5, `one members frame in ${ms.toFixed(3)} ms`);
  // a member event invalidates the sorted view: re-sorting 1,000 members must stay cheap too
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < 50; i++) {
    s.applyMemberEvent('member-update', member(`m${String(i).padStart(4, '0')}`), 0);
    renderMembers(s, 117, 30, 0);
  }
  const ms2 = Number(process.hrtime.bigint() - t0) / 1e6 / 50;
  t.ok(ms2 < 20, `event + re-sort + frame in ${ms2.toFixed(3)} ms`);
});

t.test('hostile names cannot inject tags or escape sequences', async (t) => {
  const s = new DashState('x');
  s.setMembers([member('{red-bg}evil\x1b[2J', { roles: ['{bold}'] })], 0);
  const p = renderMembers(s, 77, 5, 0);
  t.notMatch(p.lines[1], /\{red-bg\}/);
  t.notMatch(p.lines[1], /\x1b/);
  t.match(visible(p.lines[1]!), /^\{red-bg\}evil \[2J/);
});

t.test('empty states and filters', async (t) => {
  const s = new DashState('x');
  t.match(renderMembers(s, 60, 5, 0).lines[1], /no members yet/);
  s.setMembers([member('a')], 0);
  s.setFilter('zzz');
  const p = renderMembers(s, 60, 5, 0);
  t.match(p.lines[1], /no member matches "zzz"/);
  t.match(p.label, /filter "zzz"/);
  t.match(renderBrokers(s, 30, 3).lines[0], /no live brokers/);
  t.match(renderChannels(s, 30, 5).lines[0], /loading/);
  s.setChannels('unavailable');
  t.match(renderChannels(s, 30, 5).lines[0], /replication not available/);
});

t.test('brokers, channels, activity and log panels', async (t) => {
  const s = new DashState('x');
  s.setBrokers([{ name: 'b1', address: '10.0.0.1:7946', endpoints: { ws: 'ws://10.0.0.1:8080' }, load: { clients: 12 } }], 0);
  t.match(visible(renderBrokers(s, 40, 3).lines[0]!), /^b1 +clients=12 ws=ws:\/\/10\.0\.0\.1:8080/);
  s.setChannels([{ channel: 'chat', clients: 3, users: 2, messages: 40 }]);
  const ch = renderChannels(s, 30, 5).lines.map(visible);
  t.match(ch[0], /^CHANNEL +CLI +USR +HIST$/);
  t.match(ch[1], /^chat +3 +2 +40$/);
  s.sampleActivity({ frames: 0, bytes: 0, protocolMessages: 0, syncSessions: 0 }, undefined, 0);
  s.sampleActivity({ frames: 10, bytes: 2048, protocolMessages: 0, syncSessions: 0 }, undefined, 1000);
  const a = renderActivity(s, 40, 3).lines.map(visible);
  t.equal(a.length, 3);
  t.match(a[0], /^msgs\/s /);
  t.match(a[1], /^bytes\/s .*█ +2\.0 KiB$/);
  t.match(a[2], /^sync\/min /);
  t.ok(a.every((l) => l.length === 40), 'exactly the panel width');
  for (let i = 0; i < 20; i++) s.addLog(i * 1000, 'dead', `event ${i}`);
  const log = renderLog(s, 40, 5).lines.map(visible);
  t.equal(log.length, 5);
  t.match(log.at(-1)?.trimEnd(), /event 19$/, 'newest at the bottom');
});

t.test('footer and overlays', async (t) => {
  const s = new DashState('x');
  t.match(visible(renderFooter(s, 120)), /q quit +\? help +tab panel/);
  t.ok(visible(renderFooter(s, 80)).length <= 80);
  s.startFilter();
  s.setFilter('bro');
  t.match(visible(renderFooter(s, 80)), /^\/bro█/);
  s.endFilter(true);
  t.equal(renderOverlay(s, 60, 20, 0), undefined);
  s.setOverlay({ kind: 'help' });
  t.match(visible(renderOverlay(s, 60, 20, 0)!.lines.join('\n')), /s +sort the members by the next column/);
  s.setMembers([member('a', { meta: { roles: ['broker'], tags: { zone: 'eu' }, endpoints: { ws: 'ws://a:1' }, load: { clients: 4 } } })], 0);
  s.setOverlay({ kind: 'member', name: 'a' });
  const m = visible(renderOverlay(s, 60, 30, 5000)!.lines.join('\n'));
  t.match(m, /ws = ws:\/\/a:1/);
  t.match(m, /clients = 4/);
  t.match(m, /zone = eu/);
  t.match(m, /alive for 5s/);
  s.setChannels([{ channel: 'chat', clients: 1, users: 1, messages: 1 }]);
  s.focus = 'channels';
  s.setOverlay({ kind: 'none' });
  s.open();
  t.match(renderOverlay(s, 60, 20, 0)!.lines.join('\n'), /loading/);
  s.setChannelDetail('chat', 'unavailable', 'unavailable');
  t.match(renderOverlay(s, 60, 20, 0)!.lines.join('\n'), /replication not available/);
  s.setChannelDetail('chat', [{ clientId: 'c1', user: 'ann', info: { device: 'phone' }, node: 'a', since: 0 }], [{ id: '1', ts: 0, node: 'a', data: { text: 'hello' } }]);
  const c = visible(renderOverlay(s, 100, 20, 0)!.lines.join('\n'));
  t.match(c, /presence: 1 client\(s\), 1 user\(s\)/);
  t.match(c, /c1 +ann +a .*\{"device":"phone"\}/);
  t.match(c, /\{"text":"hello"\}/);
});
