-- =============================================================================================
-- Webhook events from business changes (docs/events.md). Statement-level triggers with transition tables turn each
-- statement's rows into outbox rows with one set-based insert, so a bulk import of 10,000 jobs
-- costs one statement, not 10,000. They run in the business transaction: a rollback takes the
-- events with it. Each writer also holds its organization's publication lock shared until it
-- ends (see webhooks.tg_endpoints__fan_out_first for why).
--
-- What a writer pays is one outbox row, so the busiest triggers store the row itself
-- (to_jsonb(new)) and leave the payload to webhooks.render_event, which the dispatcher's fan-out
-- calls: building the envelope in the trigger (jsonb_build_object over every field, timestamps
-- formatted, the job's property looked up) cost a one-job insert more than the row did. The
-- others, rarer and needing their transaction's context (the payment that settled an invoice),
-- store their finished body.
--
-- The payload of every type is specified by its zod schema in supabase/functions/_shared/events.ts;
-- tests/event_payloads_test.ts checks what is delivered against it. Money is a decimal string
-- ("150.00"), timestamps are UTC ISO-8601 with milliseconds.
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

-- The envelope of an outbox row (see webhooks.outbox for what `data` holds per type): the common
-- head, then the type's body, with stored rows formatted as their resources (the same helpers
-- publish_event's callers use, so the two cannot drift apart).
create function webhooks.render_event(
  p_event_id text,
  p_event_type text,
  p_org_id uuid,
  p_created_at timestamptz,
  p_data jsonb
)
returns jsonb
language sql stable security definer
set search_path = ''
as $$
  select jsonb_build_object(
    'id', p_event_id,
    'event', p_event_type,
    'api_version', '2026-11-01',
    'timestamp', webhooks.iso_time(p_created_at),
    'org_id', p_org_id
  ) || case p_event_type
    when 'job.created' then
      jsonb_build_object('job', webhooks.job_resource(jsonb_populate_record(null::public.jobs, p_data)))
    when 'job.updated' then jsonb_build_object(
      'job', webhooks.job_resource(jsonb_populate_record(null::public.jobs, p_data -> 'job')),
      'changed_fields', (select jsonb_agg(k order by k) from jsonb_object_keys(p_data -> 'previous') as k),
      'previous', p_data -> 'previous'
    )
    when 'property.created' then
      jsonb_build_object('property', webhooks.property_resource(jsonb_populate_record(null::public.properties, p_data)))
    else p_data
  end
$$;
comment on function webhooks.render_event(text, text, uuid, timestamptz, jsonb) is
  'The JSON envelope receivers get for an outbox row (event id, type, organization, commit time, data).';

-- =============================================================================================
-- Functions: triggers
--
-- Each holds its organization's publication lock shared (pg_advisory_xact_lock_shared with the
-- key of webhooks.tg_endpoints__fan_out_first) from its first event to the end of its transaction.
-- =============================================================================================

create function webhooks.tg_jobs__publish_created()
returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  insert into webhooks.outbox (org_id, event_type, data)
  select n.org_id, 'job.created', to_jsonb(n)
    from new_rows n
   cross join lateral (
     select pg_advisory_xact_lock_shared(hashtext('webhooks.publication'), hashtext(n.org_id::text))
   ) as publication_lock;
  return null;
end
$$;

create function webhooks.tg_jobs__publish_updated()
returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  insert into webhooks.outbox (org_id, event_type, data)
  select n.org_id, 'job.updated', jsonb_build_object('job', to_jsonb(n), 'previous', c.previous)
    from new_rows n
    join old_rows o on o.id = n.id
   cross join lateral (select webhooks.job_changes(o, n) as previous) c
   cross join lateral (
     select pg_advisory_xact_lock_shared(hashtext('webhooks.publication'), hashtext(n.org_id::text))
   ) as publication_lock
   where c.previous is not null;
  return null;
end
$$;

create function webhooks.tg_properties__publish_created()
returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  insert into webhooks.outbox (org_id, event_type, data)
  select n.org_id, 'property.created', to_jsonb(n)
    from new_rows n
   cross join lateral (
     select pg_advisory_xact_lock_shared(hashtext('webhooks.publication'), hashtext(n.org_id::text))
   ) as publication_lock;
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
  insert into webhooks.outbox (org_id, event_type, data)
  select x.org_id, 'invoice.paid', x.data
    from (
      select n.org_id,
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
       cross join lateral (
         select pg_advisory_xact_lock_shared(hashtext('webhooks.publication'), hashtext(n.org_id::text))
       ) as publication_lock
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
  insert into webhooks.outbox (org_id, event_type, data)
  select x.org_id, 'payment.received', x.data
    from (
      select n.org_id,
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
       cross join lateral (
         select pg_advisory_xact_lock_shared(hashtext('webhooks.publication'), hashtext(n.org_id::text))
       ) as publication_lock
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
    insert into webhooks.outbox (org_id, event_type, data)
    select n.org_id, 'inspection.submitted', webhooks.inspection_data(n)
      from new_rows n
     cross join lateral (
       select pg_advisory_xact_lock_shared(hashtext('webhooks.publication'), hashtext(n.org_id::text))
     ) as publication_lock
     where n.status = 'submitted';
  else
    insert into webhooks.outbox (org_id, event_type, data)
    select n.org_id, 'inspection.submitted', webhooks.inspection_data(n)
      from new_rows n
      join old_rows o on o.id = n.id
     cross join lateral (
       select pg_advisory_xact_lock_shared(hashtext('webhooks.publication'), hashtext(n.org_id::text))
     ) as publication_lock
     where n.status = 'submitted'
       and o.status <> 'submitted';
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
