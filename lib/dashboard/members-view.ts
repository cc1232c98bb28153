import type { ApiMember, MemberState } from './api-types.js';

/** A member row of the dashboard: the API's member plus when it entered its state (local clock). */
export interface MemberRow extends ApiMember {
  /** Local wall-clock ms when the member entered its current state. */
  enteredAt: number;
}

/** The member table's columns, in display order. */
export const MEMBER_COLUMNS = ['name', 'address', 'state', 'incarnation', 'roles', 'rtt', 'since'] as const;
export type MemberColumn = (typeof MEMBER_COLUMNS)[number];

/** Column titles. */
export const COLUMN_TITLES: Record<MemberColumn, string> = {
  name: 'NAME', address: 'ADDRESS', state: 'STATE', incarnation: 'INC', roles: 'ROLES', rtt: 'RTT', since: 'IN STATE',
};

/** Severity order of states: what needs attention sorts first. */
const STATE_RANK: Record<MemberState, number> = { dead: 0, suspect: 1, alive: 2, left: 3 };

/** How the member table is sorted. */
export interface SortSpec {
  column: MemberColumn;
  descending: boolean;
}

/** Compares two rows by a column, the name breaking ties (a stable, total order). */
export function compareMembers(a: MemberRow, b: MemberRow, sort: SortSpec): number {
  let c = 0;
  switch (sort.column) {
    case 'name':
      break;
    case 'address':
      c = compareAddress(a.address, b.address);
      break;
    case 'state':
      c = STATE_RANK[a.state] - STATE_RANK[b.state];
      break;
    case 'incarnation':
      c = a.incarnation - b.incarnation;
      break;
    case 'roles':
      c = cmp(a.roles.join(','), b.roles.join(','));
      break;
    case 'rtt':
      // never-probed members (this node, new ones) sort after every measured one
      c = (a.rttMs ?? Infinity) - (b.rttMs ?? Infinity);
      if (Number.isNaN(c)) c = 0;
      break;
    case 'since':
      // longest in state first when ascending: the oldest enteredAt
      c = a.enteredAt - b.enteredAt;
      break;
  }
  if (c === 0) c = cmp(a.name, b.name);
  return sort.descending ? -c : c;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Orders `10.0.0.9:7946` before `10.0.0.10:7946` (numeric octets and port), else lexically. */
function compareAddress(a: string, b: string): number {
  const pa = a.split(/[.:]/).map(Number);
  const pb = b.split(/[.:]/).map(Number);
  if (pa.length === pb.length && pa.every((n) => Number.isFinite(n)) && pb.every((n) => Number.isFinite(n))) {
    for (let i = 0; i < pa.length; i++) if (pa[i] !== pb[i]) return pa[i]! - pb[i]!;
    return 0;
  }
  return cmp(a, b);
}

/**
 * True when a member matches the filter text: a case-insensitive substring of its name,
 * address, state or one of its roles. `state:suspect`-like prefixes are not needed: typing
 * `suspect` already finds the suspects (and the rare member named so).
 */
export function matchesFilter(m: MemberRow, filter: string): boolean {
  const f = filter.trim().toLowerCase();
  if (f === '') return true;
  return m.name.toLowerCase().includes(f) || m.address.toLowerCase().includes(f) || m.state === f || m.state.startsWith(f) || m.roles.some((r) => r.toLowerCase().includes(f));
}

/** Filters then sorts. O(n log n); the caller caches the result until members or the view change. */
export function viewMembers(members: Iterable<MemberRow>, filter: string, sort: SortSpec): MemberRow[] {
  const out: MemberRow[] = [];
  for (const m of members) if (matchesFilter(m, filter)) out.push(m);
  return out.sort((a, b) => compareMembers(a, b, sort));
}

/** The next sort column after `column` (the `s` key cycles through them). */
export function nextSortColumn(column: MemberColumn): MemberColumn {
  const i = MEMBER_COLUMNS.indexOf(column);
  return MEMBER_COLUMNS[(i + 1) % MEMBER_COLUMNS.length]!;
}

/**
 * The first row to show so that row `selected` is visible in a window of `height` rows,
 * moving the window as little as possible from `top` (the window only scrolls when the
 * selection leaves it, as in any list).
 */
export function scrollTop(total: number, selected: number, height: number, top: number): number {
  if (height <= 0 || total <= 0) return 0;
  let t = Math.min(Math.max(0, top), Math.max(0, total - height));
  if (selected < t) t = selected;
  else if (selected >= t + height) t = selected - height + 1;
  return Math.max(0, Math.min(t, Math.max(0, total - height)));
}

/** A column placed in the table, with its width in cells. */
export interface PlacedColumn {
  column: MemberColumn;
  width: number;
}

const MIN_WIDTH: Record<MemberColumn, number> = { name: 10, address: 15, state: 7, incarnation: 4, roles: 8, rtt: 7, since: 8 };
const IDEAL_WIDTH: Record<MemberColumn, number> = { name: 24, address: 21, state: 7, incarnation: 5, roles: 14, rtt: 7, since: 8 };
/** Most important first: the narrowest terminal keeps these. */
const PRIORITY: MemberColumn[] = ['name', 'state', 'since', 'address', 'rtt', 'incarnation', 'roles'];
const GROW_ORDER: MemberColumn[] = ['address', 'name', 'roles', 'incarnation', 'rtt', 'state', 'since'];

/**
 * Chooses the columns that fit in `width` cells (one space between columns), dropping the
 * least important ones on narrow terminals and giving spare room to name, address and roles.
 */
export function layoutColumns(width: number): PlacedColumn[] {
  let chosen = [...PRIORITY];
  const need = (cols: MemberColumn[]): number => cols.reduce((a, c) => a + MIN_WIDTH[c], 0) + Math.max(0, cols.length - 1);
  while (chosen.length > 1 && need(chosen) > width) chosen = chosen.slice(0, -1);
  const widths = new Map<MemberColumn, number>(chosen.map((c) => [c, MIN_WIDTH[c]]));
  let spare = width - need(chosen);
  // grow towards the ideal widths (addresses first: a cut address is useless), then hand
  // whatever is left to the name
  for (const c of GROW_ORDER.filter((x) => widths.has(x))) {
    const grow = Math.min(spare, IDEAL_WIDTH[c] - widths.get(c)!);
    if (grow > 0) {
      widths.set(c, widths.get(c)! + grow);
      spare -= grow;
    }
  }
  if (spare > 0) widths.set('name', widths.get('name')! + spare);
  if (chosen.length === 1) widths.set(chosen[0]!, Math.max(1, width));
  return MEMBER_COLUMNS.filter((c) => widths.has(c)).map((c) => ({ column: c, width: widths.get(c)! }));
}
