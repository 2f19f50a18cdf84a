// Per-resource sequence numbers: every event about a resource carries resource.sequence, 1, 2, 3 …
// in commit order without gaps across all of the resource's event types, so a receiver can drop
// stale events and notice missed ones. Changes are made as a member, the way PostgREST runs them.
import assert from "node:assert/strict";
import type postgres from "npm:postgres@3.4.9";
import { createAdminFixture } from "./_support/admin.ts";
import { asUser, connect, connectAsSuperuser, eventually, integrationTest } from "./_support/stack.ts";
import { fanOut, insertJob } from "./_support/webhooks.ts";

const WRITERS = 8;
const sql = connect(WRITERS + 2);
globalThis.addEventListener("unload", () => void sql.end());

interface ResourceEvent {
  event_type: string;
  sequence: number;
  payload: Record<string, unknown> & { resource: { type: string; id: string; sequence: number } };
}

/** The resource's events after a fan-out, in sequence order. */
async function eventsOf(resourceId: string): Promise<ResourceEvent[]> {
  await fanOut(sql);
  return await sql<ResourceEvent[]>`
    select event_type, sequence::int as sequence, payload from webhooks.events
     where resource_id = ${resourceId} order by sequence`;
}

/** Each event as "<type> <sequence>", checking that the envelope's resource says the same. */
function numbered(events: ResourceEvent[], type: string, id: string): string[] {
  for (const event of events) {
    assert.deepEqual(event.payload.resource, { type, id, sequence: event.sequence }, event.event_type);
  }
  return events.map((event) => `${event.event_type} ${event.sequence}`);
}

/** The job's event_sequence column: the number of its latest event. */
async function eventSequenceOf(jobId: string): Promise<number> {
  const [{ event_sequence }] = await sql<{ event_sequence: number }[]>`
    select event_sequence::int as event_sequence from public.jobs where id = ${jobId}`;
  return event_sequence;
}

/** Runs `work` with a member of a new organization. */
async function withMember(label: string, work: (member: { userId: string; orgId: string }) => Promise<void>) {
  const people = await createAdminFixture(sql, label);
  try {
    await work({ userId: people.member.userId, orgId: people.orgId });
  } finally {
    await people.remove();
  }
}

integrationTest(
  "a job's events are numbered 1, 2, 3 … across its types, a transition right after its job.updated",
  () =>
    withMember("sequence-job", async (member) => {
      const job = await insertJob(sql, member, "Replace sink");
      await asUser(sql, member.userId, (tx) =>
        tx`update public.jobs set title = 'Replace the sink' where id = ${job.id}`);
      await asUser(sql, member.userId, (tx) =>
        tx`update public.jobs set status = 'completed' where id = ${job.id}`);
      await asUser(sql, member.userId, (tx) =>
        tx`delete from public.jobs where id = ${job.id}`);

      assert.deepEqual(numbered(await eventsOf(job.id), "job", job.id), [
        "job.created 1",
        "job.updated 2",
        "job.updated 3",
        "job.completed 4",
        "job.deleted 5",
      ]);
    }),
);

integrationTest(
  "an invoice's events are numbered across its types, invoice.paid right after the invoice.updated of the payment that settles it",
  () =>
    withMember("sequence-invoice", async (member) => {
      const [invoice] = await asUser(sql, member.userId, async (tx) => {
        const [client] =
          await tx`insert into public.clients (org_id, name) values (${member.orgId}, 'Cafe') returning id`;
        return await tx<{ id: string }[]>`
          insert into public.invoices (org_id, client_id, total) values (${member.orgId}, ${client.id}, 300) returning id`;
      });
      await asUser(sql, member.userId, (tx) => tx`update public.invoices set status = 'open' where id = ${invoice.id}`);
      for (const amount of [100, 200]) {
        await asUser(sql, member.userId, (tx) =>
          tx`insert into public.payments (org_id, invoice_id, amount, method)
             values (${member.orgId}, ${invoice.id}, ${amount}, 'card')`);
      }

      assert.deepEqual(numbered(await eventsOf(invoice.id), "invoice", invoice.id), [
        "invoice.created 1",
        "invoice.updated 2",
        "invoice.issued 3",
        "invoice.updated 4",
        "invoice.updated 5",
        "invoice.paid 6",
      ]);
    }),
);

