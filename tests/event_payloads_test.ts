// Every event type, produced by its trigger from real changes made as a member (the way PostgREST
// runs them), validates against its zod schema: the schemas describe what receivers really get.
import assert from "node:assert/strict";
import { EVENT_CATALOG, EVENT_TYPES, type EventType } from "../supabase/functions/_shared/events.ts";
import { asUser, connect, createTenant, integrationTest } from "./_support/stack.ts";
import { fanOut } from "./_support/webhooks.ts";

integrationTest("every event type the triggers write validates against its schema", async () => {
  const sql = connect(2);
  const tenant = await createTenant(sql, "payloads");
  try {
    const [{ endpoint_id: endpointId }] = await asUser(sql, tenant.userId, (tx) =>
      tx<{ endpoint_id: string }[]>`
        select endpoint_id from webhooks.create_endpoint(${tenant.orgId}, 'https://hooks.example.com/payloads')`);
    await asUser(sql, tenant.userId, async (tx) => {
      const [client] = await tx`insert into public.clients (org_id, name) values (${tenant.orgId}, 'Riverside Cafe')
                                returning id`;
      const [bare] = await tx`insert into public.properties (org_id, address1) values (${tenant.orgId}, '1 Side St')
                              returning id`;
      const [property] = await tx`
        insert into public.properties (org_id, client_id, address1, address2, city, region, postal_code, lat, lng,
                                       geocoded_at, geocode_source)
        values (${tenant.orgId}, ${client.id}, '123 Main St', 'Unit 4', 'Springfield', 'NJ', '07081', 40.1, -74.1,
                now(), 'mapbox')
        returning id`;
      const [job] = await tx`
        insert into public.jobs (org_id, title, description, client_id, property_id, assigned_to, scheduled_at)
        values (${tenant.orgId}, 'Replace sink', 'Leaks', ${client.id}, ${property.id}, ${tenant.userId}, now())
        returning id`;
      await tx`insert into public.jobs (org_id, title, property_id) values (${tenant.orgId}, 'Bare job', ${bare.id})`;
      await tx`update public.jobs set status = 'completed', assigned_to = null, scheduled_at = null
               where id = ${job.id}`;
      const [invoice] = await tx`
        insert into public.invoices (org_id, job_id, client_id, total, status, due_at)
        values (${tenant.orgId}, ${job.id}, ${client.id}, 300, 'open', now() + interval '30 days') returning id`;
      await tx`insert into public.payments (org_id, invoice_id, amount, method) values (${tenant.orgId}, ${invoice.id}, 100, 'ach')`;
      await tx`insert into public.payments (org_id, invoice_id, amount, method, reference)
               values (${tenant.orgId}, ${invoice.id}, 200, 'check', '#1042')`;
      await tx`insert into public.inspections (org_id, job_id, status, answers)
               values (${tenant.orgId}, ${job.id}, 'submitted', ${tx.json({ pressure_ok: true, notes: "ok" })})`;
      await tx`select webhooks.send_test_event(${endpointId})`;
    });

    await fanOut(sql);
    const events = await sql<{ event_type: EventType; payload: unknown }[]>`
      select event_type, payload from webhooks.events where org_id = ${tenant.orgId}`;
    for (const event of events) {
      const result = EVENT_CATALOG[event.event_type].schema.safeParse(event.payload);
      assert.ok(result.success, `${event.event_type}: ${JSON.stringify(result.error?.issues)}`);
    }
    assert.deepEqual([...new Set(events.map((event) => event.event_type))].sort(), [...EVENT_TYPES].sort());
  } finally {
    await tenant.remove();
    await sql.end();
  }
});
