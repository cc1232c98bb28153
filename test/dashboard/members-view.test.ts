import t from 'tap';
import { compareMembers, layoutColumns, matchesFilter, MEMBER_COLUMNS, nextSortColumn, scrollTop, viewMembers } from '../../lib/dashboard/members-view.js';
import type { MemberRow } from '../../lib/dashboard/members-view.js';
import { member } from './fixtures.js';

const row = (name: string, over: Partial<MemberRow> = {}): MemberRow => ({ ...member(name), enteredAt: 0, ...over });

t.test('sorting by each column, ties broken by name, descending reverses', async (t) => {
  const rows = [
    row('b', { address: '10.0.0.10:1', state: 'dead', incarnation: 3, rttMs: 5, enteredAt: 100, roles: ['worker'] }),
    row('a', { address: '10.0.0.9:1', state: 'alive', incarnation: 1, rttMs: null, enteredAt: 300, roles: ['broker'] }),
    row('c', { address: '10.0.0.9:2', state: 'suspect', incarnation: 2, rttMs: 1, enteredAt: 200, roles: ['broker'] }),
  ];
  const names = (column: (typeof MEMBER_COLUMNS)[number], descending = false): string =>
    [...rows].sort((x, y) => compareMembers(x, y, { column, descending })).map((m) => m.name).join('');
  t.equal(names('name'), 'abc');
  t.equal(names('name', true), 'cba');
  t.equal(names('address'), 'acb', 'numeric octets: .9 before .10');
  t.equal(names('state'), 'bca', 'dead, suspect, alive: trouble first');
  t.equal(names('incarnation'), 'acb');
  t.equal(names('roles'), 'acb');
  t.equal(names('rtt'), 'cba', 'never probed last');
  t.equal(names('since'), 'bca', 'longest in state first');
});

t.test('filter matches name, address, state and roles, case-insensitively', async (t) => {
  const m = row('Broker-EU-1', { address: '10.1.2.3:7946', state: 'suspect', roles: ['broker', 'edge'] });
  t.ok(matchesFilter(m, ''));
  t.ok(matchesFilter(m, 'eu-1'));
  t.ok(matchesFilter(m, '10.1.2'));
  t.ok(matchesFilter(m, 'SUSP'));
  t.ok(matchesFilter(m, 'edge'));
  t.notOk(matchesFilter(m, 'dead'));
  const list = viewMembers([row('x', { state: 'dead' }), row('y'), row('z', { state: 'dead' })], 'dead', { column: 'name', descending: true });
  t.same(list.map((r) => r.name), ['z', 'x']);
});

t.test('the s key cycles through every column', async (t) => {
  let c: (typeof MEMBER_COLUMNS)[number] = 'name';
  const seen = [];
  for (let i = 0; i < MEMBER_COLUMNS.length; i++) {
    seen.push(c);
    c = nextSortColumn(c);
  }
  t.same(seen, [...MEMBER_COLUMNS]);
  t.equal(c, 'name', 'and wraps around');
});

t.test('scrollTop keeps the selection visible and moves minimally', async (t) => {
  t.equal(scrollTop(100, 0, 10, 0), 0);
  t.equal(scrollTop(100, 9, 10, 0), 0, 'still visible: no scroll');
  t.equal(scrollTop(100, 10, 10, 0), 1, 'one past the bottom: scroll one');
  t.equal(scrollTop(100, 5, 10, 20), 5, 'above the window: it becomes the top');
  t.equal(scrollTop(100, 99, 10, 0), 90);
  t.equal(scrollTop(5, 2, 10, 3), 0, 'everything fits');
  t.equal(scrollTop(0, 0, 10, 7), 0);
});

t.test('columns fit the width and drop the least important first', async (t) => {
  for (const width of [20, 40, 49, 60, 77, 100, 160]) {
    const cols = layoutColumns(width);
    const used = cols.reduce((a, c) => a + c.width, 0) + cols.length - 1;
    t.ok(used <= width, `width ${width}: ${used} cells used`);
    t.equal(cols[0]!.column, 'name');
  }
  t.same(layoutColumns(77).map((c) => c.column), [...MEMBER_COLUMNS], 'the 120-column layout shows everything');
  const narrow = layoutColumns(49).map((c) => c.column);
  t.ok(narrow.includes('state') && narrow.includes('since'), 'state and time in state survive at 80 columns');
  t.notOk(narrow.includes('roles'));
  t.ok(layoutColumns(77).find((c) => c.column === 'address')!.width >= 21, 'a full IPv4 address and port fit');
});
