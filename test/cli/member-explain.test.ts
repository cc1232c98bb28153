import t from 'tap';
import { EXIT, runCli } from '../../lib/cli/cli.js';
import { humanMs, renderExplanation } from '../../lib/cli/explain-render.js';
import type { ExplainBody } from '../../lib/cli/explain-render.js';
import { call, startTestAgent } from '../daemon/fixtures.js';

t.test('GET /v1/members/{name}: the member, its evidence and the observer; 404 and 400 for bad requests', async (t) => {
  const { agent, url, stop } = await startTestAgent();
  t.teardown(stop);
  const self = await call(`${url}/v1/members/${encodeURIComponent(agent.node.name)}`);
  t.equal(self.status, 200);
  t.match(self.body, { name: agent.node.name, state: 'alive', observer: agent.node.name, recorded: true, roles: [], meta: { roles: [] }, probes: [], live: null, health: { score: 0, why: [] } });
  const unknown = await call(`${url}/v1/members/nobody`);
  t.equal(unknown.status, 404);
  t.match(unknown.body, { error: { code: 'E_NOT_FOUND', message: /no member "nobody"/ } });
  t.match((await call(`${url}/v1/members/x?y=1`)).body, { error: { code: 'E_BAD_QUERY' } });
  t.equal((await call(`${url}/v1/members/%E0%A4%A`)).status, 400, 'malformed percent-encoding');
  t.equal((await call(`${url}/v1/members/x`, 'DELETE')).status, 405);

  const out: string[] = [];
  const io = { out: (s: string) => out.push(s), err: (s: string) => out.push(s), env: {} };
  t.equal(await runCli('members', ['why', agent.node.name, '--http', agent.httpAddress!], io), EXIT.ok);
  t.match(out.join(''), new RegExp(`^${agent.node.name} at 127\\.0\\.0\\.1:\\d+: alive at incarnation \\d+ for .* \\(as seen from ${agent.node.name}\\)\\n`));
  out.length = 0;
  t.equal(await runCli('members', ['why', 'nobody', '--http', agent.httpAddress!], io), EXIT.apiError);
  t.match(out.join(''), /no member "nobody".*\[E_NOT_FOUND\]/);
  t.equal(await runCli('members', ['what', 'x', '--http', agent.httpAddress!], io), EXIT.usage);
  t.equal(await runCli('members', ['why', '--http', agent.httpAddress!], io), EXIT.usage);
});

const health = { score: 0, max: 8, why: [], recent: [], totals: { 'missed-nacks': 0, 'probe-failed-alone': 0, 'late-timers': 0, refuted: 0, 'probe-acked': 0 } };
const base: ExplainBody = {
  name: 'b', address: '127.0.0.2:7946', state: 'alive', incarnation: 3, sinceMs: 65_000, observer: 'a', recorded: true, live: null, health,
  lastHeardAgoMs: 420, rtt: { lastMs: 0.4, p50Ms: 0.3, p99Ms: 1.2, samples: 3 }, history: [], suspicion: null, refutation: null, death: null,
  probes: [
    { agoMs: 400, kind: 'ack', rttMs: 0.4, via: null, helpers: 0, nacks: 0, tcp: 'none', verification: false },
    { agoMs: 3400, kind: 'indirect-ack', rttMs: 510, via: 'c', helpers: 3, nacks: 0, tcp: 'pending', verification: false },
    { agoMs: 6400, kind: 'timeout', rttMs: null, via: null, helpers: 3, nacks: 2, tcp: 'failed', verification: true },
  ],
};

t.test('the rendering names who said what, and why the observer is not healthy', async (t) => {
  t.equal(humanMs(850), '850ms');
  t.equal(humanMs(3240), '3.2s');
  t.equal(humanMs(245_000), '4m05s');
  t.equal(humanMs(7_900_000), '2h11m');
  const alive = renderExplanation(base).join('\n');
  t.match(alive, /^b at 127\.0\.0\.2:7946: alive at incarnation 3 for 1m05s \(as seen from a\)$/m);
  t.match(alive, /rtt: last 0\.40ms, p50 0\.30ms, p99 1\.2ms over 3 answered probe\(s\)/);
  t.match(alive, /400ms ago {2}ack {10}rtt 0\.40ms/);
  t.match(alive, /indirect ack rtt 510\.0ms via c/);
  t.match(alive, /timeout {6}2 of 3 helpers nacked, tcp failed {2}\[verifying a suspicion\]/);
  t.match(alive, /observer a: healthy/);

  const suspect = renderExplanation({
    ...base, state: 'suspect',
    suspicion: { by: 'c', agoMs: 1500, incarnation: 3, confirmations: [{ from: 'd', agoMs: 900 }], restartedAgoMs: null },
    live: { confirmations: 1, expected: 2, timeoutMs: 11_381, minMs: 4000, maxMs: 24_000, leftMs: 9881, verifying: false },
    health: { ...health, score: 2, why: [{ agoMs: 5000, delta: 2, score: 2, cause: 'missed-nacks', detail: 'probe of e failed and only 1 of 3 helpers nacked: the others may be unreachable from here' }] },
  }).join('\n');
  t.match(suspect, /suspicion: suspected first by c 1\.5s ago at incarnation 3; confirmed by d \(900ms ago\)/);
  t.match(suspect, /Lifeguard timeout 11\.4s \(min 4\.0s, max 24\.0s\) with 1 of 2 confirmations; 9\.9s left/);
  t.match(suspect, /verification probe: not yet/);
  t.match(suspect, /observer a: Lifeguard score 2 of max 7: it probes 3× slower and may itself be the slow one, because:\n +5\.0s ago {2}\+2 → 2 {2}missed-nacks: probe of e failed/);

  const dead = renderExplanation({ ...base, state: 'dead', death: { agoMs: 200, incarnation: 3, by: 'd', state: 'dead', suspicion: null } }).join('\n');
  t.match(dead, /dead: declared by d 200ms ago at incarnation 3\n {2}no suspicion was held here first/);
  const left = renderExplanation({ ...base, state: 'left', death: { agoMs: 200, incarnation: 3, by: 'b', state: 'left', suspicion: null } }).join('\n');
  t.match(left, /left: announced by itself 200ms ago/);
  const refuted = renderExplanation({ ...base, refutation: { agoMs: 100, incarnation: 4, suspicion: { by: 'c', agoMs: 2000, incarnation: 3, confirmations: [], restartedAgoMs: null } } }).join('\n');
  t.match(refuted, /refuted 100ms ago: came back alive at incarnation 4, ending the suspicion by c \(0 confirmation\(s\)\)/);
  t.match(renderExplanation({ ...base, recorded: false, probes: [], rtt: null }).join('\n'), /keeps no evidence[\s\S]*rtt: no answered probe recorded\nprobes: none recorded yet/);
});
