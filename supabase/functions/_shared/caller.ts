// Who is calling a function that runs with verify_jwt = true. The gateway (the edge runtime's, or
// local/gateway.ts) has already checked the JWT's signature and expiry against the project's secret
// before the request reaches the function, and the runtime does not give functions that secret, so
// the function reads the claims of the verified token without verifying it again. That makes
// `verify_jwt = true` in config.toml a security requirement for every function that uses this.
//
// The service role's JWT grants everything, so a token claiming that role must also be the
// project's service role key itself (constant-time comparison), not merely a signed JWT saying so.
import { decodeJwt } from "npm:jose@6.2.17";
import { HttpError } from "./http.ts";
import { constantTimeEquals } from "./platform-auth.ts";

export type JwtClaims = Record<string, unknown> & { role: string };

export type Caller =
  | { kind: "member"; userId: string; claims: JwtClaims }
  | { kind: "platform"; claims: JwtClaims };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function bearerToken(request: Request): string {
  const header = request.headers.get("authorization") ?? "";
  return header.startsWith("Bearer ") ? header.slice("Bearer ".length) : "";
}

/**
 * The signed-in user (role authenticated with a user id) or the platform (the service role key);
 * anyone else, including the anon key, is a 401.
 */
export function identifyCaller(request: Request, serviceRoleKey: string): Caller {
  const token = bearerToken(request);
  let claims: Record<string, unknown>;
  try {
    claims = decodeJwt(token);
  } catch {
    throw new HttpError(401, "unauthorized", "A signed-in user's JWT is required.");
  }
  if (claims.role === "service_role") {
    if (!constantTimeEquals(token, serviceRoleKey)) {
      throw new HttpError(401, "unauthorized", "Only the project's service role key may act as the platform.");
    }
    return { kind: "platform", claims: { ...claims, role: "service_role" } };
  }
  if (claims.role === "authenticated" && typeof claims.sub === "string" && UUID.test(claims.sub)) {
    return { kind: "member", userId: claims.sub, claims: { ...claims, role: "authenticated" } };
  }
  throw new HttpError(401, "unauthorized", "A signed-in user's JWT is required.");
}
