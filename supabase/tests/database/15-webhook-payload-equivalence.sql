-- The publishing triggers store the row itself (to_jsonb; before and after for updates), and the
-- fan-out renders it (webhooks.render_event, through jsonb_populate_record and the resource
-- helpers). Every event rendered that way must have the documented shape (the zod schemas in
-- supabase/functions/_shared/events.ts): what webhooks.envelope and the helpers (client_resource,
-- job_resource, property_resource) build from the row as it is, with `resource` (type, id,
-- sequence), and for job.updated the changed fields and their previous values as the job resource
-- formats them, with and without the optional parts: the round trip through JSON loses nothing
-- (time zones, decimals, quotes, accents).
begin;
select plan(10);

\ir _helpers.psql

insert into auth.users (id, email, aud, role)
select pg_temp.id(n), n || '@test.local', 'authenticated', 'authenticated'
  from unnest(array['e_member']) as n;
insert into public.organizations (id, name, slug) values (pg_temp.id('org e'), 'Org E', 'test-org-e');
insert into public.organization_members (org_id, user_id, role) values (pg_temp.id('org e'), pg_temp.id('e_member'), 'member');
select endpoint_id as endpoint_id
  from webhooks.create_endpoint(pg_temp.id('org e'), 'https://hooks.example.com/e', 'all', '{}') \gset

-- The changed fields and previous values of the two updates below, as documented: sorted, and
-- formatted like the job resource (timestamps in UTC with milliseconds).
create function pg_temp.expected_change(p_job public.jobs) returns jsonb language sql as $$
  select case when p_job.id = pg_temp.id('e full job') then
    '{"changed_fields": ["scheduled_at", "status", "title"],
      "previous": {"scheduled_at": "2026-12-01T14:00:00.500Z", "status": "new", "title": "Replace sink"}}'::jsonb
  else
    '{"changed_fields": ["assigned_to"], "previous": {"assigned_to": null}}'::jsonb
  end
$$;

-- What the helpers build for an event already written, from the row as it is now: each job here is
-- updated once, so a job.updated is the job's second event and the row is as it left it.
create function pg_temp.expected(p_event webhooks.events) returns jsonb language sql security definer as $$
  select webhooks.envelope(p_event.id, p_event.event_type, p_event.org_id,
    case split_part(p_event.event_type, '.', 1)
      when 'client' then (
        select jsonb_build_object('resource', jsonb_build_object('type', 'client', 'id', c.id, 'sequence', 1),
                                  'client', webhooks.client_resource(c))
          from public.clients c where c.id = (p_event.payload -> 'client' ->> 'id')::uuid)
      when 'job' then (
        select jsonb_build_object('resource', jsonb_build_object('type', 'job', 'id', j.id,
                                                                  'sequence', case p_event.event_type
                                                                                when 'job.created' then 1
                                                                                when 'job.updated' then 2 end),
                                  'job', webhooks.job_resource(j))
            || case when p_event.event_type = 'job.updated' then pg_temp.expected_change(j) else '{}' end
          from public.jobs j where j.id = (p_event.payload -> 'job' ->> 'id')::uuid)
      when 'property' then (
        select jsonb_build_object('resource', jsonb_build_object('type', 'property', 'id', p.id, 'sequence', 1),
                                  'property', webhooks.property_resource(p))
          from public.properties p where p.id = (p_event.payload -> 'property' ->> 'id')::uuid)
    end)
$$;
create function pg_temp.mismatches(p_type text) returns bigint language sql security definer as $$
  select pg_temp.fan_out();
  select count(*) from webhooks.events e
   where e.org_id = pg_temp.id('org e') and e.event_type = p_type and e.payload is distinct from pg_temp.expected(e)
$$;
create function pg_temp.events(p_type text) returns bigint language sql security definer as $$
  select pg_temp.fan_out();
  select count(*) from webhooks.events e where e.org_id = pg_temp.id('org e') and e.event_type = p_type
$$;
create function pg_temp.deliveries(p_endpoint_id uuid) returns bigint language sql security definer as $$
  select pg_temp.fan_out();
  select count(*) from webhooks.deliveries d where d.endpoint_id = p_endpoint_id
$$;
create function pg_temp.bad_ids() returns bigint language sql security definer as $$
  select pg_temp.fan_out();
  select count(*) from webhooks.events e
   where e.org_id = pg_temp.id('org e') and (e.id !~ '^evt_[0-9a-f]{32}$' or e.payload ->> 'id' <> e.id)
$$;

select pg_temp.act_as('e_member');

insert into public.clients (id, org_id, name) values (pg_temp.id('e client'), pg_temp.id('org e'), 'Riverside Cafe');
-- A property with every optional column set, and one with none.
insert into public.properties (id, org_id, client_id, address1, address2, city, region, postal_code, country, lat, lng,
                               geocoded_at, geocode_source)
values (pg_temp.id('e full property'), pg_temp.id('org e'), pg_temp.id('e client'), '123 Main St', 'Unit 4', 'Springfield',
        'NJ', '07081', 'US', 40.123456, -74.123456, '2026-11-01T10:20:30.456+02', 'mapbox');
insert into public.properties (id, org_id, address1) values (pg_temp.id('e bare property'), pg_temp.id('org e'), '1 Elm St');
-- Jobs with a property, a client, an assignee and a schedule; one without; and a bulk insert.
insert into public.jobs (id, org_id, title, description, property_id, client_id, assigned_to, scheduled_at)
values (pg_temp.id('e full job'), pg_temp.id('org e'), 'Replace sink', 'Kitchen, "urgent" – ü', pg_temp.id('e full property'),
        pg_temp.id('e client'), pg_temp.id('e_member'), '2026-12-01T09:00:00.5-05');
insert into public.jobs (id, org_id, title) values (pg_temp.id('e bare job'), pg_temp.id('org e'), 'Look at the roof');
insert into public.jobs (org_id, title, property_id)
select pg_temp.id('org e'), 'Bulk ' || n, case when n % 2 = 0 then pg_temp.id('e bare property') end
  from generate_series(1, 20) n;

select is(pg_temp.events('client.created'), 1::bigint, 'the client wrote client.created');
select is(pg_temp.mismatches('client.created'), 0::bigint, 'equal to what client_resource and envelope build');
select is(pg_temp.events('property.created'), 2::bigint, 'both properties wrote property.created');
select is(pg_temp.mismatches('property.created'), 0::bigint, 'each equal to what property_resource and envelope build');
select is(pg_temp.events('job.created'), 22::bigint, 'every job wrote job.created');
select is(pg_temp.mismatches('job.created'), 0::bigint, 'each equal to what job_resource and envelope build');

update public.jobs set status = 'scheduled', title = 'Replace the sink', scheduled_at = null
 where id = pg_temp.id('e full job');
update public.jobs set assigned_to = pg_temp.id('e_member') where org_id = pg_temp.id('org e') and title like 'Bulk %';
select is(pg_temp.events('job.updated'), 21::bigint, 'the updates wrote job.updated');
select is(pg_temp.mismatches('job.updated'), 0::bigint,
  'each equal to what job_resource and envelope build, with the documented changed fields and previous values');

select is(pg_temp.bad_ids(), 0::bigint, 'every event id has the evt_ format and is the envelope''s id');
select is(pg_temp.deliveries(:'endpoint_id'), 46::bigint,
  'and every event still fans out to the subscribed endpoint');

select * from finish();
rollback;
