// webhook-admin's behaviour through the real gateway (and supabase-js where the React client would
// use it): validation with field details, stable cursor pagination, resend and recovery delivering
// exactly once, test events, enable/disable, health, the audit trail and the event catalog.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { createClient } from "npm:@supabase/supabase-js@2.119.0";
import { EVENT_CATALOG, EVENT_TYPES } from "../supabase/functions/_shared/events.ts";
import { type AdminFixture, callAdmin, callAdminOk, createAdminFixture } from "./_support/admin.ts";
import { connect, eventually, integrationTest, type ReceivedRequest, stack, startReceiver } from "./_support/stack.ts";
import { insertJob } from "./_support/webhooks.ts";

const sql = connect(4);
globalThis.addEventListener("unload", () => void sql.end());

/** A test with its own organization (owner, admin, member, outsider), removed afterwards. */
function adminTest(name: string, fn: (fixture: AdminFixture) => Promise<void>): void {
  integrationTest(name, async () => {
    const fixture = await createAdminFixture(sql, "admin");
    try {
      await fn(fixture);
    } finally {
      await fixture.remove();
    }
  });
}

async function createEndpoint(fixture: AdminFixture, url: string, eventTypes: string[] = ["job.created"]) {
  const { body } = await callAdminOk("createEndpoint", {
    token: fixture.owner.token,
    body: { org_id: fixture.orgId, url, event_types: eventTypes },
  });
  return body as { endpoint: { id: string }; signing_secret: string };
}

function owner(fixture: AdminFixture) {
  return { userId: fixture.owner.userId, orgId: fixture.orgId };
}

function requestsFor(requests: ReceivedRequest[], webhookId: string): ReceivedRequest[] {
  return requests.filter((request) => request.headers.get("webhook-id") === webhookId);
}

async function deliveryStatus(deliveryId: number) {
  const [row] = await sql<{ status: string; attempt_count: number }[]>`
    select status, attempt_count from webhooks.deliveries where id = ${deliveryId}`;
  return row;
}

adminTest("the React client creates an endpoint with functions.invoke and gets its secret once", async (fixture) => {
  const receiver = startReceiver();
  try {
    const supabase = createClient(stack.SUPABASE_URL, stack.publishableKey, {
      global: { headers: { Authorization: `Bearer ${fixture.admin.token}` } },
      auth: { persistSession: false, autoRefreshToken: false },
    });
    const { data, error } = await supabase.functions.invoke("webhook-admin/endpoints", {
      method: "POST",
      body: { org_id: fixture.orgId, url: `${receiver.url}/hook`, description: "ERP" },
    });
    assertEquals(error, null);
    assert(/^whsec_[A-Za-z0-9+/]{43}=$/.test(data.signing_secret));
    assertEquals(data.endpoint.event_types, []);
    assertEquals(data.endpoint.created_by, fixture.admin.userId);

    const listed = await supabase.functions.invoke(`webhook-admin/endpoints?org_id=${fixture.orgId}`, {
      method: "GET",
    });
    assertEquals(listed.data.data.map((endpoint: { id: string }) => endpoint.id), [data.endpoint.id]);
    assert(!JSON.stringify(listed.data).includes("whsec_"));
  } finally {
    await receiver.close();
  }
});

