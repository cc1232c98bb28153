/**
 * Gap-free resume (issue #13, decision 0047): the CPU cost of reading after a cursor on a
 * channel written by 1,000 origins, the size of the cursor, and how soon a resumed SSE
 * stream on another agent delivers its first replayed message.
 * Standalone: `node --import=tsx bench/history-resume.bench.ts`.
 */
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './harness.js';
import { table } from './harness.js';
import { startCluster } from './http-cluster.js';
import { hlcPack } from '../lib/hlc.js';
import { cursorScope, decodeReadCursor, emptyCursor, encodeReadCursor } from '../lib/replica/cursor.js';
import { HistoryStore, type HistoryEntry } from '../lib/replica/history.js';

const CAP = 100;
const NOW = hlcPack(1_700_000_000_000, 0);
const scope = cursorScope('', 'room');

// a channel whose entries come from `origins` nodes in turn; returns the store and a cursor `behind` entries behind its head
function channel(origins: number, entries: number, behind: number): { store: HistoryStore; cursor: string } {
  const store = new HistoryStore({ defaultMaxEntries: CAP });
  const counters = new Array<number>(origins).fill(0);
  const add = (i: number): void => {
    const o = i % origins;
    counters[o]!++;
    const e: HistoryEntry = { ts: hlcPack(1_700_000_000_000 + i, 0), node: `node-${String(o).padStart(4, '0')}`, epoch: 1, seq: counters[o]!, c: counters[o]!, channel: 'room', data: `message ${i}` };
    store.insert(e, 16, NOW);
  };
  let i = 0;
  for (; i < entries - behind; i++) add(i);
  // the reader read everything up to here (page by page, as a client would)
  let cursor = emptyCursor();
  for (let page = store.after('room', cursor, 1000, NOW); ; page = store.after('room', cursor, 1000, NOW)) {
    cursor = page.cursor;
    if (!page.more) break;
  }
  for (; i < entries; i++) add(i);
  return { store, cursor: encodeReadCursor(cursor, scope) };
}

// per-call time of a synchronous fn in µs (p50, p99 of wall time, which is its CPU time
// unless the machine preempts it), and the mean CPU µs per call from process.cpuUsage
function cpuMicros(fn: () => void, runs = 2000): { p50: number; p99: number; cpu: number } {
  for (let i = 0; i < 200; i++) fn();
  const times: number[] = [];
  const c0 = process.cpuUsage();
  for (let i = 0; i < runs; i++) {
    const w0 = performance.now();
    fn();
    times.push((performance.now() - w0) * 1000);
  }
  const c = process.cpuUsage(c0);
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(runs / 2)]!, p99: times[Math.floor(runs * 0.99)]!, cpu: (c.user + c.system) / runs };
}

function resumeCost(): { rows: (string | number)[][]; sizes: (string | number)[][] } {
  const rows: (string | number)[][] = [];
  const sizes: (string | number)[][] = [];
  for (const origins of [10, 1000]) {
    const { store, cursor } = channel(origins, 5000, 100);
    // what the API does per read: decode the cursor, read after it, encode the new one
    const resume = cpuMicros(() => {
      const page = store.after('room', decodeReadCursor(cursor, scope), CAP, NOW);
      if (page.entries.length !== 100) throw new Error(`expected 100 entries, got ${page.entries.length}`);
      encodeReadCursor(page.cursor, scope);
    });
    // baseline: the same 100 entries as a plain "newest 100" read, with its cursor
    const latest = cpuMicros(() => {
      const page = store.latest('room', CAP, NOW);
      encodeReadCursor(page.cursor, scope);
    });
    rows.push([origins.toLocaleString('en-US'), resume.p50.toFixed(1), resume.p99.toFixed(1), resume.cpu.toFixed(1), latest.p50.toFixed(1), (resume.p50 / latest.p50).toFixed(2)]);
    const after = store.after('room', decodeReadCursor(cursor, scope), CAP, NOW);
    sizes.push([origins.toLocaleString('en-US'), cursor.length, encodeReadCursor(after.cursor, scope).length]);
  }
  return { rows, sizes };
}

interface SseTiming { firstEventMs: number; connectedMs: number }

