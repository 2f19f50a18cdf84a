// The database's clock, as this worker sees it. Every claim reports the database's time, and the
// worker notes its own monotonic time (performance.now()) when the answer arrives; from then on
// `now()` is the database's time plus the monotonic time elapsed, whatever this machine's clock
// says. What a receiver or the database reads (webhook-timestamp, an attempt's started_at, a
// Retry-After date) uses it, so a function whose clock is off by a minute still signs and records
// correct times; whether a lease still covers a request is decided on monotonic time alone.

export class DatabaseClock {
  #offsetMs: number | null = null;

  /** The database said it was `databaseTime` when its answer arrived at `arrivedAt` (performance.now()). */
  observe(databaseTime: Date, arrivedAt = performance.now()): void {
    this.#offsetMs = databaseTime.getTime() - arrivedAt;
  }

  /** The database's time now, in Unix milliseconds (this machine's clock until a first observation). */
  now(): number {
    return this.#offsetMs === null ? Date.now() : performance.now() + this.#offsetMs;
  }
}
