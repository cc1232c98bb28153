/**
 * A small typed event emitter. `events()` turns the same events into an async iterable
 * with a bounded buffer, so a slow consumer cannot grow memory without bound: when the
 * buffer overflows, the oldest events are dropped and `dropped` counts them.
 */
export class TypedEmitter<Events extends Record<string, unknown>> {
  private readonly handlers = new Map<keyof Events, Set<(payload: never) => void>>();
  private readonly anyHandlers = new Set<(type: keyof Events, payload: Events[keyof Events]) => void>();

  /** Subscribes to one event type; returns the unsubscribe function. */
  on<K extends keyof Events>(type: K, handler: (payload: Events[K]) => void): () => void {
    let set = this.handlers.get(type);
    if (!set) this.handlers.set(type, (set = new Set()));
    set.add(handler as (payload: never) => void);
    return () => set.delete(handler as (payload: never) => void);
  }

  /** Subscribes to every event type. */
  onAny(handler: (type: keyof Events, payload: Events[keyof Events]) => void): () => void {
    this.anyHandlers.add(handler);
    return () => this.anyHandlers.delete(handler);
  }

  /** True when anything listens to `type` (lets emitters skip building costly payloads). */
  hasListeners(type: keyof Events): boolean {
    return (this.handlers.get(type)?.size ?? 0) > 0 || this.anyHandlers.size > 0;
  }

  /** Delivers an event synchronously; a throwing handler does not stop the others. */
  emit<K extends keyof Events>(type: K, payload: Events[K]): void {
    for (const h of this.handlers.get(type) ?? []) {
      try {
        (h as (p: Events[K]) => void)(payload);
      } catch {
        // a subscriber's bug must not break the protocol loop
      }
    }
    for (const h of this.anyHandlers) {
      try {
        h(type, payload);
      } catch {
        // see above
      }
    }
  }

  /**
   * All events as an async iterable of `{type, ...payload}` records.
   * @param bufferSize events kept for a slow consumer before the oldest are dropped. @default 1024
   */
  events(bufferSize = 1024): AsyncIterable<{ type: keyof Events; payload: Events[keyof Events] }> & { dropped: number } {
    type Item = { type: keyof Events; payload: Events[keyof Events] };
    const buffer: Item[] = [];
    let wake: (() => void) | undefined;
    let closed = false;
    const state = { dropped: 0 };
    const off = this.onAny((type, payload) => {
      buffer.push({ type, payload });
      if (buffer.length > bufferSize) {
        buffer.shift();
        state.dropped++;
      }
      wake?.();
    });
    const iterable = {
      get dropped() {
        return state.dropped;
      },
      [Symbol.asyncIterator]: (): AsyncIterator<Item> => ({
        next: async (): Promise<IteratorResult<Item>> => {
          while (buffer.length === 0 && !closed) await new Promise<void>((r) => (wake = r));
          wake = undefined;
          const item = buffer.shift();
          return item ? { value: item, done: false } : { value: undefined, done: true };
        },
        return: async (): Promise<IteratorResult<Item>> => {
          closed = true;
          off();
          wake?.();
          return { value: undefined, done: true };
        },
      }),
    };
    return iterable;
  }
}
