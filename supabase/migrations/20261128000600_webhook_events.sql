-- =============================================================================================
-- Webhook events from business changes (docs/events.md). Every change to a client, property, job,
-- estimate, invoice or inspection publishes its lifecycle: `<resource>.created`,
-- `<resource>.updated` (the changed fields and their previous values; nothing for a change that
-- leaves them all as they were) and `<resource>.deleted` (the last state), plus the status
-- transitions receivers act on (webhooks.change_events); a payment publishes payment.received.
--
-- Statement-level triggers with transition tables turn each statement's rows into outbox rows
-- with one set-based insert, so a bulk import of 10,000 jobs costs one statement, not 10,000. They
-- run in the business transaction: a rollback takes the events with it. A writer takes no lock
-- besides its own rows': each outbox row carries the snapshot of the statement that wrote it, and
-- the fan-out reads the subscriptions as that snapshot saw them (webhooks.subscriptions), so no
-- endpoint change waits for a writer and no writer waits for one.
--
-- Every event about a resource carries the resource's sequence number: 1, 2, 3 … in commit
-- order, without gaps across all of the resource's event types. The row keeps the number of its
-- latest event (event_sequence): a before-update trigger adds the number of events the change
-- publishes, under the row lock the update holds until commit, so concurrent writers of one row
-- take consecutive numbers in the order they commit; an insert starts at the number of events it
-- publishes (the column's default, 1, except an inspection inserted submitted).
--
-- What a writer pays is one outbox row per event holding the row itself (to_jsonb), and the
-- previous row for updates; webhooks.render_event, which the dispatcher's fan-out calls, turns it
-- into the envelope receivers get: building the envelope in the trigger (jsonb_build_object over
-- every field, timestamps formatted, the job's property looked up) cost a one-job insert more than
-- the row did. Only invoice.paid stores a piece of its transaction's context (the payment that
-- settled the invoice), and payment.received its finished body.
--
-- The payload of every type is specified by its zod schema in supabase/functions/_shared/events.ts;
-- tests/event_payloads_test.ts checks what is delivered against it. Money is a decimal string
-- ("150.00"), timestamps are UTC ISO-8601 with milliseconds.
-- =============================================================================================

-- =============================================================================================
-- Functions: which events a change publishes
-- =============================================================================================

-- The columns of a resource's table whose change is worth a `<resource>.updated` event (what its
-- changed_fields can list; RESOURCES in supabase/functions/_shared/events.ts has the same lists):
-- everything but the ids, the numbers the database assigns, and the timestamps it keeps.
create function webhooks.update_fields(p_resource text)
returns text[]
language sql immutable
set search_path = ''
as $$
  select case p_resource
    when 'client' then array['name', 'email', 'phone', 'notes']
    when 'property' then array['client_id', 'address1', 'address2', 'city', 'region', 'postal_code', 'country',
                               'lat', 'lng', 'geocoded_at', 'geocode_source']
    when 'job' then array['title', 'description', 'status', 'property_id', 'client_id', 'assigned_to', 'scheduled_at']
    when 'estimate' then array['estimate_no', 'job_id', 'client_id', 'total', 'status']
    when 'invoice' then array['job_id', 'estimate_id', 'client_id', 'total', 'amount_paid', 'status', 'issued_at',
                              'due_at', 'paid_at']
    when 'inspection' then array['job_id', 'status', 'submitted_at', 'answers']
  end
$$;
comment on function webhooks.update_fields(text) is
  'The fields a <resource>.updated event can list as changed, per resource.';

