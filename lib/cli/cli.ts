import { parseArgs } from 'node:util';
import { API_TAG, ApiClient, ApiError, UnreachableError } from '../client/api-client.js';
import { renderExplanation } from './explain-render.js';
import { recordCommand, recordDuration } from './record.js';
import type { ExplainBody } from './explain-render.js';
import { cell, renderTable } from './table.js';

/** Exit codes of the CLI (documented in docs/operations.md). */
export const EXIT = { ok: 0, apiError: 1, usage: 2, unreachable: 3, partial: 4 } as const;

/** A CLI usage error: printed without a stack, exit 2. */
export class CliUsageError extends Error {
  override readonly name = 'CliUsageError';
}

/** Where the CLI writes (stdout, stderr), injectable for tests. */
export interface CliIo {
  out: (s: string) => void;
  err: (s: string) => void;
  env: NodeJS.ProcessEnv;
  /** Ends long-running commands (monitor) as SIGINT/SIGTERM do. @default undefined (the signals only) */
  signal?: AbortSignal;
}

/** Reconnect delays of `monitor`: doubling from the first to the last, with jitter. */
export const MONITOR_BACKOFF = { firstMs: 250, maxMs: 5000, idleMs: 45_000 } as const;

/** The commands the CLI knows, with a one-line description each. */
export const CLI_COMMANDS: Record<string, string> = {
  members: 'list members: members [--state alive|suspect|dead|left]; why one is in its state: members why NAME',
  join: 'ask the agent to join seeds: join HOST:PORT...',
  leave: 'make the agent leave the cluster gracefully and exit',
  brokers: 'list live brokers, least loaded first: brokers [--tag KEY=VALUE] [--sort-by LOADKEY]',
  channels: 'list channels with presence or history',
  presence: 'who is in a channel: presence CHANNEL',
  publish: 'publish a message: publish CHANNEL DATA [--header K=V] [--idempotency-key KEY] (DATA is JSON or a string)',
  history: 'read history: history CHANNEL [--limit K] [--after CURSOR|start]',
  monitor: 'tail the event stream: monitor [--channel C] [--types message,presence,member] [--cursor C]',
  keys: 'gossip keys across the cluster: keys list | install KEY | use KEY | remove KEY',
  info: 'this agent: identity, health, sync status',
  record: 'record every live agent\'s failure detector into a simulator scenario: record --out trace.json [--duration 2m] [--poll 2s] [--raw raw.json] [--name NAME]',
};

