// The drain loop's stopping rules, against an in-memory store (no stack needed). Writers skip
// their wake-up while a drain is announced or another wake-up is on its way
// (webhooks.wake_dispatcher_after_commit); that is safe only if every drain that took up a wake-up
// ends through stopDraining (which waits for those writers) and one more claim.
import assert from "node:assert/strict";
import { generateEndpointSecret } from "../supabase/functions/_shared/signing.ts";
import { loadDispatchConfig } from "../supabase/functions/webhook-dispatch/config.ts";
import { drainDueDeliveries } from "../supabase/functions/webhook-dispatch/dispatcher.ts";
import { dispatchHandler } from "../supabase/functions/webhook-dispatch/handler.ts";
import type { AttemptResult, ClaimedDelivery, DeliveryStore } from "../supabase/functions/webhook-dispatch/store.ts";

/** A store that records the order of its calls; claims answer from `claims` (then nothing). */
function memoryStore(
  claims: ClaimedDelivery[][] | (() => ClaimedDelivery[]) = [],
  recordGate: Promise<void> = Promise.resolve(),
) {
  const calls: string[] = [];
  const store: DeliveryStore = {
    claimDueDeliveries: async () => {
      calls.push("claim");
      await new Promise((resolve) => setTimeout(resolve, 0)); // a round trip, as to the database
      return typeof claims === "function" ? claims() : claims.shift() ?? [];
    },
    signingSecrets: () => Promise.resolve(new Map()),
    recordAttempts: async (_results: AttemptResult[]) => {
      calls.push("record");
      await recordGate;
    },
    stopDraining: () => {
      calls.push("stop");
      return Promise.resolve(true);
    },
    dispatchSecret: () => Promise.resolve(null),
    requestDispatch: () => {
      calls.push("request");
      return Promise.resolve();
    },
  };
  return { store, calls };
}

function backgroundHandler(store: DeliveryStore) {
  const handler = dispatchHandler(
    loadDispatchConfig({
      SUPABASE_DB_URL: "postgresql://unused",
      SUPABASE_SERVICE_ROLE_KEY: "service-key",
      WEBHOOK_DISPATCH_MAX_BACKGROUND_DRAINS: "1",
    }),
    store,
  );
  /** One wake-up as pg_net sends it; true if it joined the running drain. */
  return async (body: Record<string, unknown> = {}) => {
    const response = await handler(
      new Request("http://localhost/webhook-dispatch", {
        method: "POST",
        headers: { Authorization: "Bearer service-key" },
        body: JSON.stringify({ wait: false, ...body }),
      }),
    );
    assert.equal(response.status, 202);
    return (await response.json()).joined_running_drain as boolean;
  };
}

/** A claimed delivery whose lease is too short to send it: the drain hands it back unsent. */
function expiringDelivery(): ClaimedDelivery {
  return {
    deliveryId: "1",
    leaseToken: crypto.randomUUID(),
    leaseExpiresAt: new Date(),
    eventId: "evt_00000000000000000000000000000001",
    endpointId: crypto.randomUUID(),
    url: "https://hooks.example.com/",
    retryCount: 0,
    payload: "{}",
    secretsVersion: "v",
    allowLoopback: false,
  };
}

const OPTIONS = { batchSize: 10, concurrency: 4, endpointConcurrency: 4, timeBudgetMs: 60_000 };

Deno.test("an idle drain stops through stopDraining and one last claim", async () => {
  const { store, calls } = memoryStore();
  const summary = await drainDueDeliveries(store, OPTIONS);
  assert.equal(summary.stoppedBecause, "idle");
  assert.deepEqual(calls, ["claim", "stop", "claim"]);
});

Deno.test("a drain that took up a wake-up while stopping goes through stopDraining again before it ends", async () => {
  const { store, calls } = memoryStore();
  let looks = 0;
  // The wake-up arrives after the drain's first stopDraining, before its last claim comes back empty.
  const moreWorkAnnounced = () => ++looks === 2;
  await drainDueDeliveries(store, { ...OPTIONS, moreWorkAnnounced });
  assert.deepEqual(calls, ["claim", "stop", "claim", "claim", "stop", "claim"]);
});

Deno.test("a wake-up that joins a background drain after its last look starts another drain", async () => {
  let openGate = () => {};
  const gate = new Promise<void>((resolve) => (openGate = resolve));
  const { store, calls } = memoryStore([[expiringDelivery()]], gate);
  const wakeUp = backgroundHandler(store);

  assert.equal(await wakeUp(), false, "the first wake-up starts a drain");
  const count = (call: string) => calls.filter((c) => c === call).length;
  // The drain hands its one delivery back, finds nothing more, stops, claims a last time and
  // waits for its outcome to be recorded (held by the gate): past its last look for more work.
  await until(() => count("stop") === 1 && count("claim") === 3, "the first drain's last claim");
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(await wakeUp(), true, "a wake-up now joins the running drain");
  openGate();
  await until(() => count("claim") === 5 && count("stop") === 2, "a second drain, run to its end");
});

