import { pathToFileURL } from 'node:url';

/** The `q`-quantile (0..1) of `values` by nearest rank; NaN when empty. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

/** Arithmetic mean; NaN when empty. */
export function mean(values: readonly number[]): number {
  return values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

/** A markdown table. */
export function table(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const line = (cells: readonly (string | number)[]): string => `| ${cells.map(String).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

const BARS = '▁▂▃▄▅▆▇█';

/** One character per value in [0, 1]. */
export function sparkline(fractions: readonly number[]): string {
  return fractions.map((f) => BARS[Math.min(BARS.length - 1, Math.max(0, Math.floor(f * BARS.length)))]).join('');
}

/** `PASS` or `FAIL`. */
export function verdict(ok: boolean): string {
  return ok ? '**PASS**' : '**FAIL**';
}

/** A number with `digits` decimals. */
export function fmt(v: number, digits = 2): string {
  return Number.isFinite(v) ? v.toFixed(digits) : String(v);
}

/**
 * Runs a benchmark's section function when its file is executed directly
 * (`node --import=tsx bench/x.bench.ts`) and prints the markdown; does nothing when
 * the file is imported by bench/run.ts.
 */
export function runIfMain(moduleUrl: string, bench: () => Promise<{ title: string; markdown: string }>): void {
  const entry = process.argv[1];
  if (entry === undefined || pathToFileURL(entry).href !== moduleUrl) return;
  bench().then(
    (r) => console.log(`## ${r.title}\n\n${r.markdown}`),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}

/** Wall-clock stopwatch in seconds (benchmarks report how long they took). */
export function stopwatch(): () => number {
  const start = performance.now();
  return () => (performance.now() - start) / 1000;
}
