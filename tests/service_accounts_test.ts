// Integration service accounts end to end: an admin creates a jobs:read account through
// webhook-admin, the integrator exchanges its key for a token with supabase-js, and the token is
// used the way PostgREST uses it. It reads its organization's jobs and nothing else, cannot write,
// and stops working the moment the account is revoked, token and key alike.
import { deepStrictEqual as assertEquals, ok as assert, rejects as assertRejects } from "node:assert/strict";
import { createClient } from "npm:@supabase/supabase-js@2.119.0";
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "npm:jose@6.2.17";
import {
  loadTokenSigningKey,
  mintServiceAccountToken,
  SERVICE_ACCOUNT_SCOPES,
  SERVICE_ACCOUNT_TOKEN_TTL_SECONDS,
} from "../supabase/functions/_shared/service-accounts.ts";
import { type AdminFixture, callAdmin, callAdminOk, createAdminFixture } from "./_support/admin.ts";
import { asPostgrest } from "./_support/postgrest.ts";
import { asUser, connect, integrationTest, mintJwt, signingKeys, stack } from "./_support/stack.ts";
import { insertJob } from "./_support/webhooks.ts";

const sql = connect(4);
const projectJwks = createRemoteJWKSet(new URL("/auth/v1/.well-known/jwks.json", stack.SUPABASE_URL));
globalThis.addEventListener("unload", () => void sql.end());

const anonClient = createClient(stack.SUPABASE_URL, stack.publishableKey, {
  auth: { persistSession: false, autoRefreshToken: false },
});

/** An organization with a job and an invoice, and another organization with a job. */
async function tenantWithData(label: string): Promise<AdminFixture> {
  const fixture = await createAdminFixture(sql, label);
  await insertJob(sql, { userId: fixture.owner.userId, orgId: fixture.orgId }, "Ours");
  await insertJob(sql, { userId: fixture.outsider.userId, orgId: fixture.outsider.orgId }, "Theirs");
  await asUser(sql, fixture.owner.userId, async (tx) => {
    const [client] =
      await tx`insert into public.clients (org_id, name) values (${fixture.orgId}, 'Client') returning id`;
    await tx`insert into public.invoices (org_id, client_id, total, status) values (${fixture.orgId}, ${client.id}, 100, 'open')`;
  });
  return fixture;
}

async function createAccount(fixture: AdminFixture, scopes: string[]) {
  const { body } = await callAdminOk("createServiceAccount", {
    token: fixture.admin.token,
    body: { org_id: fixture.orgId, name: "ERP sync", scopes },
  });
  return body as { service_account: { id: string }; api_key: string };
}

async function exchange(apiKey: string) {
  return await anonClient.functions.invoke("webhook-admin/service-accounts/token", { body: { api_key: apiKey } });
}

const readJobs = (token: string) =>
  asPostgrest(sql, token, { method: "GET", path: "/jobs" }, (tx) => tx`select org_id, title from public.jobs`);

integrationTest(
  "a jobs:read account reads its organization's jobs through the REST API, and nothing else",
  async () => {
    const fixture = await tenantWithData("accounts-read");
    try {
      const { service_account, api_key } = await createAccount(fixture, ["jobs:read"]);
      assert(/^cjh_sk_[A-Za-z0-9_-]{43}$/.test(api_key));

      const { data: token, error } = await exchange(api_key);
      assertEquals(error, null);
      assertEquals([token.token_type, token.expires_in], ["bearer", SERVICE_ACCOUNT_TOKEN_TTL_SECONDS]);
      // Signed with the imported key, which the project's JWKS lists: it needs no legacy secret.
      const { payload, protectedHeader } = await jwtVerify(token.access_token, projectJwks, {
        audience: "authenticated",
      });
      assertEquals([protectedHeader.alg, protectedHeader.kid], ["ES256", signingKeys.service_accounts.kid]);
      assertEquals([payload.sub, payload.role], [service_account.id, "authenticated"]);
      assertEquals(payload.exp! - payload.iat!, SERVICE_ACCOUNT_TOKEN_TTL_SECONDS);

      const jobs = await readJobs(token.access_token);
      assertEquals(jobs, { status: 200, rows: [{ org_id: fixture.orgId, title: "Ours" }] });

      const invoices = await asPostgrest(
        sql,
        token.access_token,
        { method: "GET", path: "/invoices" },
        (tx) => tx`select id from public.invoices`,
      );
      assertEquals(invoices, { status: 200, rows: [] });

      const insert = await asPostgrest(
        sql,
        token.access_token,
        { method: "POST", path: "/jobs" },
        (tx) => tx`insert into public.jobs (org_id, title) values (${fixture.orgId}, 'Injected')`,
      );
      assertEquals(insert.status, 403);
      const update = await asPostgrest(
        sql,
        token.access_token,
        { method: "PATCH", path: "/jobs" },
        (tx) => tx`update public.jobs set title = 'Changed' returning id`,
      );
      assertEquals(update, { status: 200, rows: [] });

      const { body } = await callAdminOk("listServiceAccounts", {
        token: fixture.owner.token,
        query: { org_id: fixture.orgId },
      });
      assertEquals(body.data.length, 1);
      assert(body.data[0].last_used_at !== null, "the exchange is recorded as a use");
      assertEquals(body.data[0].key_prefix, api_key.slice(0, 12));
      assert(!JSON.stringify(body).includes(api_key));
    } finally {
      await fixture.remove();
    }
  },
);

