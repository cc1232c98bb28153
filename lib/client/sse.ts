/** One Server-Sent Event. */
export interface SseEvent {
  /** The `id:` field (the agent's resume cursor), when present. */
  id: string | undefined;
  /** The `event:` field, `message` when absent (the SSE default). */
  type: string;
  data: string;
}

/** Options of {@link SseParser}. */
export interface SseParserOptions {
  /**
   * Characters of one event (its pending line plus the data lines read so far) beyond
   * which the event is dropped instead of buffered: a broken or hostile server cannot
   * make a client grow without bound. @default 8388608
   */
  maxEventChars?: number;
  /** Called with each comment line's text (after the `:`), e.g. the agent's `connected, cursor X`. @default undefined */
  onComment?: (text: string) => void;
}

/**
 * Incremental SSE parser, the one every client of the agent's event stream uses (CLI,
 * dashboard, `sim --real`): feed it decoded text as it arrives, in chunks cut anywhere,
 * and it returns the complete events. `retry:` is skipped; CRLF and LF line ends are
 * both accepted (the spec allows either). An oversized event is counted in
 * {@link SseParser.dropped} and skipped up to the blank line that ends it.
 */
export class SseParser {
  /** Events dropped for exceeding `maxEventChars`. */
  dropped = 0;
  private buf = '';
  private id: string | undefined;
  private type = '';
  private data: string[] = [];
  private dataChars = 0;
  /** The current event is oversized: its lines are skipped until the blank line. */
  private skipping = false;
  /** The current line is oversized: its text is skipped until its end. */
  private skippingLine = false;
  private readonly maxEvent: number;
  private readonly onComment: ((text: string) => void) | undefined;

  constructor(opts: SseParserOptions = {}) {
    this.maxEvent = opts.maxEventChars ?? 8 * 1024 * 1024;
    this.onComment = opts.onComment;
  }

  feed(text: string): SseEvent[] {
    this.buf += text;
    const out: SseEvent[] = [];
    let start = 0;
    for (;;) {
      const nl = this.buf.indexOf('\n', start);
      if (nl < 0) break;
      let line = this.buf.slice(start, nl);
      start = nl + 1;
      if (this.skippingLine) {
        // the tail of a line already dropped: not a line of its own
        this.skippingLine = false;
        continue;
      }
      if (line.endsWith('\r')) line = line.slice(0, -1);
      this.line(line, out);
    }
    this.buf = this.buf.slice(start);
    if (this.buf.length + this.dataChars > this.maxEvent) {
      this.buf = '';
      this.skippingLine = true;
      this.drop();
    }
    return out;
  }

  private drop(): void {
    if (!this.skipping) this.dropped++;
    this.skipping = true;
    this.data = [];
    this.dataChars = 0;
  }

  private line(line: string, out: SseEvent[]): void {
    if (line === '') {
      if (this.data.length > 0 && !this.skipping) out.push({ id: this.id, type: this.type || 'message', data: this.data.join('\n') });
      this.data = [];
      this.dataChars = 0;
      this.type = '';
      this.id = undefined;
      this.skipping = false;
      return;
    }
    if (this.skipping) return;
    if (line.startsWith(':')) {
      this.onComment?.(line.slice(1).trimStart());
      return;
    }
    const i = line.indexOf(':');
    const field = i < 0 ? line : line.slice(0, i);
    let value = i < 0 ? '' : line.slice(i + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') {
      this.dataChars += value.length + 1;
      if (this.dataChars > this.maxEvent) return this.drop();
      this.data.push(value);
    } else if (field === 'event') this.type = value;
    else if (field === 'id') this.id = value;
  }
}