const COMMON = {
  http: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/**
 * Runs one CLI command against an agent's HTTP API and returns the exit code. Errors
 * are printed as one line naming what to fix; `--json` prints the API's JSON as is.
 */
export async function runCli(command: string, argv: string[], io: CliIo): Promise<number> {
  try {
    return await dispatch(command, argv, io);
  } catch (err) {
    if (err instanceof CliUsageError || (err instanceof TypeError && String((err as { code?: string }).code).startsWith('ERR_PARSE_ARGS'))) {
      io.err(`clusterd ${command}: ${(err as Error).message.replace(/\. To specify a positional.*$/s, '')}\n`);
      return EXIT.usage;
    }
    if (err instanceof UnreachableError) {
      io.err(`clusterd ${command}: ${err.message}\n`);
      return EXIT.unreachable;
    }
    if (err instanceof ApiError) {
      const hint = err.code === 'E_UNAUTHORIZED' ? ' (pass --token or set CLUSTERD_TOKEN)' : '';
      io.err(`clusterd ${command}: ${err.message} [${err.code}]${hint}\n`);
      return EXIT.apiError;
    }
    throw err;
  }
}

async function dispatch(command: string, argv: string[], io: CliIo): Promise<number> {
  const parse = <O extends Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>>(options: O, positionals: [number, number]) => {
    const r = parseArgs({ args: argv, options: { ...COMMON, ...options }, strict: true, allowPositionals: true });
    if (r.positionals.length < positionals[0] || r.positionals.length > positionals[1]) {
      throw new CliUsageError(`expected ${positionals[0] === positionals[1] ? positionals[0] : `${positionals[0]}–${positionals[1]}`} argument(s), got ${r.positionals.length}: ${CLI_COMMANDS[command]}`);
    }
    const v = r.values as Record<string, unknown>;
    const client = new ApiClient({ http: (v.http as string | undefined) ?? io.env.CLUSTERD_HTTP ?? '127.0.0.1:7947', token: (v.token as string | undefined) ?? io.env.CLUSTERD_TOKEN });
    return { values: v, args: r.positionals, client, json: v.json === true };
  };
  const print = (json: boolean, body: unknown, human: () => string): number => {
    io.out(json ? `${JSON.stringify(body, null, 2)}\n` : human());
    return EXIT.ok;
  };

  switch (command) {
    case 'members': {
      const { values, args, client, json } = parse({ state: { type: 'string' } }, [0, 2]);
      if (args.length > 0) {
        if (args[0] !== 'why' || args.length !== 2) throw new CliUsageError(`expected "members" or "members why NAME", got "members ${args.join(' ')}"`);
        const body = await client.request<ExplainBody>('GET', `/v1/members/${encodeURIComponent(args[1]!)}`);
        return print(json, body, () => `${renderExplanation(body).join('\n')}\n`);
      }
      const q = values.state !== undefined ? `?state=${encodeURIComponent(values.state as string)}` : '';
      const body = await client.request<{ members: { name: string; address: string; state: string; incarnation: number; roles: string[]; rttMs: number | null }[] }>('GET', `/v1/members${q}`);
      return print(json, body, () => renderTable(['NAME', 'ADDRESS', 'STATE', 'INC', 'ROLES', 'RTT'], body.members.map((m) => [m.name, m.address, m.state, String(m.incarnation), m.roles.join(','), m.rttMs === null ? '-' : `${m.rttMs.toFixed(1)}ms`])));
    }
    case 'join': {
      const { args, client, json } = parse({}, [1, 64]);
      const body = await client.request<{ contacted: number }>('POST', '/v1/join', { seeds: args });
      return print(json, body, () => `joined: ${body.contacted} of ${args.length} seed(s) answered\n`);
    }
    case 'leave': {
      const { client, json } = parse({}, [0, 0]);
      const body = await client.request('POST', '/v1/leave', {});
      return print(json, body, () => 'the agent is leaving the cluster and will exit\n');
    }
    case 'brokers': {
      const { values, client, json } = parse({ tag: { type: 'string' }, 'sort-by': { type: 'string' } }, [0, 0]);
      const params = new URLSearchParams();
      if (values.tag !== undefined) params.set('tag', values.tag as string);
      if (values['sort-by'] !== undefined) params.set('sortBy', values['sort-by'] as string);
      const q = params.size > 0 ? `?${params.toString()}` : '';
      const body = await client.request<{ brokers: { name: string; address: string; endpoints: Record<string, string>; load: Record<string, number> }[] }>('GET', `/v1/brokers${q}`);
      return print(json, body, () => renderTable(['NAME', 'ADDRESS', 'ENDPOINTS', 'LOAD'], body.brokers.map((b) => [b.name, b.address, pairs(b.endpoints), pairs(b.load)])));
    }
    case 'channels': {
      const { client, json } = parse({}, [0, 0]);
      const body = await client.request<{ channels: { channel: string; clients: number; users: number; messages: number }[] }>('GET', '/v1/channels');
      return print(json, body, () => renderTable(['CHANNEL', 'CLIENTS', 'USERS', 'MESSAGES'], body.channels.map((c) => [c.channel, String(c.clients), String(c.users), String(c.messages)])));
    }
    case 'presence': {
      const { args, client, json } = parse({}, [1, 1]);
      const body = await client.request<{ clients: { clientId: string; user: string; node: string; since: number; info: unknown }[]; counts: { clients: number; users: number } }>('GET', `/v1/channels/${encodeURIComponent(args[0]!)}/presence`);
      return print(json, body, () => renderTable(['CLIENT', 'USER', 'NODE', 'SINCE', 'INFO'], body.clients.map((c) => [c.clientId, c.user, c.node, new Date(c.since).toISOString(), cell(c.info, 40)])) + `${body.counts.clients} client(s), ${body.counts.users} user(s)\n`);
    }
    case 'publish': {
      const { values, args, client, json } = parse({ header: { type: 'string', multiple: true }, 'idempotency-key': { type: 'string' } }, [2, 2]);
      let data: unknown;
      try {
        data = JSON.parse(args[1]!);
      } catch {
        data = args[1];
      }
      const headers: Record<string, string> = {};
      for (const h of (values.header as string[] | undefined) ?? []) {
        const i = h.indexOf('=');
        if (i <= 0) throw new CliUsageError(`--header expects KEY=VALUE, got "${h}"`);
        headers[h.slice(0, i)] = h.slice(i + 1);
      }
      const body = await client.request<{ id: string; cursor: string; duplicate: boolean }>('POST', `/v1/channels/${encodeURIComponent(args[0]!)}/messages`, {
        data,
        ...(Object.keys(headers).length > 0 ? { headers } : {}),
        ...(values['idempotency-key'] !== undefined ? { idempotencyKey: values['idempotency-key'] } : {}),
      });
      return print(json, body, () => `${body.duplicate ? 'duplicate (already stored)' : 'published'} ${body.id}\ncursor ${body.cursor}\n`);
    }
    case 'history': {
      const { values, args, client, json } = parse({ limit: { type: 'string' }, after: { type: 'string' } }, [1, 1]);
      const q = new URLSearchParams();
      if (values.limit !== undefined) q.set('limit', values.limit as string);
      if (values.after !== undefined) q.set('after', values.after as string);
      const qs = q.toString();
      const body = await client.request<HistoryBody>('GET', `/v1/channels/${encodeURIComponent(args[0]!)}/messages${qs ? `?${qs}` : ''}`);
      return print(json, body, () =>
        renderTable(['TIME', 'NODE', 'ID', 'DATA'], body.messages.map((m) => [new Date(m.ts).toISOString(), m.node, m.id, cell(m.data)])) +
        body.gaps.map((g) => `gap: ${describeGap(g)}\n`).join('') +
        (body.complete || body.gaps.length > 0 ? '' : 'note: older entries you asked for are no longer held (evicted or expired)\n') +
        (body.pending ? 'note: this agent may not hold everything yet (catching up); read again with the cursor\n' : '') +
        (body.more ? 'note: more follow; read again with the cursor\n' : '') +
        `cursor ${body.cursor}\n`);
    }
    case 'monitor': {
      const { values, client, json } = parse({ channel: { type: 'string' }, types: { type: 'string' }, cursor: { type: 'string' } }, [0, 0]);
      return monitor(client, { channel: values.channel as string | undefined, types: values.types as string | undefined, cursor: values.cursor as string | undefined }, json, io);
    }
    case 'keys':
      return keys(argv, io, parse);
    case 'record': {
      const { values } = parse({ duration: { type: 'string' }, out: { type: 'string' }, raw: { type: 'string' }, poll: { type: 'string' }, name: { type: 'string' } }, [0, 0]);
      if (values.out === undefined) throw new CliUsageError(`--out FILE is required: ${CLI_COMMANDS.record}`);
      const ms = (flag: string, dflt: number): number => {
        const v = values[flag] as string | undefined;
        if (v === undefined) return dflt;
        try {
          return recordDuration(v, `--${flag}`);
        } catch (e) {
          throw new CliUsageError((e as Error).message);
        }
      };
      const name = (values.name as string | undefined) ?? 'recorded';
      if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new CliUsageError(`--name must be kebab-case (a-z, 0-9, -), got "${name}"`);
      const stop = new AbortController();
      const onSignal = (): void => stop.abort();
      process.once('SIGINT', onSignal);
      io.signal?.addEventListener('abort', onSignal);
      try {
        return await recordCommand({
          http: (values.http as string | undefined) ?? io.env.CLUSTERD_HTTP ?? '127.0.0.1:7947', token: (values.token as string | undefined) ?? io.env.CLUSTERD_TOKEN,
          durationMs: ms('duration', 120_000), pollMs: ms('poll', 2000), out: values.out as string, raw: values.raw as string | undefined, name, signal: stop.signal,
        }, io.err, io.out);
      } finally {
        process.off('SIGINT', onSignal);
        io.signal?.removeEventListener('abort', onSignal);
      }
    }
    case 'info': {
      const { client, json } = parse({}, [0, 0]);
      const self = await client.request<Record<string, unknown>>('GET', '/v1/self');
      let sync: Record<string, unknown> | undefined;
      try {
        sync = await client.request('GET', '/v1/sync');
      } catch (err) {
        if (!(err instanceof ApiError && err.code === 'E_NOT_READY')) throw err;
      }
      const body = { self, sync };
      return print(json, body, () => {
        const lines = Object.entries(self).filter(([k]) => k !== 'meta').map(([k, v]) => [k, cell(v, 80)]);
        const meta = self.meta as { tags?: Record<string, string>; endpoints?: Record<string, string> } | undefined;
        if (meta) lines.push(['tags', pairs(meta.tags ?? {})], ['endpoints', pairs(meta.endpoints ?? {})]);
        if (sync) {
          const peers = (sync.peers as { inSync: boolean }[] | undefined) ?? [];
          lines.push(['sync.ready', String(sync.ready)], ['sync.digest', String(sync.digest)], ['sync.peersInSync', `${peers.filter((p) => p.inSync).length}/${peers.length}`]);
        }
        return renderTable(['FIELD', 'VALUE'], lines);
      });
    }
    default:
      throw new CliUsageError(`unknown command "${command}"`);
  }
}

/**
 * `monitor`: tails the event stream until SIGINT/SIGTERM. When the agent goes away or
 * the connection drops (or goes silent past three missed heartbeats), it reconnects with
 * backoff and resumes from the last cursor it saw, so no event is lost or repeated. When
 * the agent cannot resume (it restarted, or the events were dropped from its buffer) it
 * says so on stderr, prints the `reset` event, and carries on from the agent's present.
 * Only the first connection failing is fatal (exit 3): that is a wrong --http.
 */
async function monitor(client: ApiClient, opts: { channel: string | undefined; types: string | undefined; cursor: string | undefined }, json: boolean, io: CliIo): Promise<number> {
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  io.signal?.addEventListener('abort', stop, { once: true });
  let cursor = opts.cursor;
  let connected = false;
  let delay: number = MONITOR_BACKOFF.firstMs;
  let lostAt = 0;
  let lastNotice = 0;
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      ac.signal.removeEventListener('abort', done);
      resolve();
    }
    ac.signal.addEventListener('abort', done, { once: true });
  });
  try {
    while (!ac.signal.aborted) {
      const q = new URLSearchParams();
      if (opts.channel !== undefined) q.set('channel', opts.channel);
      if (opts.types !== undefined) q.set('types', opts.types);
      if (cursor !== undefined) q.set('cursor', cursor);
      const qs = q.toString();
      let why: string;
      try {
        await client.stream(`/v1/events${qs ? `?${qs}` : ''}`, (e) => {
          if (e.type === 'reset') {
            const r = safeJson(e.data) as { reason?: string; cursor?: string } | string;
            const reason = typeof r === 'object' && r !== null ? r.reason : undefined;
            const now = typeof r === 'object' && r !== null ? r.cursor : undefined;
            const what = reason === 'agent-restarted' ? 'the agent restarted since then' : reason === 'cursor-expired' ? 'the agent no longer holds the events after it' : 'the agent does not know that cursor';
            io.err(`clusterd monitor: cannot resume from cursor ${cursor ?? '?'}: ${what} (${reason ?? 'reset'}); events in between are lost, continuing from now${now ? ` (cursor ${now})` : ''}\n`);
            if (now !== undefined) cursor = now;
          } else if (e.id !== undefined) {
            cursor = e.id;
          }
          if (json) io.out(`${JSON.stringify({ id: e.id, type: e.type, data: safeJson(e.data) })}\n`);
          else io.out(`${new Date().toISOString()} ${e.type.padEnd(14)} ${e.data}\n`);
        }, {
          signal: ac.signal,
          idleMs: MONITOR_BACKOFF.idleMs,
          onOpen: (now) => {
            if (lostAt > 0) io.err(`clusterd monitor: reconnected after ${((Date.now() - lostAt) / 1000).toFixed(1)} s${cursor !== undefined ? `, resuming after ${cursor}` : ''}\n`);
            // without a cursor of our own, events from here on are what we owe the user
            cursor ??= now;
            connected = true;
            lostAt = 0;
            delay = MONITOR_BACKOFF.firstMs;
          },
        });
        if (ac.signal.aborted) break;
        why = 'the agent closed the stream';
      } catch (err) {
        if (err instanceof ApiError && err.status < 500 && err.status !== 408 && err.status !== 429) throw err;
        if (err instanceof UnreachableError && !connected) throw err;
        why = err instanceof UnreachableError ? 'the agent is unreachable' : (err as Error).message;
      }
      const now = Date.now();
      if (lostAt === 0) {
        lostAt = now;
        lastNotice = now;
        io.err(`clusterd monitor: connection lost (${why}); reconnecting${cursor !== undefined ? ` to resume after ${cursor}` : ''}\n`);
      } else if (now - lastNotice >= 30_000) {
        lastNotice = now;
        io.err(`clusterd monitor: still reconnecting after ${Math.round((now - lostAt) / 1000)} s (${why})\n`);
      }
      await sleep(delay * (0.75 + Math.random() * 0.5));
      delay = Math.min(delay * 2, MONITOR_BACKOFF.maxMs);
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    io.signal?.removeEventListener('abort', stop);
  }
  return EXIT.ok;
}

