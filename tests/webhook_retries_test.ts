// How failures are retried, end to end through the dispatcher: receivers that answer 500, time
// out, refuse the connection, redirect, send 429 with Retry-After or 410. Backoffs are not slept
// through: a test makes the scheduled retry due (next_attempt_at) and drives the dispatcher.
import assert from "node:assert/strict";
import {
  connect,
  createTenant,
  eventually,
  integrationTest,
  type ReceivedRequest,
  startHttpsReceiver,
} from "./_support/stack.ts";
import {
  attemptsOf,
  deliveriesOf,
  dispatchNow,
  insertJob,
  makeRetriesDue,
  registerEndpoint,
} from "./_support/webhooks.ts";

function seconds(later: Date, earlier: Date): number {
  return (later.getTime() - earlier.getTime()) / 1000;
}

async function settled(sql: ReturnType<typeof connect>, endpointId: string, attempts: number) {
  return await eventually(async () => {
    const rows = await deliveriesOf(sql, endpointId);
    return rows.length > 0 && rows.every((row) => row.status !== "sending" && row.attempt_count >= attempts)
      ? rows
      : undefined;
  }, { what: `${attempts} recorded attempt(s)` });
}

integrationTest(
  "a 500 is retried after about 5 s with X-Retry-Count 1; success after failures stops retrying",
  async () => {
    const sql = connect(2);
    const statuses = [500, 503, 200];
    const receiver = startHttpsReceiver(() => new Response("status", { status: statuses.shift() ?? 200 }));
    const tenant = await createTenant(sql, "retry-500");
    try {
      const { endpointId } = await registerEndpoint(sql, tenant, receiver.url);
      await insertJob(sql, tenant, "Flaky receiver");
      const [first] = await settled(sql, endpointId, 1);
      assert.equal(first.status, "pending");
      assert.equal(first.last_error, "HTTP 500");
      const [attempt1] = await attemptsOf(sql, endpointId);
      const delay = seconds(first.next_attempt_at, attempt1.started_at);
      assert.ok(delay >= 4 && delay <= 6.5, `first retry after ${delay} s, expected 5 s ± 20 %`);

      await makeRetriesDue(sql, endpointId);
      await dispatchNow();
      const [second] = await settled(sql, endpointId, 2);
      const attempt2 = (await attemptsOf(sql, endpointId))[1];
      const delay2 = seconds(second.next_attempt_at, attempt2.started_at);
      assert.ok(delay2 >= 24 && delay2 <= 36.5, `second retry after ${delay2} s, expected 30 s ± 20 %`);

      await makeRetriesDue(sql, endpointId);
      await dispatchNow();
      const [third] = await settled(sql, endpointId, 3);
      assert.equal(third.status, "succeeded");
      assert.deepEqual(receiver.requests.map((request) => request.headers.get("x-retry-count")), ["0", "1", "2"]);
      assert.equal(new Set(receiver.requests.map((request) => request.headers.get("webhook-id"))).size, 1);
      assert.equal(
        new Set(receiver.requests.map((request) => request.body)).size,
        1,
        "every retry sends the same body",
      );

      await makeRetriesDue(sql, endpointId);
      await dispatchNow();
      assert.equal(receiver.requests.length, 3, "a succeeded delivery is not sent again");
      const endpoint = await sql`select enabled, failing_since from webhooks.endpoints where id = ${endpointId}`;
      assert.equal(endpoint[0].failing_since, null);
    } finally {
      await receiver.close();
      await tenant.remove();
      await sql.end();
    }
  },
);

integrationTest("429 with Retry-After is retried after the time the receiver asked for", async () => {
  const sql = connect(2);
  const receiver = startHttpsReceiver(() =>
    new Response("slow down", { status: 429, headers: { "Retry-After": "7" } })
  );
  const tenant = await createTenant(sql, "retry-429");
  try {
    const { endpointId } = await registerEndpoint(sql, tenant, receiver.url);
    await insertJob(sql, tenant, "Busy receiver");
    const [delivery] = await settled(sql, endpointId, 1);
    const [attempt] = await attemptsOf(sql, endpointId);
    assert.equal(attempt.response_status, 429);
    const delay = seconds(delivery.next_attempt_at, attempt.started_at);
    assert.ok(delay >= 6.5 && delay <= 8.5, `retry after ${delay} s, expected 7 s`);
  } finally {
    await receiver.close();
    await tenant.remove();
    await sql.end();
  }
});