-- The events one row change publishes, in the order of their sequence numbers: an insert
-- (p_old null) its `.created`, a delete (p_new null) its `.deleted`, an update its `.updated` when
-- a field of webhooks.update_fields changed, then the status transition it made, if any. Rows are
-- compared as jsonb (to_jsonb of the table row), so the same function serves the before trigger
-- that numbers the events and the statement trigger that writes them.
create function webhooks.change_events(p_resource text, p_old jsonb, p_new jsonb)
returns text[]
language sql immutable
set search_path = ''
as $$
  select case
    when p_old is null then
      array[p_resource || '.created']
      || case when p_resource = 'inspection' and p_new ->> 'status' = 'submitted'
              then array['inspection.submitted'] else '{}'::text[] end
    when p_new is null then array[p_resource || '.deleted']
    when not exists (
      select from unnest(webhooks.update_fields(p_resource)) as f (name) where p_old -> f.name is distinct from p_new -> f.name
    ) then '{}'::text[]
    else array[p_resource || '.updated']
      || array_remove(array[
           case when p_old ->> 'status' is distinct from p_new ->> 'status' then
             case p_resource || ':' || (p_new ->> 'status')
               when 'job:completed' then 'job.completed'
               when 'job:cancelled' then 'job.cancelled'
               when 'estimate:sent' then 'estimate.sent'
               when 'estimate:accepted' then 'estimate.accepted'
               when 'estimate:declined' then 'estimate.declined'
               when 'invoice:open' then case when p_old ->> 'status' = 'draft' then 'invoice.issued' end
               when 'invoice:void' then 'invoice.voided'
               when 'invoice:paid' then 'invoice.paid'
               when 'inspection:submitted' then 'inspection.submitted'
             end
           end
         ], null)
  end
$$;
comment on function webhooks.change_events(text, jsonb, jsonb) is
  'The event types one row change publishes, in sequence order (insert: p_old null; delete: p_new null).';

-- =============================================================================================
-- Functions: payload pieces
-- =============================================================================================

create function webhooks.client_resource(p_client public.clients)
returns jsonb
language sql stable
set search_path = ''
as $$
  select jsonb_build_object(
    'id', p_client.id,
    'name', p_client.name,
    'email', p_client.email,
    'phone', p_client.phone,
    'notes', p_client.notes,
    'created_at', webhooks.iso_time(p_client.created_at),
    'updated_at', webhooks.iso_time(p_client.updated_at)
  )
$$;

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

-- The job's property as it is when the event is rendered (null once it is gone).
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

create function webhooks.estimate_resource(p_estimate public.estimates)
returns jsonb
language sql stable
set search_path = ''
as $$
  select jsonb_build_object(
    'id', p_estimate.id,
    'estimate_no', p_estimate.estimate_no,
    'job_id', p_estimate.job_id,
    'client_id', p_estimate.client_id,
    'total', p_estimate.total::text,
    'status', p_estimate.status,
    'created_at', webhooks.iso_time(p_estimate.created_at),
    'updated_at', webhooks.iso_time(p_estimate.updated_at)
  )
$$;

create function webhooks.invoice_resource(p_invoice public.invoices)
returns jsonb
language sql stable
set search_path = ''
as $$
  select jsonb_build_object(
    'id', p_invoice.id,
    'invoice_no', p_invoice.invoice_no,
    'status', p_invoice.status,
    'total', p_invoice.total::text,
    'amount_paid', p_invoice.amount_paid::text,
    'job_id', p_invoice.job_id,
    'estimate_id', p_invoice.estimate_id,
    'client_id', p_invoice.client_id,
    'issued_at', webhooks.iso_time(p_invoice.issued_at),
    'due_at', webhooks.iso_time(p_invoice.due_at),
    'paid_at', webhooks.iso_time(p_invoice.paid_at)
  )
$$;

-- The job's number as it is when the event is rendered (null once the job is gone: deleting a job
-- deletes its inspections).
create function webhooks.inspection_resource(p_inspection public.inspections)
returns jsonb
language sql stable security definer
set search_path = ''
as $$
  select jsonb_build_object(
    'id', p_inspection.id,
    'job_id', p_inspection.job_id,
    'job_no', (select j.job_no from public.jobs j where j.org_id = p_inspection.org_id and j.id = p_inspection.job_id),
    'status', p_inspection.status,
    'submitted_at', webhooks.iso_time(p_inspection.submitted_at),
    'answers', p_inspection.answers
  )
$$;

