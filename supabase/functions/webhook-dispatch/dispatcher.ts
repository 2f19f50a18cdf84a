// The drain loop: claim due deliveries, send them with bounded concurrency (overall and per
// endpoint), and record their outcomes in batches, until nothing is due or the time budget ends.
//
// Claims top the local queue up whenever it runs low, so one slow endpoint never stalls the
// others behind a batch barrier; outcomes are flushed every RECORD_BATCH results or
// RECORD_INTERVAL_MS, one flush at a time, while sending goes on.
//
// The drains of one instance (background drains and waited ones share the isolate) together hold
// at most batchSize deliveries queued or being sent, and claim nothing more while a batch of
// outcomes waits to be recorded: when recording falls behind sending, claiming waits for it.
// Without that bound the outcomes piled up in memory whenever the database recorded more slowly
// than the endpoint answered (17,000 of them, 237 MB of RSS, in a 100,000-delivery backlog); with a
// bound per drain, four waited drains at once held four batches and left the host 15 MB larger for
// the rest of its life. Counting the outcomes in the same budget as the deliveries also held memory
// flat, but left sending idle while a flush ran (6 % slower in alternating runs).
import { DestinationGuard } from "../_shared/ssrf.ts";
import { WebhookSigner } from "../_shared/signing.ts";
import { REQUEST_TIMEOUT_MS, sendDelivery } from "./sender.ts";
import type { AttemptResult, ClaimedDelivery, DeliveryStore } from "./store.ts";

/** A claimed delivery stays ours this long; another dispatcher may take it after that. */
export const LEASE_SECONDS = 60;
/** Never start a request that could outlive its lease: its result could not be recorded. */
const LEASE_SAFETY_MARGIN_MS = REQUEST_TIMEOUT_MS + 5_000;
const RECORD_BATCH = 250;
const RECORD_INTERVAL_MS = 20;
/** Endpoints whose signing secrets one instance keeps decrypted in memory. */
const SECRET_CACHE_LIMIT = 1_000;

export interface DrainOptions {
  batchSize: number;
  concurrency: number;
  endpointConcurrency: number;
  timeBudgetMs: number;
  /** Consulted when the queue runs dry: true if more work was announced meanwhile. */
  moreWorkAnnounced?: () => boolean;
  fetch?: typeof fetch;
}

export interface DrainSummary {
  claimed: number;
  succeeded: number;
  failed: number;
  released: number;
  durationMs: number;
  stoppedBecause: "idle" | "time_budget";
}

/** What one running drain holds, for the instance-wide budget. */
interface DrainLoad {
  /** Deliveries queued or being sent. */
  deliveries(): number;
  /** Outcomes not recorded yet (waiting for a flush or in one). */
  outcomes(): number;
  /** Makes the drain look at the budget again if it waits for room. */
  wake(): void;
}
const runningDrains = new Set<DrainLoad>();
/**
 * Requests in flight from all drains of this instance, in total and per endpoint: the concurrency
 * limits hold for the instance, so four drains at once neither open four times the connections
 * (which the HTTP client then keeps) nor send an endpoint four times its limit.
 */
const requestsInFlight = { total: 0, perEndpoint: new Map<string, number>() };

function instanceLoad(): { deliveries: number; outcomes: number } {
  let deliveries = 0;
  let outcomes = 0;
  for (const drain of runningDrains) {
    deliveries += drain.deliveries();
    outcomes += drain.outcomes();
  }
  return { deliveries, outcomes };
}

/** Room freed anywhere may be what another drain waits for. */
function wakeDrains() {
  for (const drain of runningDrains) drain.wake();
}

const signer = new WebhookSigner();
const secretCache = new Map<string, { version: string; secrets: string[] }>();
const guards = new Map<boolean, DestinationGuard>();

function guardFor(allowLoopback: boolean): DestinationGuard {
  let guard = guards.get(allowLoopback);
  if (!guard) {
    guard = new DestinationGuard({ allowLoopback });
    guards.set(allowLoopback, guard);
  }
  return guard;
}