integrationTest(
  "a payment is a resource of its own: its payment.received is number 1",
  () =>
    withMember("sequence-payment", async (member) => {
      const [payment] = await asUser(sql, member.userId, async (tx) => {
        const [client] =
          await tx`insert into public.clients (org_id, name) values (${member.orgId}, 'Cafe') returning id`;
        const [invoice] = await tx`
          insert into public.invoices (org_id, client_id, total, status)
          values (${member.orgId}, ${client.id}, 300, 'open') returning id`;
        return await tx<{ id: string }[]>`
          insert into public.payments (org_id, invoice_id, amount, method)
          values (${member.orgId}, ${invoice.id}, 100, 'ach') returning id`;
      });

      assert.deepEqual(numbered(await eventsOf(payment.id), "payment", payment.id), ["payment.received 1"]);
    }),
);

integrationTest(
  "an update that changes nothing an event lists publishes nothing and does not advance event_sequence",
  () =>
    withMember("sequence-noop", async (member) => {
      const [job] = await asUser(sql, member.userId, (tx) =>
        tx<{ id: string }[]>`
          insert into public.jobs (org_id, title, description) values (${member.orgId}, 'Replace sink', 'Leaks') returning id`);
      await asUser(sql, member.userId, async (tx) => {
        await tx`update public.jobs set title = title, description = description, status = status where id = ${job.id}`;
        await tx`update public.jobs set updated_at = now() + interval '1 minute' where id = ${job.id}`;
      });
      assert.equal(await eventSequenceOf(job.id), 1);
      assert.deepEqual(numbered(await eventsOf(job.id), "job", job.id), ["job.created 1"]);

      await asUser(sql, member.userId, (tx) =>
        tx`update public.jobs set title = 'Replace the sink' where id = ${job.id}`);
      assert.deepEqual(numbered(await eventsOf(job.id), "job", job.id), ["job.created 1", "job.updated 2"]);
    }),
);

integrationTest(
  "<resource>.updated lists the changed fields sorted, with their previous values formatted like the resource",
  () =>
    withMember("sequence-previous", async (member) => {
      const [invoice] = await asUser(sql, member.userId, async (tx) => {
        const [client] =
          await tx`insert into public.clients (org_id, name) values (${member.orgId}, 'Cafe') returning id`;
        return await tx<{ id: string }[]>`
          insert into public.invoices (org_id, client_id, total, due_at)
          values (${member.orgId}, ${client.id}, 300, '2026-12-01T09:00:00.5-05') returning id`;
      });
      await asUser(sql, member.userId, (tx) =>
        tx`update public.invoices set total = 350.25, due_at = '2027-01-15T00:00:00Z' where id = ${invoice.id}`);

      const [updated] = (await eventsOf(invoice.id)).filter((event) =>
        event.event_type === "invoice.updated"
      );
      assert.deepEqual(updated.payload.changed_fields, ["due_at", "total"]);
      assert.deepEqual(updated.payload.previous, { due_at: "2026-12-01T14:00:00.500Z", total: "300.00" });
      const now = updated.payload.invoice as Record<string, unknown>;
      assert.deepEqual([now.due_at, now.total], ["2027-01-15T00:00:00.000Z", "350.25"]);
    }),
);

