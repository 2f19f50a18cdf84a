// Who may call each webhook-admin route, for every route in api.ts: an organization's owner and
// admin get the route's success answer (checked against its response schema); a member, an owner
// of another organization (except for the catalogs, which belong to none), an integration service
// account, the anon key and a request without a JWT are refused. No answer ever carries a secret, except the one that creates or rotates it.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { ROUTES } from "../supabase/functions/webhook-admin/api.ts";
import {
  type AdminFixture,
  type AdminResponse,
  callAdmin,
  callAdminOk,
  type CallOptions,
  createAdminFixture,
  type OperationId,
} from "./_support/admin.ts";
import { connect, eventually, integrationTest, legacyKey, mintJwt, stack, startReceiver } from "./_support/stack.ts";
import { dispatchNow, insertJob, registerEndpoint } from "./_support/webhooks.ts";

const sql = connect(4);
const receiver = startReceiver();
globalThis.addEventListener("unload", () => {
  void receiver.close();
  void sql.end();
});

interface Resources {
  endpointId: string;
  eventId: string;
  deliveryId: number;
  serviceAccountId: string;
}

/** An endpoint with one delivered event, and a service account, all in the fixture's organization. */
async function freshResources(fixture: AdminFixture): Promise<Resources> {
  const owner = { userId: fixture.owner.userId, orgId: fixture.orgId };
  const { endpointId } = await registerEndpoint(sql, owner, `${receiver.url}/access`, ["job.created"]);
  await insertJob(sql, owner, "Access check");
  // Drained now rather than by the commit's wake-up: this test needs some seventy of these, and
  // what it checks is access, not how fast the wake-up path delivers (the delivery tests do).
  await (await dispatchNow()).body?.cancel();
  // Settled first, so that resending it never races the dispatcher still sending it (a 409).
  const delivery = await eventually(async () => {
    const [row] = await sql<{ id: string; event_id: string; status: string }[]>`
      select id, event_id, status from webhooks.deliveries where endpoint_id = ${endpointId}`;
    return row?.status === "succeeded" ? row : undefined;
  }, { what: "the fixture's delivery" });
  const [account] = await sql<{ account_id: string }[]>`
    select account_id from authz.create_service_account(${fixture.orgId}, 'access check', '{jobs:read}')`;
  return {
    endpointId,
    eventId: delivery.event_id,
    deliveryId: Number(delivery.id),
    serviceAccountId: account.account_id,
  };
}

const REQUESTS: Record<
  Exclude<OperationId, "issueServiceAccountToken">,
  (f: AdminFixture, r: Resources) => CallOptions
> = {
  listEventTypes: () => ({}),
  listScopes: () => ({}),
  listEndpoints: (f) => ({ query: { org_id: f.orgId } }),
  createEndpoint: (f) => ({ body: { org_id: f.orgId, url: `${receiver.url}/created` } }),
  getEndpoint: (_f, r) => ({ params: { endpoint_id: r.endpointId } }),
  updateEndpoint: (_f, r) => ({ params: { endpoint_id: r.endpointId }, body: { description: "changed" } }),
  deleteEndpoint: (_f, r) => ({ params: { endpoint_id: r.endpointId } }),
  enableEndpoint: (_f, r) => ({ params: { endpoint_id: r.endpointId } }),
  disableEndpoint: (_f, r) => ({ params: { endpoint_id: r.endpointId }, body: { reason: "access check" } }),
  rotateEndpointSecret: (_f, r) => ({ params: { endpoint_id: r.endpointId } }),
  sendTestEvent: (_f, r) => ({ params: { endpoint_id: r.endpointId } }),
  getEndpointHealth: (_f, r) => ({ params: { endpoint_id: r.endpointId } }),
  recoverEndpointDeliveries: (_f, r) => ({
    params: { endpoint_id: r.endpointId },
    body: { since: new Date(Date.now() - 3_600_000).toISOString() },
  }),
  listEvents: (f) => ({ query: { org_id: f.orgId } }),
  getEvent: (_f, r) => ({ params: { event_id: r.eventId } }),
  listDeliveries: (f) => ({ query: { org_id: f.orgId } }),
  getDelivery: (_f, r) => ({ params: { delivery_id: r.deliveryId } }),
  resendDelivery: (_f, r) => ({ params: { delivery_id: r.deliveryId } }),
  listServiceAccounts: (f) => ({ query: { org_id: f.orgId } }),
  createServiceAccount: (f) => ({ body: { org_id: f.orgId, name: "created", scopes: ["jobs:read"] } }),
  revokeServiceAccount: (_f, r) => ({ params: { service_account_id: r.serviceAccountId } }),
  listAuditEntries: (f) => ({ query: { org_id: f.orgId } }),
};

