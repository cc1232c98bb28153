import t from 'tap';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { EXIT, runCli } from '../../lib/cli/cli.js';
import { call, startTestAgent, waitFor } from '../daemon/fixtures.js';

async function cli(command: string, argv: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(command, argv, { out: (s) => (out += s), err: (s) => (err += s), env });
  return { code, out, err };
}

t.test('tables, --json and exit codes', async (t) => {
  const key = Buffer.alloc(32, 3).toString('base64');
  const { agent, url, stop } = await startTestAgent({ roles: ['broker'], endpoints: { ws: 'ws://127.0.0.1:8080' }, token: 'cli-token-xyz', encryptKey: key });
  t.teardown(stop);
  const http = agent.httpAddress!;
  const auth = ['--http', http, '--token', 'cli-token-xyz'];

  const members = await cli('members', auth);
  t.equal(members.code, EXIT.ok);
  t.match(members.out, /^NAME\s+ADDRESS\s+STATE\s+INC\s+ROLES\s+RTT\n/);
  t.match(members.out, new RegExp(`${agent.node.name}\\s+127\\.0\\.0\\.1:\\d+\\s+alive\\s+\\d+\\s+broker`));
  const json = await cli('members', [...auth, '--json']);
  t.match(JSON.parse(json.out), { members: [{ name: agent.node.name, state: 'alive' }] });
  const viaEnv = await cli('brokers', [], { CLUSTERD_HTTP: http, CLUSTERD_TOKEN: 'cli-token-xyz' });
  t.match(viaEnv.out, /ws=ws:\/\/127\.0\.0\.1:8080/);

  const noToken = await cli('members', ['--http', http]);
  t.equal(noToken.code, EXIT.apiError);
  t.match(noToken.err, /E_UNAUTHORIZED.*pass --token or set CLUSTERD_TOKEN/);

  const usage = await cli('presence', auth);
  t.equal(usage.code, EXIT.usage);
  t.match(usage.err, /expected 1 argument/);
  t.equal((await cli('members', ['--bogus'])).code, EXIT.usage);
  t.equal((await cli('keys', [...auth, 'rotate'])).code, EXIT.usage);
  t.match((await cli('keys', [...auth, 'install', 'abc'])).err, /32 bytes in base64/);

  const closedPort = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
  const down = await cli('members', ['--http', `127.0.0.1:${closedPort}`]);
  t.equal(down.code, EXIT.unreachable);
  t.match(down.err, /cannot reach the agent at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\): is it running\? Choose another with --http/);

  const keys = await cli('keys', [...auth, 'list']);
  t.equal(keys.code, EXIT.ok);
  t.match(keys.out, /INSTALLED ON\s+PRIMARY ON\n[0-9a-f]{16}\s+1\/1\s+1\/1/);
  const key2 = Buffer.alloc(32, 4).toString('base64');
  t.match((await cli('keys', [...auth, 'install', key2])).out, /keys install: done on 1\/1/);
  t.equal((await cli('keys', [...auth, 'use', key2])).code, EXIT.ok);
  t.equal((await cli('keys', [...auth, 'remove', key])).code, EXIT.ok);
  t.match((await cli('keys', [...auth, 'list', '--json'])).out, /"primary": true/);

  const info = await cli('info', auth);
  t.match(info.out, new RegExp(`name\\s+${agent.node.name}`));

  if ((await call(`${url}/v1/channels`, 'GET', undefined, { authorization: 'Bearer cli-token-xyz' })).status === 503) return;
  await waitFor('ready', async () => (await call(`${url}/v1/health`)).body.ready === true);
  const pub = await cli('publish', [...auth, 'chat', '{"text":"hello"}', '--header', 'a=b']);
  t.equal(pub.code, EXIT.ok);
  t.match(pub.out, /^published \S+\ncursor \S+\n$/);
  await cli('publish', [...auth, 'chat', 'plain words']);
  const hist = await cli('history', [...auth, 'chat']);
  t.match(hist.out, /TIME\s+NODE\s+ID\s+DATA\n.*\{"text":"hello"\}\n.*plain words\n/);
  const bad = await cli('history', [...auth, 'chat', '--limit', '0']);
  t.equal(bad.code, EXIT.apiError);
  t.match(bad.err, /limit.*E_BAD_QUERY/);
  const badChannel = await cli('publish', [...auth, 'bad name', '1']);
  t.match(badChannel.err, /E_BAD_CHANNEL/);
  t.match((await cli('channels', auth)).out, /chat\s+0\s+0\s+2/);
  const pres = await cli('presence', [...auth, 'chat']);
  t.match(pres.out, /0 client\(s\), 0 user\(s\)/);
});