integrationTest("410 Gone fails the delivery and disables the endpoint with a reason", async () => {
  const sql = connect(2);
  const receiver = startHttpsReceiver(() => new Response("gone", { status: 410 }));
  const tenant = await createTenant(sql, "gone");
  try {
    const { endpointId } = await registerEndpoint(sql, tenant, receiver.url);
    await insertJob(sql, tenant, "Retired receiver");
    const [delivery] = await eventually(async () => {
      const rows = await deliveriesOf(sql, endpointId);
      return rows[0]?.status === "failed" ? rows : undefined;
    }, { what: "the failed delivery" });
    assert.equal(delivery.attempt_count, 1);
    const [endpoint] = await sql`select enabled, disabled_reason from webhooks.endpoints where id = ${endpointId}`;
    assert.equal(endpoint.enabled, false);
    assert.match(endpoint.disabled_reason, /410 Gone/);
    await insertJob(sql, tenant, "After the endpoint went away");
    assert.equal((await deliveriesOf(sql, endpointId)).length, 1, "a disabled endpoint gets no new deliveries");
  } finally {
    await receiver.close();
    await tenant.remove();
    await sql.end();
  }
});

integrationTest(
  "a refused connection and a redirect are failed attempts with a clear error; redirects are not followed",
  async () => {
    const sql = connect(2);
    const target = startHttpsReceiver();
    const redirecting = startHttpsReceiver(() => Response.redirect(`${target.url}/elsewhere`, 302));
    const closed = startHttpsReceiver();
    const closedUrl = closed.url;
    await closed.close();
    const tenant = await createTenant(sql, "transport");
    try {
      const refused = await registerEndpoint(sql, tenant, `${closedUrl}/hook`);
      const redirect = await registerEndpoint(sql, tenant, `${redirecting.url}/hook`);
      await insertJob(sql, tenant, "Nobody home");
      const [refusedDelivery] = await settled(sql, refused.endpointId, 1);
      assert.equal(refusedDelivery.status, "pending");
      assert.equal(refusedDelivery.last_error, "Connection refused");
      const [redirectDelivery] = await settled(sql, redirect.endpointId, 1);
      assert.equal(redirectDelivery.status, "pending");
      assert.equal(redirectDelivery.last_response_status, 302);
      assert.match(redirectDelivery.last_error ?? "", /^Redirect \(302\) not followed/);
      assert.equal(target.requests.length, 0);
    } finally {
      await target.close();
      await redirecting.close();
      await tenant.remove();
      await sql.end();
    }
  },
);

integrationTest("a receiver that does not answer within 15 s is a timed-out attempt", async () => {
  const sql = connect(2);
  let release: () => void = () => {};
  const hold = new Promise<void>((resolve) => (release = resolve));
  const receiver = startHttpsReceiver(async () => {
    await hold;
    return new Response("too late");
  });
  const tenant = await createTenant(sql, "timeout");
  try {
    const { endpointId } = await registerEndpoint(sql, tenant, receiver.url);
    await insertJob(sql, tenant, "Slow receiver");
    const [delivery] = await eventually(async () => {
      const rows = await deliveriesOf(sql, endpointId);
      return rows[0]?.attempt_count === 1 ? rows : undefined;
    }, { what: "the timed-out attempt", timeoutMs: 40_000, intervalMs: 250 });
    assert.equal(delivery.status, "pending");
    assert.equal(delivery.last_error, "Timed out after 15000 ms");
    const [attempt] = await attemptsOf(sql, endpointId);
    assert.ok(attempt.duration_ms >= 15_000);
    assert.equal(attempt.response_status, null);
  } finally {
    release();
    await receiver.close();
    await tenant.remove();
    await sql.end();
  }
});

