// Integration service accounts (README, "Integration service accounts"): the scope catalog, and
// the exchange of an account's API key for a short-lived JWT. The token's `sub` is the account's
// own user id and its role `authenticated`, so PostgREST and every function acting as the caller
// apply the same row-level security as for people; the policies read the account's membership on
// every statement, which is why revoking it stops tokens already issued at once.
import { SignJWT } from "npm:jose@6.2.17";
import { z } from "npm:zod@4.6.7";
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
const JWT_SECRET_NAME = "jwt_secret";
const TOKEN_ISSUER = "cjh-integrations";

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

/** The project's JWT secret, from Vault; throws when the project has not stored it. */
export async function loadJwtSecret(sql: Sql): Promise<string> {
  const [row] = await sql<{ secret: string }[]>`
    select decrypted_secret as secret from vault.decrypted_secrets where name = ${JWT_SECRET_NAME}`;
  if (!row?.secret) throw new Error(`the Vault secret ${JWT_SECRET_NAME} is missing (README, "Deploying")`);
  return row.secret;
}

/** A JWT that PostgREST and the gateway accept as the account, valid for the TTL. */
export async function mintServiceAccountToken(
  identity: ServiceAccountIdentity,
  jwtSecret: string,
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
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(identity.accountId)
    .setAudience("authenticated")
    .setIssuer(TOKEN_ISSUER)
    .setIssuedAt(issuedAt)
    .setExpirationTime(expiresAt)
    .setJti(crypto.randomUUID())
    .sign(new TextEncoder().encode(jwtSecret));
  return {
    access_token: accessToken,
    token_type: "bearer",
    expires_in: SERVICE_ACCOUNT_TOKEN_TTL_SECONDS,
    expires_at: new Date(expiresAt * 1000).toISOString(),
  };
}
