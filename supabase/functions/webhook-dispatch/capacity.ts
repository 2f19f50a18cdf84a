// What all drains of one worker hold together. Background drains and waited ones share the
// worker's isolate, so its limits are theirs together: requests in flight (their sockets and
// memory) and outcomes not yet recorded. A drain claims only what it can start at once, so no
// delivery waits leased in this worker's memory while another endpoint's requests hold the slots:
// which endpoint gets a slot is the database's decision (webhooks.claim_due_deliveries), made fair
// across endpoints and bounded per endpoint for every worker together. Claiming also waits while
// a batch of outcomes is unrecorded: without that bound outcomes piled up whenever the database
// recorded more slowly than receivers answered (17,000 of them, 237 MB, in a 100,000 backlog).

export class WorkerCapacity {
  #requests = 0;
  #reserved = 0;
  #unrecorded = 0;
  #waiters = new Set<() => void>();

  /**
   * @param concurrency requests in flight at most, all drains of the worker together.
   * @param batchSize deliveries one claim takes at most, and outcomes that may wait unrecorded.
   */
  constructor(readonly concurrency: number, readonly batchSize: number) {}

  /**
   * How many deliveries a drain may claim now (0 when none); `recordedWithClaim` outcomes go with
   * the claim, so they do not hold it back.
   */
  claimable(recordedWithClaim = 0): number {
    if (this.#unrecorded - recordedWithClaim >= this.batchSize) return 0;
    return Math.max(0, Math.min(this.batchSize, this.concurrency - this.#requests - this.#reserved));
  }

  /** Slots for deliveries being claimed or claimed and not started yet. */
  reserve(count: number): void {
    this.#reserved += count;
  }

  /** Gives back `count` reserved slots (a claim returned fewer, or deliveries were handed back). */
  unreserve(count: number): void {
    this.#reserved -= count;
    this.#notify();
  }

  /** A reserved delivery's request starts. */
  startRequest(): void {
    this.#reserved--;
    this.#requests++;
  }

  /** A request ended; its outcome waits to be recorded. */
  finishRequest(): void {
    this.#requests--;
    this.#unrecorded++;
    this.#notify();
  }

  /** An outcome without a request (a delivery handed back) waits to be recorded. */
  addUnrecorded(count: number): void {
    this.#unrecorded += count;
  }

  /** `count` outcomes were recorded (or their batch failed). */
  recorded(count: number): void {
    this.#unrecorded -= count;
    this.#notify();
  }

  get requestsInFlight(): number {
    return this.#requests;
  }

  /** Resolves when any drain frees something (or `wake()` is called), or after `timeoutMs`. */
  changed(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.#waiters.add(done);
    });
  }

  /** Wakes every waiting drain (e.g. when the runtime announces the worker's end). */
  wake(): void {
    this.#notify();
  }

  #notify(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }
}
