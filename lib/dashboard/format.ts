/**
 * Text helpers of the dashboard: pure functions from values to the strings the panels
 * show. Everything that comes from the agent (names, metadata, message data) goes
 * through {@link clean} and {@link escapeTags} before reaching blessed, so a member
 * named `{red-fg}` or a message holding escape sequences cannot restyle or break the
 * screen.
 */

/** Removes control characters (escape sequences, newlines, tabs) from agent-supplied text. */
export function clean(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ');
}

/** Escapes blessed tag braces so that text is shown literally inside a tagged box. */
export function escapeTags(s: string): string {
  return s.replace(/[{}]/g, (c) => (c === '{' ? '{open}' : '{close}'));
}

/** Cuts `s` to `width` columns (with `…` when cut) and pads it to exactly `width`. */
export function fit(s: string, width: number, align: 'left' | 'right' = 'left'): string {
  if (width <= 0) return '';
  const cut = s.length > width ? (width === 1 ? '…' : `${s.slice(0, width - 1)}…`) : s;
  return align === 'left' ? cut.padEnd(width) : cut.padStart(width);
}

/** A short human duration: `42s`, `3m05s`, `2h10m`, `4d3h`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${h % 24}h`;
}

/** Bytes in binary units: `512 B`, `3.4 KiB`, `12 MiB`. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${Math.round(v)} B` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** A rate per second, compact: `0`, `12`, `3.4k`, `1.2M`; `-` when unknown. */
export function formatRate(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '-';
  if (n < 10) return n === 0 ? '0' : n.toFixed(1);
  if (n < 1000) return String(Math.round(n));
  if (n < 1e6) return `${(n / 1e3).toFixed(n < 1e4 ? 1 : 0)}k`;
  return `${(n / 1e6).toFixed(1)}M`;
}

/** Round-trip time in ms: `0.4ms`, `12ms`, `-` when never probed. */
export function formatRtt(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '-';
  return ms < 10 ? `${ms.toFixed(1)}ms` : `${Math.round(ms)}ms`;
}

/** Sparkline glyphs, lowest to highest. */
export const SPARK_UNICODE = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'] as const;
/** For terminals without UTF-8. */
export const SPARK_ASCII = ['_', '.', '-', '~', '=', '+', '*', '#'] as const;

/**
 * Renders the last `width` values as a sparkline scaled to their maximum (a flat line of
 * the lowest glyph when all are zero). Missing samples (undefined: the agent was
 * unreachable) render as spaces, so an outage shows as a gap rather than a drop to zero.
 */
export function sparkline(values: readonly (number | undefined)[], width: number, glyphs: readonly string[] = SPARK_UNICODE): string {
  if (width <= 0) return '';
  const tail = values.slice(-width);
  let max = 0;
  for (const v of tail) if (v !== undefined && v > max) max = v;
  const top = glyphs.length - 1;
  const out = tail.map((v) => {
    if (v === undefined) return ' ';
    if (max === 0) return glyphs[0]!;
    return glyphs[Math.min(top, Math.max(0, Math.round((v / max) * top)))]!;
  });
  return out.join('').padStart(width);
}

/** `k=v,k=v` for small records (tags, endpoints, load). */
export function pairs(o: Record<string, unknown> | undefined): string {
  if (!o) return '';
  return Object.entries(o).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(',');
}

/** One-line JSON preview of a value (message data, presence info), control characters removed. */
export function preview(value: unknown, max = 200): string {
  let s: string;
  try {
    s = typeof value === 'string' ? value : value === undefined ? '' : JSON.stringify(value);
  } catch {
    s = String(value);
  }
  s = clean(s);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** `HH:MM:SS` of a wall-clock time, local time zone. */
export function clockTime(ms: number): string {
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}
