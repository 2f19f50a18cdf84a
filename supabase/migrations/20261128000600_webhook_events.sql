-- =============================================================================================
-- Webhook events from business changes (docs/events.md). Statement-level triggers with transition
-- tables turn each statement's rows into events with one set-based insert (the events table's
-- own trigger fans them out to deliveries with another), so a bulk import of 10,000 jobs costs
-- two statements, not 20,000. They run in the business transaction: a rollback takes the events
-- with it.
--
-- The payload of every type is specified by its zod schema in supabase/functions/_shared/events.ts;
-- tests/event_payloads_test.ts checks what these triggers write against it. Money is a decimal
-- string ("150.00"), timestamps are UTC ISO-8601 with milliseconds.
-- =============================================================================================

-- =============================================================================================
-- Functions: payload pieces
-- =============================================================================================

create function webhooks.property_resource(p_property public.properties)
returns jsonb
language sql stable
set search_path = ''
as $$
  select jsonb_build_object(
    'id', p_property.id,
    'client_id', p_property.client_id,
    'address1', p_property.address1,
    'address2', p_property.address2,
    'city', p_property.city,
    'region', p_property.region,
    'postal_code', p_property.postal_code,
    'country', p_property.country,
    'lat', p_property.lat,
    'lng', p_property.lng,
    'geocoded_at', webhooks.iso_time(p_property.geocoded_at),
    'geocode_source', p_property.geocode_source,
    'created_at', webhooks.iso_time(p_property.created_at)
  )
$$;

create function webhooks.job_resource(p_job public.jobs)
returns jsonb
language sql stable security definer
set search_path = ''
as $$
  select jsonb_build_object(
    'id', p_job.id,
    'job_no', p_job.job_no,
    'title', p_job.title,
    'description', p_job.description,
    'status', p_job.status,
    'client_id', p_job.client_id,
    'property', (
      select jsonb_build_object(
        'id', p.id, 'address1', p.address1, 'address2', p.address2, 'city', p.city, 'region', p.region,
        'postal_code', p.postal_code, 'country', p.country, 'lat', p.lat, 'lng', p.lng
      )
        from public.properties p
       where p.org_id = p_job.org_id
         and p.id = p_job.property_id
    ),
    'assigned_to', p_job.assigned_to,
    'scheduled_at', webhooks.iso_time(p_job.scheduled_at),
    'created_at', webhooks.iso_time(p_job.created_at),
    'updated_at', webhooks.iso_time(p_job.updated_at)
  )
$$;

-- The columns whose change is worth a job.updated event; updated_at alone is not.
create function webhooks.job_changes(p_old public.jobs, p_new public.jobs)
returns jsonb
language sql immutable
set search_path = ''
as $$
  select jsonb_object_agg(c.field, c.previous order by c.field)
    from (values
      ('title', to_jsonb(p_old.title), p_old.title is distinct from p_new.title),
      ('description', to_jsonb(p_old.description), p_old.description is distinct from p_new.description),
      ('status', to_jsonb(p_old.status), p_old.status is distinct from p_new.status),
      ('property_id', to_jsonb(p_old.property_id), p_old.property_id is distinct from p_new.property_id),
      ('client_id', to_jsonb(p_old.client_id), p_old.client_id is distinct from p_new.client_id),
      ('assigned_to', to_jsonb(p_old.assigned_to), p_old.assigned_to is distinct from p_new.assigned_to),
      ('scheduled_at', to_jsonb(webhooks.iso_time(p_old.scheduled_at)), p_old.scheduled_at is distinct from p_new.scheduled_at)
    ) as c (field, previous, changed)
   where c.changed
$$;
comment on function webhooks.job_changes(public.jobs, public.jobs) is
  'Previous values of the meaningful job columns that changed, or null when none did.';

-- =============================================================================================
-- Functions: triggers
--
-- The busiest triggers (job and property inserts, job updates) build the same envelopes as
-- webhooks.envelope, job_resource, property_resource, iso_time and new_event_id with plain
-- expressions in one INSERT … SELECT. Each helper carries `set search_path = ''`, and a function
-- with a SET clause is never inlined: every call saves and restores the setting and runs its own
-- executor (job_resource alone took 43 µs per call; inserting 2,000 jobs in one statement spent
-- 142 ms in _800_publish_created with the helpers, 66 ms without). The helpers stay for the other
-- types and publish_event, and pgTAP compares both ways (15-webhook-payload-equivalence.sql).
-- =============================================================================================

create function webhooks.tg_jobs__publish_created()
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

create function webhooks.tg_jobs__publish_updated()
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

create function webhooks.tg_properties__publish_created()
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

-- Payments settle invoices in their row-level trigger (_500_apply_to_invoice); this one runs just
-- before it for the same row and notes which payment is being applied, so invoice.paid can name
-- the payment that settled the invoice even when several are inserted in one transaction.
create function webhooks.tg_payments__note_applying_payment()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  -- Set before the payment is applied (_400), cleared after (_600).
  perform set_config('webhooks.applying_payment_id', case when tg_argv[0] = 'set' then new.id::text else '' end, true);
  return null;
end
$$;