adminTest("invalid requests are 400s that name each bad field, and change nothing", async (fixture) => {
  const token = fixture.owner.token;
  const bad = await callAdmin("createEndpoint", {
    token,
    body: { url: "ftp://example.com", event_types: ["job.created", "no.such"], extra: 1 },
  });
  assertEquals(bad.status, 400);
  assertEquals(bad.body.error.code, "invalid_request");
  assertEquals(Object.keys(bad.body.error.details.fieldErrors).sort(), ["event_types", "org_id", "url"]);
  assert(bad.body.error.details.formErrors.some((message: string) => message.includes("extra")));

  const privateUrl = await callAdmin("createEndpoint", {
    token,
    body: { org_id: fixture.orgId, url: "https://169.254.169.254/latest" },
  });
  assertEquals(privateUrl.status, 400);
  assert(/link-local|metadata/.test(privateUrl.body.error.details.fieldErrors.url[0]), privateUrl.text);

  const notJson = await callAdmin("createEndpoint", { token, rawBody: "{not json" });
  assertEquals([notJson.status, notJson.body.error.code], [400, "invalid_json"]);

  const badId = await callAdmin("getEndpoint", { token, params: { endpoint_id: "not-a-uuid" } });
  assertEquals([badId.status, Object.keys(badId.body.error.details.fieldErrors)], [400, ["endpoint_id"]]);

  const badQuery = await callAdmin("listDeliveries", {
    token,
    query: { org_id: fixture.orgId, status: "lost", limit: 0, cursor: "%%" },
  });
  assertEquals(badQuery.status, 400);
  assertEquals(Object.keys(badQuery.body.error.details.fieldErrors).sort(), ["cursor", "limit", "status"]);

  const forgedCursor = await callAdmin("listDeliveries", { token, query: { org_id: fixture.orgId, cursor: "abc" } });
  assertEquals([forgedCursor.status, Object.keys(forgedCursor.body.error.details.fieldErrors)], [400, ["cursor"]]);

  const emptyRange = await callAdmin("recoverEndpointDeliveries", {
    token,
    params: { endpoint_id: (await createEndpoint(fixture, "http://127.0.0.1:9/x")).endpoint.id },
    body: { since: "2026-06-01T00:00:00Z", until: "2026-01-01T00:00:00Z" },
  });
  assertEquals([emptyRange.status, Object.keys(emptyRange.body.error.details.fieldErrors)], [400, ["until"]]);

  const [{ count }] = await sql`select count(*)::int from webhooks.endpoints where org_id = ${fixture.orgId}`;
  assertEquals(count, 1);

  const unknown = await callAdmin("listEndpoints", { token, query: { org_id: fixture.orgId } });
  assertEquals(unknown.status, 200);
  const wrongMethod = await fetch(`${stack.SUPABASE_URL}/functions/v1/webhook-admin/endpoints`, {
    method: "PUT",
    headers: { authorization: `Bearer ${token}` },
  });
  assertEquals([wrongMethod.status, wrongMethod.headers.get("allow")], [405, "GET, POST, OPTIONS"]);
  assertEquals((await wrongMethod.json()).error.code, "method_not_allowed");
  const noRoute = await fetch(`${stack.SUPABASE_URL}/functions/v1/webhook-admin/nothing-here`, {
    headers: { authorization: `Bearer ${token}` },
  });
  assertEquals([noRoute.status, (await noRoute.json()).error.code], [404, "route_not_found"]);
});

adminTest("paging through deliveries neither repeats nor skips a row while new ones arrive", async (fixture) => {
  const receiver = startReceiver();
  try {
    const { endpoint } = await createEndpoint(fixture, `${receiver.url}/hook`);
    for (let index = 0; index < 25; index++) await insertJob(sql, owner(fixture), `Job ${index}`);
    const before = (await sql<{ id: string }[]>`
      select id from webhooks.deliveries where endpoint_id = ${endpoint.id} order by id desc`).map((row) =>
      Number(row.id)
    );
    assertEquals(before.length, 25);

    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: Record<string, string | number> = { org_id: fixture.orgId, endpoint_id: endpoint.id, limit: 10 };
      if (cursor !== null) query.cursor = cursor;
      const { body } = await callAdminOk("listDeliveries", { token: fixture.admin.token, query });
      seen.push(...body.data.map((delivery: { id: number }) => delivery.id));
      cursor = body.next_cursor;
      pages++;
      // New rows arrive at the head between pages.
      await insertJob(sql, owner(fixture), `Arriving ${pages}`);
    } while (cursor !== null);
    assertEquals(pages, 3);
    assertEquals(seen, before);

    const events = await callAdminOk("listEvents", {
      token: fixture.owner.token,
      query: { org_id: fixture.orgId, event_type: "job.created", limit: 200 },
    });
    assertEquals(events.body.data.length, 28);
    assertEquals(events.body.next_cursor, null);
    const ids = events.body.data.map((event: { id: string }) => event.id);
    assertEquals(ids, [...ids].sort().reverse());

    const none = await callAdminOk("listDeliveries", {
      token: fixture.owner.token,
      query: { org_id: fixture.orgId, since: new Date(Date.now() + 60_000).toISOString() },
    });
    assertEquals(none.body, { data: [], next_cursor: null });
  } finally {
    await receiver.close();
  }
});

