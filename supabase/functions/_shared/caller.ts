// Who is calling a function, checked by the function itself (verify_jwt = false in config.toml):
// the runtime's own check cannot read API keys, refuses asymmetric sessions on older projects,
// and answers without CORS headers, so a browser could not even read its 401. A caller is
//   - the platform (platform-auth.ts): the secret API key in `apikey`, the function's own Vault
//     secret or, while the project has one, the legacy service role key as the bearer token;
//   - a member: a user session in `Authorization: Bearer <jwt>`, signed either with the project's
//     asymmetric keys (ES256 / RS256, verified against <SUPABASE_URL>/auth/v1/.well-known/jwks.json)
//     or with the legacy HS256 secret, while the project has one (Vault `jwt_secret`);
//   - anyone else (no credential, the publishable or anon key, an expired or forged token): 401.
import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  type JWTVerifyGetKey,
} from "npm:jose@6.2.17";
import type { Sql } from "./database.ts";
import type { EdgeEnvironment } from "./environment.ts";
import { HttpError } from "./http.ts";
import { bearerToken, isPlatformRequest } from "./platform-auth.ts";
import { vaultSecret } from "./vault.ts";

export type JwtClaims = Record<string, unknown> & { role: string };

export type Caller =
  | { kind: "member"; userId: string; claims: JwtClaims }
  | { kind: "platform"; claims: JwtClaims };

export type IdentifyCaller = (request: Request) => Promise<Caller>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ASYMMETRIC_ALGORITHMS = ["ES256", "RS256"];
/** The Vault secret holding the legacy HS256 JWT secret, while the project has one. */
export const LEGACY_JWT_SECRET_NAME = "jwt_secret";

export interface CallerSources {
  /** The project's JWKS: the keys its sessions are signed with. */
  jwks: JWTVerifyGetKey;
  /** The legacy HS256 secret, or null once the project has revoked it. */
  legacyJwtSecret: () => Promise<string | null>;
  secretKeys: readonly string[];
  serviceRoleKey?: string;
  /** The function's own platform secret from Vault, if it has one. */
  platformSecret?: () => Promise<string | null>;
}

function unauthorized(message = "A signed-in user's session is required."): HttpError {
  return new HttpError(401, "unauthorized", message);
}

/** Verifies a session JWT by its algorithm; throws 401 for anything not signed by the project. */
async function verifiedClaims(token: string, sources: CallerSources): Promise<Record<string, unknown>> {
  let algorithm: string | undefined;
  try {
    algorithm = decodeProtectedHeader(token).alg;
  } catch {
    throw unauthorized();
  }
  try {
    if (algorithm === "HS256") {
      const secret = await sources.legacyJwtSecret();
      if (secret === null) throw unauthorized("Sessions signed with the legacy JWT secret are no longer accepted.");
      return (await jwtVerify(token, new TextEncoder().encode(secret), { algorithms: ["HS256"] })).payload;
    }
    if (algorithm !== undefined && ASYMMETRIC_ALGORITHMS.includes(algorithm)) {
      return (await jwtVerify(token, sources.jwks, { algorithms: ASYMMETRIC_ALGORITHMS })).payload;
    }
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) throw unauthorized("The session has expired; sign in again.");
    if (error instanceof joseErrors.JOSEError) throw unauthorized();
    throw error;
  }
  throw unauthorized();
}

/**
 * The function's caller check: a member (role authenticated with a user id) or the platform;
 * anyone else is a 401 carrying the usual JSON error (and, through withHttpConventions, CORS).
 */
export function callerIdentifier(sources: CallerSources): IdentifyCaller {
  return async (request) => {
    const platformSecret = sources.platformSecret ? await sources.platformSecret() : null;
    const platform = isPlatformRequest(request, {
      secretKeys: sources.secretKeys,
      serviceRoleKey: sources.serviceRoleKey,
      platformSecrets: [platformSecret],
    });
    if (platform) return { kind: "platform", claims: { role: "service_role" } };
    const token = bearerToken(request);
    if (token === "") throw unauthorized();
    const claims = await verifiedClaims(token, sources);
    if (claims.role === "authenticated" && typeof claims.sub === "string" && UUID.test(claims.sub)) {
      return { kind: "member", userId: claims.sub, claims: { ...claims, role: "authenticated" } };
    }
    if (claims.role === "service_role") {
      throw unauthorized("Only the project's own platform credentials may act as the platform.");
    }
    throw unauthorized();
  };
}

/**
 * The caller check as deployed: the JWKS at SUPABASE_URL, the legacy secret and the function's
 * platform secret (`platformSecretName`) from Vault over `sql`, and the API keys from the runtime.
 */
export function projectCallerIdentifier(
  environment: EdgeEnvironment,
  sql: Sql,
  { platformSecretName }: { platformSecretName?: string } = {},
): IdentifyCaller {
  const legacySecret = vaultSecret(sql, LEGACY_JWT_SECRET_NAME);
  const platformSecret = platformSecretName ? vaultSecret(sql, platformSecretName) : null;
  return callerIdentifier({
    jwks: createRemoteJWKSet(new URL("/auth/v1/.well-known/jwks.json", environment.SUPABASE_URL)),
    legacyJwtSecret: () => legacySecret.get(),
    secretKeys: environment.SUPABASE_SECRET_KEYS,
    serviceRoleKey: environment.SUPABASE_SERVICE_ROLE_KEY,
    platformSecret: platformSecret ? () => platformSecret.get() : undefined,
  });
}
