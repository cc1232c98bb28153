import { writeFileSync } from 'node:fs';
import type { FlightRecord, RecordPage } from '../client/flight-record.js';
import { API_TAG, ApiClient, ApiError } from '../client/api-client.js';
import { parseDuration, ScenarioError, validateScenario } from '../../simulations/scenario.js';
import { traceToScenario } from '../../simulations/trace-scenario.js';
import type { RecordedAgent, Recording } from '../../simulations/trace-scenario.js';
import { renderTable } from './table.js';

/** How `clusterd record` reads the agents. */
export interface RecordOptions {
  /** The first agent (its member list names the others). */
  http: string;
  token: string | undefined;
  /** How long to record, ms. @default 120000 */
  durationMs: number;
  /** The scenario file to write. */
  out: string;
  /** Also write the raw recording here. @default undefined */
  raw?: string | undefined;
  /** Each agent is read this often, ms: often enough that its ring never wraps between two reads. @default 2000 */
  pollMs: number;
  /** Scenario name. @default "recorded" */
  name: string;
  /** Ends the recording early (what was recorded is written). @default undefined */
  signal?: AbortSignal | undefined;
}

/** Records kept per agent at most: a runaway agent cannot grow the recording without bound. */
export const MAX_RECORDS_PER_AGENT = 200_000;
/** Records asked for per read (the API's largest page). */
const PAGE = 2000;

interface Source {
  name: string;
  client: ApiClient;
  cursor: number;
  pages: RecordPage[];
  held: number;
  /** Why the last read failed (cleared when it answers again). */
  down: string | undefined;
  answered: boolean;
}

const sleep = (ms: number, signal: AbortSignal | undefined): Promise<void> => new Promise((resolve) => {
  const t = setTimeout(done, ms);
  function done(): void {
    clearTimeout(t);
    signal?.removeEventListener('abort', done);
    resolve();
  }
  signal?.addEventListener('abort', done, { once: true });
});

function why(err: unknown): string {
  return err instanceof ApiError ? `${err.message} [${err.code}]` : (err as Error).message;
}

/**
 * `clusterd record`: finds every live agent through the first one's member list (their
 * `clusterd-api` tags), reads each one's flight recorder every `pollMs` for the
 * duration, and writes the simulator scenario built from the records. An agent that
 * cannot be read is reported on stderr and the others are recorded. Returns the exit
 * code: 0, or 4 when some agent could not be recorded (the file is written all the same).
 */
