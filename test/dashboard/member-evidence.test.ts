import t from 'tap';
import { asExplanation } from '../../lib/dashboard/api-types.js';
import { renderOverlay } from '../../lib/dashboard/render.js';
import { DashState } from '../../lib/dashboard/state.js';
import type { ExplainBody } from '../../lib/cli/explain-render.js';
import { member } from './fixtures.js';

const visible = (s: string): string => s.replace(/\{(\/?[a-z-]+)\}/g, (m, tag: string) => (tag === 'open' ? '{' : tag === 'close' ? '}' : ''));

const suspect: ExplainBody = {
  name: 'b', address: 'b:1', state: 'suspect', incarnation: 2, sinceMs: 1500, observer: 'a', recorded: true,
  lastHeardAgoMs: 2400, rtt: null, history: [{ agoMs: 1500, state: 'suspect', incarnation: 2, by: 'c' }], refutation: null, death: null,
  probes: [{ agoMs: 500, kind: 'timeout', rttMs: null, via: null, helpers: 3, nacks: 3, tcp: 'failed', verification: false }],
  suspicion: { by: 'c', agoMs: 1500, incarnation: 2, confirmations: [{ from: 'd', agoMs: 700 }], restartedAgoMs: null },
  live: { confirmations: 1, expected: 2, timeoutMs: 11_381, minMs: 4000, maxMs: 24_000, leftMs: 9881, verifying: true },
  health: { score: 0, max: 8, why: [], recent: [], totals: { 'missed-nacks': 0, 'probe-failed-alone': 0, 'late-timers': 0, refuted: 0, 'probe-acked': 0 } },
};

t.test('the member pane shows the agent\'s evidence once loaded, and only for the member it shows', async (t) => {
  const s = new DashState('x');
  s.setMembers([member('a'), member('b', { state: 'suspect' })], 0);
  s.setOverlay({ kind: 'member', name: 'b' });
  t.equal(s.detailMember, 'b');
  t.match(visible(renderOverlay(s, 100, 60, 0)!.lines.join('\n')), /why \(evidence from this agent\)\n {2}loading…/);
  s.setMemberEvidence('a', suspect);
  t.equal(s.memberEvidence, undefined, 'evidence for another member is ignored');
  s.setMemberEvidence('b', suspect);
  const text = visible(renderOverlay(s, 120, 60, 0)!.lines.join('\n'));
  t.match(text, /suspicion: suspected first by c 1\.5s ago at incarnation 2; confirmed by d \(700ms ago\)/);
  t.match(text, /Lifeguard timeout 11\.4s \(min 4\.0s, max 24\.0s\) with 1 of 2 confirmations; 9\.9s left/);
  t.match(text, /verification probe: under way/);
  t.match(text, /timeout {6}3 of 3 helpers nacked, tcp failed/);
  s.setOverlay({ kind: 'none' });
  t.equal(s.memberEvidence, undefined, 'closing the pane drops it');
  s.setOverlay({ kind: 'member', name: 'b' });
  s.setMemberEvidence('b', 'unavailable');
  t.match(visible(renderOverlay(s, 120, 60, 0)!.lines.join('\n')), /unavailable \(the agent does not serve/);
});

t.test('asExplanation refuses bodies the rendering cannot read', async (t) => {
  t.equal(asExplanation(suspect), suspect);
  t.equal(asExplanation({ name: 'b' }), undefined);
  t.equal(asExplanation({ ...suspect, probes: 'x' }), undefined);
  t.equal(asExplanation(null), undefined);
  const s = new DashState('x');
  s.setMembers([member('b')], 0);
  s.setOverlay({ kind: 'member', name: 'b' });
  // a body that passed the loose check but breaks the rendering still draws a line, not a crash
  s.setMemberEvidence('b', { ...suspect, probes: [null] } as unknown as ExplainBody);
  t.match(visible(renderOverlay(s, 120, 60, 0)!.lines.join('\n')), /unavailable \(the agent answered in an unexpected shape\)/);
});