-- invoice.paid carries the payment that settled the invoice, or null when a lowered total did.
create function webhooks.tg_invoices__publish_paid()
returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  insert into webhooks.events (id, org_id, event_type, payload)
  select x.id, x.org_id, 'invoice.paid', webhooks.envelope(x.id, 'invoice.paid', x.org_id, x.data)
    from (
      select webhooks.new_event_id() as id,
             n.org_id,
             jsonb_build_object(
               'invoice', jsonb_build_object(
                 'id', n.id,
                 'invoice_no', n.invoice_no,
                 'status', n.status,
                 'total', n.total::text,
                 'amount_paid', n.amount_paid::text,
                 'job_id', n.job_id,
                 'estimate_id', n.estimate_id,
                 'client_id', n.client_id,
                 'issued_at', webhooks.iso_time(n.issued_at),
                 'due_at', webhooks.iso_time(n.due_at),
                 'paid_at', webhooks.iso_time(n.paid_at)
               ),
               'payment', (
                 select jsonb_build_object(
                   'id', p.id, 'amount', p.amount::text, 'method', p.method,
                   'received_at', webhooks.iso_time(p.received_at), 'reference', p.reference
                 )
                   from public.payments p
                  where p.org_id = n.org_id
                    and p.invoice_id = n.id
                    and p.id::text = current_setting('webhooks.applying_payment_id', true)
               )
             ) as data
        from new_rows n
        join old_rows o on o.id = n.id
       where n.status = 'paid'
         and o.status <> 'paid'
    ) x;
  return null;
end
$$;

create function webhooks.tg_payments__publish_received()
returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  insert into webhooks.events (id, org_id, event_type, payload)
  select x.id, x.org_id, 'payment.received', webhooks.envelope(x.id, 'payment.received', x.org_id, x.data)
    from (
      select webhooks.new_event_id() as id,
             n.org_id,
             jsonb_build_object('payment', jsonb_build_object(
               'id', n.id,
               'invoice_id', n.invoice_id,
               'invoice_no', i.invoice_no,
               'amount', n.amount::text,
               'method', n.method,
               'received_at', webhooks.iso_time(n.received_at),
               'reference', n.reference
             )) as data
        from new_rows n
        join public.invoices i on i.org_id = n.org_id and i.id = n.invoice_id
    ) x;
  return null;
end
$$;

-- Inserted already submitted, or submitted by an update: one function, two triggers (an insert
-- trigger has no old_rows).
create function webhooks.tg_inspections__publish_submitted()
returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    insert into webhooks.events (id, org_id, event_type, payload)
    select x.id, x.org_id, 'inspection.submitted', webhooks.envelope(x.id, 'inspection.submitted', x.org_id, x.data)
      from (select webhooks.new_event_id() as id, n.org_id, webhooks.inspection_data(n) as data
              from new_rows n
             where n.status = 'submitted') x;
  else
    insert into webhooks.events (id, org_id, event_type, payload)
    select x.id, x.org_id, 'inspection.submitted', webhooks.envelope(x.id, 'inspection.submitted', x.org_id, x.data)
      from (select webhooks.new_event_id() as id, n.org_id, webhooks.inspection_data(n) as data
              from new_rows n
              join old_rows o on o.id = n.id
             where n.status = 'submitted'
               and o.status <> 'submitted') x;
  end if;
  return null;
end
$$;

create function webhooks.inspection_data(p_inspection public.inspections)
returns jsonb
language sql stable security definer
set search_path = ''
as $$
  select jsonb_build_object('inspection', jsonb_build_object(
    'id', p_inspection.id,
    'job_id', p_inspection.job_id,
    'job_no', (select j.job_no from public.jobs j where j.org_id = p_inspection.org_id and j.id = p_inspection.job_id),
    'status', p_inspection.status,
    'submitted_at', webhooks.iso_time(p_inspection.submitted_at),
    'answers', p_inspection.answers
  ))
$$;

-- =============================================================================================
-- Triggers
-- =============================================================================================

create trigger _800_publish_created
  after insert on public.jobs
  referencing new table as new_rows
  for each statement execute function webhooks.tg_jobs__publish_created();
create trigger _800_publish_updated
  after update on public.jobs
  referencing old table as old_rows new table as new_rows
  for each statement execute function webhooks.tg_jobs__publish_updated();
create trigger _800_publish_created
  after insert on public.properties
  referencing new table as new_rows
  for each statement execute function webhooks.tg_properties__publish_created();
create trigger _800_publish_paid
  after update on public.invoices
  referencing old table as old_rows new table as new_rows
  for each statement execute function webhooks.tg_invoices__publish_paid();
create trigger _400_note_applying_payment
  after insert on public.payments
  for each row execute function webhooks.tg_payments__note_applying_payment('set');
create trigger _600_forget_applying_payment
  after insert on public.payments
  for each row execute function webhooks.tg_payments__note_applying_payment('clear');
create trigger _800_publish_received
  after insert on public.payments
  referencing new table as new_rows
  for each statement execute function webhooks.tg_payments__publish_received();
create trigger _800_publish_submitted_on_insert
  after insert on public.inspections
  referencing new table as new_rows
  for each statement execute function webhooks.tg_inspections__publish_submitted();
create trigger _800_publish_submitted_on_update
  after update on public.inspections
  referencing old table as old_rows new table as new_rows
  for each statement execute function webhooks.tg_inspections__publish_submitted();

-- =============================================================================================
-- Grants
-- =============================================================================================

revoke all on all functions in schema webhooks from public, anon, authenticated, service_role;
grant execute on function
  webhooks.create_endpoint(uuid, text, text, text[]),
  webhooks.rotate_endpoint_secret(uuid),
  webhooks.send_test_event(uuid),
  webhooks.endpoint_url_problem(text, boolean),
  webhooks.require_endpoint_admin(uuid),
  webhooks.endpoint_for_admin(uuid)
  to authenticated, service_role;
grant execute on function webhooks.publish_event(uuid, text, jsonb, uuid) to service_role;
