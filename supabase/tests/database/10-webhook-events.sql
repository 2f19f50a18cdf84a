-- The webhook outbox: business changes write their events in the same transaction (a rolled-back
-- change writes nothing), the fan-out renders them and follows subscriptions as they stood when
-- the event was written, job.updated only fires on meaningful changes, and each event type fires
-- exactly on its transition. The read helpers fan out first, as the dispatcher does after commit.
begin;
select plan(48);

\ir _helpers.psql

insert into auth.users (id, email, aud, role)
select pg_temp.id(n), n || '@test.local', 'authenticated', 'authenticated'
  from unnest(array['a_admin', 'a_member']) as n;
insert into public.organizations (id, name, slug) values
  (pg_temp.id('org a'), 'Org A', 'test-org-a'),
  (pg_temp.id('org b'), 'Org B', 'test-org-b');
insert into public.organization_members (org_id, user_id, role) values
  (pg_temp.id('org a'), pg_temp.id('a_admin'), 'admin'),
  (pg_temp.id('org a'), pg_temp.id('a_member'), 'member');

-- Endpoints: everything, only jobs, only invoices, one disabled, one in another organization.
create function pg_temp.endpoint(p_org text, p_name text, p_types text[]) returns uuid language sql as $$
  select endpoint_id from webhooks.create_endpoint(pg_temp.id(p_org), 'https://hooks.example.com/' || p_name, p_name, p_types)
$$;
select pg_temp.endpoint('org a', 'all', '{}') as all_id \gset
select pg_temp.endpoint('org a', 'jobs', '{job.created,job.updated}') as jobs_id \gset
select pg_temp.endpoint('org a', 'invoices', '{invoice.paid}') as invoices_id \gset
select pg_temp.endpoint('org a', 'disabled', '{}') as disabled_id \gset
select pg_temp.endpoint('org b', 'other', '{}') as other_id \gset
update webhooks.endpoints set enabled = false where id = :'disabled_id';

-- The checks read the outbox as the test's superuser: members cannot see it (see 12-webhook-views.sql).
create function pg_temp.events(p_type text) returns bigint language sql security definer as $$
  select pg_temp.fan_out();
  select count(*) from webhooks.events where org_id = pg_temp.id('org a') and event_type = p_type
$$;
create function pg_temp.last_event(p_type text) returns jsonb language sql security definer as $$
  select pg_temp.fan_out();
  select payload from webhooks.events where org_id = pg_temp.id('org a') and event_type = p_type
   order by created_at desc, payload->>'timestamp' desc limit 1
$$;
create function pg_temp.delivered_to(p_type text) returns uuid[] language sql security definer as $$
  select pg_temp.fan_out();
  select coalesce(array_agg(d.endpoint_id order by d.endpoint_id), '{}')
    from webhooks.deliveries d join webhooks.events e on e.id = d.event_id
   where e.org_id = pg_temp.id('org a') and e.event_type = p_type
$$;

select pg_temp.act_as('a_member');

-- job.created -------------------------------------------------------------------------------
insert into public.clients (id, org_id, name) values (pg_temp.id('client'), pg_temp.id('org a'), 'Riverside Cafe');
insert into public.properties (id, org_id, client_id, address1, city, lat, lng)
values (pg_temp.id('property'), pg_temp.id('org a'), pg_temp.id('client'), '123 Main St', 'Springfield', 40.123, -74.123);
insert into public.jobs (id, org_id, title, property_id, client_id, assigned_to)
values (pg_temp.id('job'), pg_temp.id('org a'), 'Replace sink', pg_temp.id('property'), pg_temp.id('client'), pg_temp.id('a_member'));

