import t from 'tap';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { AgentClient } from '../../lib/client/index.js';
import { waitFor as waitUntil } from './fixtures.js';

/*
 * Issue #18 with real agent processes on 127.0.0.x: presence joined over /v2/ws is bound
 * to the connection, so when its agent is SIGKILLed (no close, no leave) it disappears
 * from every other node, once the cluster has confirmed the death, and not before.
 */

const bin = fileURLToPath(new URL('../../bin/clusterd.ts', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'clusterd-ws-presence-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));

interface Agent { proc: ChildProcess; address: Promise<string>; http: Promise<string> }

const running: Agent[] = [];
t.teardown(() => {
  for (const a of running) a.proc.kill('SIGKILL');
});

function startAgent(name: string, ip: string, join_?: string): Agent {
  const args = ['--import', 'tsx', bin, 'agent', '--name', name, '--bind', `${ip}:0`, '--http', `${ip}:0`, '--data-dir', join(tmp, name), '--profile', 'local', '--log-format', 'json'];
  if (join_) args.push('--join', join_);
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
  const agent = { proc, address: started.then((s) => s[0]), http: started.then((s) => `http://${s[1]}`) };
  running.push(agent);
  return agent;
}

const get = async (url: string): Promise<Record<string, unknown>> => (await fetch(url)).json() as Promise<Record<string, unknown>>;
const clientsOn = async (http: string): Promise<string[]> => ((await get(`${http}/v1/channels/room/presence`)).clients as { clientId: string }[]).map((c) => c.clientId).sort();
const stateOf = async (http: string, name: string): Promise<string> => ((await get(`${http}/v1/members`)).members as { name: string; state: string }[]).find((m) => m.name === name)?.state ?? 'absent';

async function poll(what: string, cond: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  let ok = false;
  let busy = false;
  await waitUntil(what, () => {
    if (!ok && !busy) {
      busy = true;
      void cond().then((v) => (ok = v), () => {}).finally(() => (busy = false));
    }
    return ok;
  }, timeoutMs, 50);
}

t.test('SIGKILL of an agent: presence joined over /v2/ws leaves every other node once the death is confirmed; a clusterd/client subscription resumes on another agent', async (t) => {
  const one = startAgent('w1', '127.0.0.61');
  const two = startAgent('w2', '127.0.0.62', await one.address);
  const three = startAgent('w3', '127.0.0.63', await one.address);
  const [h1, h2, h3] = [await one.http, await two.http, await three.http];
  await poll('cluster of three', async () => {
    for (const h of [h1, h2, h3]) if (((await get(`${h}/v1/members?state=alive`)).members as unknown[]).length !== 3) return false;
    return true;
  });
  const c = await AgentClient.connect(h1, { reconnectMinMs: 60_000, reconnectMaxMs: 60_000 });
  t.teardown(() => c.close());
  await c.join('room', 'k1', 'ann');
  await c.join('room', 'k2', 'bob', { role: 'broker' });
  // a client on another agent stays
  const other = await AgentClient.connect(h2);
  t.teardown(() => other.close());
  await other.join('room', 'k3', 'cat');
  for (const h of [h2, h3]) await poll(`all three clients seen on ${h}`, async () => (await clientsOn(h)).join() === 'k1,k2,k3');
  // a subscriber on w1 that may fail over to w2; messages are published on w3 throughout
  const got: unknown[] = [];
  const sc = await AgentClient.connect([h1, h2], { reconnectMinMs: 100, reconnectMaxMs: 500 });
  t.teardown(() => sc.close());
  await sc.subscribe('feed', (item) => got.push(item.type === 'message' ? item.message.data : item));
  const published: number[] = [];
  let publishing = true;
  const publisher = (async () => {
    for (let i = 0; publishing; i++) {
      const r = await fetch(`${h3}/v1/channels/feed/messages`, { method: 'POST', body: JSON.stringify({ data: i }), headers: { 'content-type': 'application/json' } });
      if (r.status === 201) published.push(i);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  await poll('some messages before the kill', async () => got.length >= 10);

  const killedAt = Date.now();
  one.proc.kill('SIGKILL');
  const early: string[] = [];
  for (const h of [h2, h3]) {
    // presence first, then the member's state: if the clients are gone, the death must already be confirmed
    await poll(`w1's clients gone on ${h}`, async () => {
      const clients = await clientsOn(h);
      if (clients.join() !== 'k3') {
        if (clients.join() !== 'k1,k2,k3') early.push(`${h}: ${clients.join()}`);
        return false;
      }
      const state = await stateOf(h, 'w1');
      t.ok(state === 'dead' || state === 'absent', `${h}: w1's clients left once w1 was confirmed dead (state ${state})`);
      return true;
    });
  }
  publishing = false;
  await publisher;
  await poll('every message reached the subscriber, through w2', async () => got.length >= published.length);
  await new Promise((r) => setTimeout(r, 300));
  t.same(got, published, `the subscriber got all ${published.length} messages published on w3, once each, in order, across the failover`);
  t.equal(sc.url, h2, 'it is on w2 now');
  t.same(early, [], 'no partial removal seen');
  t.same(await clientsOn(h3), ['k3'], 'the client of a live agent stays');
  t.comment(`w1's clients gone on both other agents ${Date.now() - killedAt} ms after the SIGKILL (profile local)`);
});
