-- =============================================================================================
-- Wake-up coalescing while a wake-up is on its way (issue 6, SPEC §7: job inserts with webhooks on
-- should keep ≥ 0.85 of their throughput with webhooks off).
--
-- Until now a transaction skipped its wake-up only while a drain was announced (the heartbeat).
-- Between drains every committing transaction asked for one: it read two Vault secrets and queued
-- a pg_net request, and each request started a drain. Measured with pgbench (4 clients, one job
-- per transaction, each client its own organization, 2 cores, dispatcher not draining): job
-- inserts kept 0.35 of their throughput (1,430 against 4,060 per second); with the wake-up trigger
-- disabled they kept 0.80 (3,170 per second). The wake-up was most of the outbox's cost.
--
-- Now a waker also records when it asked (webhooks.wake_requests), and a transaction skips its
-- wake-up while such a request is on its way: made after the last time a drain stopped, and less
-- than two seconds ago. It is safe for the same reason the heartbeat is (webhooks.wake_lock_key):
-- the skipper holds the wake lock shared from before it reads until it ends, and the request it
-- relies on reaches the dispatcher after that read. The drain it starts, or the running drain it
-- joins, then stops only through stop_draining (recording stopped_at), the exclusive wake lock
-- (waiting for the skipper to end) and one last claim (which sees the skipper's deliveries).
-- webhook-dispatch makes a drain that absorbed a wake-up go through those steps again. A request
-- that never arrives costs at most two seconds of skipped wake-ups; the minute job covers them.
--
-- The waker records its request only if no other transaction is recording one at that moment
-- (skip locked): a long transaction holding the row never makes other writers wait. The row lives
-- apart from the heartbeat so that it never makes a claim wait either.
-- =============================================================================================

-- =============================================================================================
-- Tables
-- =============================================================================================

alter table webhooks.dispatcher_heartbeat add column stopped_at timestamptz;
comment on column webhooks.dispatcher_heartbeat.stopped_at is
  'When a drain last cleared its announcement to stop; wake-ups requested before it have been taken up.';

create table webhooks.wake_requests (
  singleton boolean primary key default true,
  requested_at timestamptz not null default '-infinity',
  constraint wake_requests_singleton check (singleton)
);
comment on table webhooks.wake_requests is
  'When a transaction last asked webhook-dispatch to run after its commit (pg_net); read by the wake-up.';
insert into webhooks.wake_requests default values;

-- =============================================================================================
-- Functions
-- =============================================================================================

-- How long a transaction trusts another's wake-up to be on its way. pg_net sends a request within
-- milliseconds of its commit here; the bound only limits the harm of one that is lost.
create function webhooks.wake_request_ttl()
returns interval
language sql immutable
set search_path = ''
as $$
  select interval '2 seconds'
$$;

-- Step 1 of stopping, now also recording when: requests made before it have been taken up. An
-- upsert, so that a first drain (or one after a crash emptied the unlogged heartbeat) records it.
create or replace function webhooks.stop_draining()
returns void
language sql volatile security definer
set search_path = ''
as $$
  insert into webhooks.dispatcher_heartbeat (singleton, draining_until, stopped_at)
  values (true, '-infinity', clock_timestamp())
  on conflict (singleton) do update set draining_until = excluded.draining_until, stopped_at = excluded.stopped_at
$$;

create or replace function webhooks.wake_dispatcher_after_commit(p_reason text)
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

-- =============================================================================================
-- Grants
-- =============================================================================================

alter table webhooks.wake_requests enable row level security;
alter table webhooks.wake_requests force row level security;
revoke all on table webhooks.wake_requests from public, anon, authenticated;

revoke all on function webhooks.wake_request_ttl() from public, anon, authenticated;
