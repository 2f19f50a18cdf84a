// webhook-dispatch's configuration, parsed once at start-up. Every knob has a production default;
// the local stack and the benchmarks override some through supabase/functions/.env.
import { z } from "npm:zod@4.6.7";
import { MAX_CONNECTIONS_PER_WORKER } from "../_shared/database.ts";
import { EdgeEnvironment } from "../_shared/environment.ts";

const integer = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

// The database (pooler preferred) and the platform's credentials from the runtime's environment.
const DispatchEnvironment = EdgeEnvironment.pick({
  SUPABASE_DB_URL: true,
  DB_POOLER_URL: true,
  SUPABASE_SECRET_KEYS: true,
  SUPABASE_SERVICE_ROLE_KEY: true,
}).extend({
  /** Deliveries one claim takes at most, and outcomes a worker lets wait unrecorded. */
  WEBHOOK_DISPATCH_BATCH_SIZE: integer(1, 5000, 500),
  /**
   * Requests in flight per worker, all its drains and endpoints together (what one endpoint may
   * hold of them, for every worker together, is the database's settings.endpoint_concurrency).
   */
  WEBHOOK_DISPATCH_CONCURRENCY: integer(1, 4096, 512),
  /**
   * How long one drain claims at most (ms). A waited drain answers within it, well inside the
   * runtime's 150 s request idle timeout.
   */
  WEBHOOK_DISPATCH_TIME_BUDGET_MS: integer(1000, 120_000, 60_000),
  /**
   * The wall clock the edge runtime gives a worker (ms): 150 s on the free plan, 400 s on paid
   * ones. A worker stops starting requests a request's timeout before it ends; a worker on a
   * longer plan learns so from the requests it is still given.
   */
  WEBHOOK_DISPATCH_WORKER_WALL_CLOCK_MS: integer(10_000, 400_000, 150_000),
  /** Background drains one worker runs at once; further wake-ups join them. */
  WEBHOOK_DISPATCH_MAX_BACKGROUND_DRAINS: integer(1, 64, 1),
  /** Database connections per worker. */
  WEBHOOK_DISPATCH_DB_POOL_SIZE: integer(1, MAX_CONNECTIONS_PER_WORKER, 4),
});

export type DispatchConfig = z.infer<typeof DispatchEnvironment>;

export function loadDispatchConfig(env: Record<string, string> = Deno.env.toObject()): DispatchConfig {
  const parsed = DispatchEnvironment.safeParse(env);
  if (!parsed.success) {
    throw new Error(`webhook-dispatch is misconfigured: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}
