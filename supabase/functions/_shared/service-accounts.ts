// Integration service accounts: the scope catalog. (The key exchange and token minting land with
// the service accounts migration.)
import { z } from "npm:zod@4.6.7";

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

// The key exchange below lands with the service accounts migration; until then these refuse.
import type { Sql } from "./database.ts";

export const SERVICE_ACCOUNT_TOKEN_TTL_SECONDS = 900;

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

export function authenticateServiceAccount(_sql: Sql, _apiKey: string): Promise<ServiceAccountIdentity | null> {
  return Promise.resolve(null);
}

export function loadJwtSecret(_sql: Sql): Promise<string> {
  return Promise.reject(new Error("the jwt_secret is not in Vault"));
}

export function mintServiceAccountToken(
  _identity: ServiceAccountIdentity,
  _jwtSecret: string,
  _now?: Date,
): Promise<ServiceAccountToken> {
  return Promise.reject(new Error("not available"));
}
