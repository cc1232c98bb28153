/**
 * The HTML report of `clusterd sim --real`: the simulated and the real run of one
 * scenario on one page. The comparison table first, then charts where both runs are
 * drawn on the same axes (alive members seen, convergence, bandwidth), then each run's
 * per-node view heatmap, invariants with evidence, and timeline. Self-contained like
 * the simulator's own report (inline SVG from simulations/html-report.ts, no assets).
 */
import { esc, heatmap, lineChart } from '../html-report.js';
import { fmtMs } from '../runner.js';
import type { SimResult } from '../runner.js';
import type { SideBySide } from './compare.js';

/** Ids of the charts of the side-by-side report (the headless-Chromium test looks for them). */
export const SIDE_BY_SIDE_CHART_IDS = ['chart-views-sim', 'chart-views-real', 'chart-alive-compare', 'chart-convergence-compare', 'chart-bandwidth-compare'] as const;

/** `values` of `from` (sampled at `fromT`) at the times `t`: the last sample at or before each. */
export function resample(t: readonly number[], fromT: readonly number[], values: readonly number[]): number[] {
  const out: number[] = [];
  let j = 0;
  for (const x of t) {
    while (j + 1 < fromT.length && fromT[j + 1]! <= x) j++;
    out.push(values[j] ?? 0);
  }
  return out;
}

