-- =============================================================================================
-- Webhook administration: what the webhook-admin function needs beyond the outbox migrations.
--   - loading an event or a delivery for its organization's owners and admins (404 / 403);
--   - enabling and disabling an endpoint with a reason;
--   - resending one delivery now, and recovering every failed or exhausted delivery of an
--     endpoint in a time range (idempotent);
--   - the audit trail of endpoint changes, resends and recoveries (audit.entries).
-- A resent or recovered delivery is due at once; the scheduler (webhooks.dispatch_scheduler_step)
-- wakes the dispatcher for it within milliseconds of the commit.
-- =============================================================================================

-- =============================================================================================
-- Functions: loading for admins
-- =============================================================================================

create function webhooks.event_for_admin(p_event_id text)
returns webhooks.events
language plpgsql stable security definer
set search_path = ''
as $$
declare
  v_event webhooks.events;
begin
  select e.* into v_event from webhooks.events e where e.id = p_event_id;
  if not found then
    raise exception 'webhook event not found' using errcode = 'P0002';
  end if;
  perform webhooks.require_endpoint_admin(v_event.org_id);
  return v_event;
end
$$;
comment on function webhooks.event_for_admin(text) is
  'The event, for an owner or admin of its organization (or the platform); P0002 when missing, 42501 otherwise.';

-- Locked for the rest of the transaction, like endpoint_for_admin: the caller is about to change it.
create function webhooks.delivery_for_admin(p_delivery_id bigint)
returns webhooks.deliveries
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_delivery webhooks.deliveries;
begin
  select d.* into v_delivery from webhooks.deliveries d where d.id = p_delivery_id for update;
  if not found then
    raise exception 'webhook delivery not found' using errcode = 'P0002';
  end if;
  perform webhooks.require_endpoint_admin(v_delivery.org_id);
  return v_delivery;
end
$$;
comment on function webhooks.delivery_for_admin(bigint) is
  'The delivery, locked, for an owner or admin of its organization (or the platform); P0002 / 42501 otherwise.';

-- =============================================================================================
-- Functions: changes by admins
-- =============================================================================================

create function webhooks.set_endpoint_enabled(p_endpoint_id uuid, p_enabled boolean, p_reason text default null)
returns void
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_endpoint webhooks.endpoints := webhooks.endpoint_for_admin(p_endpoint_id);
begin
  if v_endpoint.enabled = p_enabled then
    return;
  end if;
  update webhooks.endpoints e
     set enabled = p_enabled,
         disabled_reason = case when p_enabled then null else coalesce(p_reason, 'Disabled by an admin.') end
   where e.id = p_endpoint_id;
end
$$;
comment on function webhooks.set_endpoint_enabled(uuid, boolean, text) is
  'Enables or disables an endpoint (owners/admins), with the reason shown to admins; no-op when unchanged.';

-- Resending keeps the delivery (and so the webhook-id and body receivers dedupe on) and its
-- attempt count (X-Retry-Count goes on counting), and opens a new delivery window: the 24 h end
-- the previous run of attempts, so they must not end the new one.
create function webhooks.resend_delivery(p_delivery_id bigint)
returns webhooks.deliveries
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_delivery webhooks.deliveries := webhooks.delivery_for_admin(p_delivery_id);
begin
  if v_delivery.status = 'sending' then
    raise exception 'the delivery is being sent right now' using errcode = '55000';
  end if;
  if not (select e.enabled from webhooks.endpoints e where e.id = v_delivery.endpoint_id) then
    raise exception 'the endpoint is disabled' using errcode = '55000';
  end if;
  update webhooks.deliveries d
     set status = 'pending',
         next_attempt_at = now(),
         first_attempt_at = case when d.status = 'pending' then d.first_attempt_at end,
         completed_at = null
   where d.id = p_delivery_id
  returning d.* into v_delivery;
  perform audit.record(v_delivery.org_id, 'delivery.resent', 'delivery', v_delivery.id::text,
                       jsonb_build_object('event_id', v_delivery.event_id, 'endpoint_id', v_delivery.endpoint_id));
  return v_delivery;
end
$$;
comment on function webhooks.resend_delivery(bigint) is
  'Queues a delivery again now (owners/admins); same event id and body, a new delivery window.';

-- Idempotent by construction: only failed and exhausted deliveries are requeued, and a requeued
-- one is pending, so a second call (or two concurrent calls: the endpoint row lock orders them)
-- finds nothing left to recover.
create function webhooks.recover_deliveries(p_endpoint_id uuid, p_since timestamptz, p_until timestamptz default null)
returns integer
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_endpoint webhooks.endpoints := webhooks.endpoint_for_admin(p_endpoint_id);
  v_recovered integer;