integrationTest("revoking an account stops its unexpired token at once, and its key", async () => {
  const fixture = await tenantWithData("accounts-revoke");
  try {
    const { service_account, api_key } = await createAccount(fixture, ["jobs:read", "jobs:write"]);
    const { data: token } = await exchange(api_key);
    assertEquals((await readJobs(token.access_token)).status, 200);

    await callAdminOk("revokeServiceAccount", {
      token: fixture.owner.token,
      params: { service_account_id: service_account.id },
    });
    // The token was issued moments ago for 15 minutes: whatever it can no longer reach is revocation's doing.
    assertEquals(await readJobs(token.access_token), { status: 200, rows: [] });
    const insert = await asPostgrest(
      sql,
      token.access_token,
      { method: "POST", path: "/jobs" },
      (tx) => tx`insert into public.jobs (org_id, title) values (${fixture.orgId}, 'After revocation')`,
    );
    assertEquals(insert.status, 403);

    const refused = await callAdmin("issueServiceAccountToken", { body: { api_key } });
    assertEquals([refused.status, refused.body.error.code], [401, "invalid_api_key"]);
    const listed = await callAdminOk("listServiceAccounts", {
      token: fixture.owner.token,
      query: { org_id: fixture.orgId },
    });
    assert(listed.body.data[0].revoked_at !== null);
  } finally {
    await fixture.remove();
  }
});

integrationTest("the token's own claims grant nothing: scopes come from the account's membership", async () => {
  const fixture = await tenantWithData("accounts-claims");
  try {
    const { service_account } = await createAccount(fixture, ["jobs:read"]);
    const forged = await mintJwt({
      sub: service_account.id,
      app_metadata: { provider: "service_account", org_id: fixture.orgId, scopes: ["invoices:read"] },
    });
    const invoices = await asPostgrest(
      sql,
      forged,
      { method: "GET", path: "/invoices" },
      (tx) => tx`select id from public.invoices`,
    );
    assertEquals(invoices, { status: 200, rows: [] });
  } finally {
    await fixture.remove();
  }
});

integrationTest("malformed, unknown and missing keys are refused without saying which", async () => {
  for (const api_key of ["nope", `cjh_sk_${"A".repeat(43)}`]) {
    const response = await callAdmin("issueServiceAccountToken", { body: { api_key } });
    assertEquals([response.status, response.body.error.code], [401, "invalid_api_key"]);
  }
  const missing = await callAdmin("issueServiceAccountToken", { body: {} });
  assertEquals([missing.status, Object.keys(missing.body.error.details.fieldErrors)], [400, ["api_key"]]);
  const noJwt = await callAdmin("issueServiceAccountToken", { body: { api_key: "x" }, token: null });
  assertEquals(noJwt.status, 401);
});

integrationTest("creating an account refuses unknown scopes and blank names by field", async () => {
  const fixture = await createAdminFixture(sql, "accounts-invalid");
  try {
    const response = await callAdmin("createServiceAccount", {
      token: fixture.owner.token,
      body: { org_id: fixture.orgId, name: " ", scopes: ["jobs:delete"] },
    });
    assertEquals(response.status, 400);
    assertEquals(Object.keys(response.body.error.details.fieldErrors).sort(), ["name", "scopes"]);
    const none = await callAdmin("createServiceAccount", {
      token: fixture.owner.token,
      body: { org_id: fixture.orgId, name: "No scopes", scopes: [] },
    });
    assertEquals(none.body.error.details.fieldErrors.scopes, ["give at least one scope"]);
    const [{ count }] = await sql`select count(*)::int from authz.service_accounts where org_id = ${fixture.orgId}`;
    assertEquals(count, 0);
  } finally {
    await fixture.remove();
  }
});

integrationTest("the scope catalog is the same in the database, the function and the API", async () => {
  const [{ scopes }] = await sql`select array(select authz.scope_catalog()) as scopes`;
  assertEquals(scopes, [...SERVICE_ACCOUNT_SCOPES]);
  const fixture = await createAdminFixture(sql, "accounts-catalog");
  try {
    const { body } = await callAdminOk("listScopes", { token: fixture.owner.token });
    assertEquals(body.data.map((entry: { scope: string }) => entry.scope), [...SERVICE_ACCOUNT_SCOPES]);
  } finally {
    await fixture.remove();
  }
});

/** A stand-in for the function's pool that answers the Vault query with `secrets`. */
function vaultWith(secrets: Record<string, string>) {
  return (() => Promise.resolve(Object.entries(secrets).map(([name, secret]) => ({ name, secret })))) as never;
}

Deno.test("tokens are signed with the imported key when Vault has it, else with the legacy secret, else not at all", async () => {
  const identity = { accountId: crypto.randomUUID(), orgId: crypto.randomUUID(), scopes: ["jobs:read"] };
  const legacySecret = "a-legacy-jwt-secret-of-at-least-32-characters";
  const both = await loadTokenSigningKey(vaultWith({
    service_account_signing_key: JSON.stringify(signingKeys.service_accounts),
    jwt_secret: legacySecret,
  }));
  const asymmetric = await mintServiceAccountToken(identity, both);
  assertEquals(decodeProtectedHeader(asymmetric.access_token).kid, signingKeys.service_accounts.kid);

  const legacyOnly = await loadTokenSigningKey(vaultWith({ jwt_secret: legacySecret }));
  const legacy = await mintServiceAccountToken(identity, legacyOnly);
  const { payload } = await jwtVerify(legacy.access_token, new TextEncoder().encode(legacySecret));
  assertEquals(payload.sub, identity.accountId);

  await assertRejects(() => loadTokenSigningKey(vaultWith({})), /service_account_signing_key/);
  const { d: _private, ...publicOnly } = signingKeys.service_accounts;
  await assertRejects(
    () => loadTokenSigningKey(vaultWith({ service_account_signing_key: JSON.stringify(publicOnly) })),
    /private ES256 or RS256 JWK/,
  );
});
