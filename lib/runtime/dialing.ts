/**
 * The outcome of a dial, settled by whoever carries the connection: a real transport's
 * promise, or the simulator's virtual clock. It is a thenable that settles
 * synchronously, so that a session opened in virtual time starts at the virtual instant
 * its connection was established, not on a later microtask (which would run after the
 * whole simulated step). Callers use it as a promise with one `.then(ok, err)`.
 */
export class Dialing<T> implements PromiseLike<T> {
  private state: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
  private readonly waiting: { ok?: ((v: T) => unknown) | null | undefined; err?: ((e: unknown) => unknown) | null | undefined; next: Dialing<unknown> }[] = [];

  then<A = T, B = never>(ok?: ((v: T) => A | PromiseLike<A>) | null, err?: ((e: unknown) => B | PromiseLike<B>) | null): PromiseLike<A | B> {
    const next = new Dialing<unknown>();
    if (this.state) this.run({ ok, err, next });
    else this.waiting.push({ ok, err, next });
    return next as PromiseLike<A | B>;
  }

  resolve(value: T): void {
    this.settle({ ok: true, value });
  }

  reject(error: unknown): void {
    this.settle({ ok: false, error });
  }

  private settle(state: { ok: true; value: T } | { ok: false; error: unknown }): void {
    if (this.state) return;
    this.state = state;
    for (const w of this.waiting.splice(0)) this.run(w);
  }

  private run(w: { ok?: ((v: T) => unknown) | null | undefined; err?: ((e: unknown) => unknown) | null | undefined; next: Dialing<unknown> }): void {
    const s = this.state!;
    const fn = s.ok ? w.ok : w.err;
    if (!fn) return s.ok ? w.next.resolve(s.value) : w.next.reject(s.error);
    // a callback that throws is a bug: it propagates to whoever settled the dial (the
    // transport's promise, or the simulator's clock) instead of vanishing into a chained
    // thenable nobody reads
    w.next.resolve((fn as (x: unknown) => unknown)(s.ok ? s.value : s.error));
  }
}
