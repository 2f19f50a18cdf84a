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
  /** Deliveries claimed per round trip, and what one instance's drains queue or send at most together. */
  WEBHOOK_DISPATCH_BATCH_SIZE: integer(1, 5000, 500),
  /** Requests in flight per function instance (all its drains together), all endpoints together. */
  WEBHOOK_DISPATCH_CONCURRENCY: integer(1, 1024, 128),
  /** Requests in flight per function instance (all its drains together) to any one endpoint. */
  WEBHOOK_DISPATCH_ENDPOINT_CONCURRENCY: integer(1, 1024, 64),
  /** How long one invocation keeps claiming work; hosted functions stop at 150 s (free) / 400 s. */
  WEBHOOK_DISPATCH_TIME_BUDGET_MS: integer(1000, 350_000, 60_000),
  /** Background drains one function instance runs at once; further wake-ups join them. */
  WEBHOOK_DISPATCH_MAX_BACKGROUND_DRAINS: integer(1, 64, 2),
  /** Database connections per function instance. */
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
