// A dispatcher stops claiming when its time budget is spent, lets what it started finish, and
// hands back what it had not started, so the next invocation carries on. Serial: no other
// dispatcher may take the deliveries while this one is measured.
import assert from "node:assert/strict";
import { asUser, connect, createTenant, eventually, integrationTest, startReceiver } from "../_support/stack.ts";
import { deliveriesOf, dispatchNow, registerEndpoint, withDispatchPaused } from "../_support/webhooks.ts";

integrationTest("a drain stops at its time budget, finishes what it started and hands back the rest", async () => {
  const sql = connect(2);
  const receiver = startReceiver(async () => {
    await new Promise((resolve) => setTimeout(resolve, 300));
    return new Response("ok");
  });
  const tenant = await createTenant(sql, "budget");
  const count = 200;
  try {
    const { endpointId } = await registerEndpoint(sql, tenant, receiver.url);
    // The scheduler wakes nobody meanwhile: a background drain must not take them first.
    const summary = await withDispatchPaused(sql, async () => {
      await asUser(sql, tenant.userId, async (tx) => {
        await tx`insert into public.jobs (org_id, title) select ${tenant.orgId}, 'Job ' || n from generate_series(1, ${count}) n`;
      });
      const summary = await (await dispatchNow({ time_budget_ms: 500 })).json();
      assert.equal(summary.stopped_because, "time_budget");
      assert.ok(summary.succeeded > 0, "it delivered what it started");
      assert.ok(summary.succeeded < count, "but not everything");
      const rows = await deliveriesOf(sql, endpointId);
      assert.equal(rows.filter((row) => row.status === "sending").length, 0, "nothing is left leased");
      assert.equal(rows.filter((row) => row.status === "succeeded").length, summary.succeeded);
      assert.ok(rows.filter((row) => row.status === "pending").every((row) => row.attempt_count === 0));
      return summary;
    });
    assert.ok(summary.claimed > 0);

    await eventually(async () => {
      const current = await deliveriesOf(sql, endpointId);
      return current.every((row) => row.status === "succeeded") || undefined;
    }, { what: "the drain the scheduler wakes to deliver the rest" });
    assert.equal(receiver.requests.length, count);
  } finally {
    await receiver.close();
    await tenant.remove();
    await sql.end();
  }
});
