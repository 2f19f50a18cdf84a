-- =============================================================================================
-- Cheaper outcome recording for webhook-dispatch (issue 6, SPEC §7: sustained delivery ≥ 50 % of
-- the raw POST limit on the same machine).
--
-- webhooks.record_attempts is most of the database's work per delivery: 250 outcomes took 13 ms
-- (52 µs each; the claim of the same deliveries 23 µs each), measured on the local stack with
-- auto_explain (log_nested_statements, log_triggers) over a 20,000-delivery backlog. Two pieces of
-- that did nothing for a successful attempt:
--
-- * Three foreign-key checks per attempt row (about 10 µs each): to its delivery, to the delivery's
--   organization and to the delivery's endpoint. record_attempts is the only writer of attempts and
--   copies org_id and endpoint_id from the delivery in the same statement, and an attempt already
--   goes when its delivery goes (on delete cascade), which goes with its event (so with its
--   organization) or with its endpoint. The two keys duplicated the delivery's own; only the one to
--   the delivery stays. Their indexes stay, for the views that read attempts by organization and by
--   endpoint.
-- * webhooks.retry_delay was evaluated for every outcome, successes included; a function with a
--   SET clause is never inlined, so each call ran its own executor. It is now computed for failed
--   attempts only.
--
-- The same 250 outcomes then took 14.1 ms instead of 15.4 (A/B, each in one transaction rolled back,
-- 5 alternating rounds).
-- =============================================================================================

-- =============================================================================================
-- Tables
-- =============================================================================================

alter table webhooks.attempts
  drop constraint attempts_org_id_fkey,
  drop constraint attempts_endpoint_id_fkey;

-- =============================================================================================
-- Functions
-- =============================================================================================

-- The body of webhooks.record_attempts (20261128001600_record_attempts_lock_order.sql), unchanged
-- but for retry_at.
create or replace function webhooks.record_attempts_in_order(p_results jsonb)
returns integer
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_settings webhooks.settings;
  v_updated integer;
