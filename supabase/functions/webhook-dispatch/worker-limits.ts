// What this worker may still do before the edge runtime stops it. The runtime limits a worker, not
// a request: its CPU time over its whole life (retired at 1 s, `beforeunload` with reason `cpu` at
// 90 % of the 2 s hard limit, terminated at 2 s), its wall clock from boot (150 s on the free plan,
// 400 s on paid ones; retired at half, `beforeunload` `wall_clock` at 90 %, terminated at the end)
// and its memory (`beforeunload` `memory` at 90 %). A worker cannot read its own CPU time on
// hosted, so a drain stops claiming at the first `beforeunload`, whatever its reason: the runtime
// dispatches it with at least 10 % of the limit left, far more than recording what is in flight
// needs. The wall clock it can count: no request starts that could outlive the worker.
import { REQUEST_TIMEOUT_MS } from "./sender.ts";

/** performance.now() when this worker loaded the function: the start of its wall clock. */
export const WORKER_BOOTED_AT = performance.now();

/** Room kept between the last request's timeout and the end of the wall clock, for recording it. */
export const HANDOVER_MARGIN_MS = 5_000;

export type WorkerStopReason = "cpu" | "memory" | "wall_clock" | "early_drop" | "termination" | "unknown";

export class WorkerLimits {
  #wallClockMs: number;
  #bootedAt: number;
  #newestRequestAge = 0;
  #stopReason: WorkerStopReason | null = null;
  #listeners = new Set<() => void>();

  /**
   * @param wallClockMs the plan's wall-clock limit per worker (ms) as configured; the worker
   *   learns a longer one from the requests it is given (see `noteRequest`).
   * @param events where the runtime dispatches `beforeunload` (globalThis in a function).
   */
  constructor(wallClockMs: number, events: EventTarget = globalThis, bootedAt = WORKER_BOOTED_AT) {
    this.#wallClockMs = wallClockMs;
    this.#bootedAt = bootedAt;
    events.addEventListener("beforeunload", (event) => {
      const reason = (event as CustomEvent<{ reason?: string } | null>).detail?.reason;
      this.#stopReason = isStopReason(reason) ? reason : "unknown";
      for (const listener of this.#listeners) listener();
    });
  }

  /**
   * A request arrived: the runtime only routes requests to a worker it has not retired, and it
   * retires a worker at half its wall clock, so this worker's wall clock is at least twice its
   * present age (how a worker on a paid plan learns it has 400 s, not the configured 150).
   */
  noteRequest(now = performance.now()): void {
    this.#newestRequestAge = Math.max(this.#newestRequestAge, now - this.#bootedAt);
  }

  /** The monotonic time (performance.now()) after which no request may start. */
  lastRequestStart(): number {
    const wallClockMs = Math.max(this.#wallClockMs, 2 * this.#newestRequestAge);
    return this.#bootedAt + wallClockMs - REQUEST_TIMEOUT_MS - HANDOVER_MARGIN_MS;
  }

  /** Why this worker must stop claiming, or null while it may go on. */
  stopReason(now = performance.now()): WorkerStopReason | null {
    return this.#stopReason ?? (now >= this.lastRequestStart() ? "wall_clock" : null);
  }

  /** Calls `listener` when the runtime announces that it will stop this worker. */
  onStop(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

function isStopReason(reason: unknown): reason is WorkerStopReason {
  return typeof reason === "string" && ["cpu", "memory", "wall_clock", "early_drop", "termination"].includes(reason);
}
