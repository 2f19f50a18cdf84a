// mapbox-geocode's own configuration (project secrets, `supabase secrets set`), parsed once at
// start-up beside the edge runtime's environment. Nothing here is secret: the Mapbox token is in
// Vault, under the name given here.
import { z } from "npm:zod@4.6.7";
import { type EdgeEnvironment, loadEdgeEnvironment } from "../_shared/environment.ts";

/** Exported so docs/rate-limits.md can be checked against the defaults. */
export const GeocodeSettings = z.object({
  /** Where the Mapbox SDK sends requests; tests and the local stack point it at a stand-in. */
  MAPBOX_API_ORIGIN: z.url({ protocol: /^https?$/ }).default("https://api.mapbox.com")
    .transform((origin) => origin.replace(/\/+$/, "")),
  /** How long one upstream call may take before the request fails with geocoding_unavailable. */
  MAPBOX_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
  /** The Vault secret holding the token; only names starting with mapbox_ can be read. */
  MAPBOX_TOKEN_SECRET_NAME: z.string().regex(/^mapbox_[a-z0-9_]+$/).default("mapbox_access_token"),
});

export type GeocodeConfig = z.infer<typeof GeocodeSettings> & { edge: EdgeEnvironment };

export function loadGeocodeConfig(env: Record<string, string> = Deno.env.toObject()): GeocodeConfig {
  const edge = loadEdgeEnvironment(env);
  const parsed = GeocodeSettings.safeParse(env);
  if (!parsed.success) {
    throw new Error(`mapbox-geocode is misconfigured: ${z.prettifyError(parsed.error)}`);
  }
  return { ...parsed.data, edge };
}