adminTest("resending a delivery sends it exactly once more, with the same webhook-id", async (fixture) => {
  const receiver = startReceiver();
  try {
    const { endpoint } = await createEndpoint(fixture, `${receiver.url}/hook`);
    await insertJob(sql, owner(fixture), "Resend me");
    const [delivery] = await sql<{ id: string; event_id: string }[]>`
      select id, event_id from webhooks.deliveries where endpoint_id = ${endpoint.id}`;
    const deliveryId = Number(delivery.id);
    await eventually(async () => (await deliveryStatus(deliveryId)).status === "succeeded" || undefined);

    const resent = await callAdminOk("resendDelivery", {
      token: fixture.admin.token,
      params: { delivery_id: deliveryId },
    });
    assertEquals(resent.body.delivery.status, "pending");
    const settled = await eventually(async () => {
      const row = await deliveryStatus(deliveryId);
      return row.status === "succeeded" && row.attempt_count === 2 ? row : undefined;
    }, { what: "the resent delivery" });
    assertEquals(settled.attempt_count, 2);
    const received = requestsFor(receiver.requests, delivery.event_id);
    assertEquals(received.length, 2);
    assertEquals(received[0].body, received[1].body);
    assertEquals(received.map((request) => request.headers.get("x-retry-count")), ["0", "1"]);

    const detail = await callAdminOk("getDelivery", {
      token: fixture.owner.token,
      params: { delivery_id: deliveryId },
    });
    assertEquals(detail.body.attempts.map((attempt: { retry_count: number }) => attempt.retry_count), [0, 1]);
    assertEquals(detail.body.event.id, delivery.event_id);

    const [entry] = await sql`select actor_id, actor_kind, target_id from audit.entries
                               where org_id = ${fixture.orgId} and action = 'delivery.resent'`;
    assertEquals(entry, { actor_id: fixture.admin.userId, actor_kind: "user", target_id: String(deliveryId) });
  } finally {
    await receiver.close();
  }
});

adminTest("recovering an endpoint's failed deliveries sends each once, however often it is asked", async (fixture) => {
  let failing = true;
  const receiver = startReceiver(() => new Response(failing ? "down" : "ok", { status: failing ? 500 : 200 }));
  try {
    const { endpoint } = await createEndpoint(fixture, `${receiver.url}/hook`);
    const since = new Date(Date.now() - 1000).toISOString();
    for (const title of ["A", "B", "C"]) await insertJob(sql, owner(fixture), title);
    await eventually(async () => {
      const rows = await sql`select status, attempt_count from webhooks.deliveries where endpoint_id = ${endpoint.id}`;
      return (rows.length === 3 && rows.every((row) => row.status === "pending" && row.attempt_count === 1)) ||
        undefined;
    }, { what: "the first, failing attempts" });
    // Disabling gives up on what is queued: the three are failed now.
    await callAdminOk("disableEndpoint", { token: fixture.owner.token, params: { endpoint_id: endpoint.id } });
    await callAdminOk("enableEndpoint", { token: fixture.owner.token, params: { endpoint_id: endpoint.id } });
    const failed =
      await sql`select id from webhooks.deliveries where endpoint_id = ${endpoint.id} and status = 'failed'`;
    assertEquals(failed.length, 3);

    failing = false;
    const recover = () =>
      callAdminOk("recoverEndpointDeliveries", {
        token: fixture.admin.token,
        params: { endpoint_id: endpoint.id },
        body: { since },
      });
    // Two at once, then a third: the deliveries are recovered once between them.
    const [first, second] = await Promise.all([recover(), recover()]);
    assertEquals(first.body.recovered + second.body.recovered, 3);
    await eventually(async () => {
      const rows = await sql`select status from webhooks.deliveries where endpoint_id = ${endpoint.id}`;
      return rows.every((row) => row.status === "succeeded") || undefined;
    }, { what: "the recovered deliveries" });
    assertEquals((await recover()).body.recovered, 0);

    const succeeded = receiver.requests.filter((_request, index) => index >= 3);
    assertEquals(succeeded.length, 3);
    assertEquals(new Set(succeeded.map((request) => request.headers.get("webhook-id"))).size, 3);
    const audit = await sql`select details->>'recovered' as recovered from audit.entries
                             where org_id = ${fixture.orgId} and action = 'endpoint.deliveries_recovered'
                             order by id`;
    assertEquals(audit.map((row) => row.recovered).sort(), ["0", "0", "3"]);
  } finally {
    await receiver.close();
  }
});