-- A stored row (to_jsonb of the table row) formatted as its resource.
create function webhooks.resource_json(p_resource text, p_row jsonb)
returns jsonb
language sql stable
set search_path = ''
as $$
  select case p_resource
    when 'client' then webhooks.client_resource(jsonb_populate_record(null::public.clients, p_row))
    when 'property' then webhooks.property_resource(jsonb_populate_record(null::public.properties, p_row))
    when 'job' then webhooks.job_resource(jsonb_populate_record(null::public.jobs, p_row))
    when 'estimate' then webhooks.estimate_resource(jsonb_populate_record(null::public.estimates, p_row))
    when 'invoice' then webhooks.invoice_resource(jsonb_populate_record(null::public.invoices, p_row))
    when 'inspection' then webhooks.inspection_resource(jsonb_populate_record(null::public.inspections, p_row))
  end
$$;

-- The body of a `<resource>.updated` event: the resource after the change, the changed fields in
-- alphabetical order, and each one's previous value as the resource formats it (a field the
-- resource nests, like a job's property_id, as stored).
create function webhooks.updated_body(p_resource text, p_old jsonb, p_new jsonb)
returns jsonb
language sql stable
set search_path = ''
as $$
  select jsonb_build_object(
    p_resource, webhooks.resource_json(p_resource, p_new),
    'changed_fields', coalesce(jsonb_agg(f.name order by f.name), '[]'),
    'previous', coalesce(jsonb_object_agg(f.name, coalesce(r.formatted -> f.name, p_old -> f.name)), '{}')
  )
    from (select webhooks.resource_json(p_resource, p_old) as formatted) r
    left join unnest(webhooks.update_fields(p_resource)) as f (name)
      on p_old -> f.name is distinct from p_new -> f.name
$$;

