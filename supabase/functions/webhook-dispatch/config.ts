// webhook-dispatch's configuration, parsed once at start-up. Every knob has a production default;
// the local stack and the benchmarks override some through supabase/functions/.env.
import { z } from "npm:zod@4.6.7";

const integer = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

const DispatchEnvironment = z.object({
  SUPABASE_DB_URL: z.string().min(1),
  SUPABASE_SERVICE_ROLE_KEY: z.string().min(1),
  // {"default": "sb_secret_…"} on projects with the newer API keys; absent on older ones.
  SUPABASE_SECRET_KEYS: z.string().optional().transform((value, context) => {
    if (!value) return [];
    try {
      return Object.values(z.record(z.string(), z.string()).parse(JSON.parse(value)));
    } catch {
      context.addIssue({ code: "custom", message: "must be a JSON object of key names to keys" });
      return z.NEVER;
    }
  }),
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
  WEBHOOK_DISPATCH_DB_POOL_SIZE: integer(1, 64, 4),
});

export type DispatchConfig = z.infer<typeof DispatchEnvironment>;

export function loadDispatchConfig(env: Record<string, string> = Deno.env.toObject()): DispatchConfig {
  const parsed = DispatchEnvironment.safeParse(env);
  if (!parsed.success) {
    throw new Error(`webhook-dispatch is misconfigured: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}