const ORG_FREE = new Set<OperationId>(["listEventTypes", "listScopes"]);
const ADMIN_ROUTES = ROUTES.filter((route) => route.operationId !== "issueServiceAccountToken");

/** Secrets of the organization that no answer may contain. */
async function vaultIdsOf(orgId: string): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`
    select secret_id::text as id from webhooks.endpoints where org_id = ${orgId}
    union all
    select previous_secret_id::text from webhooks.endpoints where org_id = ${orgId} and previous_secret_id is not null
    union all
    select encode(key_hash, 'hex') from authz.service_accounts where org_id = ${orgId}`;
  return rows.map((row) => row.id);
}

const SIGNING_SECRET = /whsec_[A-Za-z0-9+/]{20,}/;
const API_KEY = /cjh_sk_[A-Za-z0-9_-]{20,}/;

function assertNoSecret(operationId: OperationId, response: AdminResponse, vaultIds: string[]): void {
  const mayCarrySigningSecret = operationId === "createEndpoint" || operationId === "rotateEndpointSecret";
  if (!mayCarrySigningSecret) assert(!SIGNING_SECRET.test(response.text), `${operationId} answered a signing secret`);
  // A key's display prefix (cjh_sk_ and 5 characters) is fine; the key is not.
  if (operationId !== "createServiceAccount") {
    assert(!API_KEY.test(response.text), `${operationId} answered an API key`);
  }
  for (const id of vaultIds) assert(!response.text.includes(id), `${operationId} answered a Vault id or key hash`);
}

integrationTest("every admin route answers an organization's owners and admins, and only them", async () => {
  const fixture = await createAdminFixture(sql, "admin-access");
  try {
    const integration = await freshResources(fixture);
    const integrationToken = await mintJwt({ sub: integration.serviceAccountId });
    for (const route of ADMIN_ROUTES) {
      const request = REQUESTS[route.operationId];
      for (const person of [fixture.owner, fixture.admin]) {
        // Fresh resources for every allowed call, so that a delete or a revoke by the owner
        // does not decide the admin's answer.
        const options = { ...request(fixture, await freshResources(fixture)), token: person.token };
        const response = await callAdminOk(route.operationId, options);
        assertNoSecret(route.operationId, response, await vaultIdsOf(fixture.orgId));
      }
      const resources = await freshResources(fixture);
      const refusals: Array<[string, string | null, number]> = [
        ["a member", fixture.member.token, 403],
        // The catalogs belong to no organization: any organization's owner may read them.
        ["another organization's owner", fixture.outsider.token, ORG_FREE.has(route.operationId) ? 200 : 403],
        ["a service account", integrationToken, 403],
        ...(stack.legacyKeys ? [["the anon key", legacyKey("anon"), 401] as [string, string, number]] : []),
        ["no session (the publishable key alone)", null, 401],
      ];
      for (const [who, token, status] of refusals) {
        const options = { ...request(fixture, resources), token };
        const response = await callAdmin(route.operationId, options);
        assertEquals(response.status, status, `${route.operationId} by ${who}: ${response.text.slice(0, 300)}`);
        assertNoSecret(route.operationId, response, await vaultIdsOf(fixture.orgId));
      }
      // Nothing the refused callers asked for happened.
      const [endpoint] =
        await sql`select description, enabled from webhooks.endpoints where id = ${resources.endpointId}`;
      assertEquals(
        endpoint,
        { description: "test receiver", enabled: true },
        `${route.operationId} changed the endpoint`,
      );
      const [account] =
        await sql`select revoked_at from authz.service_accounts where id = ${resources.serviceAccountId}`;
      assertEquals(account.revoked_at, null, `${route.operationId} revoked the account`);
    }
  } finally {
    await fixture.remove();
  }
});

integrationTest("a request without a session is refused by the function with a 401 a browser can read", async () => {
  const response = await callAdmin("listEventTypes", { token: null });
  assertEquals([response.status, response.body.error.code], [401, "unauthorized"]);
  assertEquals(response.headers.get("access-control-allow-origin"), "*");
});
