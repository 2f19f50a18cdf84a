// Input webhook-admin cannot take is a 400 naming the field, never a 500: text PostgreSQL refuses
// (NUL, lone surrogates) wherever it enters (path, query, body), path parameters with malformed
// percent-encoding, and the database's own refusals, whose field comes from the error's COLUMN,
// not from its message. Nothing is written by a refused request.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { HttpError } from "../supabase/functions/_shared/http.ts";
import { translateDatabaseError } from "../supabase/functions/webhook-admin/context.ts";
import { type AdminFixture, callAdmin, callAdminOk, createAdminFixture, type OperationId } from "./_support/admin.ts";
import { connect, integrationTest, stack } from "./_support/stack.ts";

const sql = connect(2);
globalThis.addEventListener("unload", () => void sql.end());

function adminTest(name: string, fn: (fixture: AdminFixture) => Promise<void>): void {
  integrationTest(name, async () => {
    const fixture = await createAdminFixture(sql, "input");
    try {
      await fn(fixture);
    } finally {
      await fixture.remove();
    }
  });
}

const NUL = "\u0000";
const LONE_SURROGATE = "\ud800";

adminTest("text PostgreSQL cannot store is a 400 naming its field in every body that takes text", async (fixture) => {
  const { body: created } = await callAdminOk("createEndpoint", {
    token: fixture.owner.token,
    body: { org_id: fixture.orgId, url: "http://127.0.0.1:9/input" },
  });
  const endpointId = created.endpoint.id;
  const cases: { operationId: OperationId; params?: Record<string, string>; body: unknown; field: string }[] = [
    { operationId: "createEndpoint", body: { org_id: fixture.orgId, url: `https://a.example/${NUL}` }, field: "url" },
    {
      operationId: "createEndpoint",
      body: { org_id: fixture.orgId, url: "https://a.example/", description: `ERP${NUL}` },
      field: "description",
    },
    {
      operationId: "updateEndpoint",
      params: { endpoint_id: endpointId },
      body: { url: `https://a.example/${NUL}` },
      field: "url",
    },
    {
      operationId: "updateEndpoint",
      params: { endpoint_id: endpointId },
      body: { description: `x${LONE_SURROGATE}` },
      field: "description",
    },
    {
      operationId: "disableEndpoint",
      params: { endpoint_id: endpointId },
      body: { reason: `no${NUL}` },
      field: "reason",
    },
    {
      operationId: "createServiceAccount",
      body: { org_id: fixture.orgId, name: `erp${NUL}`, scopes: ["jobs:read"] },
      field: "name",
    },
    {
      operationId: "recoverEndpointDeliveries",
      params: { endpoint_id: endpointId },
      body: { since: `2026-01-01T00:00:00Z${NUL}` },
      field: "since",
    },
    { operationId: "issueServiceAccountToken", body: { api_key: `cjh_sk_${NUL}` }, field: "api_key" },
  ];
  for (const { operationId, params, body, field } of cases) {
    const answer = await callAdmin(operationId, { token: fixture.owner.token, params, body });
    assertEquals([answer.status, answer.body.error.code], [400, "invalid_request"], `${operationId}: ${answer.text}`);
    assertEquals(Object.keys(answer.body.error.details.fieldErrors), [field], `${operationId}: ${answer.text}`);
  }
  const [endpoint] = await sql`select url, description, enabled from webhooks.endpoints where id = ${endpointId}`;
  assertEquals(endpoint, { url: "http://127.0.0.1:9/input", description: "", enabled: true });
  const [{ count }] = await sql`select count(*)::int from webhooks.endpoints where org_id = ${fixture.orgId}`;
  assertEquals(count, 1, "nothing was created");
});

adminTest("text PostgreSQL cannot store is refused in the query and the path too", async (fixture) => {
  const query = await callAdmin("listAuditEntries", {
    token: fixture.owner.token,
    query: { org_id: fixture.orgId, action: `endpoint.created${NUL}` },
  });
  assertEquals([query.status, Object.keys(query.body.error.details.fieldErrors)], [400, ["action"]]);
  assertEquals(query.body.error.message, "The query string is not valid.");
  const path = await callAdmin("getEvent", { token: fixture.owner.token, params: { event_id: `evt_${NUL}` } });
  assertEquals([path.status, Object.keys(path.body.error.details.fieldErrors)], [400, ["event_id"]]);
  assertEquals(path.body.error.message, "The path is not valid.");
});

adminTest("malformed percent-encoding in any path parameter is a 400 naming it, never a 500", async (fixture) => {
  const malformed = ["%", "%E0%A4%A", "%C0%80", "%FF", "%zz", "%00", "%ED%A0%80"];
  const routes: [string, string, string][] = [
    ["GET", "/endpoints/{}", "endpoint_id"],
    ["POST", "/endpoints/{}/rotate-secret", "endpoint_id"],
    ["GET", "/events/{}", "event_id"],
    ["GET", "/deliveries/{}", "delivery_id"],
    ["POST", "/deliveries/{}/resend", "delivery_id"],
    ["DELETE", "/service-accounts/{}", "service_account_id"],
  ];
  for (const [method, path, parameter] of routes) {
    for (const segment of malformed) {
      const url = `${stack.SUPABASE_URL}/functions/v1/webhook-admin${path.replace("{}", segment)}`;
      const response = await fetch(url, { method, headers: { authorization: `Bearer ${fixture.owner.token}` } });
      const body = await response.json();
      assertEquals([response.status, body.error.code], [400, "invalid_request"], `${method} ${url}`);
      assertEquals(Object.keys(body.error.details.fieldErrors), [parameter], `${method} ${url}`);
    }
  }
});

integrationTest("a database refusal's field is its COLUMN, whatever its message says", async () => {
  const [{ id: orgId }] = await sql<{ id: string }[]>`select id from public.organizations order by created_at limit 1`;
  const refusals: [string, string][] = [
    ["url", `select webhooks.create_endpoint('${orgId}', 'https://10.0.0.1/')`],
    ["event_types", `select webhooks.create_endpoint('${orgId}', 'https://hooks.example.com/', '', '{no.such}')`],
    ["scopes", `select authz.create_service_account('${orgId}', 'erp', '{no:such}')`],
  ];
  for (const [column, statement] of refusals) {
    const error = await sql.unsafe(statement).then(() => null, (caught) => caught);
    // A reworded message must not move the error to another field.
    error.message = "reworded";
    const translated = translateDatabaseError(error);
    if (!(translated instanceof HttpError)) throw new Error(`${statement}: not translated: ${error}`);
    assertEquals([translated.status, translated.details], [400, {
      formErrors: [],
      fieldErrors: { [column]: ["reworded"] },
    }]);
  }
});
