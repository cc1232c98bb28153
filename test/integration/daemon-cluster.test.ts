import t from 'tap';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { runCli } from '../../lib/cli/cli.js';

/**
 * Five agent processes on 127.0.0.31–35 (gossip and HTTP on ephemeral ports, one data
 * dir each): the whole life of a cluster through the HTTP API and the CLI.
 */
const bin = fileURLToPath(new URL('../../bin/clusterd.ts', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'clusterd-daemon-'));
const KEY1 = Buffer.alloc(32, 11).toString('base64');
const KEY2 = Buffer.alloc(32, 22).toString('base64');

interface Proc {
  name: string;
  proc: ChildProcess;
  events: Record<string, unknown>[];
  started: Promise<{ address: string; http: string; incarnation: number }>;
  exit: Promise<number | null>;
}

const procs: Proc[] = [];
t.teardown(() => {
  for (const p of procs) p.proc.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

function start(name: string, ip: string, join?: string): Proc {
  const args = ['--import', 'tsx', bin, 'agent', '--name', name, '--bind', `${ip}:0`, '--http', `${ip}:0`, '--data-dir', `${tmp}/${name}`,
    '--profile', 'local', '--log-format', 'json', '--encrypt-key', KEY1, '--fsync', 'always'];
  if (join) args.push('--join', join);
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const events: Record<string, unknown>[] = [];
  let ok: (v: { address: string; http: string; incarnation: number }) => void = () => {};
  const started = new Promise<{ address: string; http: string; incarnation: number }>((r) => (ok = r));
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    try {
      const e = JSON.parse(line) as Record<string, unknown>;
      events.push(e);
      if (e.event === 'started') ok({ address: String(e.address), http: String(e.http), incarnation: Number(e.incarnation) });
    } catch {
      // not a log line
    }
  });
  const exit = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  const p = { name, proc, events, started, exit };
  procs.push(p);
  return p;
}

async function api<T = Record<string, unknown>>(http: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`http://${http}${path}`, { method, ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}) });
  return { status: res.status, body: (await res.json()) as T };
}