begin
  if not v_endpoint.enabled then
    raise exception 'the endpoint is disabled' using errcode = '55000';
  end if;
  if p_since is null or (p_until is not null and p_until <= p_since) then
    raise exception 'the time range is empty: since must come before until' using errcode = '22023', column = 'until';
  end if;
  update webhooks.deliveries d
     set status = 'pending',
         next_attempt_at = now(),
         first_attempt_at = null,
         completed_at = null
   where d.endpoint_id = p_endpoint_id
     and d.status in ('failed', 'exhausted')
     and d.created_at >= p_since
     and d.created_at < coalesce(p_until, 'infinity');
  get diagnostics v_recovered = row_count;
  perform audit.record(v_endpoint.org_id, 'endpoint.deliveries_recovered', 'endpoint', p_endpoint_id::text,
                       jsonb_build_object('since', p_since, 'until', p_until, 'recovered', v_recovered));
  return v_recovered;
end
$$;
comment on function webhooks.recover_deliveries(uuid, timestamptz, timestamptz) is
  'Queues again every failed or exhausted delivery of an endpoint created in [since, until) (owners/admins); idempotent.';

-- =============================================================================================
-- Functions: audit trail of endpoint changes
-- =============================================================================================

-- Every path that changes an endpoint (the admin API, SQL in Studio, the dispatcher disabling a
-- failing one) leaves its entries here. Changes the database makes on its own, with no request
-- at all (the dispatcher and pg_cron connect without a JWT), are attributed to the system.
create function webhooks.tg_endpoints__audit()
returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
  v_actor text := case when auth.jwt() is null then 'system' end;
  v_changes jsonb := '{}';
begin
  if tg_op = 'INSERT' then
    perform audit.record(new.org_id, 'endpoint.created', 'endpoint', new.id::text,
                         jsonb_build_object('url', new.url, 'description', new.description,
                                            'event_types', new.event_types), v_actor);
    return null;
  end if;
  if tg_op = 'DELETE' then
    -- Deleting the organization deletes its endpoints, and its audit log with it.
    if exists (select from public.organizations o where o.id = old.org_id) then
      perform audit.record(old.org_id, 'endpoint.deleted', 'endpoint', old.id::text,
                           jsonb_build_object('url', old.url), v_actor);
    end if;
    return null;
  end if;
  if new.url is distinct from old.url then
    v_changes := v_changes || jsonb_build_object('url', jsonb_build_object('from', old.url, 'to', new.url));
  end if;
  if new.description is distinct from old.description then
    v_changes := v_changes
      || jsonb_build_object('description', jsonb_build_object('from', old.description, 'to', new.description));
  end if;
  if new.event_types is distinct from old.event_types then
    v_changes := v_changes
      || jsonb_build_object('event_types', jsonb_build_object('from', old.event_types, 'to', new.event_types));
  end if;
  if v_changes <> '{}' then
    perform audit.record(new.org_id, 'endpoint.updated', 'endpoint', new.id::text,
                         jsonb_build_object('changes', v_changes), v_actor);
  end if;
  if new.secret_id is distinct from old.secret_id then
    perform audit.record(new.org_id, 'endpoint.secret_rotated', 'endpoint', new.id::text,
                         jsonb_build_object('previous_secret_expires_at', new.previous_secret_expires_at), v_actor);
  end if;
  if new.enabled and not old.enabled then
    perform audit.record(new.org_id, 'endpoint.enabled', 'endpoint', new.id::text, '{}', v_actor);
  elsif old.enabled and not new.enabled then
    perform audit.record(new.org_id, 'endpoint.disabled', 'endpoint', new.id::text,
                         jsonb_build_object('reason', new.disabled_reason), v_actor);
  end if;
  return null;
end
$$;

create trigger _950_audit
  after insert or update or delete on webhooks.endpoints
  for each row execute function webhooks.tg_endpoints__audit();

-- =============================================================================================
-- Indexes
-- =============================================================================================

-- Recovery looks for an endpoint's failed and exhausted deliveries by creation time; the
-- (endpoint_id, status) index finds them, and this keeps the range scan off the heap.
create index deliveries_endpoint_id_created_at_idx on webhooks.deliveries (endpoint_id, created_at)
  where status in ('failed', 'exhausted');

-- The admin API pages through an organization's deliveries and events newest first by id.
create index deliveries_org_id_id_idx on webhooks.deliveries (org_id, id desc);
create index events_org_id_id_idx on webhooks.events (org_id, id desc);

-- =============================================================================================
-- Grants
-- =============================================================================================

revoke all on function
  webhooks.event_for_admin(text),
  webhooks.delivery_for_admin(bigint),
  webhooks.set_endpoint_enabled(uuid, boolean, text),
  webhooks.resend_delivery(bigint),
  webhooks.recover_deliveries(uuid, timestamptz, timestamptz),
  webhooks.tg_endpoints__audit()
  from public, anon, authenticated, service_role;
grant execute on function
  webhooks.event_for_admin(text),
  webhooks.delivery_for_admin(bigint),
  webhooks.set_endpoint_enabled(uuid, boolean, text),
  webhooks.resend_delivery(bigint),
  webhooks.recover_deliveries(uuid, timestamptz, timestamptz)
  to authenticated, service_role;
