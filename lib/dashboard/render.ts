import { renderExplanation } from '../cli/explain-render.js';
import type { MemberState } from './api-types.js';
import { clean, clockTime, escapeTags, fit, formatBytes, formatDuration, formatRate, formatRtt, pairs, preview, sparkline, SPARK_UNICODE } from './format.js';
import { COLUMN_TITLES, layoutColumns, scrollTop } from './members-view.js';
import type { MemberRow, PlacedColumn } from './members-view.js';
import type { DashState, LogKind } from './state.js';

/**
 * Pure renderers: state in, blessed-tagged text out, one function per panel. Every line
 * is cut to the panel's width here (blessed would wrap it otherwise), and only the rows
 * that fit are produced, so drawing 1,000 members costs as much as drawing 20.
 */

/** A panel's content: its border label and its lines. */
export interface PanelText {
  label: string;
  lines: string[];
}

const STATE_COLOR: Record<MemberState, string> = { alive: 'green', suspect: 'yellow', dead: 'red', left: 'gray' };
const LOG_COLOR: Record<LogKind, string> = {
  join: 'green', alive: 'green', suspect: 'yellow', dead: 'red', leave: 'gray', reaped: 'gray', broker: 'cyan', agent: 'magenta', error: 'red',
};

/** Safe text: no control characters, no blessed tags, cut or padded to `width`. */
const cell = (s: string, width: number, align: 'left' | 'right' = 'left'): string => escapeTags(fit(clean(s), width, align));
const paint = (color: string, s: string): string => `{${color}-fg}${s}{/${color}-fg}`;

/** The two header lines. */
export function renderHeader(s: DashState, width: number): string[] {
  const c = s.counts();
  const name = s.self ? clean(s.self.name) : '?';
  const conn = s.connection;
  const status =
    conn.status === 'live' ? paint('green', '● live')
      : conn.status === 'polling' ? paint('yellow', '◐ polling (event stream down)')
        : conn.status === 'connecting' ? paint('yellow', '… connecting')
          : `{red-bg}{white-fg}{bold} AGENT UNREACHABLE {/bold}{/white-fg}{/red-bg} ${paint('red', 'reconnecting')}`;
  const health = s.self?.healthScore;
  const healthText = health === undefined ? '-' : health === 0 ? paint('green', '0 (healthy)') : paint('yellow', `${health} (degraded)`);
  let sync: string;
  if (s.sync === undefined) sync = '-';
  else if (s.sync === 'n/a') sync = 'n/a';
  else {
    const inSync = s.sync.peers.filter((p) => p.inSync).length;
    const ok = s.sync.ready && inSync === s.sync.peers.length;
    sync = ok ? paint('green', `yes (${inSync}/${s.sync.peers.length} peers)`) : paint('yellow', `${s.sync.ready ? 'no' : 'catching up'} (${inSync}/${s.sync.peers.length} peers)`);
  }
  const line1 = `{bold}clusterd dash{/bold} ${escapeTags(clean(s.agent))}  node {bold}${escapeTags(name)}{/bold}  ${status}`;
  const sizes = `members ${s.memberCount}: ${paint('green', `${c.alive} alive`)} ${paint('yellow', `${c.suspect} suspect`)} ${paint('red', `${c.dead} dead`)} ${paint('gray', `${c.left} left`)}`;
  const rates = `frames ${formatRate(s.framesPerSecond)}/s  bytes ${s.bytesPerSecond === undefined ? '-' : formatBytes(s.bytesPerSecond)}/s`;
  const line2 = `${sizes}  health ${healthText}  in sync ${sync}  ${rates}`;
  const problem = s.authProblem !== undefined ? `  ${paint('red', escapeTags(clean(s.authProblem)))}` : conn.status === 'unreachable' ? `  ${paint('red', escapeTags(clean(conn.reason)))}` : '';
  return [cutTagged(line1 + problem, width), cutTagged(line2, width)];
}

/**
 * The members table inside a panel of `width` × `height` cells: a title row and the
 * visible window of rows. Adjusts `s.memberTop` so that the selection stays in view.
 */
