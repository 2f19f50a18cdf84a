// The HTTP side of webhook-dispatch: who may drive it, what a request asks for, and how drains
// run. pg_net (after commit) and pg_cron (every minute) ask for a background drain ("wait": false)
// and get 202 at once; an operator or a benchmark can wait for the drain's summary.
import { z } from "npm:zod@4.6.7";
import { HttpError, jsonResponse, parseJson } from "../_shared/http.ts";
import { type PlatformCredentials, requirePlatformCaller } from "../_shared/platform-auth.ts";
import type { DispatchConfig } from "./config.ts";
import { drainDueDeliveries, type DrainOptions } from "./dispatcher.ts";
import type { DeliveryStore } from "./store.ts";

/** The request body (all optional). Exported for the OpenAPI document. */
export const DispatchRequest = z.object({
  reason: z.string().max(100).optional(),
  wait: z.boolean().default(true),
  time_budget_ms: z.number().int().min(100).max(350_000).optional(),
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
  stopped_because: z.enum(["idle", "time_budget"]),
});

/** The Vault dispatch secret is read at most this often (it changes only when an operator rotates it). */
const DISPATCH_SECRET_TTL_MS = 60_000;

declare const EdgeRuntime: { waitUntil(promise: Promise<unknown>): void } | undefined;

export function dispatchHandler(config: DispatchConfig, store: DeliveryStore) {
  let dispatchSecret: { value: string | null; readAt: number } | null = null;
  let backgroundDrains = 0;
  let wakeUpsWhileBusy = false;

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

  const drainOptions = (timeBudgetMs?: number): DrainOptions => ({
    batchSize: config.WEBHOOK_DISPATCH_BATCH_SIZE,
    concurrency: config.WEBHOOK_DISPATCH_CONCURRENCY,
    endpointConcurrency: config.WEBHOOK_DISPATCH_ENDPOINT_CONCURRENCY,
    timeBudgetMs: Math.min(
      timeBudgetMs ?? config.WEBHOOK_DISPATCH_TIME_BUDGET_MS,
      config.WEBHOOK_DISPATCH_TIME_BUDGET_MS,
    ),
  });

  const drainInBackground = async (timeBudgetMs?: number) => {
    backgroundDrains++;
    try {
      const summary = await drainDueDeliveries(store, {
        ...drainOptions(timeBudgetMs),
        moreWorkAnnounced: () => {
          const announced = wakeUpsWhileBusy;
          wakeUpsWhileBusy = false;
          return announced;
        },
      });
      // Out of time with work left (or writers that counted on this drain): a fresh invocation
      // carries on now rather than at the next minute's pg_cron wake-up.
      if (summary.stoppedBecause === "time_budget") await store.requestDispatch("continue after time budget");
    } catch (error) {
      console.error("webhook-dispatch: background drain failed; the next wake-up retries", error);
    } finally {
      backgroundDrains--;
      // A wake-up that joined this drain after its last look would otherwise wait for pg_cron.
      if (wakeUpsWhileBusy && backgroundDrains === 0) {
        wakeUpsWhileBusy = false;
        startBackgroundDrain();
      }
    }
  };
  const startBackgroundDrain = (timeBudgetMs?: number) => {
    const drain = drainInBackground(timeBudgetMs);
    if (typeof EdgeRuntime !== "undefined") EdgeRuntime.waitUntil(drain);
  };

  return async (request: Request): Promise<Response> => {
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
      // Wake-ups arrive once per committing transaction; running drains absorb them.
      if (backgroundDrains >= config.WEBHOOK_DISPATCH_MAX_BACKGROUND_DRAINS) {
        wakeUpsWhileBusy = true;
        const joined: z.infer<typeof DispatchAccepted> = { accepted: true, joined_running_drain: true };
        return jsonResponse(joined, 202);
      }
      startBackgroundDrain(timeBudgetMs);
      const started: z.infer<typeof DispatchAccepted> = { accepted: true, joined_running_drain: false };
      return jsonResponse(started, 202);
    }

    const summary = await drainDueDeliveries(store, drainOptions(timeBudgetMs));
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