select is(pg_temp.events('job.created'), 1::bigint, 'a member''s job insert writes one job.created event');
select is(pg_temp.last_event('job.created') -> 'job' ->> 'job_no', 'J-1', 'the event carries the job number');
select is(pg_temp.last_event('job.created') -> 'job' -> 'property' ->> 'address1', '123 Main St', 'and the job''s property');
select is((pg_temp.last_event('job.created') -> 'job' -> 'property' ->> 'lat')::float8, 40.123::float8, 'with its coordinates');
select ok(pg_temp.last_event('job.created') ->> 'id' ~ '^evt_[0-9a-f]{32}$', 'the envelope has an evt_ id');
select is(pg_temp.last_event('job.created') ->> 'api_version', '2026-11-01', 'and the API version');
select is(pg_temp.last_event('job.created') ->> 'org_id', pg_temp.id('org a')::text, 'and the organization');
select ok(pg_temp.last_event('job.created') ->> 'timestamp' ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$', 'and a UTC timestamp');
select is(pg_temp.delivered_to('job.created'), (select array_agg(x order by x) from unnest(array[:'all_id', :'jobs_id']::uuid[]) x),
          'it is fanned out to the enabled endpoints subscribed to it (empty list = all), not to others');

-- A rolled-back insert writes nothing -------------------------------------------------------
savepoint before_rollback;
insert into public.jobs (org_id, title) values (pg_temp.id('org a'), 'Never happened');
rollback to savepoint before_rollback;
select is(pg_temp.events('job.created'), 1::bigint, 'a rolled-back job insert leaves no event');
select pg_temp.act_as_postgres();
select is((select count(*) from webhooks.events where payload -> 'job' ->> 'title' = 'Never happened'),
          0::bigint, 'not even one the member could not see');
select pg_temp.act_as('a_member');

-- Bulk inserts: one event per row -------------------------------------------------------------
insert into public.jobs (org_id, title) select pg_temp.id('org a'), 'Bulk ' || n from generate_series(1, 25) n;
select is(pg_temp.events('job.created'), 26::bigint, 'a 25-row insert writes 25 more events');
select pg_temp.act_as_postgres();
select is((select count(distinct payload -> 'job' ->> 'job_no') from webhooks.events
            where org_id = pg_temp.id('org a') and event_type = 'job.created'), 26::bigint, 'one for each job');
select pg_temp.act_as('a_member');

-- job.updated -------------------------------------------------------------------------------
update public.jobs set title = title where id = pg_temp.id('job');
select is(pg_temp.events('job.updated'), 0::bigint, 'a no-op update writes no job.updated');
update public.jobs set updated_at = now() + interval '1 minute' where id = pg_temp.id('job');
select is(pg_temp.events('job.updated'), 0::bigint, 'neither does touching only updated_at');
update public.jobs set status = 'scheduled', scheduled_at = '2026-12-01T09:00:00Z' where id = pg_temp.id('job');
select is(pg_temp.events('job.updated'), 1::bigint, 'a status and schedule change writes one job.updated');
select is(pg_temp.last_event('job.updated') -> 'changed_fields', '["scheduled_at", "status"]'::jsonb, 'listing the changed fields');
select is(pg_temp.last_event('job.updated') -> 'previous', '{"scheduled_at": null, "status": "new"}'::jsonb, 'with their previous values');
select is(pg_temp.last_event('job.updated') -> 'job' ->> 'status', 'scheduled', 'and the job as it is now');
select is(pg_temp.last_event('job.updated') -> 'job' ->> 'scheduled_at', '2026-12-01T09:00:00.000Z', 'timestamps in UTC');
update public.jobs set status = 'in_progress' where org_id = pg_temp.id('org a') and title like 'Bulk %';
select is(pg_temp.events('job.updated'), 26::bigint, 'a 25-row update writes 25 job.updated events');
select is(pg_temp.delivered_to('job.updated'),
          (select array_agg(x order by x) from (select unnest(array[:'all_id', :'jobs_id']::uuid[]) x from generate_series(1, 26)) s),
          'each to the two subscribed endpoints');

-- property.created --------------------------------------------------------------------------
select is(pg_temp.events('property.created'), 1::bigint, 'a property insert writes property.created');
select is(pg_temp.last_event('property.created') -> 'property' ->> 'city', 'Springfield', 'with the address');

-- payments and invoice.paid -----------------------------------------------------------------
insert into public.invoices (id, org_id, job_id, client_id, total, status)
values (pg_temp.id('invoice'), pg_temp.id('org a'), pg_temp.id('job'), pg_temp.id('client'), 250, 'open');
insert into public.payments (org_id, invoice_id, amount, method) values (pg_temp.id('org a'), pg_temp.id('invoice'), 100, 'cash');
select is(pg_temp.events('payment.received'), 1::bigint, 'a payment writes payment.received');
select is(pg_temp.last_event('payment.received') -> 'payment' ->> 'amount', '100.00', 'with the amount as a decimal string');
select is(pg_temp.last_event('payment.received') -> 'payment' ->> 'invoice_no', 'INV-1001', 'and the invoice number');
select is(pg_temp.events('invoice.paid'), 0::bigint, 'a partial payment does not pay the invoice');
insert into public.payments (org_id, invoice_id, amount, method, reference)
values (pg_temp.id('org a'), pg_temp.id('invoice'), 150, 'card', 'ch_123');
select is(pg_temp.events('invoice.paid'), 1::bigint, 'the payment that clears the balance writes invoice.paid');
-- (Both payments share one transaction, so only the trigger's note tells them apart.)
select is(pg_temp.last_event('invoice.paid') -> 'invoice' ->> 'invoice_no', 'INV-1001', 'with the invoice number');
select is(pg_temp.last_event('invoice.paid') -> 'invoice' ->> 'total', '250.00', 'the amount');
select is(pg_temp.last_event('invoice.paid') -> 'payment' ->> 'method', 'card', 'the method of the settling payment');
select is(pg_temp.last_event('invoice.paid') -> 'invoice' ->> 'job_id', pg_temp.id('job')::text, 'and the linked job');
select is(pg_temp.delivered_to('invoice.paid'), (select array_agg(x order by x) from unnest(array[:'all_id', :'invoices_id']::uuid[]) x),
          'invoice.paid goes to the catch-all and the invoices endpoint');

insert into public.invoices (id, org_id, client_id, total, status)
values (pg_temp.id('lowered'), pg_temp.id('org a'), pg_temp.id('client'), 100, 'open');
insert into public.payments (org_id, invoice_id, amount, method) values (pg_temp.id('org a'), pg_temp.id('lowered'), 60, 'ach');
update public.invoices set total = 60 where id = pg_temp.id('lowered');
select pg_temp.act_as_postgres();
select pg_temp.fan_out();
select is((select count(*) from webhooks.events where event_type = 'invoice.paid' and payload -> 'invoice' ->> 'invoice_no' = 'INV-1002'),
          1::bigint, 'lowering the total to the amount paid also writes invoice.paid');
select is((select payload -> 'payment' from webhooks.events where event_type = 'invoice.paid' and payload -> 'invoice' ->> 'invoice_no' = 'INV-1002'),
          'null'::jsonb, 'with no settling payment');
select pg_temp.act_as('a_member');

-- inspection.submitted ----------------------------------------------------------------------
insert into public.inspections (id, org_id, job_id, answers) values (pg_temp.id('draft'), pg_temp.id('org a'), pg_temp.id('job'), '{"ok": true}');
select is(pg_temp.events('inspection.submitted'), 0::bigint, 'a draft inspection writes nothing');
update public.inspections set status = 'submitted' where id = pg_temp.id('draft');
select is(pg_temp.events('inspection.submitted'), 1::bigint, 'submitting it writes inspection.submitted');
insert into public.inspections (org_id, job_id, status, answers) values (pg_temp.id('org a'), pg_temp.id('job'), 'submitted', '{}');
select is(pg_temp.events('inspection.submitted'), 2::bigint, 'so does inserting one already submitted');
select is(pg_temp.last_event('inspection.submitted') -> 'inspection' ->> 'job_no', 'J-1', 'with the job number');

-- Subscriptions as they stood when the event was written ------------------------------------
-- Events are fanned out after commit, by the subscription versions the statement that wrote them
-- saw (here all in one transaction: the changes made before each event). (Helpers are created as the test's superuser, whose rights they use.)
select pg_temp.act_as_postgres();
create function pg_temp.delivery_status(p_title text, p_endpoint uuid) returns text language sql security definer as $$
  select pg_temp.fan_out();
  select coalesce(string_agg(d.status::text, ','), 'none')
    from webhooks.deliveries d join webhooks.events e on e.id = d.event_id
   where e.payload -> 'job' ->> 'title' = p_title and d.endpoint_id = p_endpoint
$$;
select pg_temp.act_as('a_member');
insert into public.jobs (org_id, title) values (pg_temp.id('org a'), 'Before the new endpoint');
select pg_temp.act_as_postgres();
select pg_temp.endpoint('org a', 'late', '{}') as late_id \gset
select is(pg_temp.delivery_status('Before the new endpoint', :'late_id'), 'none',
          'an endpoint created after an event was written does not get it, though it was fanned out later');
select is(pg_temp.delivery_status('Before the new endpoint', :'all_id'), 'pending',
          'the endpoints subscribed when it was written do');
select pg_temp.act_as('a_member');
insert into public.jobs (org_id, title) values (pg_temp.id('org a'), 'Before disabling');
select pg_temp.act_as_postgres();
update webhooks.endpoints set enabled = false where id = :'jobs_id';
select is(pg_temp.delivery_status('Before disabling', :'jobs_id'), 'failed',
          'an endpoint disabled after the event was written gets it, failed as disabling fails what was queued');
select pg_temp.act_as('a_member');
insert into public.jobs (org_id, title) values (pg_temp.id('org a'), 'While disabled');
select pg_temp.act_as_postgres();
update webhooks.endpoints set enabled = true where id = :'jobs_id';
select is(pg_temp.delivery_status('While disabled', :'jobs_id'), 'none',
          'one enabled after the event was written does not');
update webhooks.endpoints set event_types = '{invoice.paid}' where id = :'all_id';
select pg_temp.act_as('a_member');
insert into public.jobs (org_id, title) values (pg_temp.id('org a'), 'After unsubscribing');
select is(pg_temp.delivery_status('After unsubscribing', :'all_id'), 'none',
          'and an event written after an endpoint unsubscribed from its type does not reach it');

-- Other organizations ---------------------------------------------------------------------
select pg_temp.act_as_postgres();
select is((select count(*) from webhooks.deliveries where endpoint_id = :'other_id'), 0::bigint,
          'nothing reaches another organization''s endpoint');

-- The catalog (events carry no foreign key to it) ---------
-- Exactly the types of the changes above: a client and a property created; jobs created and
-- changed; invoices created, changed and paid by payments (and by a lowered total), each payment
-- received; inspections created, and submitted on insert and by an update (inspection.updated
-- too); endpoints disabled. None of the changes this file did not make: nothing was deleted, no
-- job completed or cancelled, no invoice went from draft to open (they were created open) or void,
-- no estimate exists.
select is((select array_agg(distinct e.event_type order by e.event_type) from webhooks.events e
            where e.org_id = pg_temp.id('org a')),
          array['client.created', 'endpoint.disabled', 'inspection.created', 'inspection.submitted',
                'inspection.updated', 'invoice.created', 'invoice.paid', 'invoice.updated', 'job.created',
                'job.updated', 'payment.received', 'property.created'],
          'this file''s changes made exactly their event types, no other');
select is((select count(*) from webhooks.events e where e.org_id = pg_temp.id('org a')
             and not exists (select from webhooks.event_types t where t.name = e.event_type)), 0::bigint,
          'and each of them is in the event catalog');

select * from finish();
rollback;