export function renderMembers(s: DashState, width: number, height: number, now: number): PanelText {
  const list = s.visibleMembers();
  const cols = layoutColumns(width);
  const rowsH = Math.max(0, height - 1);
  const sel = s.selectedIndex();
  s.memberTop = scrollTop(list.length, sel, rowsH, s.memberTop);
  const title = cols.map((c) => {
    const t = COLUMN_TITLES[c.column] + (s.sort.column === c.column ? (s.sort.descending ? '▼' : '▲') : '');
    return cell(t, c.width);
  }).join(' ');
  const lines = [`{bold}${title}{/bold}`];
  const focused = s.focus === 'members' && s.overlay.kind === 'none';
  for (let i = s.memberTop; i < Math.min(list.length, s.memberTop + rowsH); i++) {
    const row = memberLine(list[i]!, cols, now);
    lines.push(i === sel && list.length > 0 ? (focused ? `{inverse}${row}{/inverse}` : `{underline}${row}{/underline}`) : row);
  }
  if (list.length === 0) lines.push(s.filter !== '' ? `no member matches "${escapeTags(clean(s.filter))}"` : 'no members yet');
  const filter = s.filter !== '' ? ` filter "${escapeTags(clean(s.filter))}":` : '';
  const range = list.length > rowsH ? ` ${s.memberTop + 1}-${Math.min(list.length, s.memberTop + rowsH)} of ${list.length}` : ` ${list.length}`;
  return { label: ` Members${filter}${range} `, lines };
}

function memberLine(m: MemberRow, cols: PlacedColumn[], now: number): string {
  return cols.map(({ column, width }) => {
    switch (column) {
      case 'name':
        return cell(m.name, width);
      case 'address':
        return cell(m.address, width);
      case 'state':
        return paint(STATE_COLOR[m.state], cell(m.state, width));
      case 'incarnation':
        return cell(String(m.incarnation), width, 'right');
      case 'roles':
        return cell(m.roles.join(',') || '-', width);
      case 'rtt':
        return cell(formatRtt(m.rttMs), width, 'right');
      case 'since':
        return cell(formatDuration(now - m.enteredAt), width, 'right');
    }
  }).join(' ');
}

/** The broker list: name, endpoints and load. */
export function renderBrokers(s: DashState, width: number, height: number): PanelText {
  const lines: string[] = [];
  if (s.brokers.length === 0) lines.push('no live brokers');
  const shown = s.brokers.slice(0, Math.max(0, height));
  const nameW = Math.min(Math.max(4, Math.floor(width * 0.35)), Math.max(4, ...shown.map((b) => b.name.length)));
  for (const b of shown) {
    // load first: it is short and what a client balancing across brokers looks at
    const load = pairs(b.load);
    const rest = `${load ? `${load} ` : ''}${pairs(b.endpoints) || '-'}`;
    lines.push(`${cell(b.name, nameW)} ${cell(rest, Math.max(0, width - nameW - 1))}`);
  }
  return { label: ` Brokers ${s.brokers.length} `, lines };
}

/** Channels with presence counts and history sizes; the selected one highlighted. */
export function renderChannels(s: DashState, width: number, height: number): PanelText {
  if (s.channels === 'unavailable') return { label: ' Channels ', lines: [paint('yellow', 'replication not available'), 'on this agent (routes answer 503)'] };
  if (s.channels === undefined) return { label: ' Channels ', lines: ['loading…'] };
  const list = s.channels;
  const rowsH = Math.max(0, height - 1);
  s.channelTop = scrollTop(list.length, s.selectedChannel, rowsH, s.channelTop);
  const numW = 5;
  const nameW = Math.max(4, width - 3 * (numW + 1));
  const lines = [`{bold}${cell('CHANNEL', nameW)} ${cell('CLI', numW, 'right')} ${cell('USR', numW, 'right')} ${cell('HIST', numW, 'right')}{/bold}`];
  const focused = s.focus === 'channels' && s.overlay.kind === 'none';
  for (let i = s.channelTop; i < Math.min(list.length, s.channelTop + rowsH); i++) {
    const c = list[i]!;
    const row = `${cell(c.channel, nameW)} ${cell(String(c.clients), numW, 'right')} ${cell(String(c.users), numW, 'right')} ${cell(String(c.messages), numW, 'right')}`;
    lines.push(i === s.selectedChannel ? (focused ? `{inverse}${row}{/inverse}` : `{underline}${row}{/underline}`) : row);
  }
  if (list.length === 0) lines.push('no channels yet');
  return { label: ` Channels ${list.length} `, lines };
}