type Parser = (options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>, positionals: [number, number]) => { values: Record<string, unknown>; args: string[]; client: ApiClient; json: boolean };

/**
 * `keys list|install|use|remove`: the CLI walks the cluster. It asks the chosen agent for
 * the members, finds each live member's API in its `clusterd-api` tag, and applies the
 * step to every one of them (with the same --token). Members it cannot reach are listed
 * and the exit code is 4: rerun the same command once they are back (steps are idempotent).
 */
async function keys(_argv: string[], io: CliIo, parse: Parser): Promise<number> {
  const { args, client, json, values } = parse({}, [1, 2]);
  const op = args[0]!;
  if (!['list', 'install', 'use', 'remove'].includes(op)) throw new CliUsageError(`unknown keys operation "${op}": use list, install KEY, use KEY or remove KEY`);
  if (op === 'list' ? args.length !== 1 : args.length !== 2) throw new CliUsageError(op === 'list' ? 'keys list takes no argument' : `keys ${op} needs the key: keys ${op} BASE64KEY`);
  const key = args[1];
  if (key !== undefined && Buffer.from(key, 'base64').length !== 32) throw new CliUsageError('the key must be 32 bytes in base64 (generate one with: openssl rand -base64 32)');
  const { members } = await client.request<{ members: { name: string; state: string; meta: { tags: Record<string, string> } }[] }>('GET', '/v1/members');
  const live = members.filter((m) => m.state === 'alive' || m.state === 'suspect');
  const results: { name: string; ok: boolean; keys?: { fingerprint: string; primary: boolean }[]; error?: string }[] = [];
  for (const m of live) {
    const api = m.meta.tags[API_TAG];
    if (!api) {
      results.push({ name: m.name, ok: false, error: 'advertises no HTTP API (started with --http off?)' });
      continue;
    }
    const c = new ApiClient({ http: api, token: (values.token as string | undefined) ?? io.env.CLUSTERD_TOKEN, timeoutMs: 5000 });
    try {
      const r = op === 'list' ? await c.request<{ keys: { fingerprint: string; primary: boolean }[] }>('GET', '/v1/keys') : await c.request<{ keys: { fingerprint: string; primary: boolean }[] }>('POST', `/v1/keys/${op}`, { key });
      results.push({ name: m.name, ok: true, keys: r.keys });
    } catch (err) {
      results.push({ name: m.name, ok: false, error: err instanceof ApiError ? `${err.message} [${err.code}]` : (err as Error).message });
    }
  }
  const failed = results.filter((r) => !r.ok);
  const ok = results.length - failed.length;
  if (json) io.out(`${JSON.stringify({ operation: op, members: results }, null, 2)}\n`);
  else if (op === 'list') {
    const tally = new Map<string, { members: number; primary: number }>();
    for (const r of results) for (const k of r.keys ?? []) {
      const t = tally.get(k.fingerprint) ?? { members: 0, primary: 0 };
      t.members++;
      if (k.primary) t.primary++;
      tally.set(k.fingerprint, t);
    }
    io.out(renderTable(['KEY (SHA-256 PREFIX)', 'INSTALLED ON', 'PRIMARY ON'], [...tally].map(([fp, t]) => [fp, `${t.members}/${ok}`, `${t.primary}/${ok}`])));
  } else {
    io.out(`keys ${op}: done on ${ok}/${results.length} live member(s)\n`);
  }
  for (const f of failed) io.err(`clusterd keys ${op}: ${f.name}: ${f.error}\n`);
  if (failed.length > 0) {
    io.err(`clusterd keys ${op}: ${failed.length} member(s) not updated; rerun the same command when they are reachable\n`);
    return EXIT.partial;
  }
  return EXIT.ok;
}

function pairs(o: Record<string, string | number>): string {
  return Object.entries(o).map(([k, v]) => `${k}=${v}`).join(',');
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}

interface HistoryBody {
  messages: { id: string; ts: number; node: string; data: unknown }[];
  complete: boolean;
  gaps: { node?: string; epoch?: number; from?: number; to?: number; count: number; exact: boolean }[];
  more: boolean;
  pending: boolean;
  cursor: string;
}

/** A gap in words: which origin lost which messages, or that the origins are no longer known. */
export function describeGap(g: HistoryBody['gaps'][number]): string {
  if (g.node === undefined) return 'messages you had not read are no longer held (more than the channel remembers; how many is unknown)';
  const range = g.from !== undefined ? (g.from === g.to ? `#${g.from}` : `#${g.from}–#${g.to}`) : `up to #${g.to}`;
  return `${g.exact ? g.count : `at least ${g.count}`} message${g.count === 1 && g.exact ? '' : 's'} from ${g.node} (epoch ${g.epoch}) ${range} no longer held`;
}
