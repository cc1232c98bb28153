import { pino } from 'pino';
import type { Logger } from 'pino';
import type { LogLevel } from './config.js';

export type { Logger };

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** @default "info" */
  level?: LogLevel;
  /** json: one pino JSON object per line; pretty: `time LEVEL event key=value`. @default "pretty" */
  format?: 'json' | 'pretty';
  /** Where lines go. @default process.stdout */
  stream?: { write(line: string): unknown };
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/**
 * The agent's structured logger (pino). Every line carries an `event` field naming what
 * happened (`started`, `member-join`, ...) so scripts can match on it; `msg` repeats it
 * for humans. The pretty format is a small formatter of our own (pino-pretty is not a
 * dependency): it reads pino's JSON line and prints it in one readable line.
 */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const out = opts.stream ?? process.stdout;
  const level = opts.level ?? 'info';
  if ((opts.format ?? 'pretty') === 'json') {
    return pino({ level, base: null, timestamp: pino.stdTimeFunctions.isoTime }, { write: (line: string) => out.write(line) });
  }
  const pretty = {
    write(line: string): void {
      let rec: Record<string, unknown>;
      try {
        rec = JSON.parse(line) as Record<string, unknown>;
      } catch {
        out.write(line);
        return;
      }
      const { time, level: lvl, msg, event, ...rest } = rec;
      const fields = Object.entries(rest)
        .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`)
        .join(' ');
      const name = String(event ?? msg ?? '');
      const extra = msg !== undefined && msg !== event ? ` ${String(msg)}` : '';
      out.write(`${String(time)} ${(LEVEL_NAMES[lvl as number] ?? '?').padEnd(5)} ${name.padEnd(15)}${extra} ${fields}\n`);
    },
  };
  return pino({ level, base: null, timestamp: pino.stdTimeFunctions.isoTime }, pretty);
}

/**
 * Logs repeated, noisy conditions (network errors, rejected frames) at most once per
 * window per key, with how many occurrences were folded in, so a flood of bad packets
 * cannot flood the log. Keys are capped so that arbitrary keys cannot grow memory.
 */
export class RateLimitedLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  /**
   * @param log destination logger
   * @param windowMs at most one line per key per window. @default 10000
   * @param maxKeys keys remembered; the oldest is forgotten beyond it. @default 1000
   */
  constructor(
    private readonly log: Logger,
    private readonly windowMs = 10_000,
    private readonly maxKeys = 1000,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Logs a warning under `key` unless one was logged within the window. Returns true when logged. */
  warn(key: string, fields: Record<string, unknown>, msg: string): boolean {
    const t = this.now();
    const prev = this.last.get(key);
    if (prev && t - prev.at < this.windowMs) {
      prev.suppressed++;
      return false;
    }
    const suppressed = prev?.suppressed ?? 0;
    this.last.delete(key);
    this.last.set(key, { at: t, suppressed: 0 });
    if (this.last.size > this.maxKeys) this.last.delete(this.last.keys().next().value!);
    this.log.warn({ ...fields, ...(suppressed > 0 ? { suppressed } : {}) }, msg);
    return true;
  }
}
