// Integration service accounts: admins create, list and revoke them (authz schema functions, as
// the caller); integrators exchange an account's API key for a short-lived token. The key check
// and the token need the platform's view of the database (the key hash, the signing key in Vault),
// so that one operation runs on the function's own connection, never as the caller.
import type { z } from "npm:zod@4.6.7";
import type { Sql } from "../_shared/database.ts";
import { HttpError } from "../_shared/http.ts";
import {
  authenticateServiceAccount,
  loadTokenSigningKey,
  mintServiceAccountToken,
  SERVICE_ACCOUNT_SCOPES,
  type TokenSigningKey,
} from "../_shared/service-accounts.ts";
import type { CreateServiceAccountBody } from "./api.ts";
import { type AdminContext, asAdmin, requireOrgAdmin, type Tx } from "./context.ts";

interface ServiceAccountRow {
  id: string;
  org_id: string;
  name: string;
  scopes: string[];
  key_prefix: string;
  created_by: string | null;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

export function scopeCatalog() {
  return {
    data: SERVICE_ACCOUNT_SCOPES.map((scope) => {
      const [what, access] = scope.split(":");
      return {
        scope,
        description: access === "read"
          ? `Read the organization's ${what}.`
          : `Create and change the organization's ${what} (deleting follows the same rules as for members).`,
      };
    }),
  };
}

async function visibleAccount(tx: Tx, accountId: string): Promise<ServiceAccountRow> {
  const [row] = await tx<ServiceAccountRow[]>`
    select s.id, s.org_id, s.name, s.scopes, s.key_prefix, s.created_by, s.created_at, s.last_used_at, s.revoked_at
      from authz.service_accounts s
     where s.id = ${accountId}`;
  if (!row) throw new HttpError(404, "not_found", "Service account not found.");
  return row;
}

export function listServiceAccounts(context: AdminContext, { org_id }: { org_id: string }) {
  return asAdmin(context, async (tx) => {
    await requireOrgAdmin(tx, org_id);
    const data = await tx<ServiceAccountRow[]>`
      select s.id, s.org_id, s.name, s.scopes, s.key_prefix, s.created_by, s.created_at, s.last_used_at, s.revoked_at
        from authz.service_accounts s
       where s.org_id = ${org_id}
       order by s.created_at desc, s.id`;
    return { data };
  });
}

export function createServiceAccount(context: AdminContext, body: z.output<typeof CreateServiceAccountBody>) {
  return asAdmin(context, async (tx) => {
    const [created] = await tx<{ account_id: string; api_key: string }[]>`
      select c.account_id, c.api_key
        from authz.create_service_account(${body.org_id}, ${body.name}, ${body.scopes}::text[]) c`;
    return { service_account: await visibleAccount(tx, created.account_id), api_key: created.api_key };
  });
}

export function revokeServiceAccount(context: AdminContext, accountId: string) {
  return asAdmin(context, async (tx) => {
    await tx`select authz.revoke_service_account(${accountId})`;
  });
}

/** The exchange: a valid, unrevoked key for a token; anything else is the same 401. */
export async function issueServiceAccountToken(sql: Sql, apiKey: string) {
  const identity = await authenticateServiceAccount(sql, apiKey);
  if (identity === null) {
    throw new HttpError(401, "invalid_api_key", "The API key is not valid, or its service account was revoked.");
  }
  let signingKey: TokenSigningKey;
  try {
    signingKey = await loadTokenSigningKey(sql);
  } catch (error) {
    console.error("webhook-admin: cannot issue service account tokens", error);
    throw new HttpError(503, "service_unavailable", "Service account tokens are not configured for this project.");
  }
  return await mintServiceAccountToken(identity, signingKey);
}
