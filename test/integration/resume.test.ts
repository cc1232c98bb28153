import t from 'tap';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { waitFor as waitUntil } from './fixtures.js';

/*
 * Issue #13 with real agent processes on 127.0.0.x: a reader cut off by a partition
 * resumes with its cursor and misses nothing; an SSE subscriber whose agent is SIGKILLed
 * reconnects to another agent with its last id and gets every message exactly once.
 */

const waitFor = (what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 40_000): Promise<void> => waitAsync(what, cond, timeoutMs);

async function waitAsync(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  let ok = false;
  const poll = async (): Promise<void> => {
    ok = await cond();
  };
  await poll();
  await waitUntil(what, () => {
    if (!ok) void poll();
    return ok;
  }, timeoutMs, 100);
}

const bin = fileURLToPath(new URL('../../bin/clusterd.ts', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'clusterd-resume-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));

interface Agent {
  name: string;
  proc: ChildProcess;
  address: Promise<string>;
  http: Promise<string>;
}

const running: Agent[] = [];
t.teardown(() => {
  for (const a of running) a.proc.kill('SIGKILL');
});

function startAgent(name: string, ip: string, join?: string, extra: string[] = []): Agent {
  const args = ['--import', 'tsx', bin, 'agent', '--name', name, '--bind', `${ip}:0`, '--http', `${ip}:0`, '--data-dir', join_(name), '--profile', 'local', '--log-format', 'json', ...extra];
  if (join) args.push('--join', join);
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let resolve: (v: [string, string]) => void = () => {};
  const started = new Promise<[string, string]>((r) => (resolve = r));
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    try {
      const e = JSON.parse(line) as Record<string, unknown>;
      if (e.event === 'started') resolve([String(e.address), String(e.http)]);
    } catch {
      // not a log line
    }
  });
  const agent: Agent = { name, proc, address: started.then((s) => s[0]), http: started.then((s) => `http://${s[1]}`) };
  running.push(agent);
  return agent;
}

function join_(name: string): string {
  return join(tmp, name);
}

async function call(url: string, method = 'GET', body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { method, ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) as Record<string, unknown> : {} };
}

interface Page { messages: { id: string; data: unknown }[]; complete: boolean; gaps: unknown[]; pending: boolean; more: boolean; cursor: string }

const history = async (http: string, ch: string, after?: string): Promise<Page> =>
  (await call(`${http}/v1/channels/${ch}/messages?limit=1000${after !== undefined ? `&after=${encodeURIComponent(after)}` : ''}`)).body as unknown as Page;

