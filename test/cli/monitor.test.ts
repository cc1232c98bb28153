import t from 'tap';
import { createServer, Socket } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { EXIT, runCli } from '../../lib/cli/cli.js';
import { call, startTestAgent, tempDir, waitFor } from '../daemon/fixtures.js';

/** `clusterd monitor` in-process, stopped through io.signal; output collected as it comes. */
function startMonitor(argv: string[]): { out: () => string; err: () => string; lines: () => { id?: string; type: string; data: unknown }[]; done: Promise<number>; stop: () => Promise<number> } {
  let out = '';
  let err = '';
  const ac = new AbortController();
  const done = runCli('monitor', argv, { out: (s) => (out += s), err: (s) => (err += s), env: {}, signal: ac.signal });
  return {
    out: () => out,
    err: () => err,
    done,
    lines: () => out.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { id?: string; type: string; data: unknown }),
    stop: () => {
      ac.abort();
      return done;
    },
  };
}

/** A TCP proxy in front of the agent's API whose connections the test can cut. */
async function proxy(target: string): Promise<{ address: string; cut: () => void; close: () => Promise<void> }> {
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = new Socket();
    upstream.connect(port, host);
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    cut: () => {
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

const publish = async (url: string, channel: string, data: unknown): Promise<string> => {
  const r = await call(`${url}/v1/channels/${channel}/messages`, 'POST', { data });
  if (r.status !== 201) throw new Error(`publish answered ${r.status}: ${r.text}`);
  return r.body.id as string;
};

t.test('monitor resumes from its cursor after the connection drops, without gaps or repeats', async (t) => {
  const { url, agent, stop } = await startTestAgent();
  t.teardown(stop);
  await waitFor('ready', () => agent.node.ready);
  const p = await proxy(agent.httpAddress!);
  t.teardown(p.close);
  const mon = startMonitor(['--http', p.address, '--channel', 'chat', '--json']);
  const messages = (): { id?: string; type: string; data: unknown }[] => mon.lines().filter((l) => l.type === 'message');
  await waitFor('stream open', () => agent.hub.subscriberCount === 1);
  await publish(url, 'chat', 'one');
  await waitFor('first event', () => messages().length === 1);

  p.cut();
  await waitFor('drop noticed', () => /connection lost/.test(mon.err()));
  // published while the monitor is disconnected: it must get these on resume
  await publish(url, 'chat', 'two');
  await publish(url, 'chat', 'three');
  await waitFor('resumed', () => messages().length === 3);
  await publish(url, 'chat', 'four');
  await waitFor('live again', () => messages().length === 4);
  t.equal(await mon.stop(), EXIT.ok);
  t.same(messages().map((l) => (l.data as { message: { data: string } }).message.data), ['one', 'two', 'three', 'four']);
  t.ok(mon.lines().some((l) => l.type === 'presence-snapshot'), 'a resumed channel stream starts with a presence snapshot');
  // a channel stream resumes by its portable cursor (decision 0047)
  t.match(mon.err(), /connection lost \(.*\); reconnecting to resume after [A-Za-z0-9_-]{16,}\n/);
  t.match(mon.err(), /reconnected after \d+\.\d s, resuming after [A-Za-z0-9_-]{16,}/);
  t.notMatch(mon.err(), /cannot resume/);
});

t.test('monitor rides through an agent restart and says what it could not resume', async (t) => {
  const dir = tempDir();
  t.teardown(dir.cleanup);
  let a = await startTestAgent({}, dir.dir);
  const http = a.agent.httpAddress!;
  await waitFor('ready', () => a.agent.node.ready);
  const mon = startMonitor(['--http', http, '--types', 'message']);
  await waitFor('stream open', () => a.agent.hub.subscriberCount === 1);
  await publish(a.url, 'news', 'before');
  await waitFor('first event', () => /before/.test(mon.out()));

  await a.stop();
  await waitFor('drop noticed', () => /connection lost/.test(mon.err()));
  // it keeps retrying while nothing listens on the port
  await new Promise((r) => setTimeout(r, 600));
  a = await startTestAgent({ http }, dir.dir);
  t.teardown(a.stop);
  await waitFor('reconnected', () => a.agent.hub.subscriberCount === 1);
  await waitFor('reset reported', () => /cannot resume/.test(mon.err()));
  t.match(mon.err(), /cannot resume from cursor [0-9a-f]{8}-\d+: the agent restarted since then \(agent-restarted\); events in between are lost, continuing from now \(cursor [0-9a-f]{8}-\d+\)/);
  await waitFor('ready', () => a.agent.node.ready);
  await publish(a.url, 'news', 'after');
  await waitFor('event after restart', () => /after/.test(mon.out()));
  t.equal(await mon.stop(), EXIT.ok);
  t.match(mon.out(), /message\s+.*"before"[\s\S]*reset\s+\{"reason":"agent-restarted"[\s\S]*message\s+.*"after"/);
});

t.test('monitor: a wrong --http or a refused stream fails at once', async (t) => {
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const n = (s.address() as AddressInfo).port;
      s.close(() => resolve(n));
    });
  });
  const down = startMonitor(['--http', `127.0.0.1:${port}`]);
  t.equal(await down.done, EXIT.unreachable);
  t.match(down.err(), /cannot reach the agent/);
  const { agent, stop } = await startTestAgent({ token: 'mon-token' });
  t.teardown(stop);
  const refused = startMonitor(['--http', agent.httpAddress!]);
  t.equal(await refused.done, EXIT.apiError);
  t.match(refused.err(), /E_UNAUTHORIZED/);
  const badType = startMonitor(['--http', agent.httpAddress!, '--token', 'mon-token', '--types', 'nope']);
  t.equal(await badType.done, EXIT.apiError);
  t.match(badType.err(), /unknown event type "nope"/);
});