/** The sparklines: messages/s, bytes/s and anti-entropy sessions/min. */
export function renderActivity(s: DashState, width: number, height: number, glyphs: readonly string[] = SPARK_UNICODE): PanelText {
  const labelW = 8;
  const valueW = 9;
  const sparkW = Math.max(1, width - labelW - valueW - 2);
  const row = (label: string, values: readonly (number | undefined)[], value: string): string =>
    `${cell(label, labelW)} {cyan-fg}${sparkline(values, sparkW, glyphs)}{/cyan-fg} ${cell(value, valueW, 'right')}`;
  const lines = [
    row('msgs/s', s.messagesSeries.values(), formatRate(s.messagesSeries.latest)),
    row('bytes/s', s.bytesSeries.values(), s.bytesSeries.latest === undefined ? '-' : formatBytes(s.bytesSeries.latest)),
    row('sync/min', s.sessionsSeries.values(), s.sync === 'n/a' ? 'n/a' : formatRate(s.sessionsSeries.latest)),
  ];
  return { label: ' Activity ', lines: lines.slice(0, Math.max(0, height)) };
}

/** The newest event log lines that fit (or older ones when scrolled back). */
export function renderLog(s: DashState, width: number, height: number): PanelText {
  const end = s.log.length - s.logScroll;
  const start = Math.max(0, end - height);
  const lines = s.log.slice(start, end).map((e) => `${clockTime(e.at)} ${paint(LOG_COLOR[e.kind], cell(e.text, Math.max(0, width - 9)))}`);
  const focused = s.focus === 'events' && s.overlay.kind === 'none';
  const scrolled = s.logScroll > 0 ? ` (scrolled back ${s.logScroll}, End to follow)` : '';
  return { label: ` Events${focused ? ' ↑↓' : ''}${scrolled} `, lines };
}

/** The footer: the keys, or the filter being typed. */
export function renderFooter(s: DashState, width: number): string {
  if (s.editingFilter) return cutTagged(`{bold}/{/bold}${escapeTags(clean(s.filter))}█  {gray-fg}type to filter members · enter keep · esc clear{/gray-fg}`, width);
  const keys: [string, string][] = s.overlay.kind !== 'none'
    ? [['esc', 'close'], ['↑↓', 'scroll'], ['q', 'quit']]
    : [['q', 'quit'], ['?', 'help'], ['tab', 'panel'], ['↑↓', 'move'], ['enter', 'details'], ['s', 'sort'], ['S', 'reverse'], ['/', 'filter']];
  return cutTagged(keys.map(([k, d]) => `{inverse} ${k} {/inverse}${d}`).join(' '), width);
}

/** The help text. */
export const HELP_LINES = [
  '{bold}clusterd dash: keys{/bold}',
  '',
  '  q, Ctrl-C      quit (the terminal is restored)',
  '  ?              this help (esc closes it)',
  '  tab            next panel: members, channels, events',
  '  ↑ ↓ PgUp PgDn  move the selection (scroll in the event log)',
  '  Home End       first / last row',
  '  enter          details of the selected member or channel',
  '  s              sort the members by the next column',
  '  S              reverse the sort order',
  '  /              filter members by name, address, state or role',
  '  esc            close details, clear the filter',
  '',
  '{bold}What you see{/bold}',
  '',
  '  Header: members by state, this node\'s Lifeguard health score (0 is healthy),',
  '  whether its replicas match its peers\' digests, frames and bytes per second.',
  '  Members: RTT of the last direct probe; IN STATE is the time since the last change.',
  '  Activity: channel messages/s seen on the event stream, frame bytes/s, and',
  '  anti-entropy sessions per minute. Events: membership and broker changes.',
];

/** The overlay's label and lines (help, member details, channel details). */
export function renderOverlay(s: DashState, width: number, height: number, now: number): PanelText | undefined {
  const o = s.overlay;
  let panel: PanelText;
  if (o.kind === 'none') return undefined;
  if (o.kind === 'help') panel = { label: ' Help ', lines: HELP_LINES };
  else if (o.kind === 'member') panel = memberDetail(s, o.name, now);
  else panel = channelDetail(s, o.channel, width, now);
  const scroll = Math.min(s.overlayScroll, Math.max(0, panel.lines.length - height));
  s.overlayScroll = scroll;
  return { label: panel.label, lines: panel.lines.slice(scroll, scroll + height).map((l) => cutTagged(l, width)) };
}

