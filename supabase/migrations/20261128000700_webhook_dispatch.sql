-- =============================================================================================
-- Webhook dispatch (SPEC §4): how the webhook-dispatch function claims due deliveries and records
-- their attempts, how it is woken (pg_net after each committing transaction that created
-- deliveries, pg_cron every minute), and housekeeping (exhaustion, expired rotation secrets,
-- retention in short transactions, pg_cron's run history, the health of the wake-up path).
--
-- Claims use FOR UPDATE SKIP LOCKED and a lease: concurrent dispatchers never claim the same
-- delivery, and a crashed dispatcher's deliveries are claimed again once their lease expires
-- (at-least-once; a duplicate always has the same webhook-id). Only the holder of a delivery's
-- lease token can record its outcome.
--
-- Wake-ups need two Vault secrets an operator stores once (README, "Deploy"): `project_url` and
-- `webhook_dispatch_secret` (created here when missing). Without `project_url` no wake-up is sent
-- and deliveries wait; webhooks.dispatch_health() says so.
-- =============================================================================================

-- =============================================================================================
-- Tables
-- =============================================================================================

-- Whether a dispatcher is draining right now. A transaction that creates deliveries while one is
-- skips its wake-up: the running drain claims them. Measured with pgbench (4 clients, one job per
-- transaction, 2 cores): a wake-up on every commit took job inserts from 1,135 to 475 per second,
-- nearly all of it in pg_net round trips and the drains they start; with the heartbeat, 5,123
-- transactions delivered live needed 332 wake-ups. UNLOGGED: after a crash it is empty, which
-- reads as "nobody is draining".
create unlogged table webhooks.dispatcher_heartbeat (
  singleton boolean primary key default true,
  draining_until timestamptz not null,
  stopped_at timestamptz,
  constraint dispatcher_heartbeat_singleton check (singleton)
);
comment on table webhooks.dispatcher_heartbeat is
  'Set by every claim that finds work, cleared by a drain before it stops; read by the wake-up trigger.';
comment on column webhooks.dispatcher_heartbeat.stopped_at is
  'When a drain last cleared its announcement to stop; wake-ups requested before it have been taken up.';

-- Between drains, a transaction also skips its wake-up while another's is on its way: asked after
-- the last drain stopped and less than wake_request_ttl() ago. It is safe for the reason the
-- heartbeat is (webhooks.wake_lock_key): the skipper holds the wake lock shared from before it
-- reads until it ends, and the request it relies on reaches the dispatcher after that read; the
-- drain it starts or joins stops only through stop_draining, the wait for skippers and one last
-- claim. Measured with pgbench (4 clients, one job per transaction, dispatcher not draining): with
-- a wake-up on every such commit job inserts kept 0.35 of their throughput, with this 0.75–0.80.
-- The row lives apart from the heartbeat so that recording a request never makes a claim wait.
create table webhooks.wake_requests (
  singleton boolean primary key default true,
  requested_at timestamptz not null default '-infinity',
  constraint wake_requests_singleton check (singleton)
);
comment on table webhooks.wake_requests is
  'When a transaction last asked webhook-dispatch to run after its commit (pg_net); read by the wake-up.';
insert into webhooks.wake_requests default values;

-- pg_net keeps no time with a queued request: the minute job notes when it first saw the queue's
-- oldest request (webhooks.watch_pg_net_queue), so dispatch_health can tell how long wake-ups have
-- not been leaving. UNLOGGED like pg_net's queue, which a crash empties too.
create unlogged table webhooks.pg_net_queue_watch (
  singleton boolean primary key default true,
  oldest_request_id bigint not null,
  seen_since timestamptz not null,
  constraint pg_net_queue_watch_singleton check (singleton)
);
comment on table webhooks.pg_net_queue_watch is
  'The oldest request in net.http_request_queue and when the minute job first saw it there.';

-- =============================================================================================
-- Functions: claiming and recording
-- =============================================================================================

-- Claims up to p_limit deliveries that are due, first those whose lease expired (a crashed
-- dispatcher's), then pending ones in next_attempt_at order, and leases them to one token. Each
-- row also says whether loopback destinations are allowed, so the dispatcher's SSRF check always
-- follows the current setting without a query of its own.
create function webhooks.claim_due_deliveries(p_limit integer, p_lease_seconds integer default 60)
returns table (
  delivery_id bigint,
  lease_token uuid,
  lease_expires_at timestamptz,
  event_id text,
  endpoint_id uuid,
  url text,
  retry_count integer,
  payload text,
  secrets_version text,
  allow_loopback boolean
)
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_token uuid := gen_random_uuid();
  v_lease_expires_at timestamptz := now() + make_interval(secs => p_lease_seconds);
  v_ids bigint[];
begin
  if p_limit not between 1 and 5000 or p_lease_seconds not between 1 and 3600 then
    raise exception 'claim between 1 and 5000 deliveries for 1 to 3600 seconds' using errcode = '22023';
  end if;

  select array_agg(d.id) into v_ids
    from (
      select x.id
        from webhooks.deliveries x
       where x.status = 'sending'
         and x.lease_expires_at <= now()
         and exists (select from webhooks.endpoints e where e.id = x.endpoint_id and e.enabled)
       order by x.lease_expires_at
       limit p_limit
         for update of x skip locked
    ) d;

  v_ids := coalesce(v_ids, '{}') || array(
    select x.id
      from webhooks.deliveries x
     where x.status = 'pending'
       and x.next_attempt_at <= now()
       and exists (select from webhooks.endpoints e where e.id = x.endpoint_id and e.enabled)
     order by x.next_attempt_at
     limit p_limit - coalesce(cardinality(v_ids), 0)
       for update of x skip locked
  );

  if cardinality(v_ids) > 0 then
    insert into webhooks.dispatcher_heartbeat (singleton, draining_until)
    values (true, clock_timestamp() + interval '2 seconds')
    on conflict (singleton) do update set draining_until = excluded.draining_until;
  end if;

  return query
  with claimed as (
    update webhooks.deliveries d
       set status = 'sending',
           lease_token = v_token,
           lease_expires_at = v_lease_expires_at,
           first_attempt_at = coalesce(d.first_attempt_at, now())
     where d.id = any (v_ids)
    returning d.id, d.event_id, d.endpoint_id, d.attempt_count
  )
  select c.id, v_token, v_lease_expires_at, c.event_id, c.endpoint_id, e.url, c.attempt_count, ev.payload::text,
         concat_ws(':', e.secret_id, case when e.previous_secret_expires_at > now() then e.previous_secret_id end),
         (select st.allow_loopback_endpoints from webhooks.settings st)
    from claimed c
    join webhooks.endpoints e on e.id = c.endpoint_id
    join webhooks.events ev on ev.id = c.event_id
   order by c.id;
end
$$;
comment on function webhooks.claim_due_deliveries(integer, integer) is
  'Leases up to p_limit due deliveries to a new token and returns what is needed to send them.';

-- The secrets that sign for each endpoint: the current one, then every replaced one still within
-- its overlap, newest first. secrets_version (also in the claim) changes whenever this list does
-- (see webhooks.refresh_replaced_secrets), so the dispatcher can cache the list per endpoint and
-- version.
create function webhooks.endpoint_signing_secrets(p_endpoint_ids uuid[])
returns table (endpoint_id uuid, secrets_version text, secrets text[])
language sql stable security definer
set search_path = ''
as $$
  select e.id,
         concat_ws(':', e.secret_id, case when e.previous_secret_expires_at > now() then e.previous_secret_id end),
         array_remove(
           (select s.decrypted_secret from vault.decrypted_secrets s where s.id = e.secret_id)
           || array(
                select s.decrypted_secret
                  from webhooks.replaced_secrets r
                  join vault.decrypted_secrets s on s.id = r.secret_id
                 where r.endpoint_id = e.id
                   and r.signs_until > now()
                   and e.previous_secret_expires_at > now()
                 order by r.replaced_at desc, r.signs_until desc
              ),
           null)
    from webhooks.endpoints e
   where e.id = any (p_endpoint_ids)
$$;
comment on function webhooks.endpoint_signing_secrets(uuid[]) is
  'Current and still-signing replaced secrets of the given endpoints, newest first (dispatcher only).';

-- Retry delays after the 1st, 2nd, … failed attempt, in seconds (about 5 s, 30 s, 2 min, 10 min,
-- 30 min, 1 h, 2 h, 4 h, 8 h, then every 8 h), each jittered by ±20 % so receivers recovering
-- from an outage are not hit by every delivery at once.
create function webhooks.retry_delay(p_failed_attempts integer)
returns interval
language sql volatile
set search_path = ''
as $$
  select make_interval(secs =>
    (array[5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800])[least(greatest(p_failed_attempts, 1), 9)]
    * (0.8 + random() * 0.4))
$$;

-- Records a batch of attempts (one statement for the attempts, one for the deliveries, one for
-- the endpoints that changed). Each result:
--   { delivery_id, lease_token, sent, retry_count, started_at, duration_ms, response_status,
--     response_excerpt, error, payload_sha256, retry_after_seconds }
-- `sent = false` hands a delivery back unattempted (its lease was too short to start the request).
-- An attempt is recorded even when its lease was lost, because the request did happen; the
-- delivery's state is only changed by the lease holder.
create function webhooks.record_attempts(p_results jsonb)
returns integer
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_settings webhooks.settings;
  v_updated integer;
begin
  -- Organizations first, key-share locked in id order: deleting an organization locks its row and
  -- then (cascade) its deliveries, so taking the deliveries first could deadlock with it, and a
  -- deadlock aborted the whole batch (other tenants' deliveries included). A concurrent delete now
  -- either finishes first (the batch finds its deliveries gone) or waits for the batch.
  perform
    from public.organizations o
   where o.id in (
           select d.org_id
             from webhooks.deliveries d
            where d.id in (select (r ->> 'delivery_id')::bigint from jsonb_array_elements(p_results) as r)
         )
   order by o.id
     for key share of o;

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
comment on function webhooks.record_attempts(jsonb) is
  'Records a batch of attempt outcomes (lease holder only): attempts, retries, exhaustion, endpoint health.';

-- =============================================================================================
-- Functions: wake-ups
-- =============================================================================================

-- The lock that makes skipping a wake-up safe. A transaction holds it shared from before it reads
-- the heartbeat and wake_requests until it ends; a drain about to stop clears the heartbeat, waits
-- for the transactions holding it then (await_skipped_wake_ups), and claims once more: whatever
-- those transactions committed is in that claim. Transactions that read the cleared heartbeat
-- wake a dispatcher themselves.
create function webhooks.wake_lock_key()
returns bigint
language sql immutable
set search_path = ''
as $$
  select 7302191418337652001::bigint
$$;

-- Step 1 of stopping: no longer announce a drain, and record when: requests made before it have
-- been taken up. An upsert, so that a first drain (or one after a crash emptied the unlogged
-- heartbeat) records it.
create function webhooks.stop_draining()
returns void
language sql volatile security definer
set search_path = ''
as $$
  insert into webhooks.dispatcher_heartbeat (singleton, draining_until, stopped_at)
  values (true, '-infinity', clock_timestamp())
  on conflict (singleton) do update set draining_until = excluded.draining_until, stopped_at = excluded.stopped_at
$$;

-- Step 2 of stopping: wait (at most p_timeout_ms) until every transaction that may have skipped
-- its wake-up because of the announcement has ended. True when the drain may now claim one last
-- time and stop; false when a long transaction still holds on (keep draining and try again).
-- Only the transactions holding the wake lock when the announcement was cleared can have read
-- it: a writer takes the lock before it reads, and one that reads later sees the cleared state and
-- wakes a dispatcher itself. So this notes those holders (pg_locks) and waits for them alone.
-- Polling for the lock in exclusive mode instead starved under steady writers (some writer
-- nearly always holds it shared): drains sat 1.6–1.9 s here and commit → receiver p50 was 2.2 s.
create function webhooks.await_skipped_wake_ups(p_timeout_ms integer default 5000)
returns boolean
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_deadline timestamptz := clock_timestamp() + make_interval(secs => p_timeout_ms / 1000.0);
  v_key bigint := webhooks.wake_lock_key();
  v_waiting text[];
begin
  loop
    -- The holders now, the first time; then those of them still holding it. (pg_locks shows a
    -- bigint advisory key as two 32-bit halves.)
    v_waiting := array(
      select l.virtualtransaction
        from pg_catalog.pg_locks l
       where l.locktype = 'advisory'
         and l.classid = (v_key >> 32)::oid
         and l.objid = (v_key & 4294967295)::oid
         and l.objsubid = 1
         and l.granted
         and l.pid <> pg_catalog.pg_backend_pid()
         and (v_waiting is null or l.virtualtransaction = any (v_waiting))
    );
    exit when cardinality(v_waiting) = 0 or clock_timestamp() >= v_deadline;
    perform pg_catalog.pg_sleep(0.002);
  end loop;
  return cardinality(v_waiting) = 0;
end
$$;

-- Asks webhook-dispatch to run, through pg_net: the request leaves only if the calling
-- transaction commits. Returns the pg_net request id, or null when the project URL is not
-- configured (deliveries then wait for an operator; see dispatch_health).
create function webhooks.request_dispatch(p_reason text)
returns bigint
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_project_url text;
  v_dispatch_secret text;
begin
  select max(s.decrypted_secret) filter (where s.name = 'project_url'),
         max(s.decrypted_secret) filter (where s.name = 'webhook_dispatch_secret')
    into v_project_url, v_dispatch_secret
    from vault.decrypted_secrets s
   where s.name in ('project_url', 'webhook_dispatch_secret');
  if v_project_url is null or v_dispatch_secret is null then
    return null;
  end if;
  return net.http_post(
    url := rtrim(v_project_url, '/') || '/functions/v1/webhook-dispatch',
    body := jsonb_build_object('reason', p_reason, 'wait', false),
    headers := jsonb_build_object(
      'Content-Type', 'application/json',
      'Authorization', 'Bearer ' || v_dispatch_secret
    ),
    timeout_milliseconds := 10000
  );
end
$$;
comment on function webhooks.await_skipped_wake_ups(integer) is
  'Waits (at most p_timeout_ms) for the transactions that held the wake lock when called; true once all have ended.';
comment on function webhooks.wake_lock_key() is
  'Held shared by a transaction from before it reads the heartbeat and wake_requests until it ends; a stopping drain waits for the holders it finds (await_skipped_wake_ups).';

comment on function webhooks.request_dispatch(text) is
  'Wakes webhook-dispatch after the current transaction commits (pg_net); null when not configured.';

-- How long a transaction trusts another's wake-up to be on its way. pg_net sends a request within
-- milliseconds of its commit here; the bound only limits the harm of one that is lost.
create function webhooks.wake_request_ttl()
returns interval
language sql immutable
set search_path = ''
as $$
  select interval '2 seconds'
$$;

-- At most one wake-up per transaction, however many statements create or requeue deliveries: the
-- first sets a transaction-local flag (set_config(…, true) is undone at commit, rollback, and with
-- a rolled-back savepoint together with its request). None while a drain is running or a wake-up
-- is on its way.
create function webhooks.wake_dispatcher_after_commit(p_reason text)
returns void
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_heartbeat record;
begin
  if current_setting('webhooks.dispatch_requested', true) = 'on' then
    return;
  end if;
  -- Shared first, then read: see webhooks.wake_lock_key().
  perform pg_advisory_xact_lock_shared(webhooks.wake_lock_key());
  select h.draining_until, h.stopped_at into v_heartbeat from webhooks.dispatcher_heartbeat h;
  if v_heartbeat.draining_until > clock_timestamp() then
    null; -- a drain is running: it claims this transaction's deliveries
  elsif v_heartbeat.stopped_at is not null and exists (
    select from webhooks.wake_requests r
     where r.requested_at > v_heartbeat.stopped_at
       and r.requested_at > clock_timestamp() - webhooks.wake_request_ttl()
  ) then
    null; -- a wake-up is on its way: the drain it starts claims them
  elsif webhooks.request_dispatch(p_reason) is not null then
    update webhooks.wake_requests r
       set requested_at = clock_timestamp()
      from (select w.singleton from webhooks.wake_requests w for update skip locked) free
     where r.singleton = free.singleton;
  end if;
  perform set_config('webhooks.dispatch_requested', 'on', true);
end
$$;
comment on function webhooks.wake_dispatcher_after_commit(text) is
  'Asks for one dispatcher run after this transaction commits, unless one was asked already, one is on its way or a drain is running.';

create function webhooks.tg_deliveries__wake_dispatcher()
returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  if current_setting('webhooks.dispatch_requested', true) = 'on' then
    return null;
  end if;
  if exists (select from new_rows) then
    perform webhooks.wake_dispatcher_after_commit('commit');
  end if;
  return null;
end
$$;

create trigger _900_wake_dispatcher
  after insert on webhooks.deliveries
  referencing new table as new_rows
  for each statement execute function webhooks.tg_deliveries__wake_dispatcher();

-- =============================================================================================
-- Functions: housekeeping (pg_cron)
-- =============================================================================================

-- Every minute: give up on what can no longer be delivered, drop rotation secrets past their
-- overlap, note how long pg_net's oldest queued request has waited, and wake the dispatcher if
-- anything is due (retries, expired leases, missed wake-ups).
create function webhooks.run_every_minute()
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

  perform webhooks.expire_replaced_secrets();
  perform webhooks.watch_pg_net_queue();

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

-- Retention (daily, pg_cron): one chunk of at most p_limit rows past their retention, of the first
-- kind that has any, in this order: attempts and events older than settings.retention (events a
-- delivery still waits on stay; the others go with their deliveries), then pg_cron's own run history
-- older than settings.cron_history_retention (pg_cron records one row per run and never deletes any:
-- 1,440 a day for the minute job alone; this bounds it, for every job of the database). Returns how
-- many rows it deleted: 0 when nothing is left. The daily job (below) commits after every chunk,
-- so a large purge never holds its locks, or the xmin horizon that keeps vacuum from reclaiming the
-- deliveries queue, for longer than one chunk.
create function webhooks.purge_expired_chunk(p_limit integer)
returns integer
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_settings webhooks.settings;
  v_deleted integer;
begin
  select s.* into v_settings from webhooks.settings s;
  delete from webhooks.attempts a
   where a.id in (select x.id from webhooks.attempts x where x.started_at < now() - v_settings.retention limit p_limit);
  get diagnostics v_deleted = row_count;
  if v_deleted > 0 then
    return v_deleted;
  end if;
  delete from webhooks.events ev
   where ev.id in (
     select x.id
       from webhooks.events x
      where x.created_at < now() - v_settings.retention
        and not exists (
          select from webhooks.deliveries d where d.event_id = x.id and d.status in ('pending', 'sending')
        )
      limit p_limit
   );
  get diagnostics v_deleted = row_count;
  if v_deleted > 0 then
    return v_deleted;
  end if;
  delete from cron.job_run_details r
   where r.runid in (
     select x.runid from cron.job_run_details x where x.end_time < now() - v_settings.cron_history_retention limit p_limit
   );
  get diagnostics v_deleted = row_count;
  return v_deleted;
end
$$;
comment on function webhooks.purge_expired_chunk(integer) is
  'One chunk of the retention purge: attempts, then events, then pg_cron run history past retention; 0 when done.';

-- Minute job: notes when the oldest request in pg_net's queue was first seen, since pg_net keeps
-- no time with a queued request (webhooks.dispatch_health reads how long it has waited).
create function webhooks.watch_pg_net_queue()
returns void
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_oldest bigint;
begin
  select min(q.id) into v_oldest from net.http_request_queue q;
  if v_oldest is null then
    delete from webhooks.pg_net_queue_watch w where w.singleton;
  else
    insert into webhooks.pg_net_queue_watch as w (singleton, oldest_request_id, seen_since)
    values (true, v_oldest, now())
    on conflict (singleton) do update
       set oldest_request_id = excluded.oldest_request_id, seen_since = excluded.seen_since
     where w.oldest_request_id <> excluded.oldest_request_id;
  end if;
end
$$;

-- What is wrong with the wake-up path, and the fix, from what dispatch_health observes; null when
-- nothing is. Wake-ups (and the minute job's) leave the database only through pg_net: without the
-- Vault secrets none is sent; with its worker down, or a request still queued after
-- p_stalled_after, none leaves; with due deliveries older than p_undelivered_after although they
-- leave, webhook-dispatch is not taking them.
create function webhooks.wake_up_diagnosis(
  p_configured boolean,
  p_worker_up boolean,
  p_oldest_unsent_waiting interval,
  p_oldest_due_at timestamptz,
  p_stalled_after interval default interval '30 seconds',
  p_undelivered_after interval default interval '2 minutes'
)
returns table (problem text, fix text)
language sql stable
set search_path = ''
as $$
  select case
           when not p_configured then
             'Wake-ups are not configured: the Vault secret project_url (or webhook_dispatch_secret) is missing, '
             || 'so no delivery is ever started.'
           when p_worker_up is false then
             'pg_net''s background worker is not running: wake-ups stay in net.http_request_queue and no delivery starts.'
           when p_oldest_unsent_waiting >= p_stalled_after then
             format('Wake-ups are not leaving the database: the oldest request in pg_net''s queue has waited %s.',
                    date_trunc('second', p_oldest_unsent_waiting))
           when p_oldest_due_at <= now() - p_undelivered_after then
             format('Deliveries due since %s are not being taken: webhook-dispatch is not draining.',
                    webhooks.iso_time(p_oldest_due_at))
         end,
         case
           when not p_configured then
             'As the project''s owner, in the SQL editor: select vault.create_secret(''https://<project-ref>.supabase.co'', '
             || '''project_url'');'
           when p_worker_up is false or p_oldest_unsent_waiting >= p_stalled_after then
             'Restart pg_net''s worker: select net.worker_restart(); then check that net.http_request_queue empties.'
           when p_oldest_due_at <= now() - p_undelivered_after then
             'Look at webhook-dispatch''s logs and at its answers in net._http_response (a 401 means the '
             || 'webhook_dispatch_secret in Vault and the function disagree); deploy it if it is missing.'
         end
$$;
comment on function webhooks.wake_up_diagnosis(boolean, boolean, interval, timestamptz, interval, interval) is
  'What is wrong with the wake-up path (and the fix), from dispatch_health''s observations; nulls when nothing is.';

-- What an operator checks when nothing arrives: whether wake-ups can be sent and are leaving the
-- database (pg_net's worker, the age of its oldest queued request), the backlog, and what is
-- wrong with the fix to apply (webhooks.wake_up_diagnosis).
create function webhooks.dispatch_health()
returns table (
  wake_ups_configured boolean,
  pg_net_worker_up boolean,
  unsent_requests bigint,
  oldest_unsent_waiting interval,
  due_deliveries bigint,
  expired_leases bigint,
  oldest_due_at timestamptz,
  problem text,
  fix text
)
language plpgsql stable security definer
set search_path = ''
as $$
begin
  wake_ups_configured := (select count(*) = 2 from vault.secrets s where s.name in ('project_url', 'webhook_dispatch_secret'));
  begin
    perform net.check_worker_is_up();
    pg_net_worker_up := true;
  exception
    when undefined_function then pg_net_worker_up := null; -- a pg_net too old to say
    when others then pg_net_worker_up := false;
  end;
  select count(*) into unsent_requests from net.http_request_queue;
  select now() - w.seen_since into oldest_unsent_waiting
    from webhooks.pg_net_queue_watch w
   where w.oldest_request_id = (select min(q.id) from net.http_request_queue q);
  select count(*) filter (where d.status = 'pending' and d.next_attempt_at <= now()),
         count(*) filter (where d.status = 'sending' and d.lease_expires_at <= now()),
         min(d.next_attempt_at) filter (where d.status = 'pending' and d.next_attempt_at <= now())
    into due_deliveries, expired_leases, oldest_due_at
    from webhooks.deliveries d
   where (d.status = 'pending' and d.next_attempt_at <= now())
      or (d.status = 'sending' and d.lease_expires_at <= now());
  select x.problem, x.fix into problem, fix
    from webhooks.wake_up_diagnosis(wake_ups_configured, pg_net_worker_up, oldest_unsent_waiting, oldest_due_at) x;
  return next;
end
$$;
comment on function webhooks.dispatch_health() is
  'Whether wake-ups can be sent and leave the database, the backlog, and what is wrong with the fix (operators).';

-- The same diagnosis for tenant admins (the admin API's endpoint health, the endpoint health
-- view): the problem and its fix, none of the cross-tenant counts.
create function webhooks.wake_up_problem()
returns table (problem text, fix text)
language sql stable security definer
set search_path = ''
as $$
  select h.problem, h.fix from webhooks.dispatch_health() h
$$;
comment on function webhooks.wake_up_problem() is
  'Why deliveries are not being started, if they are not, and the operator''s fix; nulls when nothing is wrong.';

-- =============================================================================================
-- The dispatch secret and the schedules
-- =============================================================================================

-- The credential pg_net and pg_cron present to webhook-dispatch. It can do nothing but wake the
-- dispatcher, so the database never needs the service role key for it.
do $$
begin
  if not exists (select from vault.secrets s where s.name = 'webhook_dispatch_secret') then
    perform vault.create_secret(
      encode(extensions.gen_random_bytes(32), 'hex'),
      'webhook_dispatch_secret',
      'Bearer token with which pg_net and pg_cron wake the webhook-dispatch function'
    );
  end if;
end
$$;

select cron.schedule('webhooks-every-minute', '* * * * *', 'select webhooks.run_every_minute()');
-- The daily purge: chunk after chunk, each committed on its own. A DO block run as the job's own
-- top-level command may commit (pg_cron runs a one-statement command at top level, through a
-- background worker here and a connection on hosted); a procedure could too, but only without the
-- fixed search_path every function here has.
select cron.schedule('webhooks-purge-expired', '17 3 * * *',
  'do $$ begin while webhooks.purge_expired_chunk(5000) > 0 loop commit; end loop; end $$');

-- =============================================================================================
-- Grants
-- =============================================================================================

alter table webhooks.dispatcher_heartbeat enable row level security;
alter table webhooks.dispatcher_heartbeat force row level security;
revoke all on table webhooks.dispatcher_heartbeat from public, anon, authenticated;
alter table webhooks.pg_net_queue_watch enable row level security;
alter table webhooks.pg_net_queue_watch force row level security;
revoke all on table webhooks.pg_net_queue_watch from public, anon, authenticated;
alter table webhooks.wake_requests enable row level security;
alter table webhooks.wake_requests force row level security;
revoke all on table webhooks.wake_requests from public, anon, authenticated;

revoke all on function
  webhooks.wake_lock_key(),
  webhooks.stop_draining(),
  webhooks.await_skipped_wake_ups(integer),
  webhooks.claim_due_deliveries(integer, integer),
  webhooks.endpoint_signing_secrets(uuid[]),
  webhooks.retry_delay(integer),
  webhooks.record_attempts(jsonb),
  webhooks.request_dispatch(text),
  webhooks.wake_request_ttl(),
  webhooks.wake_dispatcher_after_commit(text),
  webhooks.tg_deliveries__wake_dispatcher(),
  webhooks.run_every_minute(),
  webhooks.purge_expired_chunk(integer),
  webhooks.watch_pg_net_queue(),
  webhooks.wake_up_diagnosis(boolean, boolean, interval, timestamptz, interval, interval),
  webhooks.dispatch_health(),
  webhooks.wake_up_problem()
  from public, anon, authenticated;
grant execute on function
  webhooks.stop_draining(),
  webhooks.await_skipped_wake_ups(integer),
  webhooks.claim_due_deliveries(integer, integer),
  webhooks.endpoint_signing_secrets(uuid[]),
  webhooks.record_attempts(jsonb),
  webhooks.request_dispatch(text),
  webhooks.dispatch_health()
  to service_role;
grant execute on function webhooks.wake_up_problem() to authenticated, service_role;