begin
  select s.* into v_settings from webhooks.settings s;

  with results as (
    select r.*
      from jsonb_to_recordset(p_results) as r (
        delivery_id bigint, lease_token uuid, sent boolean, retry_count integer, started_at timestamptz,
        duration_ms integer, response_status integer, response_excerpt text, error text,
        payload_sha256 text, retry_after_seconds integer
      )
  ),
  recorded as (
    insert into webhooks.attempts (org_id, delivery_id, endpoint_id, retry_count, started_at, duration_ms,
                                   response_status, response_excerpt, error, payload_sha256)
    select d.org_id, d.id, d.endpoint_id, r.retry_count, r.started_at, greatest(r.duration_ms, 0),
           r.response_status, r.response_excerpt, left(r.error, 1000), r.payload_sha256
      from results r
      join webhooks.deliveries d on d.id = r.delivery_id
     where r.sent
  ),
  outcomes as (
    select d.id,
           r.sent,
           r.started_at,
           r.response_status,
           coalesce(left(r.error, 1000), 'HTTP ' || r.response_status) as failure,
           case
             when not r.sent then 'released'
             when r.response_status between 200 and 299 then 'succeeded'
             when r.response_status = 410 then 'gone'
             when not e.enabled then 'endpoint_disabled'
             else 'failed'
           end as kind,
           -- Only a failed attempt is retried; a success (nearly every row) skips retry_delay, a
           -- function call per row that PostgreSQL cannot inline.
           case when r.sent and not coalesce(r.response_status between 200 and 299, false) then
             now() + case
               when r.response_status in (429, 503) and r.retry_after_seconds is not null then
                 least(make_interval(secs => greatest(r.retry_after_seconds, 1)), v_settings.retry_after_cap)
               else webhooks.retry_delay(d.attempt_count + 1)
             end
           end as retry_at,
           coalesce(d.first_attempt_at, r.started_at) + v_settings.delivery_window as deadline
      from results r
      join webhooks.deliveries d on d.id = r.delivery_id and d.status = 'sending' and d.lease_token = r.lease_token
      join webhooks.endpoints e on e.id = d.endpoint_id
  )
  update webhooks.deliveries d
     set status = case o.kind
                    when 'released' then 'pending'
                    when 'succeeded' then 'succeeded'
                    when 'gone' then 'failed'
                    when 'endpoint_disabled' then 'failed'
                    else case when o.retry_at > o.deadline then 'exhausted' else 'pending' end
                  end::webhooks.delivery_status,
         attempt_count = d.attempt_count + case when o.sent then 1 else 0 end,
         next_attempt_at = case when o.kind = 'failed' then o.retry_at else d.next_attempt_at end,
         last_attempt_at = case when o.sent then o.started_at else d.last_attempt_at end,
         last_response_status = case when o.sent then o.response_status else d.last_response_status end,
         last_error = case
                        when o.kind = 'released' or o.kind = 'succeeded' then d.last_error
                        when o.kind = 'gone' then 'The endpoint answered 410 Gone and was disabled.'
                        when o.kind = 'endpoint_disabled' then 'The endpoint was disabled.'
                        else o.failure
                      end,
         lease_token = null,
         lease_expires_at = null,
         completed_at = case
                          when o.kind in ('succeeded', 'gone', 'endpoint_disabled')
                               or (o.kind = 'failed' and o.retry_at > o.deadline) then now()
                        end
    from outcomes o
   where d.id = o.id;
  get diagnostics v_updated = row_count;

  -- Endpoint health: a success ends a failure streak; 410 Gone, or failing without a single
  -- success for settings.auto_disable_after, disables the endpoint (its trigger then fails what
  -- it still has queued). Rows that would not change are left alone, so the hot path of
  -- successful deliveries writes nothing here.
  with per_endpoint as (
    select d.endpoint_id,
           bool_or(r.response_status between 200 and 299) as any_success,
           bool_or(r.response_status = 410) as gone,
           min(r.started_at) filter (where r.response_status is null or r.response_status not between 200 and 299)
             as first_failure
      from jsonb_to_recordset(p_results) as r (delivery_id bigint, sent boolean, started_at timestamptz,
                                               response_status integer)
      join webhooks.deliveries d on d.id = r.delivery_id
     where r.sent
     group by d.endpoint_id
  ),
  changes as (
    select e.id,
           pe.gone,
           pe.any_success,
           coalesce(e.failing_since, pe.first_failure) as failing_since
      from per_endpoint pe
      join webhooks.endpoints e on e.id = pe.endpoint_id
     where e.enabled
  )
  update webhooks.endpoints e
     set failing_since = case when c.any_success and not c.gone then null else c.failing_since end,
         enabled = not (c.gone or (not c.any_success and c.failing_since <= now() - v_settings.auto_disable_after)),
         disabled_reason = case
                             when c.gone then format('The endpoint answered 410 Gone at %s.', webhooks.iso_time(now()))
                             when not c.any_success and c.failing_since <= now() - v_settings.auto_disable_after then
                               format('Every delivery attempt has failed since %s (more than %s).',
                                      webhooks.iso_time(c.failing_since), v_settings.auto_disable_after)
                           end
    from changes c
   where e.id = c.id
     and (c.gone
          or (c.any_success and e.failing_since is not null)
          or (not c.any_success and e.failing_since is null)
          or (not c.any_success and c.failing_since <= now() - v_settings.auto_disable_after));
  return v_updated;
end
$$;
comment on function webhooks.record_attempts_in_order(jsonb) is
  'The body of webhooks.record_attempts, called with the organizations already locked.';

-- =============================================================================================
-- Grants (create or replace keeps them; restated so this file reads on its own)
-- =============================================================================================

revoke all on function webhooks.record_attempts_in_order(jsonb) from public, anon, authenticated, service_role;
