// One drain: claim due deliveries, send them, record their outcomes in batches, until nothing has
// been due for a moment (idle), its time budget ends, or the worker approaches a runtime limit.
//
// What a drain holds is bounded by its worker (WorkerCapacity): it claims only what it can start
// at once, and the database decides which endpoints get those slots (fairly, and within each
// endpoint's limit for every worker together). While requests are in flight it claims again
// every BUSY_POLL_MS (new work, a retry falling due) or sooner once half of the requests it had
// in flight have ended (claims in batches: one claim per answer costs more CPU than the
// answer itself), and when nothing is due it lingers
// LINGER_MS, claiming every IDLE_POLL_MS, so a steady stream of events finds it running instead of
// waking a new drain for each. Lease decisions use monotonic time from the claim's start, never
// this machine's clock; times receivers and the database read come from the database's clock.
import type { DestinationGuard } from "../_shared/ssrf.ts";
import type { PinnedPost } from "../_shared/pinned-http.ts";
import type { WebhookSigner } from "../_shared/signing.ts";
import type { WorkerCapacity } from "./capacity.ts";
import type { DatabaseClock } from "./database-clock.ts";
import { OutcomeRecorder } from "./outcome-recorder.ts";
import { REQUEST_TIMEOUT_MS, sendDelivery } from "./sender.ts";
import type { SigningSecretCache } from "./signing-secrets.ts";
import type { AttemptResult, ClaimedDelivery, DeliveryStore } from "./store.ts";
import type { WorkerLimits } from "./worker-limits.ts";

/** How long a claim leases its deliveries: a stopped worker's deliveries wait at most this long. */
export const LEASE_SECONDS = 30;
/** A request starts only while its lease covers its timeout and the recording after it. */
const LEASE_SAFETY_MARGIN_MS = REQUEST_TIMEOUT_MS + 5_000;
const BUSY_POLL_MS = 10;
const IDLE_POLL_MS = 2;
const LINGER_MS = 250;
/** While requests are in flight, claim again once this share of them has ended. */
const RECLAIM_SHARE = 0.5;

/** What every drain of one worker shares. */
export interface DrainContext {
  store: DeliveryStore;
  capacity: WorkerCapacity;
  limits: WorkerLimits;
  clock: DatabaseClock;
  secrets: SigningSecretCache;
  signer: WebhookSigner;
  guardFor(allowLoopback: boolean): DestinationGuard;
  /** Sends one request over a pinned connection (the worker's PinnedHttpClient; tests answer instead). */
  post: PinnedPost;
}

export interface DrainOptions {
  /** How long this drain claims at most (ms); what it started then finishes. */
  timeBudgetMs: number;
  /**
   * Woken by the scheduler or a hand-over, not asked for by an operator: it claims nothing while
   * dispatch is paused, and when it stops short of running dry it hands over to a fresh invocation
   * at once (webhooks.request_dispatch), while its own requests in flight finish.
   */
  background?: boolean;
  busyPollMs?: number;
  idlePollMs?: number;
  lingerMs?: number;
}

export type DrainStop = "idle" | "time_budget" | "worker_limit";

export interface DrainSummary {
  claimed: number;
  succeeded: number;
  failed: number;
  /** Claimed but handed back unattempted (the drain or the worker ran out of time). */
  released: number;
  durationMs: number;
  stoppedBecause: DrainStop;
}

interface QueuedDelivery {
  delivery: ClaimedDelivery;
  /** performance.now() at which its lease ends, counted from the claim's start. */
  leaseEnd: number;
}