async function refreshSecrets(store: DeliveryStore, deliveries: ClaimedDelivery[]): Promise<void> {
  const stale = [
    ...new Set(
      deliveries.filter((d) => secretCache.get(d.endpointId)?.version !== d.secretsVersion).map((d) => d.endpointId),
    ),
  ];
  if (stale.length === 0) return;
  const fresh = await store.signingSecrets(stale);
  for (const [endpointId, entry] of fresh) {
    secretCache.delete(endpointId);
    secretCache.set(endpointId, entry);
  }
  while (secretCache.size > SECRET_CACHE_LIMIT) secretCache.delete(secretCache.keys().next().value!);
}

export async function drainDueDeliveries(store: DeliveryStore, options: DrainOptions): Promise<DrainSummary> {
  const started = Date.now();
  const claimDeadline = started + options.timeBudgetMs;
  const summary: DrainSummary = {
    claimed: 0,
    succeeded: 0,
    failed: 0,
    released: 0,
    durationMs: 0,
    stoppedBecause: "idle",
  };

  const queue: ClaimedDelivery[] = [];
  let active = 0;
  let wake: (() => void) | null = null;
  const progress = wakeDrains;
  const waitForProgress = () => new Promise<void>((resolve) => (wake = resolve));

  // Outcomes, recorded in batches by one flush at a time.
  let unrecorded: AttemptResult[] = [];
  /** Outcomes handed to a flush whose recordAttempts has not finished. */
  let recording = 0;
  let flushing: Promise<void> = Promise.resolve();
  let flushTimer: ReturnType<typeof setTimeout> | null = null;
  let flushError: unknown = null;
  const flush = () => {
    if (flushTimer !== null) clearTimeout(flushTimer);
    flushTimer = null;
    const batch = unrecorded;
    unrecorded = [];
    if (batch.length === 0) return flushing;
    recording += batch.length;
    flushing = flushing.then(() => store.recordAttempts(batch)).catch((error) => {
      flushError ??= error;
    }).finally(() => {
      recording -= batch.length;
      progress();
    });
    return flushing;
  };
  /** Deliveries asked for by a claim still under way. */
  let claiming = 0;
  const load: DrainLoad = {
    deliveries: () => claiming + queue.length + active,
    outcomes: () => unrecorded.length + recording,
    wake: () => {
      wake?.();
      wake = null;
    },
  };
  /** Room for deliveries: the batch size less those the instance's drains queue or send. */
  const room = () => options.batchSize - instanceLoad().deliveries;
  /**
   * Claim when half a batch is free, or anything at all once this drain queues and sends nothing,
   * and only while less than a batch of outcomes waits to be recorded.
   */
  const mayClaim = () =>
    instanceLoad().outcomes < options.batchSize &&
    (room() >= options.batchSize / 2 || (room() > 0 && queue.length === 0 && active === 0));
  const record = (result: AttemptResult) => {
    unrecorded.push(result);
    if (!result.sent) summary.released++;
    else if (result.response_status !== null && result.response_status >= 200 && result.response_status < 300) {
      summary.succeeded++;
    } else summary.failed++;
    if (unrecorded.length >= RECORD_BATCH) flush();
    else if (flushTimer === null) flushTimer = setTimeout(flush, RECORD_INTERVAL_MS);
  };

  const release = (delivery: ClaimedDelivery): AttemptResult => ({
    delivery_id: delivery.deliveryId,
    lease_token: delivery.leaseToken,
    sent: false,
    retry_count: delivery.retryCount,
    started_at: new Date().toISOString(),
    duration_ms: 0,
    response_status: null,
    response_excerpt: null,
    error: null,
    payload_sha256: "0".repeat(64),
    retry_after_seconds: null,
  });

  const start = (delivery: ClaimedDelivery) => {
    active++;
    requestsInFlight.total++;
    requestsInFlight.perEndpoint.set(
      delivery.endpointId,
      (requestsInFlight.perEndpoint.get(delivery.endpointId) ?? 0) + 1,
    );
    const secrets = secretCache.get(delivery.endpointId)?.secrets ?? [];
    sendDelivery(delivery, { signer, guard: guardFor(delivery.allowLoopback), secrets, fetch: options.fetch })
      .then(record, (error) => {
        // sendDelivery does not throw; if it ever does, hand the delivery back rather than lose it.
        console.error("webhook-dispatch: unexpected send failure", error);
        record(release(delivery));
      })
      .finally(() => {
        active--;
        requestsInFlight.total--;
        const toEndpoint = requestsInFlight.perEndpoint.get(delivery.endpointId)! - 1;
        if (toEndpoint === 0) requestsInFlight.perEndpoint.delete(delivery.endpointId);
        else requestsInFlight.perEndpoint.set(delivery.endpointId, toEndpoint);
        progress();
      });
  };

  // Starts every queued delivery that a free slot allows, oldest first per endpoint.
  const startWhatFits = () => {
    for (let i = 0; i < queue.length && requestsInFlight.total < options.concurrency;) {
      const delivery = queue[i];
      if (Date.now() + LEASE_SAFETY_MARGIN_MS > delivery.leaseExpiresAt.getTime()) {
        queue.splice(i, 1);
        record(release(delivery));
        continue;
      }
      if ((requestsInFlight.perEndpoint.get(delivery.endpointId) ?? 0) >= options.endpointConcurrency) {
        i++;
        continue;
      }
      queue.splice(i, 1);
      start(delivery);
    }
  };

  runningDrains.add(load);
  try {
    return await drainLoop();
  } finally {
    runningDrains.delete(load);
    wakeDrains();
  }

  async function drainLoop(): Promise<DrainSummary> {
    // Set once the heartbeat is cleared: the next empty claim ends the drain.
    let stopping = false;
    while (true) {
      if (flushError) throw flushError;
      if (Date.now() >= claimDeadline) {
        // Out of time: hand back what has not started, let what has finish.
        summary.stoppedBecause = "time_budget";
        for (const delivery of queue.splice(0)) record(release(delivery));
        while (active > 0) await waitForProgress();
        await store.stopDraining().catch(() => {});
        break;
      }
      let claimedNothing = false;
      if (mayClaim()) {
        // Counted from the request until the batch is queued, so that other drains leave room for it.
        claiming = room();
        try {
          const batch = await store.claimDueDeliveries(claiming, LEASE_SECONDS);
          summary.claimed += batch.length;
          claimedNothing = batch.length === 0;
          if (batch.length > 0) {
            stopping = false; // the claim announced this drain again
            await refreshSecrets(store, batch);
            queue.push(...batch);
          }
        } finally {
          claiming = 0;
        }
      }
      startWhatFits();
      if (queue.length === 0 && active === 0 && claimedNothing) {
        // Nothing due. A wake-up that arrived while this drain was busy means more is coming, and
        // writers may have skipped theirs relying on it: stop only through stopDraining again.
        if (options.moreWorkAnnounced?.()) {
          stopping = false;
          continue;
        }
        if (stopping) break;
        // Transactions skipped their wake-up while this drain was announced: wait for them to end,
        // then claim once more before stopping (webhooks.wake_lock_key explains why that is enough).
        // While a long one stays open, claim again between attempts.
        stopping = await store.stopDraining();
        continue;
      }
      // A request ending makes room; so does a flush when outcomes waiting to be recorded fill the batch.
      // Queued deliveries wait for a request of this drain or another to end.
      if (active > 0 || queue.length > 0 || !mayClaim()) await waitForProgress();
    }
    await flush();
    if (flushError) throw flushError;
    summary.durationMs = Date.now() - started;
    return summary;
  }
}
