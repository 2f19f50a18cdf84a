// The edge runtime's environment, parsed once at start-up so a misconfigured deployment fails
// loudly on its first request instead of misbehaving later.
import { z } from "npm:zod@4.6.7";

const EdgeEnvironment = z.object({
  SUPABASE_URL: z.url(),
  SUPABASE_ANON_KEY: z.string().min(1),
  SUPABASE_SERVICE_ROLE_KEY: z.string().min(1),
  SUPABASE_DB_URL: z.string().min(1),
});

export type EdgeEnvironment = z.infer<typeof EdgeEnvironment>;

export function loadEdgeEnvironment(env: Record<string, string> = Deno.env.toObject()): EdgeEnvironment {
  const parsed = EdgeEnvironment.safeParse(env);
  if (!parsed.success) {
    const missing = parsed.error.issues.map((issue) => issue.path.join(".")).join(", ");
    throw new Error(`the edge runtime's environment is incomplete: ${missing}`);
  }
  return parsed.data;
}
