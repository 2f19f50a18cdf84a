// Concurrent dispatchers never send the same attempt twice: two drains started together over
// 1,000 due deliveries (with the background drain the scheduler woke also competing) deliver each
// exactly once.
import assert from "node:assert/strict";
import { asUser, connect, createTenant, eventually, integrationTest, startHttpsReceiver } from "./_support/stack.ts";
import { deliveriesOf, dispatchNow, registerEndpoint } from "./_support/webhooks.ts";

integrationTest("two dispatchers running at once over 1,000 deliveries deliver each exactly once", async () => {
  const sql = connect(2);
  const receiver = startHttpsReceiver();
  const tenant = await createTenant(sql, "concurrency");
  const count = 1000;
  try {
    const { endpointId } = await registerEndpoint(sql, tenant, receiver.url);
    await asUser(sql, tenant.userId, async (tx) => {
      await tx`insert into public.jobs (org_id, title) select ${tenant.orgId}, 'Job ' || n from generate_series(1, ${count}) n`;
    });
    const summaries = await Promise.all(
      [dispatchNow(), dispatchNow()].map(async (response) => (await response).json()),
    );

    const rows = await eventually(async () => {
      const current = await deliveriesOf(sql, endpointId);
      return current.length === count && current.every((row) => row.status === "succeeded") ? current : undefined;
    }, { what: "every delivery to succeed", timeoutMs: 60_000 });
    assert.equal(rows.length, count);
    assert.ok(rows.every((row) => row.attempt_count === 1), "one attempt each");
    const ids = receiver.requests.map((request) => request.headers.get("webhook-id"));
    assert.equal(ids.length, count, "the receiver got exactly one request per delivery");
    assert.equal(new Set(ids).size, count, "no webhook-id twice");
    // (The drains' claim counts prove nothing here: they also claim other tests' deliveries.)
    assert.equal(summaries.length, 2);
  } finally {
    await receiver.close();
    await tenant.remove();
    await sql.end();
  }
});
