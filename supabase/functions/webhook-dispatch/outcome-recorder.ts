// A drain's outcomes, recorded in batches: most go with the drain's next claim (take()), the rest
// in one webhooks.record_attempts call per RECORD_BATCH outcomes or RECORD_INTERVAL_MS, one call
// at a time, while sending goes on.
import type { WorkerCapacity } from "./capacity.ts";
import type { AttemptResult, DeliveryStore } from "./store.ts";

const RECORD_BATCH = 250;
const RECORD_INTERVAL_MS = 20;

export class OutcomeRecorder {
  #pending: AttemptResult[] = [];
  #flushing: Promise<void> = Promise.resolve();
  #timer: ReturnType<typeof setTimeout> | null = null;
  #error: unknown = null;

  constructor(readonly store: DeliveryStore, readonly capacity: WorkerCapacity) {}

  /** Queues one outcome (already counted as unrecorded in the capacity). */
  record(result: AttemptResult): void {
    this.#pending.push(result);
    if (this.#pending.length >= RECORD_BATCH) void this.flush();
    else if (this.#timer === null) this.#timer = setTimeout(() => void this.flush(), RECORD_INTERVAL_MS);
  }

  /**
   * Hands the queued outcomes to the caller, who records them (with a claim) and then reports
   * back with settled(): recorded, or not (they are queued again).
   */
  take(): { outcomes: AttemptResult[]; settled(recorded: boolean): void } {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const outcomes = this.#pending;
    this.#pending = [];
    return {
      outcomes,
      settled: (recorded) => {
        if (!recorded) {
          this.#pending.unshift(...outcomes);
          return;
        }
        this.capacity.recorded(outcomes.length);
      },
    };
  }

  /** Records everything queued so far; resolves when every earlier batch is recorded too. */
  flush(): Promise<void> {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 0) return this.#flushing;
    this.#flushing = this.#flushing
      .then(() => this.store.recordAttempts(batch))
      .catch((error) => {
        this.#error ??= error;
      })
      .finally(() => this.capacity.recorded(batch.length));
    return this.#flushing;
  }

  /** Outcomes queued and not yet handed to a recording. */
  get queued(): number {
    return this.#pending.length;
  }

  /** The first failure of a batch, if any (the drain stops; the leases bring those deliveries back). */
  get error(): unknown {
    return this.#error;
  }
}