integrationTest(
  "concurrent writers of one job take consecutive numbers, none shared or skipped, in the order they commit",
  () =>
    withMember("sequence-concurrent", async (member) => {
      const job = await insertJob(sql, member, "Contended");

      // Hold the job's row so that every writer is queued on it before any of them gets it.
      let release = () => {};
      const released = new Promise<void>((resolve) => (release = resolve));
      const holding = sql.begin(async (tx) => {
        await tx`select from public.jobs where id = ${job.id} for update`;
        await released;
      });
      const writers = Array.from({ length: WRITERS }, () =>
        asUser(sql, member.userId, (tx) => tx`update public.jobs set title = title || '+' where id = ${job.id}`));
      try {
        await eventually(async () => {
          const [{ waiting }] = await sql<{ waiting: number }[]>`
            select count(*)::int as waiting from pg_stat_activity
             where datname = current_database() and wait_event_type = 'Lock'
               and query like 'update public.jobs set title = title || ''+''%'`;
          return waiting === WRITERS || undefined;
        }, { what: `${WRITERS} writers waiting for the job's row` });
      } finally {
        release();
      }
      await holding;
      await Promise.all(writers);

      const updates = (await eventsOf(job.id)).filter((event) =>
        event.event_type === "job.updated"
      );
      assert.deepEqual(
        updates.map((event) => event.sequence),
        Array.from({ length: WRITERS }, (_, index) => index + 2),
      );
      for (const event of updates) {
        // The k-th event is the (k-1)-th commit: the title has one '+' per writer committed by then.
        assert.equal((event.payload.job as { title: string }).title, `Contended${"+".repeat(event.sequence - 1)}`);
      }
      assert.equal(await eventSequenceOf(job.id), WRITERS + 1);
    }),
);

integrationTest(
  "a member may not name event_sequence in an insert",
  () =>
    withMember("sequence-insert", async (member) => {
      await assert.rejects(
        asUser(
          sql,
          member.userId,
          (tx) => tx`insert into public.jobs (org_id, title, event_sequence) values (${member.orgId}, 'Forged', 42)`,
        ),
        (error: postgres.PostgresError) => error.code === "42501" && /permission denied/.test(error.message),
      );
    }),
);

integrationTest(
  "an event_sequence a member sets in an update is replaced by the database's number",
  () =>
    withMember("sequence-update", async (member) => {
      const job = await insertJob(sql, member, "Replace sink");
      await asUser(sql, member.userId, (tx) => tx`update public.jobs set event_sequence = 42 where id = ${job.id}`);
      assert.equal(await eventSequenceOf(job.id), 1);
      await asUser(
        sql,
        member.userId,
        (tx) => tx`update public.jobs set title = 'Replace the sink', event_sequence = 42 where id = ${job.id}`,
      );
      assert.equal(await eventSequenceOf(job.id), 2);
      assert.deepEqual(numbered(await eventsOf(job.id), "job", job.id), ["job.created 1", "job.updated 2"]);
    }),
);

integrationTest(
  "a 1,000-row import publishes set-based: one trigger call for the statement, 1,000 job.created numbered 1",
  () =>
    withMember("sequence-import", async (member) => {
      // Function statistics (track_functions) are the superuser's to switch on.
      const superuser = connectAsSuperuser();
      try {
        const inTransaction = await superuser.begin(async (tx) => {
          await tx`set local track_functions = 'pl'`;
          const claims = JSON.stringify({ sub: member.userId, role: "authenticated", aud: "authenticated" });
          await tx`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', ${claims}, true)`;
          await tx`insert into public.jobs (org_id, title)
                   select ${member.orgId}, 'Imported ' || n from generate_series(1, 1000) n`;
          await tx`set local role none`;
          const [{ calls }] = await tx<{ calls: number }[]>`
            select coalesce(sum(calls), 0)::int as calls from pg_stat_xact_user_functions
             where schemaname = 'webhooks' and funcname = 'tg__publish_changes'`;
          const outbox = await tx`
            select event_type, sequence::int as sequence, count(*)::int as count from webhooks.outbox
             where txid = pg_current_xact_id() group by event_type, sequence`;
          return { calls, outbox };
        });
        assert.equal(inTransaction.calls, 1);
        assert.deepEqual([...inTransaction.outbox], [{ event_type: "job.created", sequence: 1, count: 1000 }]);

        await fanOut(sql);
        const events = await sql`
          select event_type, sequence::int as sequence, count(distinct resource_id)::int as count
            from webhooks.events where org_id = ${member.orgId} group by event_type, sequence`;
        assert.deepEqual([...events], [{ event_type: "job.created", sequence: 1, count: 1000 }]);
      } finally {
        await superuser.end();
      }
    }),
);
