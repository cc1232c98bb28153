import t from 'tap';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent } from '../../lib/daemon/agent.js';
import { ConfigError, defaultConfig } from '../../lib/daemon/config.js';
import type { AgentConfig } from '../../lib/daemon/config.js';
import { createLogger } from '../../lib/daemon/logger.js';
import { DataDir } from '../../lib/daemon/persistence.js';
import { call, tempDir } from './fixtures.js';

const config = (dataDir: string, overrides: Partial<AgentConfig> = {}): AgentConfig => ({ ...defaultConfig(), bind: '127.0.0.1:0', http: '127.0.0.1:0', profile: 'local', dataDir, ...overrides });

function captureLog(): { lines: Record<string, unknown>[]; log: ReturnType<typeof createLogger> } {
  const lines: Record<string, unknown>[] = [];
  return { lines, log: createLogger({ level: 'info', format: 'json', stream: { write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>) } }) };
}

const busyTcp = (): Promise<{ port: number; close: () => Promise<void> }> => new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => resolve({ port: (s.address() as AddressInfo).port, close: () => new Promise((r) => s.close(() => r())) }));
});

t.test('a port in use is a precise error and leaves nothing open', async (t) => {
  const dir = tempDir();
  t.teardown(dir.cleanup);
  const busy = await busyTcp();
  t.teardown(busy.close);
  await t.rejects(Agent.start(config(dir.dir, { http: `127.0.0.1:${busy.port}` }), createLogger({ level: 'silent', format: 'json' })), { code: 'E_ADDRESS', message: `cannot bind the HTTP API to 127.0.0.1:${busy.port}: port already in use` });
  // the gossip port: a UDP socket holds it
  const udp = createSocket('udp4');
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
  t.teardown(() => udp.close());
  const port = udp.address().port;
  await t.rejects(Agent.start(config(dir.dir, { bind: `127.0.0.1:${port}` }), createLogger({ level: 'silent', format: 'json' })), { code: 'E_ADDRESS', message: /port .*in use|in use/ });
  // the failed starts released the data dir (its lock) and the sockets
  const ok = await Agent.start(config(dir.dir), createLogger({ level: 'silent', format: 'json' }));
  await ok.shutdown('test', false);
});

t.test('an unreadable or malformed --keyring-file is a ConfigError naming the file', async (t) => {
  const dir = tempDir();
  t.teardown(dir.cleanup);
  const silent = createLogger({ level: 'silent', format: 'json' });
  const missing = join(dir.dir, 'missing.json');
  await t.rejects(Agent.start(config(join(dir.dir, 'd1'), { keyringFile: missing }), silent), new ConfigError(`--keyring-file ${missing} cannot be read: ENOENT`));
  const bad = join(dir.dir, 'bad.json');
  writeFileSync(bad, '{"keys": []}');
  await t.rejects(Agent.start(config(join(dir.dir, 'd2'), { keyringFile: bad }), silent), { name: 'ConfigError', message: /must hold a JSON array of base64 keys/ });
  writeFileSync(bad, '["c2hvcnQ="]');
  await t.rejects(Agent.start(config(join(dir.dir, 'd3'), { keyringFile: bad }), silent), { name: 'ConfigError', message: /key 0 is not 32 bytes/ });
});

t.test('an agent starts over a corrupt data dir, reports every repair, and serves', async (t) => {
  const dir = tempDir();
  t.teardown(dir.cleanup);
  // a real data dir first, so the log has content to damage
  const first = await Agent.start(config(dir.dir, { name: 'phoenix' }), createLogger({ level: 'silent', format: 'json' }));
  await first.shutdown('test', false);
  writeFileSync(join(dir.dir, 'identity.json'), '{"name": "phoenix", "incarn');
  writeFileSync(join(dir.dir, 'keyring.json'), 'not json');
  writeFileSync(join(dir.dir, 'members.json'), '[{"name": 1}]');
  writeFileSync(join(dir.dir, 'history.snapshot'), 'CLDSNAP1\u0000\u0000\u0000\u0000garbage');
  writeFileSync(join(dir.dir, 'history.log'), Buffer.from([0, 0, 0, 9, 1, 2, 3]));
  const { lines, log } = captureLog();
  const agent = await Agent.start(config(dir.dir, { name: 'phoenix' }), log);
  t.teardown(() => agent.shutdown('test', false));
  const repaired = lines.filter((l) => l.event === 'data-dir-repaired').map((l) => String(l.problem));
  t.ok(repaired.length >= 4, repaired.join('\n'));
  t.match(repaired.join('\n'), /identity.json is corrupt/);
  t.match(repaired.join('\n'), /keyring.json is corrupt/);
  t.match(repaired.join('\n'), /history.snapshot is corrupt/);
  t.match(repaired.join('\n'), /history.log: truncated record/);
  t.equal(lines.filter((l) => l.level === 40 && l.event === 'data-dir-repaired').length, repaired.length, 'reported as warnings');
  const health = await call(`http://${agent.httpAddress}/v1/health`);
  t.equal(health.status, 200);
  t.equal(health.body.name, 'phoenix');
  // the repaired dir loads clean the next time
  await agent.shutdown('test', false);
  const d = DataDir.open(dir.dir);
  t.same(d.load().problems, []);
  await d.close();
});
