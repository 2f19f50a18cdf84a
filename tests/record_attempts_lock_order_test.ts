// Recording a batch of attempts and deleting an organization take their locks in the same order
// (the organization first), so they queue instead of deadlocking. A deadlock would abort one of
// them; when that was the dispatcher, its whole batch, other tenants' deliveries included, waited
// for the 60 s lease.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { connect, createTenant, eventually, integrationTest } from "./_support/stack.ts";
import { registerEndpoint } from "./_support/webhooks.ts";

integrationTest("recording attempts waits for an organization being deleted instead of deadlocking", async () => {
  const sql = connect(3);
  const tenant = await createTenant(sql, "lock-order");
  try {
    // A delivery in flight under a long lease, so no dispatcher touches it: subscribed to another
    // type, the event fans out to nothing, and the delivery is written by hand.
    const { endpointId } = await registerEndpoint(sql, tenant, "http://127.0.0.1:9/never", ["invoice.paid"]);
    const leaseToken = crypto.randomUUID();
    const [delivery] = await sql.begin(async (tx) => {
      const [event] = await tx`insert into webhooks.events (org_id, event_type, payload)
                               values (${tenant.orgId}, 'job.created', '{}') returning id`;
      return await tx<{ id: string }[]>`
        insert into webhooks.deliveries (org_id, event_id, endpoint_id, status, lease_token, lease_expires_at,
                                         attempt_count, first_attempt_at)
        values (${tenant.orgId}, ${event.id}, ${endpointId}, 'sending', ${leaseToken}, now() + interval '5 minutes',
                0, now())
        returning id`;
    });

    const deleter = await sql.reserve();
    const recorder = await sql.reserve();
    try {
      // The deletion's first step: the organization's row.
      await deleter`begin`;
      await deleter`select 1 from public.organizations where id = ${tenant.orgId} for update`;
      const [{ pid }] = await recorder`select pg_backend_pid() as pid`;

      const results = [{
        delivery_id: Number(delivery.id),
        lease_token: leaseToken,
        sent: true,
        retry_count: 0,
        started_at: new Date().toISOString(),
        duration_ms: 3,
        response_status: 200,
        response_excerpt: "ok",
        error: null,
        payload_sha256: "0".repeat(64),
        retry_after_seconds: null,
      }];
      // Sent now (postgres.js sends a query when it is awaited or executed).
      const recording = recorder`select webhooks.record_attempts(${sql.json(results)}) as updated`.execute();
      // Blocked, and (with the right lock order) holding no delivery row.
      await eventually(async () => {
        const [row] = await sql`select wait_event_type from pg_stat_activity where pid = ${pid}`;
        return row?.wait_event_type === "Lock" || undefined;
      }, { what: "the recorder waiting for the organization" });

      // The cascade's second step: the organization's deliveries. A recorder holding them would
      // deadlock here.
      await deleter`delete from public.organizations where id = ${tenant.orgId}`;
      await deleter`commit`;

      const [recorded] = await recording;
      assertEquals(recorded.updated, 0, "the batch finds its deliveries gone with the organization");
    } finally {
      await deleter`rollback`.catch(() => {});
      deleter.release();
      recorder.release();
    }
  } finally {
    await tenant.remove();
    await sql.end();
  }
});
