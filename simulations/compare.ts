/**
 * `clusterd sim FILE --compare lan,wan,local`: one scenario (a recorded trace, say) run
 * under several timing profiles or overrides, and what each gives side by side: how fast
 * the crashes were detected, how many healthy nodes were accused, and what it cost per
 * node. "Tune your timeouts on your own network" (issue #17).
 */
import { PROFILES, isClusterError, swimOptions } from '../lib/internal.js';
import type { ProfileName, SwimOptions } from '../lib/internal.js';
import { esc } from './html-report.js';
import { fmtMs } from './engine/result.js';
import type { SimResult } from './engine/result.js';
import { table } from './report.js';
import type { Scenario } from './scenario.js';

/** One column of a comparison: a profile and overrides of its timings. */
export interface Variant {
  /** As written on the command line (`wan`, `probeIntervalMs=500+suspicionMult=6`). */
  label: string;
  profile: ProfileName;
  swim: Partial<SwimOptions>;
}

/** At most this many variants in one comparison (each is a whole run). */
export const MAX_VARIANTS = 8;

/**
 * Parses `--compare`: comma-separated variants, each a profile name, `key=value` overrides
 * joined by `+` (on the scenario's own profile), or both (`wan+suspicionMult=3`). Throws
 * an Error naming the bad variant.
 */
export function parseVariants(spec: string, base: Scenario): Variant[] {
  const items = spec.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) throw new Error('--compare needs at least one profile or KEY=VALUE override, e.g. --compare lan,wan,local');
  if (items.length > MAX_VARIANTS) throw new Error(`--compare takes at most ${MAX_VARIANTS} variants, got ${items.length}`);
  return items.map((label) => {
    let profile: ProfileName = base.profile;
    // a profile named alone starts from the profile's timings, not the scenario's overrides
    let swim: Partial<SwimOptions> = {};
    let named = false;
    for (const part of label.split('+')) {
      const eq = part.indexOf('=');
      if (eq < 0) {
        if (!(part in PROFILES)) throw new Error(`--compare: "${part}" is neither a profile (${Object.keys(PROFILES).join(', ')}) nor KEY=VALUE`);
        if (named) throw new Error(`--compare: "${label}" names two profiles`);
        profile = part as ProfileName;
        named = true;
        continue;
      }
      const key = part.slice(0, eq);
      const raw = part.slice(eq + 1);
      if (!(key in PROFILES.lan)) throw new Error(`--compare: unknown timing "${key}" in "${label}" (one of: ${Object.keys(PROFILES.lan).join(', ')})`);
      const kind = typeof PROFILES.lan[key as keyof SwimOptions];
      const value = kind === 'boolean' ? (raw === 'true' ? true : raw === 'false' ? false : undefined) : /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : undefined;
      if (value === undefined) throw new Error(`--compare: ${key} expects ${kind === 'boolean' ? 'true or false' : 'a number'}, got "${raw}"`);
      swim = { ...swim, [key]: value };
    }
    if (!named) swim = { ...base.swim, ...swim };
    try {
      swimOptions(profile, swim);
    } catch (err) {
      if (isClusterError(err)) throw new Error(`--compare: "${label}": ${err.message}`);
      throw err;
    }
    return { label, profile, swim };
  });
}

/** The scenario under a variant's timings. */
export function applyVariant(sc: Scenario, v: Variant): Scenario {
  return { ...sc, profile: v.profile, swim: v.swim };
}

/** What the comparison shows of one run. */
export interface CompareRow {
  label: string;
  passed: boolean;
  failed: string[];
  crashes: number;
  /** p50 over the crashes, ms; -1 without crash detected. */
  firstSuspectMs: number;
  deadPerObserverMs: number;
  deadEverywhereMs: number;
  falseDeaths: number;
  falseSuspicions: number;
  msgsPerNodePerSec: number;
  bytesPerNodePerSec: number;
  streamBytesPerNodePerSec: number;
  /** The timings that decide detection. */
  probeIntervalMs: number;
  probeTimeoutMs: number;
  suspicionMult: number;
}

