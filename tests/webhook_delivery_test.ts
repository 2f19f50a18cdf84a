// End to end: a business change committed through RLS reaches a local receiver as a signed
// Standard Webhooks request that the public libraries verify unchanged; a rolled-back change
// sends nothing; only the platform can drive the dispatcher.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Webhook as StandardWebhook } from "npm:standardwebhooks@1.1.1";
import { Webhook as SvixWebhook } from "npm:svix@2.5.0";
import {
  asUser,
  connect,
  createTenant,
  eventually,
  integrationTest,
  legacyKey,
  mintJwt,
  stack,
  startReceiver,
} from "./_support/stack.ts";
import { SERVICE_ROLE_KEY } from "../scripts/lib/platform.mjs";
import {
  attemptsOf,
  deliveriesOf,
  dispatchNow,
  headerObject,
  insertJob,
  registerEndpoint,
} from "./_support/webhooks.ts";

// Over https to a host name (what hosted delivers to: DNS answered by the stack's resolver, the SSRF
// check on that answer, TLS checked against the name) and over plain http to 127.0.0.1.
for (const https of [true, false]) {
  integrationTest(
    `a job inserted by a member reaches the receiver ${
      https ? "at https://<name>" : "at http://127.0.0.1"
    }, signed so standardwebhooks and svix verify it`,
    async () => {
      const sql = connect(2);
      const receiver = startReceiver(() => new Response("thanks", { status: 200 }), { https });
      const tenant = await createTenant(sql, "delivery");
      try {
        const endpoint = await registerEndpoint(sql, tenant, `${receiver.url}/hooks/cjh`);
        const job = await insertJob(sql, tenant, "Replace sink");

        const request = await eventually(() => receiver.requests[0], { what: "the webhook" });
        const [event] = await sql<{ id: string; payload: unknown }[]>`
      select id, payload from webhooks.events where org_id = ${tenant.orgId} and event_type = 'job.created'`;
        assert.equal(request.method, "POST");
        assert.equal(request.path, "/hooks/cjh");
        assert.equal(request.headers.get("webhook-id"), event.id);
        assert.equal(request.headers.get("x-retry-count"), "0");
        assert.equal(request.headers.get("content-type"), "application/json");
        assert.match(request.headers.get("user-agent") ?? "", /^CJH-Webhooks\//);
        assert.ok(Math.abs(Number(request.headers.get("webhook-timestamp")) - Date.now() / 1000) < 60);
        assert.match(request.headers.get("webhook-signature") ?? "", /^v1,[A-Za-z0-9+/]+=*$/);
        assert.deepEqual(JSON.parse(request.body), event.payload);
        assert.equal(JSON.parse(request.body).job.job_no, job.job_no);

        const headers = headerObject(request.headers);
        assert.deepEqual(new StandardWebhook(endpoint.secret).verify(request.body, headers), event.payload);
        // svix 2.x verifies without returning the payload; it throws when verification fails.
        assert.doesNotThrow(() => new SvixWebhook(endpoint.secret).verify(request.body, headers));
        const tampered = request.body.replace("Replace", "Remove");
        assert.throws(() => new StandardWebhook(endpoint.secret).verify(tampered, headers));
        assert.throws(() => new SvixWebhook(endpoint.secret).verify(tampered, headers));

        const [delivery] = await eventually(async () => {
          const rows = await deliveriesOf(sql, endpoint.endpointId);
          return rows[0]?.status === "succeeded" ? rows : undefined;
        }, { what: "the delivery to be recorded" });
        assert.equal(delivery.attempt_count, 1);
        const [attempt] = await attemptsOf(sql, endpoint.endpointId);
        assert.equal(attempt.response_status, 200);
        assert.equal(attempt.response_excerpt, "thanks");
        assert.equal(attempt.retry_count, 0);
        assert.equal(attempt.payload_sha256, createHash("sha256").update(request.body).digest("hex"));
        assert.equal(receiver.requests.length, 1);
      } finally {
        await receiver.close();
        await tenant.remove();
        await sql.end();
      }
    },
  );
}

integrationTest("a rolled-back job insert sends nothing, the next committed one arrives alone", async () => {
  const sql = connect(2);
  const receiver = startReceiver();
  const tenant = await createTenant(sql, "rollback");
  try {
    await registerEndpoint(sql, tenant, receiver.url);
    await assert.rejects(
      asUser(sql, tenant.userId, async (tx) => {
        await tx`insert into public.jobs (org_id, title) values (${tenant.orgId}, 'Never committed')`;
        throw new Error("the client gave up");
      }),
      /the client gave up/,
    );
    await insertJob(sql, tenant, "Committed");
    await eventually(() => receiver.requests.length > 0 || undefined, { what: "the committed job's webhook" });
    // Let any straggler arrive before judging: one more drain finds nothing left to send.
    assert.equal((await dispatchNow()).status, 200);
    assert.deepEqual(receiver.requests.map((request) => JSON.parse(request.body).job.title), ["Committed"]);
    const [{ count }] = await sql`select count(*)::int as count from webhooks.events where org_id = ${tenant.orgId}`;
    assert.equal(count, 1);
  } finally {
    await receiver.close();
    await tenant.remove();
    await sql.end();
  }
});

integrationTest(
  "only the platform can drive the dispatcher: the secret key, the Vault dispatch secret, the legacy service key while it exists",
  async () => {
    const sql = connect(1);
    try {
      const [{ secret }] = await sql<{ secret: string }[]>`
      select decrypted_secret as secret from vault.decrypted_secrets where name = 'webhook_dispatch_secret'`;
      const userJwt = await mintJwt({ sub: "00000000-0000-4000-a000-000000001001" });
      const noAuth = await fetch(`${stack.SUPABASE_URL}/functions/v1/webhook-dispatch`, { method: "POST", body: "{}" });
      assert.equal(noAuth.status, 401);
      assert.equal((await noAuth.json()).error.code, "unauthorized");
      const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
      const refused: Record<string, string>[] = [
        { apikey: stack.publishableKey },
        bearer(userJwt),
        bearer(`${secret}x`),
        // An API key is not a bearer token.
        bearer(stack.secretKey),
        // Once the project has revoked its legacy keys, the old service role JWT is nobody's.
        ...(stack.legacyKeys ? [bearer(legacyKey("anon"))] : [bearer(SERVICE_ROLE_KEY)]),
      ];
      for (const headers of refused) {
        const response = await dispatchNow({}, headers);
        assert.equal(response.status, 401, JSON.stringify(headers));
        await response.body?.cancel();
      }
      const accepted: Record<string, string>[] = [
        { apikey: stack.secretKey },
        bearer(secret),
        ...(stack.legacyKeys ? [bearer(legacyKey("service_role"))] : []),
      ];
      for (const headers of accepted) {
        const response = await dispatchNow({}, headers);
        assert.equal(response.status, 200, JSON.stringify(headers));
        const summary = await response.json();
        assert.equal(typeof summary.claimed, "number");
      }
    } finally {
      await sql.end();
    }
  },
);

integrationTest("a dispatch request with a bad body is a 400 with field details, a GET a 405", async () => {
  const invalid = await dispatchNow({ wait: "yes", surprise: 1 });
  assert.equal(invalid.status, 400);
  const body = await invalid.json();
  assert.equal(body.error.code, "invalid_request");
  assert.ok(body.error.details);
  const notJson = await fetch(`${stack.SUPABASE_URL}/functions/v1/webhook-dispatch`, {
    method: "POST",
    headers: { apikey: stack.secretKey },
    body: "{not json",
  });
  assert.equal(notJson.status, 400);
  assert.equal((await notJson.json()).error.code, "invalid_json");
  const get = await fetch(`${stack.SUPABASE_URL}/functions/v1/webhook-dispatch`, {
    headers: { apikey: stack.secretKey },
  });
  assert.equal(get.status, 405);
  await get.body?.cancel();
});
