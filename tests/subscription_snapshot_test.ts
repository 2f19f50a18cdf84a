// An event goes to the endpoints subscribed when it committed, although it is fanned out after:
// creating or subscribing an endpoint waits for the organization's writers in progress (and
// fans out what they committed first), so it never receives their events; writers of other
// organizations never wait for it.
import assert from "node:assert/strict";
import postgres from "npm:postgres@3.4.9";
import { asUser, connect, createTenant, eventually, integrationTest, stack } from "./_support/stack.ts";
import { fanOut, registerEndpoint } from "./_support/webhooks.ts";

integrationTest(
  "an endpoint created while a writer's event is uncommitted waits for it and does not get that event",
  async () => {
    const sql = connect(4);
    const writer = postgres(stack.SUPABASE_DB_URL, { max: 1, onnotice: () => {} });
    const tenant = await createTenant(sql, "snapshot");
    const other = await createTenant(sql, "snapshot-other");
    let commitWriter = () => {};
    const writerMayCommit = new Promise<void>((resolve) => (commitWriter = resolve));
    try {
      const before = await registerEndpoint(sql, tenant, "https://hooks.example.com/before");
      let writerPid = 0;
      const writing = asUser(writer, tenant.userId, async (tx) => {
        await tx`insert into public.jobs (org_id, title) values (${tenant.orgId}, 'Written before the endpoint')`;
        [{ pid: writerPid }] = await tx<{ pid: number }[]>`select pg_backend_pid() as pid`;
        await writerMayCommit;
      });
      await eventually(() => writerPid || undefined, { what: "the writer's uncommitted event" });

      const order: string[] = [];
      const creating = registerEndpoint(sql, tenant, "https://hooks.example.com/after").then((endpoint) => {
        order.push("endpoint created");
        return endpoint;
      });
      await eventually(async () => {
        const [{ waiting }] = await sql<{ waiting: boolean }[]>`
          select bool_or(${writerPid} = any (pg_blocking_pids(a.pid))) as waiting
            from pg_stat_activity a where a.query like '%create_endpoint%' and a.pid <> pg_backend_pid()`;
        return waiting || undefined;
      }, { what: "the endpoint's creation to wait for the writer" });
      // Another organization's writer does not wait.
      await asUser(
        sql,
        other.userId,
        (tx) => tx`insert into public.jobs (org_id, title) values (${other.orgId}, 'Elsewhere')`,
      );
      order.push("other organization wrote");
      commitWriter();
      await writing;
      const after = await creating;
      assert.deepEqual(order, ["other organization wrote", "endpoint created"]);

      await fanOut(sql);
      const recipients = await sql<{ endpoint_id: string }[]>`
        select d.endpoint_id from webhooks.deliveries d join webhooks.events e on e.id = d.event_id
         where e.org_id = ${tenant.orgId} and e.payload -> 'job' ->> 'title' = 'Written before the endpoint'`;
      assert.deepEqual(recipients.map((row) => row.endpoint_id), [before.endpointId]);
      assert.notEqual(after.endpointId, before.endpointId);
    } finally {
      commitWriter();
      await tenant.remove();
      await other.remove();
      await writer.end();
      await sql.end();
    }
  },
);