const publish = async (http: string, ch: string, data: unknown): Promise<string> => {
  const r = await call(`${http}/v1/channels/${ch}/messages`, 'POST', { data });
  if (r.status !== 201) throw new Error(`publish failed: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.id as string;
};

t.test('a reader cut off by a partition resumes with its cursor and misses nothing (the issue\'s steps)', async (t) => {
  const a = startAgent('ra', '127.0.0.41', undefined, ['--enable-faults', 'true']);
  const b = startAgent('rb', '127.0.0.42', await a.address, ['--enable-faults', 'true']);
  const [ha, hb] = [await a.http, await b.http];
  await waitFor('both ready and joined', async () => (await call(`${ha}/v1/members`)).body.members !== undefined &&
    ((await call(`${ha}/v1/members`)).body.members as { state: string }[]).filter((m) => m.state === 'alive').length === 2 &&
    (await call(`${hb}/v1/health`)).body.ready === true);
  await publish(ha, 'room', 'before');
  await waitFor('before replicated', async () => (await history(hb, 'room')).messages.length === 1);

  // 1. cut the agents apart; publish alternately on both sides
  await call(`${ha}/v1/faults`, 'PUT', { rules: [{ peer: '127.0.0.42', drop: 1 }] });
  await call(`${hb}/v1/faults`, 'PUT', { rules: [{ peer: '127.0.0.41', drop: 1 }] });
  for (const [http, text] of [[hb, 'B-side-1'], [ha, 'A-side-1'], [hb, 'B-side-2'], [ha, 'A-side-2']] as const) {
    await publish(http, 'room', text);
    await new Promise((r) => setTimeout(r, 30));
  }
  // 2. a reader on A reads what A holds, and keeps the cursor
  const seen = await history(ha, 'room');
  t.same(seen.messages.map((m) => m.data), ['before', 'A-side-1', 'A-side-2']);
  // 3. heal: the replicas converge on the merged order
  await call(`${ha}/v1/faults`, 'DELETE');
  await call(`${hb}/v1/faults`, 'DELETE');
  const merged = ['before', 'B-side-1', 'A-side-1', 'B-side-2', 'A-side-2'];
  await waitFor('histories merged', async () => (await history(ha, 'room')).messages.map((m) => m.data).join() === merged.join() &&
    (await history(hb, 'room')).messages.map((m) => m.data).join() === merged.join());
  // 4. resuming with the cursor, on either agent, gives exactly what the reader missed
  for (const [name, http] of [['A', ha], ['B', hb]] as const) {
    const page = await history(http, 'room', seen.cursor);
    t.same(page.messages.map((m) => m.data), ['B-side-1', 'B-side-2'], `on ${name}: the B-side messages merged behind the cursor`);
    t.equal(page.complete, true, `on ${name}: nothing was lost`);
    t.same((await history(http, 'room', page.cursor)).messages, [], `on ${name}: and nothing comes twice`);
  }
});

interface SseEvent { id?: string; type: string; data: string }

/** Reads an SSE stream into `out` until aborted; resolves when the connection ends. */
async function sse(url: string, out: SseEvent[], signal: AbortSignal, lastEventId?: string): Promise<void> {
  try {
    const res = await fetch(url, { signal, headers: lastEventId ? { 'last-event-id': lastEventId } : {} });
    if (res.status !== 200) throw new Error(`stream refused: ${res.status} ${await res.text()}`);
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body!) {
      buf += decoder.decode(chunk as Uint8Array, { stream: true });
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const e: SseEvent = { type: 'message', data: '' };
        let data = false;
        for (const line of block.split('\n')) {
          if (line.startsWith('id: ')) e.id = line.slice(4);
          else if (line.startsWith('event: ')) e.type = line.slice(7);
          else if (line.startsWith('data: ')) {
            e.data = line.slice(6);
            data = true;
          }
        }
        if (data) out.push(e);
      }
    }
  } catch (err) {
    if ((err as Error).name !== 'AbortError' && !/terminated|other side closed|ECONNRESET|socket/i.test(String((err as Error).cause ?? err))) throw err;
  }
}

t.test('an SSE subscriber whose agent is SIGKILLed resumes on another agent and gets every message once', async (t) => {
  const one = startAgent('s1', '127.0.0.51');
  const two = startAgent('s2', '127.0.0.52', await one.address);
  const three = startAgent('s3', '127.0.0.53', await one.address);
  const [h1, h2, h3] = [await one.http, await two.http, await three.http];
  await waitFor('cluster of three, ready', async () => {
    for (const h of [h1, h2, h3]) {
      const m = (await call(`${h}/v1/members`)).body.members as { state: string }[] | undefined;
      if (!m || m.filter((x) => x.state === 'alive').length !== 3 || (await call(`${h}/v1/health`)).body.ready !== true) return false;
    }
    return true;
  });

  const events: SseEvent[] = [];
  const ac = new AbortController();
  const first = sse(`${h1}/v1/events?channel=feed&types=message`, events, ac.signal);
  await new Promise((r) => setTimeout(r, 300));
  // publishes continue on agents 2 and 3 throughout
  const published: string[] = [];
  let publishing = true;
  const publisher = (async () => {
    for (let i = 0; publishing; i++) {
      published.push(await publish(i % 2 === 0 ? h2 : h3, 'feed', { i }));
      await new Promise((r) => setTimeout(r, 15));
    }
  })();
  await waitFor('some messages streamed', () => events.filter((e) => e.type === 'message').length >= 20);
  one.proc.kill('SIGKILL');
  await first;
  const lastId = [...events].reverse().find((e) => e.id !== undefined)!.id!;
  const before = events.length;
  // a second's worth of messages published while the subscriber is disconnected
  await new Promise((r) => setTimeout(r, 1000));
  const ac2 = new AbortController();
  const reconnectAt = Date.now();
  const second = sse(`${h2}/v1/events?channel=feed&types=message`, events, ac2.signal, lastId);
  await waitFor('first replayed event', () => events.length > before, 10_000);
  const firstReplayMs = Date.now() - reconnectAt;
  await new Promise((r) => setTimeout(r, 800));
  publishing = false;
  await publisher;
  const got = (): string[] => events.filter((e) => e.type === 'message').map((e) => (JSON.parse(e.data) as { message: { id: string } }).message.id);
  await waitFor('every published message received', () => new Set(got()).size >= published.length, 20_000);
  ac2.abort();
  await second;
  const ids = got();
  const dup = ids.filter((id, i) => ids.indexOf(id) !== i);
  t.same(dup, [], 'no message twice');
  t.same([...ids].sort(), [...published].sort(), `every one of the ${published.length} messages, exactly once`);
  t.notOk(events.some((e) => e.type === 'gap' || e.type === 'reset'), 'no gap, no reset');
  t.comment(`first replayed event ${firstReplayMs} ms after the reconnect (a real-time wait with two agents under load; the bench measures it alone)`);
});
