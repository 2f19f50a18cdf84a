-- =============================================================================================
-- Housekeeping never waits for a delivery another transaction has locked.
--
-- webhooks.run_every_minute ends deliveries that are past their window or belong to a disabled
-- endpoint, including 'sending' ones whose lease has run out. A dispatcher can be recording the
-- outcomes of exactly those rows (a slow batch outlives its lease) while the minute job runs: two
-- multi-row updates of the same deliveries, each taking its row locks in its own scan order, can
-- deadlock. PostgreSQL then aborts one of them: the dispatcher's whole batch of outcomes (other
-- tenants' included) or the whole minute's housekeeping (rotation secrets, wake-up included).
--
-- A delivery locked by someone else is being claimed or recorded right now, so its state is about
-- to change anyway: the minute job now skips it (for update skip locked) and sees it again in a
-- minute if it still qualifies. The job never waits on a delivery, so it can no longer deadlock
-- with a dispatcher.
-- =============================================================================================

-- =============================================================================================
-- Functions
-- =============================================================================================

create or replace function webhooks.run_every_minute()
returns void
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_settings webhooks.settings;
begin
  select s.* into v_settings from webhooks.settings s;

  -- A delivery that keeps crashing its dispatcher never records an attempt; the window from its
  -- first claim still ends it.
  with past_window as (
    select d.id
      from webhooks.deliveries d
     where (d.status = 'pending' or (d.status = 'sending' and d.lease_expires_at <= now()))
       and d.first_attempt_at + v_settings.delivery_window <= now()
       for update of d skip locked
  )
  update webhooks.deliveries d
     set status = 'exhausted',
         completed_at = now(),
         lease_token = null,
         lease_expires_at = null,
         last_error = coalesce(d.last_error, 'No attempt completed within the delivery window.')
    from past_window p
   where d.id = p.id;

  with of_disabled_endpoints as (
    select d.id
      from webhooks.deliveries d
      join webhooks.endpoints e on e.id = d.endpoint_id
     where not e.enabled
       and (d.status = 'pending' or (d.status = 'sending' and d.lease_expires_at <= now()))
       for update of d skip locked
  )
  update webhooks.deliveries d
     set status = 'failed',
         completed_at = now(),
         lease_token = null,
         lease_expires_at = null,
         last_error = 'The endpoint was disabled.'
    from of_disabled_endpoints x
   where d.id = x.id;

  with expired as (
    select e.id, e.previous_secret_id
      from webhooks.endpoints e
     where e.previous_secret_expires_at <= now()
       for update
  ),
  cleared as (
    update webhooks.endpoints e
       set previous_secret_id = null,
           previous_secret_expires_at = null
      from expired x
     where e.id = x.id
  )
  delete from vault.secrets s
   using expired x
   where s.id = x.previous_secret_id;

  if exists (
    select from webhooks.deliveries d
     where (d.status = 'pending' and d.next_attempt_at <= now())
        or (d.status = 'sending' and d.lease_expires_at <= now())
  ) then
    perform webhooks.request_dispatch('schedule');
  end if;
end
$$;
comment on function webhooks.run_every_minute() is
  'pg_cron, every minute: exhaustion, disabled endpoints, expired rotation secrets, dispatcher wake-up.';