function table(head: string[], rows: string[][], cls = ''): string {
  return `<table class="${cls}"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

function cell(status: string): string {
  const cls = status === 'PASS' ? 'pass' : status === 'FAIL' ? 'fail' : '';
  return cls ? `<span class="${cls}">${esc(status)}</span>` : esc(status);
}

function events(r: SimResult): string {
  return r.events.length ? `<ul class="events">${r.events.map((e) => `<li><b>${esc(fmtMs(e.atMs))}</b> ${esc(e.what)}</li>`).join('')}</ul>` : '<p>No timeline events.</p>';
}

/** Renders the side-by-side report as one HTML document. */
export function renderSideBySideHtml(r: SideBySide): string {
  const { sim, real } = r;
  const t = sim.series.tMs;
  const rs = (v: readonly number[]): number[] => resample(t, real.series.tMs, v);
  const markers = sim.events.map((e) => ({ x: e.atMs, label: `${fmtMs(e.atMs)}: ${e.what}` }));
  const comparison = table(['measure', 'simulated', 'real', 'how'], r.comparison.map((row) => [esc(row.label), cell(row.sim), cell(row.real), esc(row.note ?? '')]), 'comparison');
  const inv = table(
    ['invariant', 'simulated', 'real'],
    real.invariants.map((i) => {
      const s = sim.invariants.find((x) => x.name === i.name);
      const v = (x: { status: string; evidence: string } | undefined): string => (x === undefined ? '—' : `<span class="${x.status}">${x.status === 'not-measured' ? 'not measured' : x.status.toUpperCase()}</span> ${esc(x.evidence)}`);
      return [esc(i.name), v(s), v(i)];
    }),
    'invariants',
  );
  const agreement = [...sim.series.agreement, ...real.series.agreement];
  const charts = [
    lineChart({ id: 'chart-alive-compare', title: 'Alive members seen per node: simulated vs real (min and median), and nodes up', yLabel: 'members', markers }, t, [
      { name: 'nodes up', values: sim.series.up, color: '#111827' },
      { name: 'sim median', values: sim.series.aliveMedian, color: '#2563eb' },
      { name: 'real median', values: rs(real.series.aliveMedian), color: '#dc2626' },
      { name: 'sim min', values: sim.series.aliveMin, color: '#93c5fd' },
      { name: 'real min', values: rs(real.series.aliveMin), color: '#fca5a5' },
    ]),
    lineChart({ id: 'chart-convergence-compare', title: 'Convergence: fraction of (observer, member) pairs seen right, simulated vs real', yLabel: 'agreement', yMin: Math.min(0.9, ...agreement), yMax: 1, markers }, t, [
      { name: 'simulated', values: sim.series.agreement, color: '#2563eb' },
      { name: 'real', values: rs(real.series.agreement), color: '#dc2626' },
    ]),
    lineChart({ id: 'chart-bandwidth-compare', title: 'Bytes sent per node per second: simulated vs real', yLabel: 'B/s per node', markers }, t, [
      { name: 'sim datagrams', values: sim.series.bytesPerNodePerSec, color: '#2563eb' },
      { name: 'real datagrams', values: rs(real.series.bytesPerNodePerSec), color: '#dc2626' },
      { name: 'sim streams', values: sim.series.streamBytesPerNodePerSec, color: '#93c5fd' },
      { name: 'real streams', values: rs(real.series.streamBytesPerNodePerSec), color: '#fca5a5' },
    ]),
    heatmap(sim, 'chart-views-sim', 'Simulated: '),
    heatmap(real, 'chart-views-real', 'Real: '),
  ];
  const list = (xs: string[]): string => (xs.length ? `<ul>${xs.map((x) => `<li>${esc(x)}</li>`).join('')}</ul>` : '<p>None.</p>');
  const verdict = (ok: boolean): string => (ok ? '<span class="pass">PASS</span>' : '<span class="fail">FAIL</span>');
  const hosts = real.real.hosts;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>clusterd sim --real: ${esc(sim.scenario.name)} (seed ${sim.seed})</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:24px auto;max-width:960px;color:#111827;padding:0 12px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
table{border-collapse:collapse;width:100%;margin:8px 0}th,td{border-bottom:1px solid #e5e7eb;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f9fafb}.pass{color:#15803d;font-weight:600}.fail{color:#b91c1c;font-weight:600}.not-measured{color:#6b7280;font-style:italic}
.comparison td:nth-child(4){color:#6b7280;font-size:12px}
.chart{display:block;margin:12px 0;max-width:100%;height:auto;background:#fff;border:1px solid #e5e7eb}
.title{font-size:13px;font-weight:600}.tick{font-size:10px;fill:#4b5563}.axis{font-size:11px;fill:#374151}.legend{font-size:11px}
.grid{stroke:#eef0f3}.marker{stroke:#9ca3af;stroke-dasharray:3 3;stroke-width:1.2}
.meta{color:#4b5563}.events{columns:2;font-size:13px}
</style></head>
<body>
<h1>${esc(sim.scenario.name)}: simulated ${verdict(sim.passed)} · real ${verdict(real.passed)}</h1>
<p class="meta">${esc(sim.scenario.description)} · ${sim.nodes} nodes · ${esc(fmtMs(sim.durationMs))} · profile ${esc(sim.profile)} · seed ${sim.seed} · simulated in ${r.simWallSeconds} s of wall time; real: ${hosts.length} <code>clusterd agent</code> processes on ${esc(hosts[0] ?? '')}${hosts.length > 1 ? `–${esc(hosts[hosts.length - 1]!)}` : ''}, ${(real.real.wallMs / 1000).toFixed(1)} s of wall time (cluster formed in ${(real.real.formMs / 1000).toFixed(1)} s before the timeline started)</p>
<p><b>Expected:</b> ${esc(sim.scenario.expected)}</p>
<h2>Side by side</h2>${comparison}
<h2>Invariants</h2>${inv}
<p class="meta">Real views self-check: ${esc(real.real.selfCheck)}. Agent processes left behind: ${real.real.leftBehind}.</p>
<h2>Charts</h2>
${charts.join('\n')}
<h2>Not applied in --real</h2>${list(real.real.notApplied)}
<h2>Driver notes (real run)</h2>${list(real.notModelled.filter((n) => n.startsWith('driver: ')).map((n) => n.slice(8)))}
<h2>Timeline (real run)</h2>${events(real)}
<script>
document.body.setAttribute('data-rendered', String(document.querySelectorAll('svg.chart').length));
</script>
</body></html>
`;
}