async function waitFor(what: string, cond: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const start = Date.now();
  for (;;) {
    try {
      if (await cond()) return;
    } catch {
      // agent not answering yet
    }
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

type Members = { members: { name: string; state: string; incarnation: number }[] };
const stateOf = async (http: string, name: string): Promise<string | undefined> =>
  (await api<Members>(http, 'GET', '/v1/members')).body.members.find((m) => m.name === name)?.state;

t.test('five agents: history, presence, key rotation, SIGKILL and restart, graceful leave', async (t) => {
  const names = ['a', 'b', 'c', 'd', 'e'];
  const a = start('a', '127.0.0.31');
  const seed = (await a.started).address;
  const others = names.slice(1).map((n, i) => start(n, `127.0.0.3${i + 2}`, seed));
  const all = [a, ...others];
  const info = await Promise.all(all.map((p) => p.started));
  const http = Object.fromEntries(all.map((p, i) => [p.name, info[i]!.http])) as Record<string, string>;
  await waitFor('everyone sees five alive members', async () => {
    for (const n of names) {
      const { body } = await api<Members>(http[n]!, 'GET', '/v1/members');
      if (body.members.filter((m) => m.state === 'alive').length !== 5) return false;
    }
    return true;
  });
  await waitFor('every agent ready', async () => {
    for (const n of names) if ((await api<{ ready: boolean }>(http[n]!, 'GET', '/v1/health')).body.ready !== true) return false;
    return true;
  });
  t.pass('five processes formed a cluster and caught up');

  // publish on a, read on b
  const pub = await api<{ id: string; cursor: string }>(http.a!, 'POST', '/v1/channels/room/messages', { data: { text: 'before' } });
  t.equal(pub.status, 201);
  await waitFor('b has the message', async () => (await api<{ messages: { id: string }[] }>(http.b!, 'GET', '/v1/channels/room/messages')).body.messages.some((m) => m.id === pub.body.id));
  t.pass('published on a, read from b');

  // presence join on c, visible everywhere; leave, gone everywhere
  t.equal((await api(http.c!, 'PUT', '/v1/channels/room/presence/c-client', { user: 'carol' })).status, 200);
  const seesClient = async (n: string, id: string): Promise<boolean> =>
    (await api<{ clients: { clientId: string }[] }>(http[n]!, 'GET', '/v1/channels/room/presence')).body.clients.some((c) => c.clientId === id);
  await waitFor('presence everywhere', async () => (await Promise.all(names.map((n) => seesClient(n, 'c-client')))).every(Boolean));
  await api(http.c!, 'DELETE', '/v1/channels/room/presence/c-client');
  await waitFor('presence gone everywhere', async () => (await Promise.all(names.map((n) => seesClient(n, 'c-client')))).every((x) => !x));
  t.pass('presence join and leave seen by every node');

  // key rotation through the CLI, walking every member; nobody may be suspected
  const suspectsBefore = all.map((p) => p.events.filter((e) => e.event === 'member-suspect').length);
  const io = { out: () => {}, err: (s: string) => t.comment(s), env: {} };
  for (const step of [['install', KEY2], ['use', KEY2], ['remove', KEY1]]) {
    t.equal(await runCli('keys', ['--http', http.a!, ...step], io), 0, `keys ${step[0]} on every member`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  let listed = '';
  await runCli('keys', ['--http', http.b!, 'list'], { ...io, out: (s) => (listed += s) });
  t.match(listed, /[0-9a-f]{16}\s+5\/5\s+5\/5/, 'one key left, primary on all five');
  await new Promise((r) => setTimeout(r, 2000));
  t.same(all.map((p) => p.events.filter((e) => e.event === 'member-suspect').length), suspectsBefore, 'no member suspected during the rotation');

  // SIGKILL d while it has a client: its presence vanishes everywhere, it is reported dead
  const d = others[2]!;
  const dIncarnation = (await api<{ incarnation: number }>(http.d!, 'GET', '/v1/self')).body.incarnation;
  await api(http.d!, 'PUT', '/v1/channels/room/presence/d-client', { user: 'dave' });
  const live = ['a', 'b', 'c', 'e'];
  await waitFor('d-client everywhere', async () => (await Promise.all(live.map((n) => seesClient(n, 'd-client')))).every(Boolean));
  d.proc.kill('SIGKILL');
  await d.exit;
  await waitFor('d dead everywhere', async () => (await Promise.all(live.map((n) => stateOf(http[n]!, 'd')))).every((s) => s === 'dead'));
  await waitFor('d presence gone', async () => (await Promise.all(live.map((n) => seesClient(n, 'd-client')))).every((x) => !x));
  t.pass('SIGKILLed agent reported dead and its presence vanished everywhere');

  // published while d is down: d must catch up after its restart
  const missed = await api<{ id: string }>(http.b!, 'POST', '/v1/channels/room/messages', { data: { text: 'while d was down' } });
  const d2 = start('d', '127.0.0.34');
  const d2info = await d2.started;
  t.ok(d2info.incarnation > dIncarnation, `restarted with a higher incarnation (${d2info.incarnation} > ${dIncarnation})`);
  const dHttp = d2info.http;
  const first = await api<{ messages: { id: string }[] }>(dHttp, 'GET', '/v1/channels/room/messages');
  t.ok(first.body.messages.some((m) => m.id === pub.body.id), 'history intact from the data dir');
  await waitFor('d caught up', async () => (await api<{ messages: { id: string }[] }>(dHttp, 'GET', '/v1/channels/room/messages')).body.messages.some((m) => m.id === missed.body.id));
  await waitFor('d alive again everywhere', async () => (await Promise.all(live.map((n) => stateOf(http[n]!, 'd')))).every((s) => s === 'alive'));
  t.pass('restarted agent rejoined through its stored members and caught up');

  // graceful leave: exit 0, reported left (not dead)
  const e = others[3]!;
  e.proc.kill('SIGTERM');
  t.equal(await e.exit, 0, 'SIGTERM exits 0');
  await waitFor('e left everywhere', async () => (await Promise.all(['a', 'b', 'c'].map((n) => stateOf(http[n]!, 'e')))).every((s) => s === 'left'));
  t.notOk(all.slice(0, 3).some((p) => p.events.some((x) => x.event === 'member-dead' && x.name === 'e')), 'e never reported dead');
});
