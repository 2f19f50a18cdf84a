// Disabling an endpoint fails what it has queued without waiting for a delivery another
// transaction holds: a dispatcher's claim parks and releases pending deliveries, and a disabling
// that waited for one of them while that claim waited for a row the disabling had already failed
// was a deadlock. The skipped delivery is failed by the minute job once it is free.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { asUser, connect, createTenant, integrationTest } from "./_support/stack.ts";
import { deliveriesOf, registerEndpoint, withDispatchPaused } from "./_support/webhooks.ts";

integrationTest(
  "disabling an endpoint skips a queued delivery another transaction holds, and the minute job fails it",
  async () => {
    const sql = connect(3);
    const holder = connect(1);
    const tenant = await createTenant(sql, "disable-locks");
    try {
      await withDispatchPaused(sql, async () => {
        const { endpointId } = await registerEndpoint(sql, tenant, "http://127.0.0.1:9/never");
        await asUser(
          sql,
          tenant.userId,
          (tx) =>
            tx`insert into public.jobs (org_id, title) select ${tenant.orgId}, 'Locked ' || g from generate_series(1, 2) g`,
        );
        await sql`select webhooks.fan_out_committed()`;
        const [held, free] = await deliveriesOf(sql, endpointId);

        await holder.begin(async (lock) => {
          await lock`select id from webhooks.deliveries where id = ${held.id} for update`;
          // Without skipping it, this would wait for the holder until lock_timeout cancels it.
          await sql.begin(async (tx) => {
            await tx`set local lock_timeout = '10s'`;
            await tx`update webhooks.endpoints set enabled = false where id = ${endpointId}`;
          });
          const statuses = await sql<{ id: string; status: string }[]>`
          select id, status from webhooks.deliveries where endpoint_id = ${endpointId} order by id`;
          assertEquals(
            statuses.map((row) => row.status),
            [held, free].sort((a, b) => Number(a.id) - Number(b.id))
              .map((row) => row.id === held.id ? "pending" : "failed"),
          );
        });

        await sql`select webhooks.run_every_minute()`;
        assertEquals((await deliveriesOf(sql, endpointId)).map((row) => row.status), ["failed", "failed"]);
      });
    } finally {
      await holder.end();
      await tenant.remove();
      await sql.end();
    }
  },
);
