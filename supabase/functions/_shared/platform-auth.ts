// Functions that only the platform may drive (pg_net after commit, pg_cron) accept the project's
// service role key. The comparison is constant-time so a caller cannot learn the key byte by byte.
import { timingSafeEqual } from "node:crypto";
import { HttpError } from "./http.ts";

export function constantTimeEquals(a: string, b: string): boolean {
  const left = new TextEncoder().encode(a);
  const right = new TextEncoder().encode(b);
  // Compare equal-length buffers even on a length mismatch, so timing does not reveal the length.
  return timingSafeEqual(left.length === right.length ? left : right, right) && left.length === right.length;
}

/** Throws 401 unless the request carries one of `acceptedKeys` as its bearer token. */
export function requirePlatformCaller(request: Request, acceptedKeys: readonly string[]): void {
  const header = request.headers.get("authorization") ?? "";
  const token = header.startsWith("Bearer ") ? header.slice("Bearer ".length) : "";
  const accepted = acceptedKeys.some((key) => key !== "" && constantTimeEquals(token, key));
  if (!accepted) throw new HttpError(401, "unauthorized", "This function may only be called by the platform.");
}
