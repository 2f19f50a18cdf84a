// The fan-out never waits for an organization being deleted (a tenant's open transaction): it
// leaves that organization's committed events in the outbox for a later fan-out and fans out
// everyone else's. Waiting there held every organization's deliveries for as long as the
// deletion's transaction lasted.
import { deepStrictEqual as assertEquals, ok as assertOk } from "node:assert/strict";
import { asUser, connect, createTenant, eventually, integrationTest } from "./_support/stack.ts";
import { fanOut, registerEndpoint } from "./_support/webhooks.ts";

integrationTest("the fan-out skips an organization being deleted and fans out the others' events", async () => {
  const sql = connect(4);
  const deleting = await createTenant(sql, "fan-out-deleting");
  const other = await createTenant(sql, "fan-out-other");
  try {
    // Subscribed to another type: the jobs' events are fanned out to no delivery, nothing is sent.
    await registerEndpoint(sql, deleting, "http://127.0.0.1:9/never", ["invoice.paid"]);
    await registerEndpoint(sql, other, "http://127.0.0.1:9/never", ["invoice.paid"]);
    const titles = { deleting: `deleting ${crypto.randomUUID()}`, other: `other ${crypto.randomUUID()}` };
    const deleter = await sql.reserve();
    const fanner = await sql.reserve();
    const holder = await sql.reserve();
    try {
      // No dispatcher fans out until the deletion holds the organization (they try the fan-out's
      // lock and skip the fan-out while another holds it).
      await holder`begin`;
      await holder`select pg_advisory_xact_lock(hashtext('webhooks.fan_out'))`;
      await asUser(
        sql,
        deleting.userId,
        (tx) => tx`insert into public.jobs (org_id, title) values (${deleting.orgId}, ${titles.deleting})`,
      );
      await asUser(
        sql,
        other.userId,
        (tx) => tx`insert into public.jobs (org_id, title) values (${other.orgId}, ${titles.other})`,
      );
      // The deletion's first step: the organization's row.
      await deleter`begin`;
      await deleter`select 1 from public.organizations where id = ${deleting.orgId} for update`;
      const [{ pid: deleterPid }] = await deleter`select pg_backend_pid() as pid`;
      await holder`commit`;

      const [{ pid }] = await fanner`select pg_backend_pid() as pid`;
      const fanning = fanner`select webhooks.fan_out_committed()`.execute();
      // Waiting for a dispatcher's fan-out in progress is fine; waiting for the deletion is not.
      const waited = eventually(async () => {
        const [{ blocked }] = await sql<{ blocked: boolean }[]>`
          select ${deleterPid} = any (pg_blocking_pids(${pid})) as blocked`;
        return blocked || undefined;
      }, { timeoutMs: 3_600_000, what: "the fan-out waiting for the organization" });
      const done = await Promise.race([fanning.then(() => true), waited.then(() => false)]);
      assertOk(done, "the fan-out waited for the organization being deleted");

      const events = async (title: string) =>
        (await sql<{ n: number }[]>`
          select count(*)::int as n from webhooks.events where payload -> 'job' ->> 'title' = ${title}`)[0].n;
      assertEquals(await events(titles.other), 1, "the other organization's event is fanned out");
      assertEquals(await events(titles.deleting), 0, "the deleting organization's event waits");
      const [{ waiting }] = await sql<{ waiting: number }[]>`
        select count(*)::int as waiting from webhooks.outbox where org_id = ${deleting.orgId}`;
      assertEquals(waiting, 1, "in the outbox");

      // The deletion changes its mind: the event is fanned out by the next fan-out.
      await deleter`rollback`;
      await fanOut(sql);
      assertEquals(await events(titles.deleting), 1, "and is fanned out once the organization is free");
    } finally {
      await deleter`rollback`.catch(() => {});
      await holder`rollback`.catch(() => {});
      deleter.release();
      fanner.release();
      holder.release();
    }
  } finally {
    await deleting.remove();
    await other.remove();
    await sql.end();
  }
});
