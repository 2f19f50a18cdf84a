// Integration service accounts (README, "Integration service accounts"): the scope catalog, and
// the exchange of an account's API key for a short-lived JWT. The token's `sub` is the account's
// own user id and its role `authenticated`, so PostgREST and every function acting as the caller
// apply the same row-level security as for people; the policies read the account's membership on
// every statement, which is why revoking it stops tokens already issued at once.
//
// Tokens are signed with a key PostgREST trusts: the private half of a signing key the operator
// imported into the project (Vault `service_account_signing_key`, a JWK; it is in the project's
// JWKS, so tokens outlive the legacy secret), or, on a project that has not imported one yet, the
// legacy HS256 secret (Vault `jwt_secret`). docs/deploying.md walks the operator through it.
import { importJWK, type JWK, SignJWT } from "npm:jose@6.2.17";
import { z } from "npm:zod@4.6.7";
import { LEGACY_JWT_SECRET_NAME } from "./caller.ts";
import type { Sql } from "./database.ts";

/** The same catalog as authz.scope_catalog() (a test keeps them equal). */
export const SERVICE_ACCOUNT_SCOPES = [
  "jobs:read",
  "jobs:write",
  "clients:read",
  "clients:write",
  "properties:read",
  "properties:write",
  "estimates:read",
  "estimates:write",
  "invoices:read",
  "invoices:write",
  "payments:read",
  "payments:write",
  "inspections:read",
  "inspections:write",
] as const;

export const ServiceAccountScope = z.enum(SERVICE_ACCOUNT_SCOPES);

/** Short enough that a leaked token is soon worthless; revocation does not wait for it anyway. */
export const SERVICE_ACCOUNT_TOKEN_TTL_SECONDS = 900;

const API_KEY = /^cjh_sk_[A-Za-z0-9_-]{43}$/;
const SIGNING_KEY_NAME = "service_account_signing_key";
const TOKEN_ISSUER = "cjh-integrations";
const ASYMMETRIC_ALGORITHMS = ["ES256", "RS256"];

/** What service account tokens are signed with: an imported asymmetric key (with its kid) or the legacy secret. */
export type TokenSigningKey =
  | { alg: "ES256" | "RS256"; kid: string; key: Awaited<ReturnType<typeof importJWK>> }
  | { alg: "HS256"; key: Uint8Array };

export interface ServiceAccountIdentity {
  accountId: string;
  orgId: string;
  scopes: string[];
}

export interface ServiceAccountToken {
  access_token: string;
  token_type: "bearer";
  expires_in: number;
  expires_at: string;
}

/** The account an API key belongs to (recording its use); null for malformed, unknown or revoked keys. */
export async function authenticateServiceAccount(sql: Sql, apiKey: string): Promise<ServiceAccountIdentity | null> {
  if (!API_KEY.test(apiKey)) return null;
  const [row] = await sql<{ account_id: string; org_id: string; scopes: string[] }[]>`
    select a.account_id, a.org_id, a.scopes from authz.authenticate_service_account(${apiKey}) a`;
  return row ? { accountId: row.account_id, orgId: row.org_id, scopes: row.scopes } : null;
}

/**
 * The key service account tokens are signed with, from Vault: the imported signing key (a private
 * ES256 or RS256 JWK with a `kid`) when stored, else the legacy JWT secret. Throws when neither is
 * there or the JWK is not a private signing key.
 */
export async function loadTokenSigningKey(sql: Sql): Promise<TokenSigningKey> {
  const rows = await sql<{ name: string; secret: string }[]>`
    select name, decrypted_secret as secret from vault.decrypted_secrets
     where name in (${SIGNING_KEY_NAME}, ${LEGACY_JWT_SECRET_NAME})`;
  const secrets = new Map(rows.map((row) => [row.name, row.secret]));
  const jwkText = secrets.get(SIGNING_KEY_NAME);
  if (jwkText) {
    const jwk = JSON.parse(jwkText) as JWK;
    const alg = jwk.alg ?? (jwk.kty === "RSA" ? "RS256" : "ES256");
    if (!ASYMMETRIC_ALGORITHMS.includes(alg) || typeof jwk.kid !== "string" || jwk.d === undefined) {
      throw new Error(`the Vault secret ${SIGNING_KEY_NAME} is not a private ES256 or RS256 JWK with a kid`);
    }
    return { alg: alg as "ES256" | "RS256", kid: jwk.kid, key: await importJWK(jwk, alg) };
  }
  const legacySecret = secrets.get(LEGACY_JWT_SECRET_NAME);
  if (legacySecret) return { alg: "HS256", key: new TextEncoder().encode(legacySecret) };
  throw new Error(`neither ${SIGNING_KEY_NAME} nor ${LEGACY_JWT_SECRET_NAME} is in Vault (docs/deploying.md)`);
}

/** A JWT that PostgREST and the functions accept as the account, valid for the TTL. */
export async function mintServiceAccountToken(
  identity: ServiceAccountIdentity,
  signingKey: TokenSigningKey,
  now: Date = new Date(),
): Promise<ServiceAccountToken> {
  const issuedAt = Math.floor(now.getTime() / 1000);
  const expiresAt = issuedAt + SERVICE_ACCOUNT_TOKEN_TTL_SECONDS;
  const accessToken = await new SignJWT({
    role: "authenticated",
    // Informational: authorization always comes from the membership, never from these claims.
    app_metadata: { provider: "service_account", org_id: identity.orgId, scopes: identity.scopes },
    is_anonymous: false,
  })
    .setProtectedHeader(
      signingKey.alg === "HS256"
        ? { alg: "HS256", typ: "JWT" }
        : { alg: signingKey.alg, typ: "JWT", kid: signingKey.kid },
    )
    .setSubject(identity.accountId)
    .setAudience("authenticated")
    .setIssuer(TOKEN_ISSUER)
    .setIssuedAt(issuedAt)
    .setExpirationTime(expiresAt)
    .setJti(crypto.randomUUID())
    .sign(signingKey.key);
  return {
    access_token: accessToken,
    token_type: "bearer",
    expires_in: SERVICE_ACCOUNT_TOKEN_TTL_SECONDS,
    expires_at: new Date(expiresAt * 1000).toISOString(),
  };
}