function memberDetail(s: DashState, name: string, now: number): PanelText {
  const m = s.member(name);
  const label = ` Member ${escapeTags(clean(name))} `;
  if (!m) return { label, lines: ['this member is no longer known (reaped)'] };
  const kv = (k: string, v: string): string => `{bold}${k.padEnd(12)}{/bold} ${v}`;
  const safe = (v: string): string => escapeTags(clean(v));
  const lines = [
    kv('name', safe(m.name)),
    kv('address', safe(m.address)),
    kv('state', `${paint(STATE_COLOR[m.state], m.state)} for ${formatDuration(now - m.enteredAt)}`),
    kv('incarnation', String(m.incarnation)),
    kv('rtt', formatRtt(m.rttMs)),
    kv('roles', safe(m.roles.join(', ') || '-')),
    '',
    '{bold}endpoints{/bold}',
    ...entries(m.meta.endpoints),
    '',
    '{bold}load{/bold}',
    ...entries(m.meta.load),
    '',
    '{bold}tags{/bold}',
    ...entries(m.meta.tags),
    '',
    '{bold}why (evidence from this agent){/bold}',
    ...evidenceLines(s, name),
  ];
  return { label, lines };
}

/** The member's explanation as the CLI prints it (`members why`), a line each, made safe for blessed tags. */
function evidenceLines(s: DashState, name: string): string[] {
  const e = s.memberEvidence;
  if (!e || e.name !== name) return ['  loading…'];
  if (e.body === 'unavailable') return ['  unavailable (the agent does not serve GET /v1/members/{name}, or no longer knows the member)'];
  try {
    return renderExplanation(e.body).slice(1).map((l) => `  ${escapeTags(clean(l))}`);
  } catch {
    return ['  unavailable (the agent answered in an unexpected shape)'];
  }
}

function entries(o: Record<string, string | number>): string[] {
  const e = Object.entries(o);
  if (e.length === 0) return ['  (none)'];
  return e.map(([k, v]) => `  ${escapeTags(clean(k))} = ${escapeTags(clean(String(v)))}`);
}

function channelDetail(s: DashState, channel: string, width: number, now: number): PanelText {
  const label = ` Channel ${escapeTags(clean(channel))} (live) `;
  const d = s.channelDetail;
  if (!d || d.channel !== channel) return { label, lines: ['loading…'] };
  const lines: string[] = [];
  if (d.presence === 'unavailable' || d.messages === 'unavailable') lines.push(paint('yellow', 'replication not available on this agent (the channel routes answer 503)'), '');
  if (Array.isArray(d.presence)) {
    const users = new Set(d.presence.map((c) => c.user)).size;
    lines.push(`{bold}presence: ${d.presence.length} client(s), ${users} user(s){/bold}`);
    const w = Math.max(10, width);
    for (const c of d.presence) {
      lines.push(`  ${cell(c.clientId, 16)} ${cell(c.user, 14)} ${cell(c.node, 14)} ${cell(formatDuration(now - c.since), 7, 'right')} ${cell(preview(c.info, 200), Math.max(0, w - 58))}`);
    }
    if (d.presence.length === 0) lines.push('  nobody');
    lines.push('');
  } else if (d.presence === undefined) lines.push('presence: loading…', '');
  if (Array.isArray(d.messages)) {
    lines.push(`{bold}latest messages (${d.messages.length}){/bold}`);
    for (const m of [...d.messages].reverse()) {
      lines.push(`  ${clockTime(m.ts)} ${cell(m.node, 14)} ${cell(preview(m.data, 500), Math.max(0, width - 26))}`);
    }
    if (d.messages.length === 0) lines.push('  none');
  } else if (d.messages === undefined) lines.push('messages: loading…');
  return { label, lines };
}

/**
 * Cuts a tagged line to `width` visible cells. Tags (`{...}`) take no room on screen; the
 * open tags stay balanced because blessed closes whatever is left open at the line end.
 */
export function cutTagged(line: string, width: number): string {
  let visible = 0;
  let out = '';
  let i = 0;
  while (i < line.length) {
    const close = line[i] === '{' ? line.indexOf('}', i) : -1;
    const tag = close > i ? line.slice(i, close + 1) : undefined;
    // {open} and {close} are escaped braces: one visible cell each; other tags none
    const cells = tag === undefined || tag === '{open}' || tag === '{close}' ? 1 : 0;
    if (cells > 0 && visible >= width) {
      // keep the closing tags past the cut: an unclosed colour would bleed into the next lines
      for (const m of line.slice(i).matchAll(/\{\/[a-z-]*\}/g)) out += m[0];
      break;
    }
    out += tag ?? line[i];
    visible += cells;
    i += tag?.length ?? 1;
  }
  return out;
}
