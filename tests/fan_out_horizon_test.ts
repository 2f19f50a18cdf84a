// The fan-out reads the outbox from its horizon (webhooks.fan_out_horizon), so that it never steps
// over the index entries of rows it has already deleted. Transactions commit out of txid order:
// one that started writing before a fan-out and commits after it has an older txid than rows
// already fanned out, and its events must still go out.
import assert from "node:assert/strict";
import postgres from "npm:postgres@3.4.9";
import { asUser, connect, createTenant, eventually, integrationTest, stack } from "./_support/stack.ts";
import { fanOut, registerEndpoint } from "./_support/webhooks.ts";

integrationTest(
  "a writer that commits after a fan-out, with an older txid than what it took, is fanned out",
  async () => {
    const sql = connect(4);
    const writer = postgres(stack.SUPABASE_DB_URL, { max: 1, onnotice: () => {} });
    const tenant = await createTenant(sql, "horizon");
    // Another organization's writer: two writers of one organization queue for its job numbers.
    const other = await createTenant(sql, "horizon-other");
    let commitWriter = () => {};
    const writerMayCommit = new Promise<void>((resolve) => (commitWriter = resolve));
    try {
      const { endpointId } = await registerEndpoint(sql, tenant, "https://hooks.example.com/horizon");
      let olderTxid: string | null = null;
      const writing = asUser(writer, tenant.userId, async (tx) => {
        await tx`insert into public.jobs (org_id, title) values (${tenant.orgId}, 'Committed last')`;
        [{ txid: olderTxid }] = await tx<{ txid: string }[]>`select pg_current_xact_id()::text as txid`;
        await writerMayCommit;
      });
      await eventually(() => olderTxid ?? undefined, { what: "the older writer's uncommitted event" });

      await asUser(
        sql,
        other.userId,
        (tx) => tx`insert into public.jobs (org_id, title) values (${other.orgId}, 'Committed first')`,
      );
      await fanOut(sql);
      const [{ fannedOut, below }] = await sql<{ fannedOut: number; below: boolean }[]>`
      select (select count(*)::int from webhooks.events e
               where e.org_id = ${other.orgId} and e.payload -> 'job' ->> 'title' = 'Committed first') as "fannedOut",
             (select h.low_txid <= ${olderTxid}::xid8 from webhooks.fan_out_horizon h) as below`;
      assert.equal(fannedOut, 1, "the younger transaction's event was fanned out");
      assert.ok(below, "the horizon stays at or below the txid of the writer still running");

      commitWriter();
      await writing;
      await fanOut(sql);
      const titles = await sql<{ title: string }[]>`
      select e.payload -> 'job' ->> 'title' as title
        from webhooks.deliveries d join webhooks.events e on e.id = d.event_id
       where d.endpoint_id = ${endpointId} order by 1`;
      assert.deepEqual(titles.map((row) => row.title), ["Committed last"]);
      const [{ waiting }] = await sql<{ waiting: number }[]>`
      select count(*)::int as waiting from webhooks.outbox where org_id = ${tenant.orgId}`;
      assert.equal(waiting, 0);
    } finally {
      commitWriter();
      await tenant.remove();
      await writer.end();
      await sql.end();
    }
  },
);

integrationTest("a fan-out that finds nothing writes nothing (a lingering drain claims every few ms)", async () => {
  const sql = postgres(stack.SUPABASE_DB_URL, { max: 1, onnotice: () => {} });
  const session = await sql.reserve();
  try {
    // Other tests write meanwhile: look until a fan-out finds the outbox empty, and check every one
    // that did. Rolled back, so whatever a look took stays for the stack's own dispatcher.
    let emptyLooks = 0;
    for (let look = 0; look < 50 && emptyLooks < 3; look++) {
      await session`begin`;
      const [{ taken, xid }] = await session<{ taken: number; xid: string | null }[]>`
        select webhooks.fan_out(2000, true) as taken, pg_current_xact_id_if_assigned()::text as xid`;
      await session`rollback`;
      if (taken > 0) continue;
      emptyLooks++;
      assert.equal(xid, null, "nothing fanned out: no transaction id, so no WAL flush at commit");
    }
    assert.ok(emptyLooks > 0, "a fan-out found the outbox empty at least once");
  } finally {
    session.release();
    await sql.end();
  }
});
