/**
 * The self-contained HTML report of a run: inline SVG charts drawn here (no external
 * asset, no CDN, readable offline and in a CI artifact), plus a few lines of inline
 * script for hover readouts. Chart ids (`chart-views`, `chart-alive`,
 * `chart-convergence`, `chart-dissemination`, `chart-bandwidth`) are stable: the
 * headless-Chromium test looks for them.
 */
import type { SimResult } from './runner.js';
import { fmtMs } from './runner.js';
import { replicationLine } from './summary.js';

/** Ids of the charts every report contains. */
export const CHART_IDS = ['chart-views', 'chart-alive', 'chart-convergence', 'chart-dissemination', 'chart-bandwidth'] as const;

const W = 900;
const H = 260;
const PAD = { l: 64, r: 16, t: 28, b: 34 };
const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#4b5563', '#ca8a04'];

/** HTML-escapes text. */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function n(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

/** Round tick values for [min, max]. */
function ticks(min: number, max: number, count = 5): number[] {
  if (max <= min) return [min];
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** One line of {@link lineChart}. */
export interface Line {
  name: string;
  values: readonly number[];
  color?: string;
}

/** Options of {@link lineChart}. */
export interface ChartOptions {
  id: string;
  title: string;
  yLabel: string;
  xLabel?: string;
  yMin?: number;
  yMax?: number;
  /** Vertical markers (x, label). */
  markers?: { x: number; label: string }[];
  /** Format of x tick labels. @default ms as a duration */
  xFormat?: (x: number) => string;
}

function frame(o: ChartOptions, x0: number, x1: number, y0: number, y1: number, body: string): string {
  const iw = W - PAD.l - PAD.r;
  const ih = H - PAD.t - PAD.b;
  const sx = (x: number): number => PAD.l + (x1 === x0 ? 0 : ((x - x0) / (x1 - x0)) * iw);
  const sy = (y: number): number => PAD.t + ih - (y1 === y0 ? 0 : ((y - y0) / (y1 - y0)) * ih);
  const xf = o.xFormat ?? fmtMs;
  const parts: string[] = [];
  parts.push(`<text x="${PAD.l}" y="16" class="title">${esc(o.title)}</text>`);
  for (const t of ticks(y0, y1)) {
    parts.push(`<line x1="${PAD.l}" x2="${W - PAD.r}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}" class="grid"/>`);
    parts.push(`<text x="${PAD.l - 6}" y="${(sy(t) + 4).toFixed(1)}" class="tick" text-anchor="end">${n(t)}</text>`);
  }
  for (const t of ticks(x0, x1, 8)) parts.push(`<text x="${sx(t).toFixed(1)}" y="${H - PAD.b + 16}" class="tick" text-anchor="middle">${esc(xf(t))}</text>`);
  parts.push(`<text x="14" y="${PAD.t + ih / 2}" class="axis" transform="rotate(-90 14 ${PAD.t + ih / 2})" text-anchor="middle">${esc(o.yLabel)}</text>`);
  if (o.xLabel) parts.push(`<text x="${PAD.l + iw / 2}" y="${H - 2}" class="axis" text-anchor="middle">${esc(o.xLabel)}</text>`);
  for (const m of o.markers ?? []) {
    if (m.x < x0 || m.x > x1) continue;
    parts.push(`<line x1="${sx(m.x).toFixed(1)}" x2="${sx(m.x).toFixed(1)}" y1="${PAD.t}" y2="${PAD.t + ih}" class="marker"><title>${esc(m.label)}</title></line>`);
  }
  return `<svg id="${o.id}" class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(o.title)}" data-x0="${x0}" data-x1="${x1}" data-plot-left="${PAD.l}" data-plot-width="${iw}">${parts.join('')}${body}</svg>`;
}

/** An SVG line chart of `lines` over `xs` (also used by the --real side-by-side report). */
export function lineChart(o: ChartOptions, xs: readonly number[], lines: Line[]): string {
  const x0 = xs[0] ?? 0;
  const x1 = xs[xs.length - 1] ?? 1;
  const all = lines.flatMap((l) => l.values.filter((v) => Number.isFinite(v)));
  const y0 = o.yMin ?? Math.min(0, ...all);
  let y1 = o.yMax ?? Math.max(1, ...all);
  if (y1 <= y0) y1 = y0 + 1;
  const iw = W - PAD.l - PAD.r;
  const ih = H - PAD.t - PAD.b;
  const sx = (x: number): number => PAD.l + (x1 === x0 ? 0 : ((x - x0) / (x1 - x0)) * iw);
  const sy = (y: number): number => PAD.t + ih - ((y - y0) / (y1 - y0)) * ih;
  const body = lines
    .map((l, k) => {
      const pts = l.values.map((v, i) => `${sx(xs[i] ?? 0).toFixed(1)},${sy(v).toFixed(1)}`).join(' ');
      const color = l.color ?? COLORS[k % COLORS.length]!;
      const legend = `<text x="${PAD.l + 8 + k * 170}" y="${PAD.t + 12}" class="legend" fill="${color}">■ ${esc(l.name)}</text>`;
      return `<polyline points="${pts}" fill="none" stroke="${color}" stroke-width="1.5" data-series="${esc(l.name)}" data-values="${l.values.join(',')}"><title>${esc(l.name)}</title></polyline>${legend}`;
    })
    .join('');
  return frame(o, x0, x1, y0, y1, body);
}

/** Mean of each run of `k` consecutive columns (nulls skipped). */
function bucket(row: readonly (number | null)[], k: number): (number | null)[] {
  if (k <= 1) return [...row];
  const out: (number | null)[] = [];
  for (let i = 0; i < row.length; i += k) {
    let sum = 0;
    let c = 0;
    for (let j = i; j < Math.min(row.length, i + k); j++) {
      const v = row[j];
      if (v !== null && v !== undefined) {
        sum += v;
        c++;
      }
    }
    out.push(c === 0 ? null : sum / c);
  }
  return out;
}

/** Green when a node sees everything right, through yellow to red when it sees nothing right. */
function heat(v: number): string {
  const f = Math.max(0, Math.min(1, v));
  const hue = Math.round(120 * f ** 3);
  return `hsl(${hue},70%,${f === 1 ? 38 : 48}%)`;
}

/** The per-node membership view heatmap; `id` and `caption` let a page hold two (sim and real). */
export function heatmap(r: SimResult, id = 'chart-views', caption = ''): string {
  const v = r.views;
  const cols = v.tMs.length;
  const k = Math.max(1, Math.ceil(cols / 240));
  const rows = v.agreement.map((row) => bucket(row, k));
  const alive = v.aliveSeen.map((row) => bucket(row, k));
  const nCols = rows[0]?.length ?? 0;
  const ih = Math.max(120, Math.min(500, rows.length * 5));
  const h = ih + PAD.t + PAD.b;
  const iw = W - PAD.l - PAD.r;
  const cw = nCols === 0 ? 0 : iw / nCols;
  const rh = rows.length === 0 ? 0 : ih / rows.length;
  const x0 = v.tMs[0] ?? 0;
  const x1 = v.tMs[v.tMs.length - 1] ?? 1;
  const parts: string[] = [`<text x="${PAD.l}" y="16" class="title">${esc(caption)}Membership view per node over time (fraction of members seen right; ${rows.length} rows${rows.length < r.nodes ? ' of node groups' : ''})</text>`];
  rows.forEach((row, ri) => {
    const label = v.rows[ri] ?? '';
    const cells = row
      .map((val, ci) => (val === null ? '' : `<rect x="${(PAD.l + ci * cw).toFixed(1)}" y="${(PAD.t + ri * rh).toFixed(1)}" width="${(cw + 0.3).toFixed(2)}" height="${(rh + 0.3).toFixed(2)}" fill="${heat(val)}"/>`))
      .join('');
    const seen = alive[ri]!.filter((x): x is number => x !== null);
    parts.push(`<g class="row" data-row="${esc(label)}"><title>${esc(label)}: alive seen ${seen.length ? `${Math.round(Math.min(...seen))}–${Math.round(Math.max(...seen))}` : 'n/a (down)'}</title>${cells}</g>`);
    if (rows.length <= 20 || ri % Math.ceil(rows.length / 20) === 0) parts.push(`<text x="${PAD.l - 6}" y="${(PAD.t + ri * rh + rh / 2 + 3).toFixed(1)}" class="tick" text-anchor="end">${esc(label)}</text>`);
  });
  for (const t of ticks(x0, x1, 8)) parts.push(`<text x="${(PAD.l + (x1 === x0 ? 0 : ((t - x0) / (x1 - x0)) * iw)).toFixed(1)}" y="${h - PAD.b + 16}" class="tick" text-anchor="middle">${esc(fmtMs(t))}</text>`);
  for (const e of r.events) {
    const x = PAD.l + (x1 === x0 ? 0 : ((e.atMs - x0) / (x1 - x0)) * iw);
    parts.push(`<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${PAD.t}" y2="${PAD.t + ih}" class="marker"><title>${esc(`${fmtMs(e.atMs)}: ${e.what}`)}</title></line>`);
  }
  return `<svg id="${id}" class="chart" viewBox="0 0 ${W} ${h}" width="${W}" height="${h}" role="img" aria-label="membership view per node" data-x0="${x0}" data-x1="${x1}" data-plot-left="${PAD.l}" data-plot-width="${iw}">${parts.join('')}</svg>`;
}

function dissemination(r: SimResult): string {
  const spreads = r.measurements.dissemination.filter((s) => s.curve.length > 0);
  const maxX = Math.max(1000, ...spreads.map((s) => s.curve[s.curve.length - 1]![0]));
  const iw = W - PAD.l - PAD.r;
  const ih = H - PAD.t - PAD.b;
  const sx = (x: number): number => PAD.l + (x / maxX) * iw;
  const sy = (y: number): number => PAD.t + ih - y * ih;
  const body = spreads
    .slice(0, 12)
    .map((s, k) => {
      let pts = `${sx(0).toFixed(1)},${sy(0).toFixed(1)}`;
      let prev = 0;
      for (const [t, f] of s.curve) {
        pts += ` ${sx(t).toFixed(1)},${sy(prev).toFixed(1)} ${sx(t).toFixed(1)},${sy(f).toFixed(1)}`;
        prev = f;
      }
      const color = COLORS[k % COLORS.length]!;
      return `<polyline points="${pts}" fill="none" stroke="${color}" stroke-width="1.5"><title>${esc(`${s.kind} of ${s.node} at ${fmtMs(s.atMs)}: ${s.allAwareMs >= 0 ? `all ${s.observers} aware after ${fmtMs(s.allAwareMs)}` : `not all of ${s.observers} aware`}`)}</title></polyline>`;
    })
    .join('');
  const empty = spreads.length === 0 ? `<text x="${PAD.l + iw / 2}" y="${PAD.t + ih / 2}" class="axis" text-anchor="middle">no crash, leave or join in this scenario</text>` : '';
  return frame({ id: 'chart-dissemination', title: 'Dissemination: fraction of nodes aware after each crash, leave or join (first 12)', yLabel: 'fraction aware', xLabel: 'time since the event' }, 0, maxX, 0, 1, body + empty);
}

function table(head: string[], rows: string[][], cls = ''): string {
  return `<table class="${cls}"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

/** Renders the report as one HTML document. */
export function renderHtml(r: SimResult): string {
  const s = r.series;
  const markers = r.events.map((e) => ({ x: e.atMs, label: `${fmtMs(e.atMs)}: ${e.what}` }));
  const m = r.measurements;
  const d = (x: { count: number; p50: number; p90: number; p99: number; max: number }): string => (x.count === 0 ? '—' : `p50 ${fmtMs(x.p50)} · p90 ${fmtMs(x.p90)} · p99 ${fmtMs(x.p99)} · max ${fmtMs(x.max)} (n = ${x.count})`);
  const inv = table(
    ['invariant', 'result', 'evidence'],
    r.invariants.map((i) => [esc(i.name), `<span class="${i.status}">${i.status === 'not-measured' ? 'not measured' : i.status.toUpperCase()}</span>`, esc(i.evidence)]),
    'invariants',
  );
  const meas = table(['measurement', 'value'], [
    ['crash → first suspicion', esc(d(m.detection.firstSuspectMs))],
    ['crash → dead, per observer', esc(d(m.detection.perObserverDeadMs))],
    ['crash → dead everywhere', esc(`${d(m.detection.deadEverywhereMs)}${m.detection.neverDeadEverywhere ? `; ${m.detection.neverDeadEverywhere} never dead everywhere` : ''}`)],
    ['false positives', esc(`${m.falsePositives.deadDeclarations} dead declarations of healthy nodes (${m.falsePositives.episodes} episodes); ${m.falsePositives.suspicionsOfHealthy} suspicions of healthy nodes; dead declarations of live nodes for any cause (partitions included): ${m.falsePositives.ofLiveNodes}, of stalled nodes: ${m.falsePositives.ofStalledNodes}`)],
    ['traffic per node', esc(`${m.traffic.msgsPerNodePerSec} msg/s, ${m.traffic.bytesPerNodePerSec} B/s datagrams, ${m.traffic.streamBytesPerNodePerSec} B/s streams; ${m.traffic.framesLost} frames lost`)],
    ['convergence after the last fault', esc(m.convergence.convergedAfterLastFaultMs >= 0 ? `${fmtMs(m.convergence.convergedAfterLastFaultMs)} (last fault at ${fmtMs(m.convergence.lastFaultMs)})` : 'not converged')],
    ['convergence after each heal', esc(m.convergence.heals.length ? m.convergence.heals.map((h) => `heal at ${fmtMs(h.atMs)}: ${h.convergedAfterMs >= 0 ? fmtMs(h.convergedAfterMs) : 'not converged'}`).join('; ') : '—')],
    ['anti-entropy sessions and bytes', esc(m.antiEntropy)],
    ['replication under the workload', esc(r.replication.workload ? `${replicationLine(r)}; workload ${JSON.stringify(r.replication.workload)}` : r.replication.status)],
    ['not modelled', esc(r.notModelled.length ? r.notModelled.join('; ') : '—')],
  ]);
  const events = r.events.length ? `<ul class="events">${r.events.map((e) => `<li><b>${esc(fmtMs(e.atMs))}</b> ${esc(e.what)}</li>`).join('')}</ul>` : '<p>No timeline events.</p>';
  const charts = [
    heatmap(r),
    lineChart({ id: 'chart-alive', title: 'Alive members seen per node (min, median, max) and nodes up', yLabel: 'members', markers }, s.tMs, [
      { name: 'nodes up', values: s.up, color: '#111827' },
      { name: 'min seen', values: s.aliveMin, color: '#dc2626' },
      { name: 'median seen', values: s.aliveMedian, color: '#2563eb' },
      { name: 'max seen', values: s.aliveMax, color: '#16a34a' },
    ]),
    lineChart({ id: 'chart-convergence', title: 'Convergence: fraction of (observer, member) pairs seen right', yLabel: 'agreement', yMin: Math.min(0.9, ...s.agreement), yMax: 1, markers }, s.tMs, [{ name: 'agreement', values: s.agreement }]),
    dissemination(r),
    lineChart({ id: 'chart-bandwidth', title: 'Bandwidth per node (bytes/s sent)', yLabel: 'B/s per node', markers }, s.tMs, [
      { name: 'datagrams', values: s.bytesPerNodePerSec },
      { name: 'streams (push-pull)', values: s.streamBytesPerNodePerSec },
      ...(r.replication.series ? [{ name: 'replication (all)', values: r.replication.series.bytesPerNodePerSec }] : []),
    ]),
  ];
  const verdict = r.passed ? '<span class="pass">PASS</span>' : '<span class="fail">FAIL</span>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>clusterd sim: ${esc(r.scenario.name)} (seed ${r.seed})</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:24px auto;max-width:960px;color:#111827;padding:0 12px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
table{border-collapse:collapse;width:100%;margin:8px 0}th,td{border-bottom:1px solid #e5e7eb;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f9fafb}.pass{color:#15803d;font-weight:600}.fail{color:#b91c1c;font-weight:600}.not-measured{color:#6b7280;font-style:italic}
.chart{display:block;margin:12px 0;max-width:100%;height:auto;background:#fff;border:1px solid #e5e7eb}
.title{font-size:13px;font-weight:600}.tick{font-size:10px;fill:#4b5563}.axis{font-size:11px;fill:#374151}.legend{font-size:11px}
.grid{stroke:#eef0f3}.marker{stroke:#9ca3af;stroke-dasharray:3 3;stroke-width:1.2}
#readout{position:fixed;pointer-events:none;background:#111827;color:#fff;font-size:12px;padding:3px 6px;border-radius:4px;display:none}
.meta{color:#4b5563}.events{columns:2;font-size:13px}
</style></head>
<body>
<h1>${esc(r.scenario.name)}: ${verdict}</h1>
<p class="meta">${esc(r.scenario.description)} · ${r.nodes} nodes · ${esc(fmtMs(r.durationMs))} of virtual time · profile ${esc(r.profile)} · seed ${r.seed} · replay: <code>clusterd sim ${esc(r.scenario.source || r.scenario.name)} --seed ${r.seed} --nodes ${r.nodes}</code></p>
<p><b>Expected:</b> ${esc(r.scenario.expected)}</p>
<h2>Invariants</h2>${inv}
<h2>Measurements</h2>${meas}
<h2>Charts</h2>
${charts.join('\n')}
<h2>Timeline</h2>${events}
<div id="readout"></div>
<script>
// hover readout: the sample under the pointer, read from the polylines' data-values
(function () {
  var out = document.getElementById('readout');
  var t = ${JSON.stringify(s.tMs)};
  document.querySelectorAll('svg.chart').forEach(function (svg) {
    var lines = svg.querySelectorAll('polyline[data-values]');
    if (!lines.length || svg.id === 'chart-dissemination') return;
    svg.addEventListener('mousemove', function (ev) {
      var box = svg.getBoundingClientRect();
      var scale = box.width / ${W};
      var f = ((ev.clientX - box.left) / scale - Number(svg.dataset.plotLeft)) / Number(svg.dataset.plotWidth);
      var i = Math.max(0, Math.min(t.length - 1, Math.round(f * (t.length - 1))));
      var parts = [];
      lines.forEach(function (l) { parts.push(l.dataset.series + ': ' + l.dataset.values.split(',')[i]); });
      out.textContent = (t[i] / 1000).toFixed(1) + ' s · ' + parts.join(' · ');
      out.style.display = 'block'; out.style.left = ev.clientX + 12 + 'px'; out.style.top = ev.clientY + 12 + 'px';
    });
    svg.addEventListener('mouseleave', function () { out.style.display = 'none'; });
  });
  document.body.setAttribute('data-rendered', String(document.querySelectorAll('svg.chart').length));
})();
</script>
</body></html>
`;
}