export async function recordCommand(o: RecordOptions, err: (s: string) => void, out: (s: string) => void): Promise<number> {
  const first = new ApiClient({ http: o.http, token: o.token, timeoutMs: 5000 });
  // an unreachable first agent throws UnreachableError: exit 3, nothing to record
  const { members } = await first.request<{ members: { name: string; state: string; meta: { tags: Record<string, string> } }[] }>('GET', '/v1/members');
  const unreachable: { name: string; error: string }[] = [];
  const sources: Source[] = [];
  await Promise.all(members.filter((m) => m.state === 'alive' || m.state === 'suspect').map(async (m) => {
    const api = m.meta.tags[API_TAG];
    if (!api) {
      unreachable.push({ name: m.name, error: 'advertises no HTTP API (started with --http off?)' });
      return;
    }
    const client = new ApiClient({ http: api, token: o.token, timeoutMs: Math.min(5000, Math.max(1000, o.pollMs)) });
    try {
      const p = await client.request<RecordPage>('GET', '/v1/record?limit=0');
      sources.push({ name: m.name, client, cursor: p.next, pages: [], held: 0, down: undefined, answered: true });
    } catch (e) {
      unreachable.push({ name: m.name, error: `${api}: ${why(e)}` });
    }
  }));
  for (const u of unreachable) err(`clusterd record: ${u.name}: not recorded: ${u.error}\n`);
  if (sources.length === 0) {
    err('clusterd record: no agent could be read\n');
    return 4;
  }
  sources.sort((a, b) => (a.name < b.name ? -1 : 1));
  const startedAt = Date.now();
  const end = startedAt + o.durationMs;
  err(`clusterd record: recording ${sources.length} agent(s) for ${Math.round(o.durationMs / 1000)} s (Ctrl-C ends early)\n`);

  const read = async (s: Source): Promise<void> => {
    for (;;) {
      if (s.held >= MAX_RECORDS_PER_AGENT) return;
      let p: RecordPage;
      try {
        p = await s.client.request<RecordPage>('GET', `/v1/record?since=${s.cursor}&limit=${PAGE}`);
      } catch (e) {
        if (s.down === undefined) err(`clusterd record: ${s.name} does not answer at ${((Date.now() - startedAt) / 1000).toFixed(1)} s: ${why(e)} (still trying)\n`);
        s.down = why(e);
        return;
      }
      if (s.down !== undefined) err(`clusterd record: ${s.name} answers again\n`);
      s.down = undefined;
      if (p.lost > 0) err(`clusterd record: ${s.name}: ${p.lost} record(s) overwritten before they were read (poll more often: --poll)\n`);
      s.pages.push({ ...p, records: p.records.slice(0, MAX_RECORDS_PER_AGENT - s.held) });
      s.held += p.records.length;
      s.cursor = p.next;
      if (p.records.length < PAGE) return;
    }
  };
  await Promise.all(sources.map(async (s) => {
    while (Date.now() < end && !o.signal?.aborted) {
      await sleep(Math.min(o.pollMs, Math.max(0, end - Date.now())), o.signal);
      await read(s);
    }
  }));
  const stoppedAt = Math.min(Date.now(), end);

  const agents: RecordedAgent[] = [];
  for (const s of sources) {
    if (s.down !== undefined) err(`clusterd record: ${s.name}: no answer at the end (${s.down}); its records up to then are kept\n`);
    const firstPage = s.pages[0];
    if (!firstPage) {
      unreachable.push({ name: s.name, error: s.down ?? 'no record read' });
      continue;
    }
    const records: FlightRecord[] = s.pages.flatMap((p) => p.records).filter((r) => r.t >= startedAt && r.t <= stoppedAt);
    agents.push({ node: s.name, profile: firstPage.profile, probeIntervalMs: firstPage.probeIntervalMs, probeTimeoutMs: firstPage.probeTimeoutMs, records, lost: s.pages.reduce((n, p) => n + p.lost, 0) });
  }
  const recording: Recording = { startedAt, durationMs: Math.max(1, stoppedAt - startedAt), members: members.map((m) => ({ name: m.name, state: m.state })), agents, unreachable };
  if (o.raw !== undefined) writeFileSync(o.raw, `${JSON.stringify(recording)}\n`);
  const conv = traceToScenario(recording, o.name);
  // what is written must run: the same check `clusterd sim` makes
  validateScenario(conv.scenario, o.out);
  writeFileSync(o.out, `${JSON.stringify(conv.scenario, null, 2)}\n`);
  out(`recorded ${agents.length} agent(s) for ${(recording.durationMs / 1000).toFixed(1)} s: ${agents.reduce((n, a) => n + a.records.length, 0)} records\n`);
  out(renderTable(['NODE', 'MEMBER'], Object.entries(conv.nodes).map(([n, m]) => [n, m])));
  if (conv.faults.length > 0) {
    out(renderTable(['AT', 'FAULT', 'NODE', 'MEMBER', 'DETAIL'], conv.faults.map((f) => [
      `${(f.atMs / 1000).toFixed(1)}s`, f.kind, f.node, f.member,
      f.kind === 'stall' ? `for ${(f.durationMs! / 1000).toFixed(1)}s (${f.basis})` : f.kind === 'crash' ? `suspected at ${(f.firstSuspectMs! / 1000).toFixed(1)}s, dead at ${(f.firstDeadMs! / 1000).toFixed(1)}s (real agents)` : f.basis,
    ])));
  } else out('no fault recorded\n');
  for (const n of conv.notes) out(`note: ${n}\n`);
  out(`wrote ${o.out}${o.raw !== undefined ? ` and ${o.raw}` : ''}; replay it: clusterd sim ${o.out} [--compare lan,wan,local]\n`);
  return unreachable.length > 0 ? 4 : 0;
}

/** Parses `--duration` and `--poll` (`2m`, `90s`, `500ms`); throws a message for the CLI. */
export function recordDuration(v: string, flag: string): number {
  try {
    const ms = parseDuration(v, flag);
    if (ms <= 0) throw new ScenarioError(flag, 'must be positive');
    return ms;
  } catch (e) {
    throw new Error(`${flag}: ${(e as ScenarioError).problem}`);
  }
}
