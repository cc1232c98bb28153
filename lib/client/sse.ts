/** One Server-Sent Event. */
export interface SseEvent {
  /** The `id:` field (the agent's resume cursor), when present. */
  id: string | undefined;
  /** The `event:` field, `message` when absent (the SSE default). */
  type: string;
  data: string;
}

/**
 * Incremental SSE parser: feed it decoded text as it arrives, in chunks cut anywhere,
 * and it returns the complete events. Comment lines (`: heartbeat`) and `retry:` are
 * skipped; CRLF and LF line ends are both accepted (the spec allows either).
 */
export class SseParser {
  private buf = '';
  private id: string | undefined;
  private type = '';
  private data: string[] = [];

  /**
   * Lines longer than this without an end are dropped instead of buffered: a broken or
   * hostile server cannot make the dashboard grow without bound. @default 8388608
   */
  constructor(private readonly maxLine = 8 * 1024 * 1024) {}

  feed(text: string): SseEvent[] {
    this.buf += text;
    const out: SseEvent[] = [];
    let start = 0;
    for (;;) {
      const nl = this.buf.indexOf('\n', start);
      if (nl < 0) break;
      let line = this.buf.slice(start, nl);
      start = nl + 1;
      if (line.endsWith('\r')) line = line.slice(0, -1);
      this.line(line, out);
    }
    this.buf = this.buf.slice(start);
    if (this.buf.length > this.maxLine) this.buf = '';
    return out;
  }

  private line(line: string, out: SseEvent[]): void {
    if (line === '') {
      if (this.data.length > 0) out.push({ id: this.id, type: this.type || 'message', data: this.data.join('\n') });
      this.data = [];
      this.type = '';
      this.id = undefined;
      return;
    }
    if (line.startsWith(':')) return;
    const i = line.indexOf(':');
    const field = i < 0 ? line : line.slice(0, i);
    let value = i < 0 ? '' : line.slice(i + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.type = value;
    else if (field === 'id') this.id = value;
  }
}
