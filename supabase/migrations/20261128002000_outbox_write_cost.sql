-- =============================================================================================
-- Cheaper outbox writes in the business transaction (issue 6, SPEC §7: job inserts with webhooks
-- on should keep ≥ 0.85 of their throughput with webhooks off).
--
-- Profile (bench/RESULTS.md, `npm run bench -- --only=overhead --profile`): of what the outbox adds
-- to a one-job transaction, building the event's JSON was the largest piece that is not a durable
-- write. The publishing triggers built it with per-row calls of small SQL helpers (job_resource,
-- envelope, iso_time ×4, new_event_id). Each helper carries `set search_path = ''` (the project's
-- rule, and Supabase's advisor insists on it), and a function with a SET clause is never inlined:
-- every call saves and restores the GUC and runs its own little executor. Measured on the local
-- stack: webhooks.job_resource() alone took 43 µs per call (4.35 s for 100,000), iso_time() 2.9 µs
-- against 0.6 µs for the same to_char inline; inserting 2,000 jobs in one statement spent 142 ms
-- in _800_publish_created before and 66 ms after this migration.
--
-- The triggers below build the very same envelopes with plain expressions in their one
-- INSERT … SELECT: the same keys and values (jsonb keeps no key order), the same id format and the
-- same timestamp format. The helpers stay: publish_event, the other event types and the pgTAP test
-- that compares both ways (10-webhook-events.sql) still use them, so the two definitions cannot
-- drift apart unnoticed.
-- =============================================================================================

-- =============================================================================================
-- Functions: triggers
-- =============================================================================================

create or replace function webhooks.tg_jobs__publish_created()
returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
  -- webhooks.iso_time(now()): the envelope's timestamp is the transaction's time, once per statement.
  v_timestamp text := to_char(now() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
begin
  insert into webhooks.events (id, org_id, event_type, payload)
  select x.id, x.org_id, 'job.created',
         jsonb_build_object(
           'id', x.id,
           'event', 'job.created',
           'api_version', '2026-11-01',
           'timestamp', v_timestamp,
           'org_id', x.org_id,
           -- webhooks.job_resource(n)
           'job', jsonb_build_object(
             'id', x.job_id,
             'job_no', x.job_no,
             'title', x.title,
             'description', x.description,
             'status', x.status,
             'client_id', x.client_id,
             'property', case when p.id is not null then jsonb_build_object(
               'id', p.id, 'address1', p.address1, 'address2', p.address2, 'city', p.city, 'region', p.region,
               'postal_code', p.postal_code, 'country', p.country, 'lat', p.lat, 'lng', p.lng
             ) end,
             'assigned_to', x.assigned_to,
             'scheduled_at', to_char(x.scheduled_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
             'created_at', to_char(x.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
             'updated_at', to_char(x.updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
           )
         )
    from (
      -- webhooks.new_event_id(), once per row (a volatile select list keeps this subquery apart).
      select 'evt_' || lpad(to_hex((extract(epoch from clock_timestamp()) * 1000)::bigint), 12, '0')
                    || encode(extensions.gen_random_bytes(10), 'hex') as id,
             n.org_id, n.id as job_id, n.job_no, n.title, n.description, n.status, n.client_id, n.property_id,
             n.assigned_to, n.scheduled_at, n.created_at, n.updated_at
        from new_rows n
    ) x
    left join public.properties p on p.org_id = x.org_id and p.id = x.property_id;
  return null;
end
$$;

create or replace function webhooks.tg_jobs__publish_updated()
returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
  v_timestamp text := to_char(now() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
begin
  insert into webhooks.events (id, org_id, event_type, payload)
  select x.id, x.org_id, 'job.updated',
         jsonb_build_object(
           'id', x.id,
           'event', 'job.updated',
           'api_version', '2026-11-01',
           'timestamp', v_timestamp,
           'org_id', x.org_id,
           'job', jsonb_build_object(
             'id', x.job_id,
             'job_no', x.job_no,
             'title', x.title,
             'description', x.description,
             'status', x.status,
             'client_id', x.client_id,
             'property', case when p.id is not null then jsonb_build_object(
               'id', p.id, 'address1', p.address1, 'address2', p.address2, 'city', p.city, 'region', p.region,
               'postal_code', p.postal_code, 'country', p.country, 'lat', p.lat, 'lng', p.lng
             ) end,
             'assigned_to', x.assigned_to,
             'scheduled_at', to_char(x.scheduled_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
             'created_at', to_char(x.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
             'updated_at', to_char(x.updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
           ),
           'changed_fields', (select jsonb_agg(k order by k) from jsonb_object_keys(x.previous) as k),
           'previous', x.previous
         )
    from (
      select 'evt_' || lpad(to_hex((extract(epoch from clock_timestamp()) * 1000)::bigint), 12, '0')
                    || encode(extensions.gen_random_bytes(10), 'hex') as id,
             n.org_id, n.id as job_id, n.job_no, n.title, n.description, n.status, n.client_id, n.property_id,
             n.assigned_to, n.scheduled_at, n.created_at, n.updated_at, c.previous
        from new_rows n
        join old_rows o on o.id = n.id
       cross join lateral (select webhooks.job_changes(o, n) as previous) c
       where c.previous is not null
    ) x
    left join public.properties p on p.org_id = x.org_id and p.id = x.property_id;
  return null;
end
$$;

create or replace function webhooks.tg_properties__publish_created()
returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
  v_timestamp text := to_char(now() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
begin
  insert into webhooks.events (id, org_id, event_type, payload)
  select x.id, x.org_id, 'property.created',
         jsonb_build_object(
           'id', x.id,
           'event', 'property.created',
           'api_version', '2026-11-01',
           'timestamp', v_timestamp,
           'org_id', x.org_id,
           -- webhooks.property_resource(n)
           'property', jsonb_build_object(
             'id', x.property_id,
             'client_id', x.client_id,
             'address1', x.address1,
             'address2', x.address2,
             'city', x.city,
             'region', x.region,
             'postal_code', x.postal_code,
             'country', x.country,
             'lat', x.lat,
             'lng', x.lng,
             'geocoded_at', to_char(x.geocoded_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
             'geocode_source', x.geocode_source,
             'created_at', to_char(x.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
           )
         )
    from (
      select 'evt_' || lpad(to_hex((extract(epoch from clock_timestamp()) * 1000)::bigint), 12, '0')
                    || encode(extensions.gen_random_bytes(10), 'hex') as id,
             n.org_id, n.id as property_id, n.client_id, n.address1, n.address2, n.city, n.region, n.postal_code,
             n.country, n.lat, n.lng, n.geocoded_at, n.geocode_source, n.created_at
        from new_rows n
    ) x;
  return null;
end
$$;

-- =============================================================================================
-- Grants (create or replace keeps them; restated so this file reads on its own)
-- =============================================================================================

revoke all on function
  webhooks.tg_jobs__publish_created(),
  webhooks.tg_jobs__publish_updated(),
  webhooks.tg_properties__publish_created()
  from public, anon, authenticated;
