// The drain loop against an in-memory store (no stack needed): when it stops (idle after
// lingering, its time budget, the runtime's announcement that the worker will stop, the worker's
// wall clock), what it hands back and hands over, and what one worker's drains hold together.
import assert from "node:assert/strict";
import { generateEndpointSecret } from "../supabase/functions/_shared/signing.ts";
import { loadDispatchConfig } from "../supabase/functions/webhook-dispatch/config.ts";
import { drainDueDeliveries } from "../supabase/functions/webhook-dispatch/drain.ts";
import { dispatchHandler, dispatchWorker } from "../supabase/functions/webhook-dispatch/handler.ts";
import { REQUEST_TIMEOUT_MS } from "../supabase/functions/webhook-dispatch/sender.ts";
import type { AttemptResult, ClaimedDelivery, DeliveryStore } from "../supabase/functions/webhook-dispatch/store.ts";
import { HANDOVER_MARGIN_MS, WorkerLimits } from "../supabase/functions/webhook-dispatch/worker-limits.ts";

const CONFIG = loadDispatchConfig({
  SUPABASE_DB_URL: "postgresql://unused",
  SUPABASE_SERVICE_ROLE_KEY: "service-key",
  WEBHOOK_DISPATCH_BATCH_SIZE: "20",
  WEBHOOK_DISPATCH_CONCURRENCY: "8",
  WEBHOOK_DISPATCH_MAX_BACKGROUND_DRAINS: "1",
});

let nextDeliveryId = 1;

/** A delivery as a claim returns it, to a loopback URL (the tests' fetch answers instead). */
function claimed(overrides: Partial<ClaimedDelivery> = {}): ClaimedDelivery {
  return {
    deliveryId: String(nextDeliveryId++),
    leaseToken: crypto.randomUUID(),
    leaseSeconds: 30,
    claimedAt: new Date(),
    eventId: "evt_00000000000000000000000000000001",
    endpointId: "endpoint",
    url: "http://127.0.0.1:9/hook",
    retryCount: 0,
    payload: "{}",
    secretsVersion: "v",
    allowLoopback: true,
    ...overrides,
  };
}

/**
 * A store holding `total` due deliveries (claimed at most `perClaim` at a time), recording the
 * order of its calls; outcomes, recorded alone or with a claim, go to `recordAttempts`.
 */
function backlogStore(
  total: number,
  { perClaim = Infinity, recordAttempts = () => Promise.resolve() }: {
    perClaim?: number;
    recordAttempts?: (results: AttemptResult[]) => Promise<void>;
  } = {},
) {
  const calls: string[] = [];
  const counts = {
    claimed: 0,
    claimsAskedFor: 0,
    recorded: [] as AttemptResult[],
    recordedWithClaims: 0,
    backgroundClaims: 0,
  };
  const store: DeliveryStore = {
    claimDueDeliveries: async (limit, _lease, outcomes = [], background = false) => {
      calls.push("claim");
      if (background) counts.backgroundClaims++;
      if (outcomes.length > 0) {
        // Recorded with the claim, as webhooks.claim_due_deliveries does.
        calls.push("record");
        await recordAttempts(outcomes);
        counts.recorded.push(...outcomes);
        counts.recordedWithClaims += outcomes.length;
      }
      counts.claimsAskedFor += limit;
      await new Promise((resolve) => setTimeout(resolve, 0)); // a round trip, as to the database
      const count = Math.min(limit, perClaim, total - counts.claimed);
      counts.claimed += count;
      return Array.from({ length: count }, () => claimed());
    },
    signingSecrets: (ids) =>
      Promise.resolve(new Map(ids.map((id) => [id, { version: "v", secrets: [generateEndpointSecret()] }]))),
    recordAttempts: async (results) => {
      calls.push("record");
      await recordAttempts(results);
      counts.recorded.push(...results);
    },
    stopDraining: () => {
      calls.push("stop");
      return Promise.resolve();
    },
    dispatchSecret: () => Promise.resolve(null),
    requestDispatch: (reason) => {
      calls.push(`request: ${reason}`);
      return Promise.resolve();
    },
  };
  return { store, calls, counts };
}