-- The envelope of an outbox row (see webhooks.outbox for what `data` holds per type): the common
-- head, the resource's position when the event is about one, then the type's body.
create function webhooks.render_event(
  p_event_id text,
  p_event_type text,
  p_org_id uuid,
  p_created_at timestamptz,
  p_data jsonb,
  p_resource_id uuid,
  p_sequence bigint
)
returns jsonb
language sql stable security definer
set search_path = ''
as $$
  select jsonb_build_object(
    'id', p_event_id,
    'event', p_event_type,
    'api_version', '2026-11-01',
    -- webhooks.iso_time, inline: a call costs about 3 µs per event, the expression 0.7.
    'timestamp', to_char(p_created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'org_id', p_org_id
  ) || case when p_resource_id is null then '{}'::jsonb else jsonb_build_object('resource', jsonb_build_object(
         'type', split_part(p_event_type, '.', 1), 'id', p_resource_id, 'sequence', p_sequence)) end
    || case
         when p_resource_id is null or p_event_type = 'payment.received' then p_data
         -- The busiest type is built here from the stored row, as webhooks.job_resource builds it
         -- (pgTAP 15-webhook-payload-equivalence keeps the two equal): no record populated from
         -- the row and no call to a function with its own search_path, which cost 41 µs per event
         -- against 14 µs inline (20,000 job.created bodies, `select count(…) from …` in psql).
         when p_event_type = 'job.created' then
           jsonb_build_object('job', jsonb_build_object(
             'id', p_data -> 'id', 'job_no', p_data -> 'job_no', 'title', p_data -> 'title',
             'description', p_data -> 'description', 'status', p_data -> 'status', 'client_id', p_data -> 'client_id',
             'property', (
               select jsonb_build_object(
                 'id', p.id, 'address1', p.address1, 'address2', p.address2, 'city', p.city, 'region', p.region,
                 'postal_code', p.postal_code, 'country', p.country, 'lat', p.lat, 'lng', p.lng
               )
                 from public.properties p
                where p.org_id = (p_data ->> 'org_id')::uuid
                  and p.id = (p_data ->> 'property_id')::uuid
             ),
             'assigned_to', p_data -> 'assigned_to',
             'scheduled_at', to_char((p_data ->> 'scheduled_at')::timestamptz at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
             'created_at', to_char((p_data ->> 'created_at')::timestamptz at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
             'updated_at', to_char((p_data ->> 'updated_at')::timestamptz at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
           ))
         when p_event_type like '%.created' or p_event_type like '%.deleted' then
           jsonb_build_object(split_part(p_event_type, '.', 1),
                              webhooks.resource_json(split_part(p_event_type, '.', 1), p_data))
         when p_event_type like '%.updated' then
           webhooks.updated_body(split_part(p_event_type, '.', 1), p_data -> 'old', p_data -> 'new')
         when p_event_type = 'invoice.paid' then
           jsonb_build_object('invoice', webhooks.resource_json('invoice', p_data -> 'new'), 'payment', p_data -> 'payment')
         when p_event_type = 'inspection.submitted' then
           jsonb_build_object('inspection', webhooks.resource_json('inspection', p_data -> 'new'))
         else -- the other transitions
           jsonb_build_object(split_part(p_event_type, '.', 1),
                              webhooks.resource_json(split_part(p_event_type, '.', 1), p_data -> 'new'),
                              'previous_status', p_data -> 'old' -> 'status')
       end
$$;
comment on function webhooks.render_event(text, text, uuid, timestamptz, jsonb, uuid, bigint) is
  'The JSON envelope receivers get for an outbox row (event id, type, organization, commit time, data, resource).';

-- =============================================================================================
-- Functions: triggers
-- =============================================================================================

-- Numbers a row's events (see the header): the last trigger before the row is written, so it sees
-- the row as it will be stored (updated_at, submitted_at set). tg_argv[0] is the resource.
create function webhooks.tg__advance_event_sequence()
returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    new.event_sequence := cardinality(webhooks.change_events(tg_argv[0], null, to_jsonb(new)));
  else
    new.event_sequence := old.event_sequence
      + cardinality(webhooks.change_events(tg_argv[0], to_jsonb(old), to_jsonb(new)));
  end if;
  return new;
end
$$;

-- One function for every resource table, statement-level: tg_argv[0] is the resource (job,
-- client, …). `data` is the row for `.created` and `.deleted`, the row before and after
-- ({"old", "new"}) for the others; invoice.paid adds the payment that settled the invoice.
create function webhooks.tg__publish_changes()
returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    -- The common case, kept to the cost of one outbox row per inserted row.
    insert into webhooks.outbox (org_id, event_type, data, resource_id, sequence)
    select n.org_id, tg_argv[0] || '.created', to_jsonb(n), n.id, 1
      from new_rows n;
    if tg_argv[0] = 'inspection' then
      insert into webhooks.outbox (org_id, event_type, data, resource_id, sequence)
      select n.org_id, 'inspection.submitted', jsonb_build_object('new', to_jsonb(n)), n.id, 2
        from new_rows n
       where n.event_sequence = 2;
    end if;
  elsif tg_op = 'UPDATE' then
    insert into webhooks.outbox (org_id, event_type, data, resource_id, sequence)
    select n.org_id,
           e.event_type,
           case when e.event_type = 'invoice.paid' then
             jsonb_build_object('old', r.old, 'new', r.new, 'payment', (
               select jsonb_build_object(
                        'id', p.id, 'amount', p.amount::text, 'method', p.method,
                        'received_at', webhooks.iso_time(p.received_at), 'reference', p.reference)
                 from public.payments p
                where p.org_id = n.org_id
                  and p.invoice_id = n.id
                  and p.id::text = current_setting('webhooks.applying_payment_id', true)))
           else jsonb_build_object('old', r.old, 'new', r.new) end,
           n.id,
           o.event_sequence + e.position
      from new_rows n
      join old_rows o on o.id = n.id
     cross join lateral (select to_jsonb(o) as old, to_jsonb(n) as new) r
     cross join lateral unnest(webhooks.change_events(tg_argv[0], r.old, r.new))
                        with ordinality as e (event_type, position);
  else
    -- Not while the organization itself is being deleted (its endpoints and events go with it):
    -- deleting a large tenant would otherwise write an event for every row it had.
    insert into webhooks.outbox (org_id, event_type, data, resource_id, sequence)
    select o.org_id, tg_argv[0] || '.deleted', to_jsonb(o), o.id, o.event_sequence + 1
      from old_rows o
     where exists (select from public.organizations g where g.id = o.org_id);
  end if;
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

-- Payments are append-only: each is one resource with one event, sequence 1.
create function webhooks.tg_payments__publish_received()
returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  insert into webhooks.outbox (org_id, event_type, data, resource_id, sequence)
  select x.org_id, 'payment.received', x.data, x.id, 1
    from (
      select n.org_id,
             n.id,
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

-- =============================================================================================
-- Triggers
-- =============================================================================================

-- Clients, properties, jobs, estimates, invoices and inspections: numbered before each update
-- (and each inspection insert), published after each statement.
create trigger _950_publish_sequence
  before update on public.clients
  for each row execute function webhooks.tg__advance_event_sequence('client');
create trigger _800_publish_created
  after insert on public.clients
  referencing new table as new_rows
  for each statement execute function webhooks.tg__publish_changes('client');
create trigger _800_publish_updated
  after update on public.clients
  referencing old table as old_rows new table as new_rows
  for each statement execute function webhooks.tg__publish_changes('client');
create trigger _800_publish_deleted
  after delete on public.clients
  referencing old table as old_rows
  for each statement execute function webhooks.tg__publish_changes('client');

create trigger _950_publish_sequence
  before update on public.properties
  for each row execute function webhooks.tg__advance_event_sequence('property');
create trigger _800_publish_created
  after insert on public.properties
  referencing new table as new_rows
  for each statement execute function webhooks.tg__publish_changes('property');
create trigger _800_publish_updated
  after update on public.properties
  referencing old table as old_rows new table as new_rows
  for each statement execute function webhooks.tg__publish_changes('property');
create trigger _800_publish_deleted
  after delete on public.properties
  referencing old table as old_rows
  for each statement execute function webhooks.tg__publish_changes('property');

create trigger _950_publish_sequence
  before update on public.jobs
  for each row execute function webhooks.tg__advance_event_sequence('job');
create trigger _800_publish_created
  after insert on public.jobs
  referencing new table as new_rows
  for each statement execute function webhooks.tg__publish_changes('job');
create trigger _800_publish_updated
  after update on public.jobs
  referencing old table as old_rows new table as new_rows
  for each statement execute function webhooks.tg__publish_changes('job');
create trigger _800_publish_deleted
  after delete on public.jobs
  referencing old table as old_rows
  for each statement execute function webhooks.tg__publish_changes('job');

create trigger _950_publish_sequence
  before update on public.estimates
  for each row execute function webhooks.tg__advance_event_sequence('estimate');
create trigger _800_publish_created
  after insert on public.estimates
  referencing new table as new_rows
  for each statement execute function webhooks.tg__publish_changes('estimate');
create trigger _800_publish_updated
  after update on public.estimates
  referencing old table as old_rows new table as new_rows
  for each statement execute function webhooks.tg__publish_changes('estimate');
create trigger _800_publish_deleted
  after delete on public.estimates
  referencing old table as old_rows
  for each statement execute function webhooks.tg__publish_changes('estimate');

create trigger _950_publish_sequence
  before update on public.invoices
  for each row execute function webhooks.tg__advance_event_sequence('invoice');
create trigger _800_publish_created
  after insert on public.invoices
  referencing new table as new_rows
  for each statement execute function webhooks.tg__publish_changes('invoice');
create trigger _800_publish_updated
  after update on public.invoices
  referencing old table as old_rows new table as new_rows
  for each statement execute function webhooks.tg__publish_changes('invoice');
create trigger _800_publish_deleted
  after delete on public.invoices
  referencing old table as old_rows
  for each statement execute function webhooks.tg__publish_changes('invoice');

-- An inspection inserted submitted publishes two events, so its inserts are numbered too.
create trigger _950_publish_sequence
  before insert or update on public.inspections
  for each row execute function webhooks.tg__advance_event_sequence('inspection');
create trigger _800_publish_created
  after insert on public.inspections
  referencing new table as new_rows
  for each statement execute function webhooks.tg__publish_changes('inspection');
create trigger _800_publish_updated
  after update on public.inspections
  referencing old table as old_rows new table as new_rows
  for each statement execute function webhooks.tg__publish_changes('inspection');
create trigger _800_publish_deleted
  after delete on public.inspections
  referencing old table as old_rows
  for each statement execute function webhooks.tg__publish_changes('inspection');

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