adminTest("a test event reaches only that endpoint, and health reports its attempts", async (fixture) => {
  let status = 200;
  const receiver = startReceiver(() => new Response("answer", { status }));
  try {
    const { endpoint } = await createEndpoint(fixture, `${receiver.url}/one`);
    const other = await createEndpoint(fixture, `${receiver.url}/other`, []);
    const { body } = await callAdminOk("sendTestEvent", {
      token: fixture.owner.token,
      params: { endpoint_id: endpoint.id },
    });
    await eventually(async () => (await deliveryStatus(body.delivery_id)).status === "succeeded" || undefined);
    const received = requestsFor(receiver.requests, body.event_id);
    assertEquals(received.map((request) => [request.path, JSON.parse(request.body).event]), [["/one", "webhook.test"]]);

    status = 503;
    const failing = await callAdminOk("sendTestEvent", {
      token: fixture.owner.token,
      params: { endpoint_id: endpoint.id },
    });
    await eventually(async () => (await deliveryStatus(failing.body.delivery_id)).attempt_count === 1 || undefined);

    const health = await callAdminOk("getEndpointHealth", {
      token: fixture.admin.token,
      params: { endpoint_id: endpoint.id },
    });
    assertEquals(health.body.health.attempts_24h, 2);
    assertEquals(health.body.health.success_rate_24h, 0.5);
    assertEquals(health.body.health.backlog, 1);
    assertEquals(health.body.health.last_error, "HTTP 503");
    assert(health.body.health.latency_p50_ms_24h >= 0);
    assertEquals(requestsFor(receiver.requests, body.event_id).filter((r) => r.path === "/other").length, 0);
    assertEquals(other.endpoint.id !== endpoint.id, true);
  } finally {
    await receiver.close();
  }
});

adminTest(
  "disabling an endpoint fails its queue and refuses test events; enabling clears the reason",
  async (fixture) => {
    const { endpoint } = await createEndpoint(fixture, "http://127.0.0.1:9/unreachable");
    await insertJob(sql, owner(fixture), "Queued");
    // Queued for a retry (not in flight), so that disabling is what decides its fate.
    await eventually(async () => {
      const [row] = await sql`select status, attempt_count from webhooks.deliveries where endpoint_id = ${endpoint.id}`;
      return (row?.status === "pending" && row.attempt_count === 1) || undefined;
    }, { what: "the first failed attempt" });
    const disabled = await callAdminOk("disableEndpoint", {
      token: fixture.admin.token,
      params: { endpoint_id: endpoint.id },
      body: { reason: "Receiver moving to a new host" },
    });
    assertEquals(
      [disabled.body.endpoint.enabled, disabled.body.endpoint.disabled_reason],
      [false, "Receiver moving to a new host"],
    );
    const statuses = await sql`select status from webhooks.deliveries where endpoint_id = ${endpoint.id}`;
    assertEquals(statuses.map((row) => row.status), ["failed"]);

    const refused = await callAdmin("sendTestEvent", {
      token: fixture.owner.token,
      params: { endpoint_id: endpoint.id },
    });
    assertEquals([refused.status, refused.body.error.code], [409, "conflict"]);

    const enabled = await callAdminOk("enableEndpoint", {
      token: fixture.owner.token,
      params: { endpoint_id: endpoint.id },
    });
    assertEquals([enabled.body.endpoint.enabled, enabled.body.endpoint.disabled_reason], [true, null]);
  },
);

