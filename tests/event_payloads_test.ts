// Every event type, produced by real changes (a member's and an admin's, made the way PostgREST
// runs them, and a delivery that really exhausts), fanned out as the dispatcher does and
// validated against its zod schema: the schemas describe what receivers really get.
import assert from "node:assert/strict";
import { EVENT_CATALOG, EVENT_TYPES, type EventType } from "../supabase/functions/_shared/events.ts";
import { createAdminFixture } from "./_support/admin.ts";
import { asUser, connect, eventually, integrationTest, startReceiver } from "./_support/stack.ts";
import { fanOut, registerEndpoint } from "./_support/webhooks.ts";

integrationTest("every event type, made by real changes, validates against its schema", async () => {
  const sql = connect(2);
  // Every delivery fails, so one can be made to exhaust.
  const receiver = startReceiver(() => new Response("unavailable", { status: 503 }));
  const people = await createAdminFixture(sql, "payloads");
  const orgId = people.orgId;
  const admin = { userId: people.admin.userId, orgId };
  try {
    const primary = await registerEndpoint(sql, admin, receiver.url);
    const secondary = await registerEndpoint(sql, admin, "https://hooks.example.com/payloads");

    // A member's day: every resource created, changed, moved through each of its transitions and deleted.
    await asUser(sql, people.member.userId, async (tx) => {
      const [client] = await tx`insert into public.clients (org_id, name) values (${orgId}, 'Riverside Cafe')
                                returning id`;
      await tx`update public.clients set phone = '+1 555 0100', email = 'owner@riverside.example'
               where id = ${client.id}`;
      const [gone] = await tx`insert into public.clients (org_id, name) values (${orgId}, 'Gone Ltd') returning id`;
      await tx`delete from public.clients where id = ${gone.id}`;

      const [bare] = await tx`insert into public.properties (org_id, address1) values (${orgId}, '1 Side St')
                              returning id`;
      const [property] = await tx`
        insert into public.properties (org_id, client_id, address1, address2, city, region, postal_code, lat, lng,
                                       geocoded_at, geocode_source)
        values (${orgId}, ${client.id}, '123 Main St', 'Unit 4', 'Springfield', 'NJ', '07081', 40.1, -74.1,
                now(), 'mapbox')
        returning id`;
      await tx`update public.properties set lat = 40.123, lng = -74.123, address2 = null where id = ${property.id}`;
      await tx`delete from public.properties where id = ${bare.id}`;

      const [job] = await tx`
        insert into public.jobs (org_id, title, description, client_id, property_id, assigned_to, scheduled_at)
        values (${orgId}, 'Replace sink', 'Leaks', ${client.id}, ${property.id}, ${people.member.userId}, now())
        returning id`;
      await tx`update public.jobs set status = 'in_progress', property_id = null where id = ${job.id}`;
      await tx`update public.jobs set status = 'completed', assigned_to = null, scheduled_at = null
               where id = ${job.id}`;
      const [called] = await tx`insert into public.jobs (org_id, title) values (${orgId}, 'Called off') returning id`;
      await tx`update public.jobs set status = 'cancelled' where id = ${called.id}`;
      // Deleting a job deletes its inspections: inspection.deleted without a job number.
      const [doomed] = await tx`insert into public.jobs (org_id, title) values (${orgId}, 'Doomed') returning id`;
      await tx`insert into public.inspections (org_id, job_id, answers) values (${orgId}, ${doomed.id}, '{}')`;
      await tx`delete from public.jobs where id = ${doomed.id}`;

      const [estimate] = await tx`
        insert into public.estimates (org_id, job_id, client_id, total, estimate_no)
        values (${orgId}, ${job.id}, ${client.id}, 450, 'E-1') returning id`;
      await tx`update public.estimates set total = 475.5 where id = ${estimate.id}`;
      await tx`update public.estimates set status = 'sent' where id = ${estimate.id}`;
      await tx`update public.estimates set status = 'accepted' where id = ${estimate.id}`;
      const [declined] = await tx`
        insert into public.estimates (org_id, client_id, total, status) values (${orgId}, ${client.id}, 900, 'sent')
        returning id`;
      await tx`update public.estimates set status = 'declined' where id = ${declined.id}`;
      await tx`delete from public.estimates where id = ${declined.id}`;

      const [invoice] = await tx`
        insert into public.invoices (org_id, job_id, estimate_id, client_id, total, due_at)
        values (${orgId}, ${job.id}, ${estimate.id}, ${client.id}, 300, now() + interval '30 days') returning id`;
      await tx`update public.invoices set status = 'open' where id = ${invoice.id}`;
      await tx`insert into public.payments (org_id, invoice_id, amount, method) values (${orgId}, ${invoice.id}, 100, 'ach')`;
      await tx`insert into public.payments (org_id, invoice_id, amount, method, reference)
               values (${orgId}, ${invoice.id}, 200, 'check', '#1042')`;
      // Lowering the total to the amount paid settles an invoice too: invoice.paid without a payment.
      const [lowered] = await tx`
        insert into public.invoices (org_id, client_id, total, status) values (${orgId}, ${client.id}, 100, 'open')
        returning id`;
      await tx`insert into public.payments (org_id, invoice_id, amount, method) values (${orgId}, ${lowered.id}, 60, 'card')`;
      await tx`update public.invoices set total = 60 where id = ${lowered.id}`;
      await tx`insert into public.invoices (org_id, client_id, total, status) values (${orgId}, ${client.id}, 80, 'draft')`;
      const [voided] = await tx`
        insert into public.invoices (org_id, client_id, total, status) values (${orgId}, ${client.id}, 50, 'open')
        returning id`;
      await tx`update public.invoices set status = 'void' where id = ${voided.id}`;

      await tx`insert into public.inspections (org_id, job_id, status, answers)
               values (${orgId}, ${job.id}, 'submitted', ${tx.json({ pressure_ok: true, notes: "ok" })})`;
      const [draft] = await tx`insert into public.inspections (org_id, job_id, answers)
                               values (${orgId}, ${job.id}, '{}') returning id`;
      await tx`update public.inspections set answers = ${tx.json({ pressure_ok: false })} where id = ${draft.id}`;
      await tx`update public.inspections set status = 'submitted' where id = ${draft.id}`;
      const [discarded] = await tx`insert into public.inspections (org_id, job_id, answers)
                                   values (${orgId}, ${job.id}, '{}') returning id`;
      await tx`delete from public.inspections where id = ${discarded.id}`;
    });

    // An admin's: deleting an invoice (members may not), a test event, disabling an endpoint.
    const testEventId = await asUser(sql, admin.userId, async (tx) => {
      await tx`delete from public.invoices where org_id = ${orgId} and status = 'void'`;
      const [{ event_id }] = await tx<{ event_id: string }[]>`
        select webhooks.send_test_event(${primary.endpointId}) as event_id`;
      await tx`select webhooks.set_endpoint_enabled(${secondary.endpointId}, false, 'Moving to the new ERP.')`;
      return event_id;
    });
    await fanOut(sql);

    // A delivery whose window ended without a success (24 h after its first attempt) is exhausted
    // by the minute job (or by the dispatcher recording its next failure, if it holds it right now).
    await eventually(async () => {
      await sql`update webhooks.deliveries set first_attempt_at = now() - interval '25 hours'
                 where event_id = ${testEventId} and status in ('pending', 'sending')`;
      await sql`select webhooks.run_every_minute()`;
      await fanOut(sql);
      const [{ count }] = await sql<{ count: number }[]>`
        select count(*)::int as count from webhooks.events where org_id = ${orgId} and event_type = 'delivery.exhausted'`;
      return count > 0 || undefined;
    }, { what: "the test event's delivery to be exhausted" });

    const events = await sql<{ event_type: EventType; payload: unknown }[]>`
      select event_type, payload from webhooks.events where org_id = ${orgId} order by feed_position`;
    for (const event of events) {
      const result = EVENT_CATALOG[event.event_type].schema.safeParse(event.payload);
      assert.ok(result.success, `${event.event_type}: ${JSON.stringify(result.error?.issues)}`);
    }
    assert.equal(
      events.filter((event) => event.event_type === "inspection.submitted").length,
      2,
      "inspection.submitted was made both by an insert and by an update",
    );
    assert.deepEqual([...new Set(events.map((event) => event.event_type))].sort(), [...EVENT_TYPES].sort());
  } finally {
    await receiver.close();
    await people.remove();
    await sql.end();
  }
});
