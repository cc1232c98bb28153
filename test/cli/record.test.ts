import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { API_TAG } from '../../lib/client/api-client.js';
import type { RecordPage } from '../../lib/client/flight-record.js';
import { EXIT, runCli } from '../../lib/cli/cli.js';
import { validateScenario } from '../../simulations/scenario.js';
import { call, startTestAgent, tempDir, waitFor } from '../daemon/fixtures.js';

t.test('GET /v1/record pages the flight recorder; bad queries are 400', async (t) => {
  const a = await startTestAgent();
  t.teardown(a.stop);
  const b = await startTestAgent({ join: [a.agent.node.transport.advertiseAddress] });
  t.teardown(b.stop);
  await waitFor('a probe of b recorded on a', async () => ((await call(`${a.url}/v1/record`)).body as unknown as RecordPage).records.some((r) => r.kind === 'probe'));
  const page = (await call(`${a.url}/v1/record?since=0&limit=2000`)).body as unknown as RecordPage;
  t.match(page, { node: a.agent.node.name, profile: 'local', probeIntervalMs: 1000, probeTimeoutMs: 200, first: 0, lost: 0, capacity: 4096 });
  t.ok(page.records.some((r) => r.kind === 'state' && r.member === b.agent.node.name && r.state === 'alive'), 'b joining is a state record');
  t.ok(page.records.some((r) => r.kind === 'probe' && r.member === b.agent.node.name && r.outcome === 'ack' && r.rttMs !== null), 'a probe of b answered, with its round trip');
  t.equal(page.next, page.records.length);
  const rest = (await call(`${a.url}/v1/record?since=${page.next}`)).body as unknown as RecordPage;
  t.ok(rest.records.every((r) => r.seq >= page.next), 'since continues from next');
  for (const q of ['since=-1', 'limit=2001', 'since=x', 'from=3']) t.equal((await call(`${a.url}/v1/record?${q}`)).status, 400, q);
  const off = await startTestAgent({ flightRecorder: false });
  t.teardown(off.stop);
  t.match(await call(`${off.url}/v1/record`), { status: 404, body: { error: { code: 'E_NOT_FOUND', message: 'this agent keeps no flight recorder' } } }, '--flight-recorder false');
});

t.test('clusterd record: every reachable agent recorded, the others reported on stderr', async (t) => {
  const a = await startTestAgent();
  t.teardown(a.stop);
  const seed = [a.agent.node.transport.advertiseAddress];
  const b = await startTestAgent({ join: seed });
  t.teardown(b.stop);
  const noApi = await startTestAgent({ join: seed, http: 'off' });
  t.teardown(noApi.stop);
  const gone = await startTestAgent({ join: seed });
  t.teardown(gone.stop);
  // its API advertised where nothing listens: an agent whose API cannot be reached
  gone.agent.node.updateMeta({ tags: { [API_TAG]: 'http://127.0.0.1:1' } });
  await waitFor('four alive members with the unreachable tag on a', () => {
    const ms = a.agent.node.members().filter((m) => m.state === 'alive');
    return ms.length === 4 && ms.some((m) => m.meta.tags[API_TAG] === 'http://127.0.0.1:1');
  });
  const tmp = tempDir();
  t.teardown(tmp.cleanup);
  const out = join(tmp.dir, 'trace.json');
  let stdout = '';
  let stderr = '';
  const io = { out: (s: string) => (stdout += s), err: (s: string) => (stderr += s), env: {} };
  const code = await runCli('record', ['--http', a.agent.httpAddress!, '--duration', '2s', '--poll', '500ms', '--out', out, '--name', 'four'], io);
  t.equal(code, EXIT.partial, 'exit 4: some agents not recorded');
  t.match(stderr, new RegExp(`${noApi.agent.node.name}: not recorded: advertises no HTTP API`));
  t.match(stderr, new RegExp(`${gone.agent.node.name}: not recorded: http://127\\.0\\.0\\.1:1: cannot reach the agent`));
  t.match(stdout, /recorded 2 agent\(s\) for 2\.0 s/);
  const sc = validateScenario(JSON.parse(readFileSync(out, 'utf8')));
  t.equal(sc.name, 'four');
  t.equal(sc.nodes, 4, 'every live member is in the scenario, recorded or not');
  t.equal(sc.profile, 'local');
  t.match(stdout, /note: .*not recorded \(advertises no HTTP API/);

  const err = async (args: string[]): Promise<[number, string]> => {
    let e = '';
    const c = await runCli('record', args, { out: () => {}, err: (s) => (e += s), env: {} });
    return [c, e];
  };
  t.match(await err(['--http', a.agent.httpAddress!]), [EXIT.usage, /--out FILE is required/]);
  t.match(await err(['--http', a.agent.httpAddress!, '--out', out, '--duration', 'soon']), [EXIT.usage, /--duration: must be a duration/]);
  t.match(await err(['--http', a.agent.httpAddress!, '--out', out, '--name', 'Bad Name']), [EXIT.usage, /--name must be kebab-case/]);
  t.match(await err(['--http', '127.0.0.1:1', '--out', out]), [EXIT.unreachable, /cannot reach the agent/]);
});