adminTest("the audit log says who changed which endpoint how, newest first, page by page", async (fixture) => {
  const { endpoint } = await createEndpoint(fixture, "http://127.0.0.1:9/audited");
  const asAdmin = { token: fixture.admin.token, params: { endpoint_id: endpoint.id } };
  await callAdminOk("updateEndpoint", { ...asAdmin, body: { description: "ERP", event_types: ["invoice.paid"] } });
  await callAdminOk("rotateEndpointSecret", asAdmin);
  await callAdminOk("disableEndpoint", asAdmin);
  await callAdminOk("enableEndpoint", asAdmin);
  await callAdminOk("deleteEndpoint", asAdmin);

  const entries: { action: string; actor_id: string; details: Record<string, unknown> }[] = [];
  let cursor: string | null = null;
  do {
    const query: Record<string, string | number> = { org_id: fixture.orgId, limit: 2 };
    if (cursor !== null) query.cursor = cursor;
    const { body } = await callAdminOk("listAuditEntries", { token: fixture.owner.token, query });
    entries.push(...body.data);
    cursor = body.next_cursor;
  } while (cursor !== null);
  assertEquals(entries.map((entry) => entry.action), [
    "endpoint.deleted",
    "endpoint.enabled",
    "endpoint.disabled",
    "endpoint.secret_rotated",
    "endpoint.updated",
    "endpoint.created",
  ]);
  assertEquals(entries.map((entry) => entry.actor_id), [
    ...Array(5).fill(fixture.admin.userId),
    fixture.owner.userId,
  ]);
  assertEquals(entries[4].details, {
    changes: {
      description: { from: "", to: "ERP" },
      event_types: { from: ["job.created"], to: ["invoice.paid"] },
    },
  });
  const rotations = await callAdminOk("listAuditEntries", {
    token: fixture.admin.token,
    query: { org_id: fixture.orgId, action: "endpoint.secret_rotated" },
  });
  assertEquals(rotations.body.data.length, 1);
  assert(!JSON.stringify(entries).includes("whsec_"));
});

adminTest("the event catalog serves every type with its JSON Schema and a sample", async (fixture) => {
  const { body } = await callAdminOk("listEventTypes", { token: fixture.owner.token });
  assertEquals(body.data.map((entry: { type: string }) => entry.type), EVENT_TYPES);
  for (const entry of body.data) {
    assertEquals(
      entry.sample,
      JSON.parse(JSON.stringify(EVENT_CATALOG[entry.type as keyof typeof EVENT_CATALOG].sample)),
    );
    assertEquals(entry.schema.title, entry.type);
    assert(EVENT_CATALOG[entry.type as keyof typeof EVENT_CATALOG].schema.safeParse(entry.sample).success);
  }
});

adminTest("deleting an endpoint deletes its secrets from Vault", async (fixture) => {
  const { endpoint } = await createEndpoint(fixture, "http://127.0.0.1:9/deleted");
  await callAdminOk("rotateEndpointSecret", { token: fixture.owner.token, params: { endpoint_id: endpoint.id } });
  const [ids] = await sql`select secret_id, previous_secret_id from webhooks.endpoints where id = ${endpoint.id}`;
  await callAdminOk("deleteEndpoint", { token: fixture.owner.token, params: { endpoint_id: endpoint.id } });
  const left = await sql`select id from vault.secrets where id in (${ids.secret_id}, ${ids.previous_secret_id})`;
  assertEquals(left.length, 0);
  const gone = await callAdmin("getEndpoint", { token: fixture.owner.token, params: { endpoint_id: endpoint.id } });
  assertEquals([gone.status, gone.body.error.code], [404, "not_found"]);
});

adminTest("browsers may call it: the preflight is answered and every answer allows the origin", async (fixture) => {
  const preflight = await fetch(`${stack.SUPABASE_URL}/functions/v1/webhook-admin/endpoints/x`, {
    method: "OPTIONS",
    headers: { origin: "https://app.example.com", "access-control-request-method": "DELETE" },
  });
  await preflight.body?.cancel();
  assertEquals(preflight.status, 200);
  assert(preflight.headers.get("access-control-allow-methods")?.includes("DELETE"));
  assert(preflight.headers.get("access-control-allow-headers")?.includes("authorization"));

  const { endpoint } = await createEndpoint(fixture, "http://127.0.0.1:9/cors");
  const deleted = await callAdmin("deleteEndpoint", {
    token: fixture.owner.token,
    params: { endpoint_id: endpoint.id },
  });
  const refused = await callAdmin("listEndpoints", { token: fixture.member.token, query: { org_id: fixture.orgId } });
  for (const response of [deleted, refused]) {
    assertEquals(
      response.headers.get("access-control-allow-origin"),
      "*",
      `${response.status} ${[...response.headers]}`,
    );
  }
  assertEquals([deleted.status, refused.status], [204, 403]);
});
