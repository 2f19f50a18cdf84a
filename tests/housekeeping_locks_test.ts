// The minute job (webhooks.run_every_minute) skips deliveries another transaction has locked
// instead of waiting for them. A dispatcher recording a slow batch holds exactly such rows (sending,
// lease run out, window over); waiting for them, in its own lock order, could deadlock with the
// batch and abort one side.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { connect, createTenant, eventually, integrationTest } from "./_support/stack.ts";
import { deliveriesOf, registerEndpoint } from "./_support/webhooks.ts";

integrationTest("the minute job skips deliveries a dispatcher is recording instead of waiting for them", async () => {
  const sql = connect(3);
  const tenant = await createTenant(sql, "housekeeping-locks");
  try {
    // Two deliveries whose lease has run out, written by hand on a disabled endpoint (so no
    // dispatcher claims them): one past its window, one within it. Subscribed to another type, the
    // job event fans out to nothing.
    const { endpointId } = await registerEndpoint(sql, tenant, "http://127.0.0.1:9/never", ["invoice.paid"]);
    await sql`update webhooks.endpoints set enabled = false, disabled_reason = 'test' where id = ${endpointId}`;
    await sql`
      with events as (
        insert into webhooks.events (org_id, event_type, payload)
        select ${tenant.orgId}, 'job.created', '{}' from generate_series(1, 2)
        returning id
      )
      insert into webhooks.deliveries (org_id, event_id, endpoint_id, status, lease_token, lease_expires_at,
                                       attempt_count, first_attempt_at)
      select ${tenant.orgId}, e.id, ${endpointId}, 'sending', gen_random_uuid(), now() - interval '1 second', 3,
             now() - case when e.id = (select min(id) from events) then interval '25 hours' else interval '1 hour' end
        from events e
       order by e.id`;

    const recorder = await sql.reserve();
    const housekeeper = await sql.reserve();
    try {
      // The recorder's batch holds both deliveries' rows.
      await recorder`begin`;
      await recorder`select 1 from webhooks.deliveries where endpoint_id = ${endpointId} order by id for update`;
      const [{ pid: recorderPid }] = await recorder`select pg_backend_pid() as pid`;
      const [{ pid: housekeeperPid }] = await housekeeper`select pg_backend_pid() as pid`;

      // Sent now; it either finishes or ends up blocked by the recorder, whichever comes first.
      let finished = false;
      const housekeeping = housekeeper`select webhooks.run_every_minute()`.execute().then(() => finished = true);
      const outcome = await eventually(async () => {
        if (finished) return "finished";
        const [row] = await sql`select ${recorderPid}::int = any(pg_blocking_pids(${housekeeperPid}::int)) as blocked`;
        return row.blocked ? "blocked by the recorder" : undefined;
      }, { what: "the minute job to finish or block" });
      await recorder`rollback`;
      await housekeeping;
      assertEquals(outcome, "finished", "the minute job never waits for a locked delivery");
      assertEquals((await deliveriesOf(sql, endpointId)).map((row) => row.status), ["sending", "sending"]);

      // Once the rows are free, the next minute ends them. (The stack's own minute job may be
      // running too and hold one of them for a moment: then it ends that one, and this run skips it.)
      const ended = [
        ["exhausted", "No attempt completed within the delivery window."],
        ["failed", "The endpoint was disabled."],
      ];
      const states = async () => (await deliveriesOf(sql, endpointId)).map((row) => [row.status, row.last_error]);
      await housekeeper`select webhooks.run_every_minute()`;
      await eventually(async () => JSON.stringify(await states()) === JSON.stringify(ended) || undefined, {
        what: "both deliveries to be ended",
      }).catch(() => {});
      assertEquals(await states(), ended);
    } finally {
      await recorder`rollback`.catch(() => {});
      recorder.release();
      housekeeper.release();
    }
  } finally {
    await tenant.remove();
    await sql.end();
  }
});
