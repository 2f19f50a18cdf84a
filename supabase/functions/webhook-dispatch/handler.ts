// The HTTP side of webhook-dispatch: who may drive it, what a request asks for, and how drains
// run. The scheduler (pg_net, the moment work waits and no drain runs) and a drain handing over
// ask for a background drain ("wait": false) and get 202 at once; an operator or a benchmark can
// wait for the drain's summary.
import { z } from "npm:zod@4.6.7";
import { HttpError, jsonResponse, parseJson } from "../_shared/http.ts";
import { type PlatformCredentials, requirePlatformCaller } from "../_shared/platform-auth.ts";
import { WebhookSigner } from "../_shared/signing.ts";
import { DestinationGuard } from "../_shared/ssrf.ts";
import { PinnedHttpClient } from "../_shared/pinned-http.ts";
import { WorkerCapacity } from "./capacity.ts";
import type { DispatchConfig } from "./config.ts";
import { DatabaseClock } from "./database-clock.ts";
import { type DrainContext, drainDueDeliveries } from "./drain.ts";
import { SigningSecretCache } from "./signing-secrets.ts";
import type { DeliveryStore } from "./store.ts";
import { WorkerLimits } from "./worker-limits.ts";

/** The request body (all optional). Exported for the OpenAPI document. */
export const DispatchRequest = z.object({
  reason: z.string().max(100).optional(),
  wait: z.boolean().default(true),
  time_budget_ms: z.number().int().min(100).max(120_000).optional(),
}).strict();

/** The answer to `wait: false` (202): a background drain started, or one already running takes the work. */
export const DispatchAccepted = z.object({
  accepted: z.literal(true),
  joined_running_drain: z.boolean().describe("true: a drain already running picks the work up"),
});

/** The answer to `wait: true` (200): what the drain did. */
export const DispatchSummary = z.object({
  claimed: z.number().int(),
  succeeded: z.number().int(),
  failed: z.number().int(),
  released: z.number().int().describe("Claimed but handed back unattempted (out of time budget or lease)"),
  duration_ms: z.number(),
  stopped_because: z.enum(["idle", "time_budget", "worker_limit"]).describe(
    "idle: nothing was due for a moment; time_budget: the drain's budget ended; worker_limit: the " +
      "worker is near an edge-runtime limit (a fresh invocation carries on)",
  ),
});

/** The Vault dispatch secret is read at most this often (it changes only when an operator rotates it). */
const DISPATCH_SECRET_TTL_MS = 60_000;

declare const EdgeRuntime: { waitUntil(promise: Promise<unknown>): void } | undefined;

/** What one worker's drains share, from its configuration (tests replace pieces). */
export function dispatchWorker(
  config: DispatchConfig,
  store: DeliveryStore,
  overrides: Partial<DrainContext> = {},
): DrainContext {
  const guards = new Map<boolean, DestinationGuard>();
  return {
    store,
    capacity: new WorkerCapacity(config.WEBHOOK_DISPATCH_CONCURRENCY, config.WEBHOOK_DISPATCH_BATCH_SIZE),
    limits: new WorkerLimits(config.WEBHOOK_DISPATCH_WORKER_WALL_CLOCK_MS),
    clock: new DatabaseClock(),
    secrets: new SigningSecretCache(),
    signer: new WebhookSigner(),
    post: new PinnedHttpClient().request,
    guardFor(allowLoopback) {
      let guard = guards.get(allowLoopback);
      if (!guard) guards.set(allowLoopback, guard = new DestinationGuard({ allowLoopback }));
      return guard;
    },
    ...overrides,
  };
}

export function dispatchHandler(config: DispatchConfig, worker: DrainContext) {
  const { store, limits } = worker;
  let dispatchSecret: { value: string | null; readAt: number } | null = null;
  let backgroundDrains = 0;

  const platformCredentials = async (forceRefresh: boolean): Promise<PlatformCredentials> => {
    if (forceRefresh || !dispatchSecret || Date.now() - dispatchSecret.readAt > DISPATCH_SECRET_TTL_MS) {
      dispatchSecret = { value: await store.dispatchSecret(), readAt: Date.now() };
    }
    return {
      secretKeys: config.SUPABASE_SECRET_KEYS,
      serviceRoleKey: config.SUPABASE_SERVICE_ROLE_KEY,
      platformSecrets: [dispatchSecret.value],
    };
  };

  const authorize = async (request: Request) => {
    try {
      requirePlatformCaller(request, await platformCredentials(false));
    } catch (error) {
      // A rotated dispatch secret is picked up at once, not after the cache expires.
      if (!(error instanceof HttpError) || Date.now() - (dispatchSecret?.readAt ?? 0) < 5_000) throw error;
      requirePlatformCaller(request, await platformCredentials(true));
    }
  };

  const timeBudget = (requested?: number) =>
    Math.min(requested ?? config.WEBHOOK_DISPATCH_TIME_BUDGET_MS, config.WEBHOOK_DISPATCH_TIME_BUDGET_MS);

  const drainInBackground = async (timeBudgetMs?: number) => {
    backgroundDrains++;
    try {
      // A background drain hands over to a fresh invocation itself when it stops short of idle.
      await drainDueDeliveries(worker, { timeBudgetMs: timeBudget(timeBudgetMs), background: true });
    } catch (error) {
      console.error("webhook-dispatch: background drain failed; the scheduler wakes another", error);
    } finally {
      backgroundDrains--;
    }
  };

  return async (request: Request): Promise<Response> => {
    limits.noteRequest();
    if (request.method !== "POST") {
      throw new HttpError(405, "method_not_allowed", "Use POST.", undefined, { Allow: "POST, OPTIONS" });
    }
    await authorize(request);
    const raw = await request.text();
    const parsed = DispatchRequest.safeParse(raw.trim() === "" ? {} : parseJson(raw));
    if (!parsed.success) {
      throw new HttpError(400, "invalid_request", "The request body is not valid.", z.flattenError(parsed.error));
    }
    const { wait, time_budget_ms: timeBudgetMs } = parsed.data;

    if (!wait) {
      // A worker the runtime is about to stop starts nothing more; the scheduler asks again.
      if (backgroundDrains >= config.WEBHOOK_DISPATCH_MAX_BACKGROUND_DRAINS || limits.stopReason() !== null) {
        const joined: z.infer<typeof DispatchAccepted> = { accepted: true, joined_running_drain: true };
        return jsonResponse(joined, 202);
      }
      const drain = drainInBackground(timeBudgetMs);
      if (typeof EdgeRuntime !== "undefined") EdgeRuntime.waitUntil(drain);
      const started: z.infer<typeof DispatchAccepted> = { accepted: true, joined_running_drain: false };
      return jsonResponse(started, 202);
    }

    const summary = await drainDueDeliveries(worker, { timeBudgetMs: timeBudget(timeBudgetMs) });
    const answer: z.infer<typeof DispatchSummary> = {
      claimed: summary.claimed,
      succeeded: summary.succeeded,
      failed: summary.failed,
      released: summary.released,
      duration_ms: summary.durationMs,
      stopped_because: summary.stoppedBecause,
    };
    return jsonResponse(answer);
  };
}