/** The comparison row of one run. */
export function compareRow(label: string, r: SimResult): CompareRow {
  const m = r.measurements;
  const p50 = (d: { count: number; p50: number }): number => (d.count === 0 ? -1 : d.p50);
  return {
    label,
    passed: r.passed,
    failed: r.invariants.filter((i) => i.status === 'fail').map((i) => i.name),
    crashes: m.detection.crashes,
    firstSuspectMs: p50(m.detection.firstSuspectMs),
    deadPerObserverMs: p50(m.detection.perObserverDeadMs),
    deadEverywhereMs: p50(m.detection.deadEverywhereMs),
    falseDeaths: m.falsePositives.deadDeclarations,
    falseSuspicions: m.falsePositives.suspicionsOfHealthy,
    msgsPerNodePerSec: m.traffic.msgsPerNodePerSec,
    bytesPerNodePerSec: m.traffic.bytesPerNodePerSec,
    streamBytesPerNodePerSec: m.traffic.streamBytesPerNodePerSec,
    probeIntervalMs: Number(r.swim.probeIntervalMs),
    probeTimeoutMs: Number(r.swim.probeTimeoutMs),
    suspicionMult: Number(r.swim.suspicionMult),
  };
}

const ms = (v: number): string => (v < 0 ? '—' : fmtMs(v));

/** The metrics of the comparison, as rows (metric) by columns (variant). */
const METRICS: { name: string; get: (r: CompareRow) => string }[] = [
  { name: 'probe interval / timeout', get: (r) => `${r.probeIntervalMs} / ${r.probeTimeoutMs} ms` },
  { name: 'suspicion multiplier', get: (r) => String(r.suspicionMult) },
  { name: 'crash → first suspicion (p50)', get: (r) => ms(r.firstSuspectMs) },
  { name: 'crash → dead, per observer (p50)', get: (r) => ms(r.deadPerObserverMs) },
  { name: 'crash → dead everywhere (p50)', get: (r) => ms(r.deadEverywhereMs) },
  { name: 'false positives: dead / suspected', get: (r) => `${r.falseDeaths} / ${r.falseSuspicions}` },
  { name: 'messages per node per s', get: (r) => String(r.msgsPerNodePerSec) },
  { name: 'bytes per node per s', get: (r) => `${r.bytesPerNodePerSec} + ${r.streamBytesPerNodePerSec} stream` },
  { name: 'invariants', get: (r) => (r.passed ? 'pass' : `FAIL: ${r.failed.join('; ')}`) },
];

/** The side-by-side text table. */
export function renderCompare(rows: readonly CompareRow[], crashes: number): string {
  return `${table(['', ...rows.map((r) => r.label)], METRICS.map((m) => [m.name, ...rows.map(m.get)]))}\n${crashes === 0 ? 'no crash in the scenario: detection times are not measured\n' : ''}`;
}

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#4b5563', '#ca8a04'];

/** A bar chart: one group per metric, one bar per variant (inline SVG). */
function bars(id: string, title: string, unit: string, groups: { name: string; values: number[] }[], labels: readonly string[]): string {
  const W = 900;
  const H = 260;
  const pad = { l: 64, r: 16, t: 44, b: 40 };
  const max = Math.max(0, ...groups.flatMap((g) => g.values.filter((v) => v >= 0))) || 1;
  const gw = (W - pad.l - pad.r) / groups.length;
  const bw = Math.min(48, (gw * 0.8) / labels.length);
  const ih = H - pad.t - pad.b;
  const parts: string[] = [`<text x="${pad.l}" y="16" class="title">${esc(title)}</text>`];
  labels.forEach((l, k) => parts.push(`<text x="${pad.l + k * 150}" y="34" class="legend" fill="${COLORS[k % COLORS.length]}">■ ${esc(l)}</text>`));
  parts.push(`<text x="${pad.l - 8}" y="${pad.t + 4}" class="tick" text-anchor="end">${esc(`${Number(max.toPrecision(3))} ${unit}`)}</text>`);
  parts.push(`<line x1="${pad.l}" x2="${W - pad.r}" y1="${pad.t + ih}" y2="${pad.t + ih}" class="grid"/>`);
  groups.forEach((g, i) => {
    const x0 = pad.l + i * gw + (gw - bw * labels.length) / 2;
    g.values.forEach((v, k) => {
      const h = v < 0 ? 0 : (v / max) * ih;
      const x = x0 + k * bw;
      if (v < 0) parts.push(`<text x="${(x + bw / 2).toFixed(1)}" y="${pad.t + ih - 4}" class="tick" text-anchor="middle">—</text>`);
      parts.push(`<rect x="${x.toFixed(1)}" y="${(pad.t + ih - h).toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${COLORS[k % COLORS.length]}" data-variant="${esc(labels[k]!)}" data-value="${v}"><title>${esc(`${labels[k]}: ${v < 0 ? 'not measured' : `${v} ${unit}`}`)}</title></rect>`);
    });
    parts.push(`<text x="${(pad.l + i * gw + gw / 2).toFixed(1)}" y="${H - pad.b + 16}" class="tick" text-anchor="middle">${esc(g.name)}</text>`);
  });
  return `<svg id="${id}" class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">${parts.join('')}</svg>`;
}