Deno.test("a background drain that runs out of time asks for another invocation", async () => {
  const { store, calls } = memoryStore(() => [expiringDelivery()]);
  await backgroundHandler(store)({ time_budget_ms: 100 });
  await until(() => calls.includes("request"), "the drain to reach its time budget");
  assert.ok(calls.indexOf("stop") < calls.indexOf("request"), "after it stopped announcing itself");
  assert.equal(calls.filter((call) => call === "request").length, 1);
});

/** Polls until `done()`; fails after 5 s (a hang, not a measurement). */
async function until(done: () => boolean, what: string) {
  for (let waited = 0; !done(); waited += 5) {
    if (waited > 5_000) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * A store of `total` sendable deliveries, claimed at most `perClaim` at a time (to `endpointId` when
 * given); outcomes go to `recordAttempts`. `counts.claimed` tells how many were claimed so far.
 */
function backlogStore(
  total: number,
  recordAttempts: DeliveryStore["recordAttempts"],
  { perClaim = Infinity, endpointId }: { perClaim?: number; endpointId?: string } = {},
) {
  const counts = { claimed: 0 };
  const store: DeliveryStore = {
    claimDueDeliveries: (limit) => {
      const count = Math.min(limit, perClaim, total - counts.claimed);
      const batch = Array.from({ length: count }, (_, i) => ({
        ...expiringDelivery(),
        ...(endpointId ? { endpointId } : {}),
        deliveryId: String(counts.claimed + i + 1),
        leaseExpiresAt: new Date(Date.now() + 60_000),
        url: "http://127.0.0.1:9/hook",
        allowLoopback: true,
      }));
      counts.claimed += count;
      return Promise.resolve(batch);
    },
    signingSecrets: (ids) =>
      Promise.resolve(new Map(ids.map((id) => [id, { version: "v", secrets: [generateEndpointSecret()] }]))),
    recordAttempts,
    stopDraining: () => Promise.resolve(true),
    dispatchSecret: () => Promise.resolve(null),
    requestDispatch: () => Promise.resolve(),
  };
  return { store, counts };
}

Deno.test("a drain stops claiming while a batch of outcomes waits to be recorded", async () => {
  const batchSize = 20;
  const total = 10 * batchSize;
  let recorded = 0;
  let openGate = () => {};
  const gate = new Promise<void>((resolve) => (openGate = resolve));
  // The database does not answer until the gate opens; the endpoint answers at once.
  const { store, counts } = backlogStore(total, async (results) => {
    await gate;
    recorded += results.length;
  });
  const drain = drainDueDeliveries(store, {
    ...OPTIONS,
    batchSize,
    concurrency: 8,
    fetch: () => Promise.resolve(new Response(null, { status: 204 })),
  });
  // Plenty of turns for a drain without the bound to claim all 200 (it sends them at once).
  for (let turn = 0; turn < 200; turn++) await new Promise((resolve) => setTimeout(resolve, 0));
  assert.ok(
    counts.claimed < 2 * batchSize,
    `claimed ${counts.claimed} deliveries with nothing recorded (batch size ${batchSize})`,
  );
  openGate();
  const summary = await drain;
  assert.equal(summary.succeeded, total);
  assert.equal(recorded, total);
});

Deno.test("concurrent drains of one instance share one budget of deliveries and outcomes", async () => {
  const batchSize = 20;
  const total = 10 * batchSize;
  let openGate = () => {};
  const gate = new Promise<void>((resolve) => (openGate = resolve));
  const { store, counts } = backlogStore(total, () => gate);
  const options = {
    ...OPTIONS,
    batchSize,
    concurrency: 8,
    fetch: () => Promise.resolve(new Response(null, { status: 204 })),
  };
  const drains = [drainDueDeliveries(store, options), drainDueDeliveries(store, options)];
  for (let turn = 0; turn < 200; turn++) await new Promise((resolve) => setTimeout(resolve, 0));
  assert.ok(
    counts.claimed < 2 * batchSize,
    `two drains claimed ${counts.claimed} with nothing recorded (batch size ${batchSize})`,
  );
  openGate();
  const summaries = await Promise.all(drains);
  assert.equal(summaries[0].succeeded + summaries[1].succeeded, total);
});

Deno.test("concurrent drains of one instance share its limits of requests in flight", async () => {
  let inFlight = 0;
  let mostInFlight = 0;
  let answer = () => {};
  const answered = new Promise<void>((resolve) => (answer = resolve));
  // Small claims, so that both drains get deliveries to send.
  const { store } = backlogStore(40, () => Promise.resolve(), { perClaim: 10, endpointId: "one endpoint" });
  // The endpoint holds every request until the test lets them all through.
  const fetch = async () => {
    mostInFlight = Math.max(mostInFlight, ++inFlight);
    await answered;
    inFlight--;
    return new Response(null, { status: 204 });
  };
  const options = { ...OPTIONS, batchSize: 40, concurrency: 8, endpointConcurrency: 6, fetch };
  const drains = [drainDueDeliveries(store, options), drainDueDeliveries(store, options)];
  for (let turn = 0; turn < 100; turn++) await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(mostInFlight, 6, "two drains together send one endpoint at most its limit");
  answer();
  const summaries = await Promise.all(drains);
  assert.equal(summaries[0].succeeded + summaries[1].succeeded, 40);
});
