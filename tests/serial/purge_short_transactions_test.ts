// The retention purge (the daily job's command, run here as pg_cron runs it) commits after every
// chunk: while a large purge is still running, what it already deleted is gone for everyone,
// vacuum reclaims those rows (no transaction of the purge holds the xmin horizon back to its
// start), and a dispatcher's claim goes through. To look at it mid-way without timing anything, the test holds
// a SHARE lock on webhooks.events: the purge deletes every old attempt first, chunk by chunk, then
// waits for that lock before its first events chunk. (Serial: the lock would hold up other tests'
// event writes.)
import assert from "node:assert/strict";
import postgres from "npm:postgres@3.4.9";
import { connect, createTenant, eventually, integrationTest, stack } from "../_support/stack.ts";
import { insertJob, registerEndpoint, withDispatchPaused } from "../_support/webhooks.ts";

const OLD_ATTEMPTS = 20_000;

integrationTest("a large purge commits chunk by chunk: vacuum reclaims and claims go on while it runs", async () => {
  const sql = connect(4);
  const tenant = await createTenant(sql, "purge");
  const quiet = await createTenant(sql, "purge-events");
  try {
    const { endpointId } = await registerEndpoint(sql, tenant, "http://127.0.0.1:9/purged");
    await insertJob(sql, tenant, "Purged");
    const [delivery] = await sql<
      { id: string }[]
    >`select id from webhooks.deliveries where endpoint_id = ${endpointId}`;
    // Old history: attempts of that delivery, and old events of an organization without endpoints.
    await sql`
      insert into webhooks.attempts (org_id, delivery_id, endpoint_id, retry_count, started_at, duration_ms,
                                     response_status, payload_sha256)
      select ${tenant.orgId}, ${delivery.id}, ${endpointId}, g, now() - interval '40 days', 1, 200, repeat('0', 64)
        from generate_series(1, ${OLD_ATTEMPTS}) as g`;
    await sql`
      insert into webhooks.events (org_id, event_type, payload, created_at)
      select ${quiet.orgId}, 'job.created', '{}', now() - interval '40 days' from generate_series(1, 50)`;
    const oldAttempts = () =>
      sql<{ count: number }[]>`
        select count(*)::int from webhooks.attempts
         where delivery_id = ${delivery.id} and started_at < now() - interval '30 days'`.then(([row]) => row.count);
    assert.equal(await oldAttempts(), OLD_ATTEMPTS);

    // No drain of the stack's own may claim meanwhile: one blocked on the locked events would hold
    // a snapshot from before the purge, and vacuum could reclaim nothing.
    await withDispatchPaused(sql, async () => {
      const holder = await sql.reserve();
      const purger = await sql.reserve();
      try {
        await holder`begin`;
        // The fan-out (which inserts events) would wait for the lock below too: hold its turn, so
        // the claim further down skips its fan-out, as a claim does while another fan-out runs.
        // (First: the lock statement after it leaves this transaction holding no snapshot.)
        await holder`select pg_advisory_xact_lock(hashtext('webhooks.fan_out'))`;
        await holder`lock table webhooks.events in share mode`;
        const [{ pid }] = await purger<{ pid: number }[]>`select pg_backend_pid() as pid`;
        const [{ command }] = await sql<{ command: string }[]>`
        select command from cron.job where jobname = 'webhooks-purge-expired'`;
        // As its own top-level command, as pg_cron sends it (a simple query, no transaction block).
        const purge = purger.unsafe(command).simple().then(() => "done");

        // The purge reaches the events and waits for the lock: every attempts chunk is behind it.
        await eventually(async () => {
          const [row] = await sql`select wait_event_type from pg_stat_activity where pid = ${pid}`;
          return row?.wait_event_type === "Lock" || undefined;
        }, { what: "the purge to reach the locked events" });

        assert.equal(await oldAttempts(), 0, "the deleted attempts are committed while the purge still runs");

        const notices: string[] = [];
        const vacuumer = postgres(stack.SUPABASE_DB_URL, {
          max: 1,
          onnotice: (notice) => notices.push(notice.message),
        });
        try {
          await vacuumer.unsafe("vacuum (verbose) webhooks.attempts");
        } finally {
          await vacuumer.end();
        }
        // VACUUM VERBOSE reports "tuples: R removed, N remain, D are dead but not yet removable" (rows
        // page pruning already reclaimed while the purge scanned are no longer there to count).
        const [, remain, unremovable] = notices.map((message) =>
          message.match(/tuples: \d+ removed, (\d+) remain, (\d+) are dead but not yet removable/)
        ).find(Boolean) ?? [];
        assert.ok(remain !== undefined, `vacuum reported its tuples:\n${notices.join("\n")}`);
        assert.ok(Number(remain) < OLD_ATTEMPTS, `the purged rows are reclaimed mid-purge:\n${notices.join("\n")}`);
        assert.equal(Number(unremovable), 0, `nothing is held back by the running purge:\n${notices.join("\n")}`);

        // A dispatcher's claim is not held up by the purge (it claims whatever is due, here or not).
        const claimed = await sql`select delivery_id from webhooks.claim_due_deliveries(10, 60)`;
        assert.ok(Array.isArray(claimed));
        const [still] = await sql`select wait_event_type from pg_stat_activity where pid = ${pid}`;
        assert.equal(still?.wait_event_type, "Lock", "the claim went through while the purge was still running");
        // Hand back what the claim leased, so the dispatcher sends it as usual.
        if (claimed.length > 0) {
          await sql`update webhooks.deliveries set status = 'pending', lease_token = null, lease_expires_at = null
                   where id in ${
            sql(claimed.map((row) => row.delivery_id))
          } and status = 'sending'`;
        }

        await holder`commit`;
        assert.equal(await purge, "done");
        const [{ count }] = await sql`select count(*)::int from webhooks.events where org_id = ${quiet.orgId}`;
        assert.equal(count, 0, "the old events went once the lock was released");
      } finally {
        // Never leave the lock held: cleanup deletes events too.
        await holder`rollback`.catch(() => {});
        holder.release();
        purger.release();
      }
    });
  } finally {
    await tenant.remove();
    await quiet.remove();
    await sql.end();
  }
});
