/**
 * An incremental parser of a Server-Sent Events stream (the agent's `/v1/events`): feed
 * it chunks as they arrive, get whole events. Comments (`: heartbeat`) and `retry:`
 * lines are skipped. A line longer than `maxLine` ends the stream with an error instead
 * of buffering without bound.
 */

/** One event of the stream. */
export interface SseEvent {
  id: string | undefined;
  event: string;
  data: string;
}

/** Incremental SSE parser. */
export class SseParser {
  private buf = '';
  private id: string | undefined;
  private event = '';
  private data: string[] = [];

  /** @param maxLine longest line accepted, characters @default 1048576 */
  constructor(private readonly maxLine = 1 << 20) {}

  /** Parses a chunk; returns the events it completed. Throws when a line exceeds `maxLine`. */
  push(chunk: string): SseEvent[] {
    this.buf += chunk;
    const out: SseEvent[] = [];
    let start = 0;
    for (;;) {
      const nl = this.buf.indexOf('\n', start);
      if (nl < 0) break;
      let line = this.buf.slice(start, nl);
      start = nl + 1;
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line === '') {
        if (this.data.length > 0 || this.event !== '') out.push({ id: this.id, event: this.event || 'message', data: this.data.join('\n') });
        this.id = undefined;
        this.event = '';
        this.data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') this.data.push(value);
      else if (field === 'event') this.event = value;
      else if (field === 'id') this.id = value;
    }
    this.buf = this.buf.slice(start);
    if (this.buf.length > this.maxLine) throw new Error(`event stream line longer than ${this.maxLine} characters`);
    return out;
  }
}
