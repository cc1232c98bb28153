import type { HealthEvidence, MemberExplanation, ProbeEvidence, SuspicionEvidence } from '../internal.js';

/** `GET /v1/members/{name}` as JSON: the explanation plus the member's API fields (meta, roles). */
export type ExplainBody = MemberExplanation & { meta?: { roles?: string[] }; roles?: string[] };

/** A duration for people: 850ms, 3.2s, 4m05s, 2h10m. */
export function humanMs(ms: number): string {
  const a = Math.abs(ms);
  const sign = ms < 0 ? '-' : '';
  if (a < 1000) return `${sign}${Math.round(a)}ms`;
  if (a < 60_000) return `${sign}${(a / 1000).toFixed(1)}s`;
  if (a < 3_600_000) return `${sign}${Math.floor(a / 60_000)}m${String(Math.floor((a % 60_000) / 1000)).padStart(2, '0')}s`;
  return `${sign}${Math.floor(a / 3_600_000)}h${String(Math.floor((a % 3_600_000) / 60_000)).padStart(2, '0')}m`;
}

const ago = (ms: number): string => `${humanMs(ms)} ago`;
/** A round trip: two decimals under 1 ms (loopback), one above. */
const rtt = (ms: number | null): string => (ms === null ? '?' : `${ms.toFixed(ms < 1 ? 2 : 1)}ms`);

function probeLine(p: ProbeEvidence): string {
  let what: string;
  switch (p.kind) {
    case 'ack':
      what = `ack          rtt ${rtt(p.rttMs)}`;
      break;
    case 'indirect-ack':
      what = `indirect ack rtt ${rtt(p.rttMs)} via ${p.via ?? '?'}`;
      break;
    case 'tcp-ack':
      what = `tcp ack      rtt ${rtt(p.rttMs)} (UDP lost; the TCP fallback ping got through)`;
      break;
    case 'timeout':
      what = `timeout      ${p.helpers === 0 ? 'no helper asked' : `${p.nacks} of ${p.helpers} helpers nacked`}, tcp ${p.tcp}`;
      break;
    case 'inconclusive':
      what = 'inconclusive (our timers ran late: not counted against it)';
      break;
  }
  return `  ${ago(p.agoMs).padStart(12)}  ${what}${p.verification ? '  [verifying a suspicion]' : ''}`;
}

function suspicionLine(s: SuspicionEvidence): string {
  const confirmed = s.confirmations.length === 0 ? 'no confirmation' : `confirmed by ${s.confirmations.map((c) => `${c.from} (${ago(c.agoMs)})`).join(', ')}`;
  return `suspected first by ${s.by} ${ago(s.agoMs)} at incarnation ${s.incarnation}; ${confirmed}${s.restartedAgoMs !== null ? `; restarted as ours ${ago(s.restartedAgoMs)} (it had reached us)` : ''}`;
}

function healthLine(h: HealthEvidence): string {
  return `  ${ago(h.agoMs).padStart(12)}  ${h.delta > 0 ? '+' : ''}${h.delta} → ${h.score}  ${h.cause}: ${h.detail}`;
}

/**
 * `clusterd members why NAME` (and the dashboard's member detail): the explanation as
 * lines of plain text, most telling first: the state, the suspicion or death with who
 * said so, the probes that back it, and whether this observer itself is healthy.
 */
export function renderExplanation(e: ExplainBody): string[] {
  const out: string[] = [];
  const roles = e.roles ?? e.meta?.roles ?? [];
  out.push(`${e.name} at ${e.address}: ${e.state} at incarnation ${e.incarnation} for ${humanMs(e.sinceMs)}${roles.length > 0 ? `, roles ${roles.join(',')}` : ''} (as seen from ${e.observer})`);
  if (!e.recorded) out.push('(this node keeps no evidence: only its table and live timers are shown)');
  if (e.state === 'suspect' && e.suspicion) out.push(`suspicion: ${suspicionLine(e.suspicion)}`);
  if (e.live) {
    const l = e.live;
    out.push(`  Lifeguard timeout ${humanMs(l.timeoutMs)} (min ${humanMs(l.minMs)}, max ${humanMs(l.maxMs)}) with ${l.confirmations} of ${l.expected} confirmations; ${l.leftMs >= 0 ? `${humanMs(l.leftMs)} left` : `due ${humanMs(-l.leftMs)} ago, being decided`}`);
    out.push(`  verification probe: ${l.verifying ? 'under way' : 'not yet (it runs one probe interval before the deadline)'}`);
  }
  if ((e.state === 'dead' || e.state === 'left') && e.death) {
    const d = e.death;
    out.push(d.state === 'left' ? `left: announced by itself ${ago(d.agoMs)} at incarnation ${d.incarnation}` : `dead: declared by ${d.by} ${ago(d.agoMs)} at incarnation ${d.incarnation}`);
    if (d.suspicion) out.push(`  after: ${suspicionLine(d.suspicion)}`);
    else if (d.state === 'dead') out.push(`  no suspicion was held here first: the death certificate from ${d.by} was taken as is`);
  }
  if (e.refutation && e.state === 'alive') {
    const r = e.refutation;
    out.push(`refuted ${ago(r.agoMs)}: came back alive at incarnation ${r.incarnation}${r.suspicion ? `, ending the suspicion by ${r.suspicion.by} (${r.suspicion.confirmations.length} confirmation(s))` : ''}`);
  }
  out.push(`last heard from it: ${e.lastHeardAgoMs === null ? 'never (or not since tracked)' : ago(e.lastHeardAgoMs)}`);
  out.push(e.rtt ? `rtt: last ${rtt(e.rtt.lastMs)}, p50 ${rtt(e.rtt.p50Ms)}, p99 ${rtt(e.rtt.p99Ms)} over ${e.rtt.samples} answered probe(s)` : 'rtt: no answered probe recorded');
  out.push(e.probes.length === 0 ? 'probes: none recorded yet' : `probes by this node (newest first, last ${e.probes.length}):`);
  for (const p of e.probes) out.push(probeLine(p));
  if (e.history.length > 0) {
    out.push('state changes (newest first):');
    for (const h of e.history) out.push(`  ${ago(h.agoMs).padStart(12)}  ${h.state.padEnd(7)} incarnation ${h.incarnation}, by ${h.by}`);
  }
  const h = e.health;
  out.push(h.score === 0 ? `observer ${e.observer}: healthy (Lifeguard score 0 of max ${h.max - 1})` : `observer ${e.observer}: Lifeguard score ${h.score} of max ${h.max - 1}: it probes ${h.score + 1}× slower and may itself be the slow one, because:`);
  for (const w of h.why) out.push(healthLine(w));
  return out;
}
