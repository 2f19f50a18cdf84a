// The edge runtime's environment, parsed once at start-up so a misconfigured deployment fails
// loudly on its first request instead of misbehaving later. The legacy anon / service_role keys
// are optional: a project whose legacy keys are disabled does not get them.
import { z } from "npm:zod@4.6.7";

/** `{"default": "sb_secret_…", …}` as the runtime sets it, read as the list of keys; absent is none. */
const ApiKeys = z.string().optional().transform((value, context) => {
  if (!value) return [];
  try {
    return Object.values(z.record(z.string(), z.string().min(1)).parse(JSON.parse(value)));
  } catch {
    context.addIssue({ code: "custom", message: "must be a JSON object of key names to keys" });
    return z.NEVER;
  }
});

const PostgresUrl = z.string().regex(/^postgres(ql)?:\/\//, "must be a postgres:// connection string");

/**
 * What every function reads: the project URL, the database (SUPABASE_DB_URL is a direct
 * connection on hosted; DB_POOLER_URL, a project secret, names the transaction pooler, port 6543,
 * and is preferred when set), the API keys, and the legacy keys while the project has them.
 */
export const EdgeEnvironment = z.object({
  SUPABASE_URL: z.url(),
  SUPABASE_DB_URL: PostgresUrl,
  DB_POOLER_URL: PostgresUrl.optional(),
  SUPABASE_PUBLISHABLE_KEYS: ApiKeys,
  SUPABASE_SECRET_KEYS: ApiKeys,
  SUPABASE_ANON_KEY: z.string().min(1).optional(),
  SUPABASE_SERVICE_ROLE_KEY: z.string().min(1).optional(),
});

export type EdgeEnvironment = z.infer<typeof EdgeEnvironment>;

/** Parses the environment; throws naming every missing or malformed variable. */
export function loadEdgeEnvironment(env: Record<string, string> = Deno.env.toObject()): EdgeEnvironment {
  const parsed = EdgeEnvironment.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")} (${issue.message})`).join(", ");
    throw new Error(`the edge runtime's environment is incomplete: ${problems}`);
  }
  return parsed.data;
}

/** The connection string functions use: the transaction pooler when configured, else SUPABASE_DB_URL. */
export function databaseUrl(environment: Pick<EdgeEnvironment, "SUPABASE_DB_URL" | "DB_POOLER_URL">): string {
  return environment.DB_POOLER_URL ?? environment.SUPABASE_DB_URL;
}
