// Recording a batch of attempts never waits for an organization being deleted (a tenant's open
// transaction): it key-share locks the organizations first, skipping one whose row the deletion
// holds, and leaves that organization's outcomes unrecorded (its deliveries go with it, or are
// claimed again when their leases expire if the deletion rolls back). Taking the deliveries first
// deadlocked with the cascade, and waiting held every other tenant's outcomes in the batch.
import { deepStrictEqual as assertEquals, ok as assertOk } from "node:assert/strict";
import { connect, createTenant, eventually, integrationTest } from "./_support/stack.ts";
import { registerEndpoint } from "./_support/webhooks.ts";

integrationTest("recording attempts skips an organization being deleted and records the others' outcomes", async () => {
  const sql = connect(4);
  const tenant = await createTenant(sql, "lock-order");
  const other = await createTenant(sql, "lock-order-other");
  // A delivery in flight under a long lease for each, so no dispatcher touches them: subscribed to
  // another type, the events fan out to nothing, and the deliveries are written by hand.
  const inFlight = async (owner: { orgId: string; userId: string }) => {
    const { endpointId } = await registerEndpoint(sql, owner, "http://127.0.0.1:9/never", ["invoice.paid"]);
    const leaseToken = crypto.randomUUID();
    const [delivery] = await sql.begin(async (tx) => {
      const [event] = await tx`insert into webhooks.events (org_id, event_type, payload)
                               values (${owner.orgId}, 'job.created', '{}') returning id`;
      return await tx<{ id: string }[]>`
        insert into webhooks.deliveries (org_id, event_id, endpoint_id, status, lease_token, lease_expires_at,
                                         attempt_count, first_attempt_at)
        values (${owner.orgId}, ${event.id}, ${endpointId}, 'sending', ${leaseToken}, now() + interval '5 minutes',
                0, now())
        returning id`;
    });
    return {
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
    };
  };
  try {
    const deleted = await inFlight(tenant);
    const recordedElsewhere = await inFlight(other);
    const deleter = await sql.reserve();
    const recorder = await sql.reserve();
    try {
      // The deletion's first step: the organization's row.
      await deleter`begin`;
      await deleter`select 1 from public.organizations where id = ${tenant.orgId} for update`;
      const [{ pid }] = await recorder`select pg_backend_pid() as pid`;
      const recording = recorder`select webhooks.record_attempts(${sql.json([deleted, recordedElsewhere])}) as updated`
        .execute();
      const waited = eventually(async () => {
        const [row] = await sql`select wait_event_type from pg_stat_activity where pid = ${pid}`;
        return row?.wait_event_type === "Lock" || undefined;
      }, { timeoutMs: 3_600_000, what: "the recorder waiting for the organization" });
      const outcome = await Promise.race([recording.then(([row]) => row), waited.then(() => undefined)]);
      assertOk(outcome, "the recorder waited for the organization being deleted");
      assertEquals(outcome.updated, 1, "only the other organization's outcome is recorded");

      // The cascade's second step: the organization's deliveries, which the recorder did not hold.
      await deleter`delete from public.organizations where id = ${tenant.orgId}`;
      await deleter`commit`;
      const [left] = await sql`select count(*)::int as n from webhooks.deliveries where id = ${deleted.delivery_id}`;
      assertEquals(left.n, 0, "the deleted organization's delivery went with it");
      const [elsewhere] = await sql`select status from webhooks.deliveries where id = ${recordedElsewhere.delivery_id}`;
      assertEquals(elsewhere.status, "succeeded");
    } finally {
      await deleter`rollback`.catch(() => {});
      deleter.release();
      recorder.release();
    }
  } finally {
    await tenant.remove().catch(() => {});
    await other.remove();
    await sql.end();
  }
});
