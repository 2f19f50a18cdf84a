// A dispatcher whose clock is wrong still sends and records correctly: whether a lease covers a
// request is decided on monotonic time from the claim, and the times receivers and the database
// read (webhook-timestamp, an attempt's started_at) come from the database's clock.
// Serial: it pauses the scheduler so that only this dispatcher takes the deliveries.
import assert from "node:assert/strict";
import { loadDispatchConfig } from "../../supabase/functions/webhook-dispatch/config.ts";
import { drainDueDeliveries } from "../../supabase/functions/webhook-dispatch/drain.ts";
import { dispatchWorker } from "../../supabase/functions/webhook-dispatch/handler.ts";
import { postgresDeliveryStore } from "../../supabase/functions/webhook-dispatch/store.ts";
import { WorkerLimits } from "../../supabase/functions/webhook-dispatch/worker-limits.ts";
import { asUser, connect, createTenant, eventually, integrationTest, startReceiver } from "../_support/stack.ts";
import { attemptsOf, deliveriesOf, registerEndpoint, withDispatchPaused } from "../_support/webhooks.ts";

for (const skewSeconds of [45, -10]) {
  integrationTest(
    `a dispatcher whose clock is ${Math.abs(skewSeconds)} s ${
      skewSeconds > 0 ? "fast" : "slow"
    } sends every delivery and records database times`,
    async () => {
      const sql = connect(4);
      const receiver = startReceiver();
      const tenant = await createTenant(sql, "clock");
      const realNow = Date.now;
      try {
        const { endpointId } = await registerEndpoint(sql, tenant, receiver.url);
        const summary = await withDispatchPaused(sql, async () => {
          await asUser(
            sql,
            tenant.userId,
            (tx) =>
              tx`insert into public.jobs (org_id, title) select ${tenant.orgId}, 'Clock ' || n from generate_series(1, 5) n`,
          );
          const worker = dispatchWorker(loadDispatchConfig(Deno.env.toObject()), postgresDeliveryStore(sql), {
            limits: new WorkerLimits(150_000, new EventTarget()),
          });
          Date.now = () => realNow() + skewSeconds * 1000;
          try {
            return await drainDueDeliveries(worker, { timeBudgetMs: 10_000 });
          } finally {
            Date.now = realNow;
          }
        });
        const [{ after }] = await sql<{ after: Date }[]>`select clock_timestamp() as after`;
        assert.equal(summary.released, 0, "no delivery was handed back for a lease that looked too short");
        assert.ok(summary.succeeded >= 5, `sent them (${JSON.stringify(summary)})`);
        const rows = await eventually(async () => {
          const current = await deliveriesOf(sql, endpointId);
          return current.length === 5 && current.every((row) => row.status === "succeeded") ? current : undefined;
        }, { what: "their successes to be recorded" });
        const attempts = await attemptsOf(sql, endpointId);
        for (const [index, attempt] of attempts.entries()) {
          const claimed = rows.find((row) => row.attempt_count === 1)!.first_attempt_at!;
          assert.ok(
            attempt.started_at >= new Date(claimed.getTime() - 1),
            "started after the claim, by the database's clock",
          );
          assert.ok(attempt.started_at <= after, "and before the database's clock after the drain");
          const header = Number(receiver.requests[index].headers.get("webhook-timestamp"));
          assert.ok(
            Math.abs(header * 1000 - attempt.started_at.getTime()) < 1000,
            "webhook-timestamp is that time too",
          );
        }
      } finally {
        Date.now = realNow;
        await receiver.close();
        await tenant.remove();
        await sql.end();
      }
    },
  );
}