// opens an SSE stream and times the ": connected" line and the first event
async function timeStream(url: string, lastEventId?: string): Promise<SseTiming> {
  const ac = new AbortController();
  const t0 = performance.now();
  const res = await fetch(url, { signal: ac.signal, headers: lastEventId ? { 'last-event-id': lastEventId } : {} });
  if (res.status !== 200) throw new Error(`stream refused: ${res.status} ${await res.text()}`);
  let connectedMs = NaN;
  let firstEventMs = NaN;
  let buf = '';
  const decoder = new TextDecoder();
  const reader = res.body!.getReader();
  while (Number.isNaN(firstEventMs)) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    if (Number.isNaN(connectedMs) && buf.includes(': connected')) connectedMs = performance.now() - t0;
    if (buf.includes('\nevent: message\n')) firstEventMs = performance.now() - t0;
  }
  ac.abort();
  await reader.cancel().catch(() => undefined);
  if (Number.isNaN(firstEventMs)) throw new Error(`stream ended before a message (received ${JSON.stringify(buf.slice(0, 300))})`);
  return { firstEventMs, connectedMs };
}

async function streamResume(): Promise<(string | number)[][]> {
  const { agents, stop } = await startCluster(2, 61);
  try {
    const [a, b] = agents;
    const post = async (i: number): Promise<string> => ((await (await fetch(`http://${a!.http}/v1/channels/feed/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ data: { i } }) })).json()) as { id: string }).id;
    // the reader read the first 100 on agent a; 100 more are published; it resumes on agent b, 100 behind
    for (let i = 0; i < 100; i++) await post(i);
    const read = (await (await fetch(`http://${a!.http}/v1/channels/feed/messages?limit=100&after=start`)).json()) as { messages: unknown[]; cursor: string };
    if (read.messages.length !== 100) throw new Error(`read ${read.messages.length} of 100`);
    const cursor = read.cursor;
    let last = '';
    for (let i = 100; i < 200; i++) last = await post(i);
    for (;;) {
      const held = (await (await fetch(`http://${b!.http}/v1/channels/feed/messages?limit=1`)).json()) as { messages: { id: string }[] };
      if (held.messages[0]?.id === last) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const resumed: SseTiming[] = [];
    const fresh: SseTiming[] = [];
    for (let i = 0; i < 20; i++) {
      resumed.push(await timeStream(`http://${b!.http}/v1/events?channel=feed&types=message`, cursor));
      // baseline: a new stream on the same agent, timed to its ": connected" line
      fresh.push(await timeStream(`http://${b!.http}/v1/events?channel=feed&types=message`, cursor));
    }
    const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
    const first = median(resumed.map((r) => r.firstEventMs));
    const connected = median(fresh.map((r) => r.connectedMs));
    return [[
      first.toFixed(1), Math.max(...resumed.map((r) => r.firstEventMs)).toFixed(1), connected.toFixed(1), (first / connected).toFixed(2),
    ]];
  } finally {
    await stop();
  }
}

export default async function bench(): Promise<BenchResult> {
  const load = os.loadavg()[0]!;
  const { rows, sizes } = resumeCost();
  const stream = await streamResume();
  return {
    title: 'History: gap-free resume (cursor cost, cursor size, stream resume)',
    markdown: [
      `A channel with a ${CAP}-entry cap that received 5,000 messages from 10 or 1,000 origins in turn; a reader that read up to 100 entries before the head resumes with its cursor (decision 0047). "Resume" is what one API read does: decode the cursor, read after it (the 100 entries it has not had), encode the new cursor. Baseline in the same run: reading the newest 100 with their cursor. Microseconds per read, on one core; the p50 is the cost of a read, the mean and p99 include garbage collection and preemption (1-minute load average ${load.toFixed(1)} on ${os.availableParallelism()} CPUs when the bench started).`,
      '',
      table(['origins', 'resume p50 µs', 'resume p99 µs', 'resume CPU µs (mean)', 'newest-100 p50 µs (baseline)', 'ratio'], rows),
      '',
      'Cursor size (base64url characters) at this cap: the reader\'s cursor 100 entries behind, and after it caught up. It names each origin epoch still above the channel\'s drop horizon: at most the held entries plus the drop summary (one record per origin epoch, as many as the cap).',
      '',
      table(['origins', 'cursor 100 behind', 'cursor caught up'], sizes),
      '',
      'Stream resume after a failover, two agent processes on loopback: a reader read the first 100 messages of a channel on agent 1; 100 more are published; it opens `GET /v1/events?channel=feed` on agent 2 with its last id (100 behind). Time from the request to the first replayed message, median and max of 20; baseline: the same request timed to the stream\'s `: connected` line.',
      '',
      table(['first replayed message, median ms', 'max ms', 'stream open, median ms (baseline)', 'ratio'], stream),
    ].join('\n'),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log((await bench()).markdown);
