/** What a benchmark file's default export resolves to. */
export interface BenchResult {
  /** Section title in docs/benchmarks.md. */
  title: string;
  /** Markdown body of the section (tables, findings). */
  markdown: string;
}

/** A benchmark file's default export. */
export type Bench = () => Promise<BenchResult>;

/**
 * Runs `fn` (which performs `opsPerCall` operations) repeatedly for about `ms`
 * milliseconds after a warm-up, and returns operations per second.
 */
export function opsPerSecond(fn: () => void, opsPerCall: number, ms = 1000): number {
  const warm = performance.now() + ms / 4;
  while (performance.now() < warm) fn();
  let calls = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    fn();
    calls++;
    now = performance.now();
  }
  return (calls * opsPerCall * 1000) / (now - start);
}

/** A markdown table. */
export function table(head: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]): string => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Formats a rate with thousands separators. */
export function rate(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
