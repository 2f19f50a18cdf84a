// Recognising the platform (pg_net after commit, pg_cron, an operator) among a function's callers,
// the way hosted Supabase issues credentials: the project's secret API key (`sb_secret_…`) in the
// `apikey` header; a function's own low-power secret from Vault (what the database presents, as
// `Authorization: Bearer <secret>`); and the legacy service role key as a bearer token while the
// project still has it. Comparisons are constant-time so a caller cannot learn a key byte by byte.
import { timingSafeEqual } from "node:crypto";
import { HttpError } from "./http.ts";

export function constantTimeEquals(a: string, b: string): boolean {
  const left = new TextEncoder().encode(a);
  const right = new TextEncoder().encode(b);
  // Compare equal-length buffers even on a length mismatch, so timing does not reveal the length.
  return timingSafeEqual(left.length === right.length ? left : right, right) && left.length === right.length;
}

export interface PlatformCredentials {
  /** SUPABASE_SECRET_KEYS: accepted in the `apikey` header. */
  secretKeys: readonly string[];
  /** SUPABASE_SERVICE_ROLE_KEY, while the project has legacy keys: accepted as the bearer token. */
  serviceRoleKey?: string;
  /** The function's own secrets from Vault (null while unset): accepted as the bearer token. */
  platformSecrets?: readonly (string | null)[];
}

export function bearerToken(request: Request): string {
  const header = request.headers.get("authorization") ?? "";
  return header.startsWith("Bearer ") ? header.slice("Bearer ".length) : "";
}

const matchesAny = (value: string, keys: readonly (string | null | undefined)[]) =>
  value !== "" && keys.some((key) => typeof key === "string" && key !== "" && constantTimeEquals(value, key));

/** Whether the request carries one of the platform's credentials. */
export function isPlatformRequest(request: Request, credentials: PlatformCredentials): boolean {
  return matchesAny(request.headers.get("apikey") ?? "", credentials.secretKeys) ||
    matchesAny(bearerToken(request), [credentials.serviceRoleKey, ...(credentials.platformSecrets ?? [])]);
}

/** Throws 401 unless the request carries one of the platform's credentials. */
export function requirePlatformCaller(request: Request, credentials: PlatformCredentials): void {
  if (!isPlatformRequest(request, credentials)) {
    throw new HttpError(401, "unauthorized", "This function may only be called by the platform.");
  }
}