export async function drainDueDeliveries(context: DrainContext, options: DrainOptions): Promise<DrainSummary> {
  const { store, capacity, limits, clock } = context;
  const busyPollMs = options.busyPollMs ?? BUSY_POLL_MS;
  const idlePollMs = options.idlePollMs ?? IDLE_POLL_MS;
  const lingerMs = options.lingerMs ?? LINGER_MS;
  const started = performance.now();
  const deadline = started + options.timeBudgetMs;
  const summary: DrainSummary = {
    claimed: 0,
    succeeded: 0,
    failed: 0,
    released: 0,
    durationMs: 0,
    stoppedBecause: "idle",
  };
  const recorder = new OutcomeRecorder(store, capacity);
  const queue: QueuedDelivery[] = [];
  let active = 0;
  /** Requests ended since the last claim, and what was in flight right after it. */
  let endedSinceClaim = 0;
  let activeAfterClaim = 0;
  let lastClaimAt = -Infinity;

  const handBack = ({ delivery }: QueuedDelivery) => {
    capacity.unreserve(1);
    capacity.addUnrecorded(1);
    summary.released++;
    recorder.record(unattempted(delivery, clock.now()));
  };

  const send = ({ delivery }: QueuedDelivery) => {
    capacity.startRequest();
    active++;
    sendDelivery(delivery, {
      signer: context.signer,
      guard: context.guardFor(delivery.allowLoopback),
      secrets: context.secrets.secretsOf(delivery.endpointId),
      post: context.post,
      now: () => clock.now(),
    })
      .catch((error): AttemptResult => {
        // sendDelivery does not throw; if it ever does, hand the delivery back rather than lose it.
        console.error("webhook-dispatch: unexpected send failure", error);
        return unattempted(delivery, clock.now());
      })
      .then((result) => {
        active--;
        endedSinceClaim++;
        if (!result.sent) summary.released++;
        else if (result.response_status !== null && result.response_status >= 200 && result.response_status < 300) {
          summary.succeeded++;
        } else summary.failed++;
        capacity.finishRequest();
        recorder.record(result);
      });
  };

  /** Starts every queued delivery whose lease still covers a whole request; hands back the rest. */
  const startQueued = () => {
    for (const queued of queue.splice(0)) {
      if (performance.now() + LEASE_SAFETY_MARGIN_MS > queued.leaseEnd) handBack(queued);
      else send(queued);
    }
  };

  const claim = async (room: number) => {
    capacity.reserve(room);
    let batch: ClaimedDelivery[] = [];
    const requestedAt = performance.now();
    // The outcomes so far go with the claim: what has finished stops counting against its
    // endpoint's limit in the same round trip that asks for more.
    const outcomes = recorder.take();
    let recorded = false;
    try {
      batch = await store.claimDueDeliveries(room, LEASE_SECONDS, outcomes.outcomes, options.background ?? false);
      recorded = true;
    } finally {
      outcomes.settled(recorded);
      capacity.unreserve(room - batch.length);
    }
    if (batch.length === 0) return 0;
    clock.observe(batch[0].claimedAt);
    summary.claimed += batch.length;
    try {
      await context.secrets.refresh(store, batch);
    } finally {
      for (const delivery of batch) queue.push({ delivery, leaseEnd: requestedAt + delivery.leaseSeconds * 1000 });
    }
    return batch.length;
  };

  /**
   * Stopped with work possibly left: what was claimed and not started goes back and is recorded
   * now, and a fresh invocation is asked for at once (near a worker limit the runtime has retired
   * this worker, so the request reaches a fresh one), so that it takes over while this drain's
   * requests in flight end, not after the slowest of them.
   */
  const handOver = async () => {
    for (const queued of queue.splice(0)) handBack(queued);
    await recorder.flush();
    console.log(
      `webhook-dispatch: drain stopped (${summary.stoppedBecause}) after ${summary.claimed} deliveries; handing over`,
    );
    await store.requestDispatch(`hand-over (${summary.stoppedBecause})`).catch((error) => {
      console.error("webhook-dispatch: hand-over failed; the scheduler wakes another drain", error);
    });
  };

  const stopListening = limits.onStop(() => capacity.wake());
  try {
    let idleSince: number | null = null;
    while (true) {
      if (recorder.error) throw recorder.error;
      const now = performance.now();
      if (limits.stopReason(now) !== null || now >= deadline) {
        // Out of time: what has not started goes back now, what has started finishes.
        summary.stoppedBecause = limits.stopReason(now) !== null ? "worker_limit" : "time_budget";
        break;
      }
      // With requests in flight, claim again when enough of them have ended or the poll is due.
      const sinceClaim = now - lastClaimAt;
      if (active > 0 && sinceClaim < busyPollMs && endedSinceClaim < Math.ceil(activeAfterClaim * RECLAIM_SHARE)) {
        await capacity.changed(busyPollMs - sinceClaim);
        continue;
      }
      const room = capacity.claimable(recorder.queued);
      const claimed = room > 0 ? await claim(room) : 0;
      startQueued();
      // Counted from the claim's answer: what ended while it was on its way goes with the next.
      lastClaimAt = performance.now();
      endedSinceClaim = 0;
      activeAfterClaim = active;
      // Idle only when a claim came back empty: no room (outcomes waiting to be recorded) is not.
      if (room > 0 && claimed === 0 && active === 0) {
        idleSince ??= performance.now();
        if (performance.now() - idleSince >= lingerMs) break;
      } else if (claimed > 0 || active > 0) {
        idleSince = null;
      }
      // A full claim means more may be due right now.
      if (claimed > 0 && claimed === room) continue;
      await capacity.changed(active > 0 ? busyPollMs : idlePollMs);
    }
    if (options.background && summary.stoppedBecause !== "idle") await handOver();
  } finally {
    stopListening();
    for (const queued of queue.splice(0)) handBack(queued);
    while (active > 0) await capacity.changed(busyPollMs);
    await recorder.flush();
    await store.stopDraining().catch(() => {});
  }
  if (recorder.error) throw recorder.error;
  summary.durationMs = Math.round(performance.now() - started);
  return summary;
}

/** The outcome of a delivery handed back without a request: pending again, no attempt counted. */
function unattempted(delivery: ClaimedDelivery, nowMs: number): AttemptResult {
  return {
    delivery_id: delivery.deliveryId,
    lease_token: delivery.leaseToken,
    sent: false,
    retry_count: delivery.retryCount,
    started_at: new Date(nowMs).toISOString(),
    duration_ms: 0,
    response_status: null,
    response_excerpt: null,
    error: null,
    payload_sha256: "0".repeat(64),
    retry_after_seconds: null,
  };
}