/** Ids of the comparison report's charts. */
export const COMPARE_CHART_IDS = ['chart-compare-detection', 'chart-compare-false-positives', 'chart-compare-messages', 'chart-compare-bytes'] as const;

/** The self-contained HTML comparison: the table and four bar charts (inline SVG, no external asset). */
export function renderCompareHtml(sc: Scenario, rows: readonly CompareRow[], seed: number): string {
  const labels = rows.map((r) => r.label);
  const detection = bars(COMPARE_CHART_IDS[0], 'Crash detection (p50 over the crashes)', 'ms', [
    { name: 'first suspicion', values: rows.map((r) => r.firstSuspectMs) },
    { name: 'dead, per observer', values: rows.map((r) => r.deadPerObserverMs) },
    { name: 'dead everywhere', values: rows.map((r) => r.deadEverywhereMs) },
  ], labels);
  const fp = bars(COMPARE_CHART_IDS[1], 'False positives', 'count', [
    { name: 'healthy nodes declared dead', values: rows.map((r) => r.falseDeaths) },
    { name: 'suspicions of healthy nodes', values: rows.map((r) => r.falseSuspicions) },
  ], labels);
  const messages = bars(COMPARE_CHART_IDS[2], 'Messages per node', 'msg/s', [
    { name: 'datagram messages / s', values: rows.map((r) => r.msgsPerNodePerSec) },
  ], labels);
  const bytes = bars(COMPARE_CHART_IDS[3], 'Bytes per node', 'B/s', [
    { name: 'datagram bytes / s', values: rows.map((r) => r.bytesPerNodePerSec) },
    { name: 'stream bytes / s', values: rows.map((r) => r.streamBytesPerNodePerSec) },
  ], labels);
  const head = `<tr><th></th>${labels.map((l) => `<th>${esc(l)}</th>`).join('')}</tr>`;
  const body = METRICS.map((m) => `<tr><td>${esc(m.name)}</td>${rows.map((r) => `<td>${esc(m.get(r))}</td>`).join('')}</tr>`).join('');
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(sc.name)}: timing comparison</title><style>
body{font:14px system-ui,sans-serif;margin:24px;color:#111}table{border-collapse:collapse;margin:12px 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
.chart{display:block;margin:16px 0;background:#fafafa}.title{font-weight:600;font-size:14px}.tick{font-size:11px;fill:#444}.legend{font-size:12px}.grid{stroke:#bbb}
</style></head><body><h1>${esc(sc.name)}: the same scenario under ${rows.length} timing(s)</h1>
<p>${esc(sc.description)}</p><p>${esc(sc.expected)}</p><p>${sc.nodes} nodes, ${esc(fmtMs(sc.durationMs))} of virtual time, seed ${seed}.</p>
<table id="compare">${head}${body}</table>${detection}${fp}${messages}${bytes}<p>— : not measured (no crash detected in the run).</p></body></html>
`;
}
