/**
 * Progress of a long `clusterd sim` run on stderr: a single updating line on a terminal,
 * plain lines every `everyMs` of wall time otherwise (a CI log, a pipe), nothing with
 * `--quiet`. It shows the time done of the total (virtual or real), the wall time, the
 * messages the cluster sent per wall second (the simulator's own count, when the backend
 * gives one) and an ETA. The JSON and HTML outputs never contain any of it.
 */
import { fmtMs } from './engine/result.js';

/** `tty`: one line redrawn in place; `lines`: a plain line now and then; `off`: nothing. */
export type ProgressMode = 'tty' | 'lines' | 'off';

/** Options of {@link Progress}. */
export interface ProgressOptions {
  mode: ProgressMode;
  /** Where the progress goes (stderr in the CLI). */
  write: (s: string) => void;
  /** Wall clock in ms (tests inject one). @default performance.now */
  now?: () => number;
  /** Which time the run counts: `virtual` (the simulator) or `real`. @default "virtual" */
  what?: string;
  /** In `lines` mode: wall time between two lines. @default 10000 */
  everyMs?: number;
  /** In `tty` mode: least wall time between two redraws. @default 100 */
  redrawMs?: number;
  /** In `lines` mode: one more line when the run ends (`--progress`). @default false */
  final?: boolean;
}

/** The mode for the CLI flags and whether stderr is a terminal: `--quiet` wins, then `--progress`, then the terminal. */
export function progressMode(flags: { quiet: boolean; progress: boolean }, isTTY: boolean): ProgressMode {
  if (flags.quiet) return 'off';
  if (flags.progress) return 'lines';
  return isTTY ? 'tty' : 'lines';
}

/** One progress snapshot. */
export interface ProgressState {
  doneMs: number;
  totalMs: number;
  wallMs: number;
  /** Messages sent so far, when counted. */
  events?: number | undefined;
  what: string;
}

/** `42%  4 min 12 s / 10 min virtual  38.1 s wall  12,345 msgs/s  ETA 52.3 s`. */
export function formatProgress(p: ProgressState): string {
  const f = p.totalMs === 0 ? 1 : Math.min(1, p.doneMs / p.totalMs);
  const parts = [`${String(Math.floor(f * 100)).padStart(3)}%`, `${fmtMs(p.doneMs)} / ${fmtMs(p.totalMs)} ${p.what}`, `${(p.wallMs / 1000).toFixed(1)} s wall`];
  if (p.events !== undefined && p.wallMs > 0) parts.push(`${Math.round((p.events * 1000) / p.wallMs).toLocaleString('en-US')} msgs/s`);
  // the rate so far, projected over what is left
  if (p.doneMs > 0 && p.doneMs < p.totalMs) parts.push(`ETA ${fmtMs((p.wallMs * (p.totalMs - p.doneMs)) / p.doneMs)}`);
  return parts.join('  ');
}

/** Progress of one run: call {@link update} as it advances and {@link end} when it ends. */
export class Progress {
  private readonly now: () => number;
  private readonly started: number;
  private lastWrite: number;
  private last: ProgressState | undefined;
  private drawn = false;

  constructor(private readonly opts: ProgressOptions) {
    this.now = opts.now ?? (() => performance.now());
    this.started = this.now();
    this.lastWrite = this.started;
  }

  /** The run has done `doneMs` of `totalMs`; `events`: messages sent so far, when counted. */
  update(doneMs: number, totalMs: number, events?: number): void {
    const mode = this.opts.mode;
    if (mode === 'off') return;
    const now = this.now();
    this.last = { doneMs, totalMs, wallMs: now - this.started, events, what: this.opts.what ?? 'virtual' };
    if (mode === 'tty') {
      if (this.drawn && now - this.lastWrite < (this.opts.redrawMs ?? 100) && doneMs < totalMs) return;
      const f = totalMs === 0 ? 1 : Math.min(1, doneMs / totalMs);
      const full = Math.round(f * 30);
      this.opts.write(`\r\x1b[2K[${'█'.repeat(full)}${'░'.repeat(30 - full)}] ${formatProgress(this.last)}`);
      this.drawn = true;
    } else {
      if (now - this.lastWrite < (this.opts.everyMs ?? 10_000)) return;
      this.opts.write(`${formatProgress(this.last)}\n`);
    }
    this.lastWrite = now;
  }

  /** Clears the terminal line, or writes the final line in `lines` mode with `final`. */
  end(): void {
    if (this.opts.mode === 'tty' && this.drawn) this.opts.write('\r\x1b[2K');
    if (this.opts.mode === 'lines' && this.opts.final === true && this.last) this.opts.write(`${formatProgress({ ...this.last, wallMs: this.now() - this.started })}\n`);
  }
}