integrationTest(
  "a delivery still failing 24 h after its first attempt is exhausted and never retried again",
  async () => {
    const sql = connect(2);
    const receiver = startHttpsReceiver(() => new Response("down", { status: 502 }));
    const tenant = await createTenant(sql, "exhausted");
    try {
      const { endpointId } = await registerEndpoint(sql, tenant, receiver.url);
      await insertJob(sql, tenant, "Down for a day");
      await settled(sql, endpointId, 1);
      await sql`update webhooks.deliveries set first_attempt_at = now() - interval '23 hours 59 minutes 55 seconds',
                                             next_attempt_at = now()
               where endpoint_id = ${endpointId}`;
      await dispatchNow();
      const [delivery] = await settled(sql, endpointId, 2);
      assert.equal(delivery.status, "exhausted");
      await sql`update webhooks.deliveries set next_attempt_at = now() where endpoint_id = ${endpointId}`;
      await dispatchNow();
      assert.equal(receiver.requests.length, 2);
    } finally {
      await receiver.close();
      await tenant.remove();
      await sql.end();
    }
  },
);

integrationTest("an address refused at delivery (after registration was bypassed) is never contacted", async () => {
  const sql = connect(2);
  const receiver = startHttpsReceiver();
  const port = new URL(receiver.url).port;
  const tenant = await createTenant(sql, "ssrf");
  try {
    // 0.0.0.0 reaches this machine on Linux; registration refuses it, so write the row as a
    // rebinding attacker would end up with one: past the registration check.
    const { endpointId } = await registerEndpoint(sql, tenant, receiver.url);
    // (The trigger is off only inside this transaction: DDL is transactional.)
    await sql.begin(async (tx) => {
      await tx`alter table webhooks.endpoints disable trigger _200_check_destination`;
      await tx`update webhooks.endpoints set url = ${`http://0.0.0.0:${port}/hook`} where id = ${endpointId}`;
      await tx`alter table webhooks.endpoints enable trigger _200_check_destination`;
    });
    await insertJob(sql, tenant, "Aimed inside");
    const [delivery] = await settled(sql, endpointId, 1);
    assert.equal(delivery.status, "pending");
    assert.match(delivery.last_error ?? "", /^Refused: /);
    assert.equal(receiver.requests.length, 0);
  } finally {
    await receiver.close();
    await tenant.remove();
    await sql.end();
  }
});

integrationTest("during a rotation both secrets verify; after the overlap only the new one does", async () => {
  const { Webhook } = await import("npm:standardwebhooks@1.1.1");
  const sql = connect(2);
  const receiver = startHttpsReceiver();
  const tenant = await createTenant(sql, "rotation");
  const verifies = (secret: string, request: ReceivedRequest) => {
    try {
      new Webhook(secret).verify(request.body, Object.fromEntries(request.headers.entries()));
      return true;
    } catch {
      return false;
    }
  };
  try {
    const { endpointId, secret: oldSecret } = await registerEndpoint(sql, tenant, receiver.url);
    const [{ secret: newSecret }] = await sql<{ secret: string }[]>`
      select webhooks.rotate_endpoint_secret(${endpointId}) as secret`;
    await insertJob(sql, tenant, "During the overlap");
    const during = await eventually(() => receiver.requests[0], { what: "the first webhook" });
    assert.equal(during.headers.get("webhook-signature")?.split(" ").length, 2);
    assert.ok(verifies(newSecret, during), "the new secret verifies during the overlap");
    assert.ok(verifies(oldSecret, during), "the old secret verifies during the overlap");

    await sql`update webhooks.endpoints set previous_secret_expires_at = now() - interval '1 second' where id = ${endpointId}`;
    await insertJob(sql, tenant, "After the overlap");
    const after = await eventually(() => receiver.requests[1], { what: "the second webhook" });
    assert.equal(after.headers.get("webhook-signature")?.split(" ").length, 1);
    assert.ok(verifies(newSecret, after), "the new secret verifies after the overlap");
    assert.ok(!verifies(oldSecret, after), "the old secret no longer verifies");
  } finally {
    await receiver.close();
    await tenant.remove();
    await sql.end();
  }
});