/** An endpoint that holds every request until `answer()`, counting what it holds. */
function heldEndpoint() {
  let release = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  const state = { inFlight: 0, mostInFlight: 0, received: 0 };
  const post = async () => {
    state.received++;
    state.mostInFlight = Math.max(state.mostInFlight, ++state.inFlight);
    await released;
    state.inFlight--;
    return ({ status: 204, headers: new Headers(), body: new Uint8Array() });
  };
  return { post, state, answer: () => release() };
}

const answerAtOnce = () => Promise.resolve({ status: 204, headers: new Headers(), body: new Uint8Array() });

/** Polls until `done()`; fails after 5 s (a hang, not a measurement). */
async function until(done: () => boolean, what: string) {
  for (let waited = 0; !done(); waited += 5) {
    if (waited > 5_000) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

Deno.test("an idle drain lingers, claiming again, then stops announcing itself", async () => {
  const { store, calls } = backlogStore(0);
  const worker = dispatchWorker(CONFIG, store, { limits: new WorkerLimits(150_000, new EventTarget()) });
  const summary = await drainDueDeliveries(worker, { timeBudgetMs: 60_000, idlePollMs: 1, lingerMs: 20 });
  assert.equal(summary.stoppedBecause, "idle");
  assert.ok(calls.filter((call) => call === "claim").length > 1, "it claimed again while lingering");
  assert.equal(calls.at(-1), "stop");
});

Deno.test("work that arrives while a drain lingers is sent by it", async () => {
  const { store, counts } = backlogStore(0);
  let arrived = false;
  const claimOnce = store.claimDueDeliveries;
  store.claimDueDeliveries = async (limit, lease, outcomes) => {
    if (!arrived && counts.claimsAskedFor > 0) {
      arrived = true;
      return [claimed()];
    }
    return await claimOnce(limit, lease, outcomes);
  };
  const worker = dispatchWorker(CONFIG, store, {
    limits: new WorkerLimits(150_000, new EventTarget()),
    post: answerAtOnce,
  });
  const summary = await drainDueDeliveries(worker, { timeBudgetMs: 60_000, idlePollMs: 1, lingerMs: 50 });
  assert.equal(summary.succeeded, 1);
});

Deno.test("a drain's outcomes go with its next claim, and every one is recorded", async () => {
  const { store, counts } = backlogStore(40, { perClaim: 4 });
  const worker = dispatchWorker(CONFIG, store, {
    limits: new WorkerLimits(150_000, new EventTarget()),
    post: answerAtOnce,
  });
  const summary = await drainDueDeliveries(worker, { timeBudgetMs: 60_000, idlePollMs: 1, lingerMs: 20 });
  assert.equal(summary.succeeded, 40);
  assert.equal(counts.recorded.length, 40);
  assert.ok(counts.recordedWithClaims >= 36, `${counts.recordedWithClaims} of 40 went with a claim`);
});

Deno.test("the runtime's beforeunload stops a drain: queued work goes back at once, started work is recorded", async () => {
  const runtime = new EventTarget();
  const endpoint = heldEndpoint();
  const { store, counts, calls } = backlogStore(100, { perClaim: 5 });
  const worker = dispatchWorker(CONFIG, store, { limits: new WorkerLimits(150_000, runtime), post: endpoint.post });
  const drain = drainDueDeliveries(worker, { timeBudgetMs: 60_000 });
  await until(() => endpoint.state.inFlight === 8, "the worker's 8 request slots to fill");
  runtime.dispatchEvent(new CustomEvent("beforeunload", { detail: { reason: "cpu" } }));
  const claimsAtStop = calls.filter((call) => call === "claim").length;
  endpoint.answer();
  const summary = await drain;
  assert.equal(summary.stoppedBecause, "worker_limit");
  assert.equal(calls.filter((call) => call === "claim").length, claimsAtStop, "no claim after the announcement");
  assert.equal(summary.succeeded, 8, "the requests in flight finished");
  assert.equal(counts.recorded.length, counts.claimed, "every claimed delivery is recorded or handed back");
  assert.equal(calls.at(-1), "stop");
});

Deno.test("no request starts that could outlive the worker's wall clock", async () => {
  const { store, counts } = backlogStore(10);
  // A worker booted long enough ago that a request started now would end after its wall clock.
  const wallClockMs = 150_000;
  const bootedAt = performance.now() - (wallClockMs - REQUEST_TIMEOUT_MS - HANDOVER_MARGIN_MS) - 1;
  const worker = dispatchWorker(CONFIG, store, {
    limits: new WorkerLimits(wallClockMs, new EventTarget(), bootedAt),
    post: answerAtOnce,
  });
  const summary = await drainDueDeliveries(worker, { timeBudgetMs: 60_000 });
  assert.equal(summary.stoppedBecause, "worker_limit");
  assert.equal(counts.claimed, 0);
});

Deno.test("a worker still given requests late in its life learns its wall clock is longer", () => {
  const wallClockMs = 150_000;
  const bootedAt = performance.now() - 130_000;
  const limits = new WorkerLimits(wallClockMs, new EventTarget(), bootedAt);
  assert.equal(limits.stopReason(), "wall_clock", "past the configured plan's last start");
  // The runtime retires a worker at half its wall clock and still routes a request here at 130 s:
  // this worker has at least 260 s.
  limits.noteRequest();
  assert.equal(limits.stopReason(), null);
  assert.ok(limits.lastRequestStart() >= bootedAt + 260_000 - REQUEST_TIMEOUT_MS - HANDOVER_MARGIN_MS - 1);
});

Deno.test("a delivery whose lease cannot cover a request is handed back unsent", async () => {
  const { store, counts } = backlogStore(0);
  let given = false;
  const claimNone = store.claimDueDeliveries;
  store.claimDueDeliveries = (limit, lease, outcomes) => {
    if (given) return claimNone(limit, lease, outcomes);
    given = true;
    return Promise.resolve([claimed({ leaseSeconds: 10 })]); // shorter than a request's 15 s timeout
  };
  const worker = dispatchWorker(CONFIG, store, {
    limits: new WorkerLimits(150_000, new EventTarget()),
    post: () => Promise.reject(new Error("must not be sent")),
  });
  const summary = await drainDueDeliveries(worker, { timeBudgetMs: 60_000, idlePollMs: 1, lingerMs: 5 });
  assert.equal(summary.released, 1);
  assert.deepEqual(counts.recorded.map((result) => result.sent), [false]);
});

Deno.test("a drain claims only what its worker can start at once", async () => {
  const endpoint = heldEndpoint();
  const { store, counts } = backlogStore(100);
  const worker = dispatchWorker(CONFIG, store, { post: endpoint.post });
  const drain = drainDueDeliveries(worker, { timeBudgetMs: 60_000, idlePollMs: 1, lingerMs: 5 });
  await until(() => endpoint.state.inFlight === 8, "8 requests in flight");
  for (let turn = 0; turn < 50; turn++) await new Promise((resolve) => setTimeout(resolve, 1));
  assert.equal(counts.claimed, 8, "nothing more is claimed, so no delivery waits leased in memory");
  endpoint.answer();
  assert.equal((await drain).succeeded, 100);
});

Deno.test("concurrent drains of one worker share its request slots", async () => {
  const endpoint = heldEndpoint();
  const { store } = backlogStore(40, { perClaim: 3 });
  const worker = dispatchWorker(CONFIG, store, { post: endpoint.post });
  const options = { timeBudgetMs: 60_000, idlePollMs: 1, lingerMs: 5 };
  const drains = [drainDueDeliveries(worker, options), drainDueDeliveries(worker, options)];
  await until(() => endpoint.state.inFlight === 8, "8 requests in flight");
  for (let turn = 0; turn < 50; turn++) await new Promise((resolve) => setTimeout(resolve, 1));
  assert.equal(endpoint.state.mostInFlight, 8, "two drains together send at most the worker's 8");
  endpoint.answer();
  const summaries = await Promise.all(drains);
  assert.equal(summaries[0].succeeded + summaries[1].succeeded, 40);
});

Deno.test("a drain stops claiming while a batch of outcomes waits to be recorded", async () => {
  let openGate = () => {};
  const gate = new Promise<void>((resolve) => (openGate = resolve));
  // The database does not record until the gate opens; the endpoint answers at once.
  const { store, counts } = backlogStore(200, { recordAttempts: () => gate });
  const worker = dispatchWorker(CONFIG, store, { post: answerAtOnce });
  const drain = drainDueDeliveries(worker, { timeBudgetMs: 60_000, idlePollMs: 1, lingerMs: 5 });
  // Plenty of turns for a drain without the bound to claim all 200.
  for (let turn = 0; turn < 200; turn++) await new Promise((resolve) => setTimeout(resolve, 0));
  assert.ok(counts.claimed < 2 * CONFIG.WEBHOOK_DISPATCH_BATCH_SIZE, `claimed ${counts.claimed} with nothing recorded`);
  openGate();
  const summary = await drain;
  assert.equal(summary.succeeded, 200);
  assert.equal(counts.recorded.length, 200);
});

Deno.test("a background drain stopped by a worker limit hands over at once, while its requests are in flight", async () => {
  const runtime = new EventTarget();
  const endpoint = heldEndpoint();
  const { store, calls, counts } = backlogStore(100, { perClaim: 2 });
  const worker = dispatchWorker(CONFIG, store, { limits: new WorkerLimits(150_000, runtime), post: endpoint.post });
  const handler = dispatchHandler(CONFIG, worker);
  const wakeUp = () =>
    handler(
      new Request("http://localhost/webhook-dispatch", {
        method: "POST",
        headers: { Authorization: "Bearer service-key" },
        body: JSON.stringify({ wait: false }),
      }),
    );
  assert.equal((await (await wakeUp()).json()).joined_running_drain, false, "the first wake-up starts a drain");
  assert.equal((await (await wakeUp()).json()).joined_running_drain, true, "a second joins it");
  await until(() => endpoint.state.inFlight > 0, "a request in flight");
  runtime.dispatchEvent(new CustomEvent("beforeunload", { detail: { reason: "wall_clock" } }));
  assert.equal((await (await wakeUp()).json()).joined_running_drain, true, "a stopping worker starts nothing new");
  // The successor is asked for before the requests in flight end (the slowest may take 15 s).
  await until(() => calls.some((call) => call.startsWith("request")), "the hand-over");
  assert.ok(endpoint.state.inFlight > 0, "asked for while this drain's requests are still in flight");
  assert.deepEqual(calls.filter((call) => call.startsWith("request")), ["request: hand-over (worker_limit)"]);
  assert.ok(!calls.includes("stop"), "before this drain stops announcing itself");
  endpoint.answer();
  await until(() => calls.includes("stop"), "the drain to stop");
  assert.equal(counts.recorded.length, counts.claimed, "what it had in flight is recorded");
  assert.equal(counts.backgroundClaims, calls.filter((call) => call === "claim").length, "its claims say it was woken");
});

Deno.test("a drain an operator asks for neither claims as woken nor hands over", async () => {
  const runtime = new EventTarget();
  const endpoint = heldEndpoint();
  const { store, calls, counts } = backlogStore(100, { perClaim: 2 });
  const worker = dispatchWorker(CONFIG, store, { limits: new WorkerLimits(150_000, runtime), post: endpoint.post });
  const drain = drainDueDeliveries(worker, { timeBudgetMs: 60_000 });
  await until(() => endpoint.state.inFlight > 0, "a request in flight");
  runtime.dispatchEvent(new CustomEvent("beforeunload", { detail: { reason: "cpu" } }));
  endpoint.answer();
  assert.equal((await drain).stoppedBecause, "worker_limit");
  assert.equal(counts.backgroundClaims, 0);
  assert.ok(!calls.some((call) => call.startsWith("request")), "its caller gets the summary instead");
});
