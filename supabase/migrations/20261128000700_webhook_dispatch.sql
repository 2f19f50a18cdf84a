-- =============================================================================================
-- Webhook dispatch (docs/webhooks.md, docs/retries.md): how committed outbox rows become events and deliveries (the fan-out), how
-- the webhook-dispatch function claims due deliveries and records their attempts, how it is woken
-- (the scheduler, which pg_cron keeps running), and housekeeping (exhaustion, expired
-- rotation secrets, retention in short transactions, pg_cron's run history, the health of the
-- wake-up path).
--
-- Claims take, for each endpoint with due work, its oldest due deliveries up to the endpoint's
-- share of settings.endpoint_concurrency, and interleave endpoints: a slow or failing endpoint's
-- backlog never holds back another's deliveries, and the limit holds across every dispatcher at
-- once (claims for one endpoint are serialized, and count what is in flight in the database).
-- Claims lease what they take: a crashed dispatcher's deliveries are claimed again once their lease
-- expires (at-least-once; a duplicate always has the same webhook-id), and only the holder of a
-- delivery's lease token can record its outcome. Leases and schedules are on the database's clock.
--
-- Wake-ups need two Vault secrets an operator stores once (README, "Deploy"): `project_url` and
-- `webhook_dispatch_secret` (created here when missing). Without `project_url` no wake-up is sent
-- and deliveries wait; webhooks.dispatch_health() says so.
--
-- Lock order (the one place it is written; the functions below follow it):
--   1. the fan-out's advisory lock (webhooks.fan_out, tried, never waited for by a claim): one
--      fan-out at a time, so feed positions become visible in increasing order;
--   2. organizations, KEY SHARE (fan-out, record_attempts), before any endpoint or delivery: an
--      organization's deletion locks its row and then, by cascade, its endpoints and deliveries,
--      so taking those first deadlocked with it;
--   3. endpoints: KEY SHARE for the deliveries the fan-out creates, FOR NO KEY UPDATE for the
--      changes an outcome makes (410, failure streak);
--   4. a claim's per-endpoint advisory locks (tried): claims for one endpoint take turns, so the
--      requests in flight they count stay within settings.endpoint_concurrency;
--   5. deliveries, FOR UPDATE: claims, parking, recording, the minute job, an endpoint's disabling;
--   6. the heartbeat row (tried).
-- Every lock the delivery side takes on something a tenant's or an admin's transaction may hold
-- (2, 3, and 5 for a claim, parking, disabling and the minute job) is taken with SKIP LOCKED or
-- tried, never waited for: what is skipped is taken up by the next claim, outcome or minute. A
-- tenant's writers take no lock of the delivery side's (each outbox row carries its snapshot
-- instead: webhooks.subscriptions), and an admin's changes lock one endpoint (endpoint_for_admin)
-- and then, skipping what dispatchers hold, its deliveries. What a dispatcher still waits for is
-- another dispatcher's short transaction on the same delivery row (a recording while the minute
-- job's or a claim's update has it), or an admin function's single-statement lock on one delivery.
-- =============================================================================================

-- =============================================================================================
-- Tables
-- =============================================================================================

-- Whether a dispatcher is draining right now: every claim refreshes draining_until, and a drain
-- clears it when it stops. The scheduler wakes the dispatcher only while nobody is draining.
-- UNLOGGED: after a crash it is empty, which reads as "nobody is draining".
create unlogged table webhooks.dispatcher_heartbeat (
  singleton boolean primary key default true,
  draining_until timestamptz not null,
  stopped_at timestamptz,
  constraint dispatcher_heartbeat_singleton check (singleton)
);
comment on table webhooks.dispatcher_heartbeat is
  'Refreshed by every claim, cleared by a drain when it stops; read by the scheduler.';
comment on column webhooks.dispatcher_heartbeat.stopped_at is
  'When a drain last stopped: a wake-up asked for before it has been taken up.';

-- Where the outbox's unfanned rows start: every row not fanned out yet has txid >= low_txid. The
-- outbox is a queue, so its index holds the entries of rows just deleted until vacuum removes them
-- (autovacuum comes at most once a minute); scans that start here step over none of them. A fan-out
-- moves it to the oldest transaction still running when it looked (rows it could not see are that
-- one's or younger ones'), or to the first row it left behind. UNLOGGED: after a crash it is
-- empty, which means "from the start".
create unlogged table webhooks.fan_out_horizon (
  singleton boolean primary key default true,
  low_txid xid8 not null,
  constraint fan_out_horizon_singleton check (singleton)
);
comment on table webhooks.fan_out_horizon is
  'Every outbox row not fanned out yet has txid >= low_txid (moved forward by webhooks.fan_out).';

-- =============================================================================================
-- Functions: fan-out
-- =============================================================================================

-- Turns up to p_limit committed outbox rows, oldest transaction first, into their events
-- (webhooks.render_event) and one delivery per endpoint of the organization subscribed to the type
-- (an empty list means every type) as the row's snapshot saw the subscriptions
-- (webhooks.subscriptions), and deletes them from the outbox, in one statement. An endpoint
-- disabled since gets its delivery already failed. One fan-out runs at a time: with p_wait false
-- (claims) it returns 0 when another is running, with p_wait true (tests, operators) it waits for
-- it. It waits for no tenant: an endpoint being deleted right now is skipped (its deliveries would
-- go with it); the rows of an organization being deleted right now stay for a later fan-out, and
-- those of one deleted since go without events. An operational event is not delivered to the
-- endpoint it is about. Events get their feed positions here, in fan-out order. Returns the number
-- of outbox rows fanned out.
--
-- A resource's events are fanned out in sequence order. Rows are taken in transaction-id order,
-- which is not commit order: a transaction that took its id early and then waited for another's
-- row lock commits after it, with the next sequence number. So when p_limit cuts the outbox short,
-- an event whose predecessor is neither fanned out yet nor in this batch (it is most likely
-- waiting beyond the cut) stays for the next fan-out, and so do the resource's later events in the
-- batch. Only when cut: otherwise every committed predecessor is visible, and a missing one was
-- purged with its organization or by retention; such an event waits only while the outbox holds
-- more than a batch.
create function webhooks.fan_out(p_limit integer default 2000, p_wait boolean default false)
returns integer
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_fanned_out integer;
  v_low xid8;
  v_next_low xid8;
begin
  if p_wait then
    perform pg_advisory_xact_lock(hashtext('webhooks.fan_out'));
  elsif not pg_try_advisory_xact_lock(hashtext('webhooks.fan_out')) then
    return 0;
  end if;
  -- Read after the lock: the previous fan-out has committed its horizon (or rolled back with it).
  v_low := coalesce((select h.low_txid from webhooks.fan_out_horizon h), '0'::xid8);
  with candidates as materialized (
    select x.txid, x.id, x.org_id, x.resource_id, x.sequence
      from webhooks.outbox x
     where x.txid >= v_low
     order by x.txid, x.id
     limit p_limit
  ),
  -- Key share, so that an organization is not deleted under its new events, skipping one whose
  -- deletion is in progress (a tenant's transaction, which the fan-out never waits for).
  organizations as materialized (
    select o.id
      from public.organizations o
     where o.id in (select c.org_id from candidates c)
       for key share of o skip locked
  ),
  -- Rows of an organization that exists but could not be locked wait for a later fan-out.
  busy as materialized (
    select c.txid, c.id
      from candidates c
     where not exists (select from organizations o where o.id = c.org_id)
       and exists (select from public.organizations g where g.id = c.org_id)
  ),
  -- In a batch cut short, an event whose predecessor is in neither this batch nor the events waits
  -- for the next fan-out (the predecessor is beyond the cut), with its resource's later events.
  held_back as materialized (
    select c.txid, c.resource_id, c.sequence
      from candidates c
     where (select count(*) from candidates) = p_limit
       and c.sequence > 1
       and not exists (select from candidates p where p.resource_id = c.resource_id and p.sequence = c.sequence - 1)
       and not exists (select from webhooks.events e where e.resource_id = c.resource_id and e.sequence = c.sequence - 1)
  ),
  in_order as materialized (
    select c.txid, c.id
      from candidates c
     where not exists (
       select from held_back h where h.resource_id = c.resource_id and h.sequence <= c.sequence
     )
       and not exists (select from busy b where b.txid = c.txid and b.id = c.id)
  ),
  -- A batch held back entirely (one transaction's rows all waiting for a later one's) would stall
  -- the fan-out for good: then order gives way.
  chosen as (
    select i.txid, i.id from in_order i
    union all
    select c.txid, c.id
      from candidates c
     where not exists (select from in_order)
       and not exists (select from busy b where b.txid = c.txid and b.id = c.id)
  ),
  taken as (
    delete from webhooks.outbox o
     using chosen x
     where o.txid = x.txid
       and o.id = x.id
    returning o.txid, o.id, o.org_id, o.event_type, o.data, o.resource_id, o.sequence, o.created_at, o.snapshot
  ),
  -- The organizations' endpoints, but one being deleted right now (its deliveries would go with it).
  org_endpoints as (
    select e.id, e.org_id, e.enabled, e.disabled_reason
      from webhooks.endpoints e
     where e.org_id in (select t.org_id from taken t)
       for key share of e skip locked
  ),
  prepared as (
    select t.*,
           webhooks.outbox_event_id(t.id, t.created_at) as event_id,
           case when t.event_type = 'delivery.exhausted' then (t.data -> 'delivery' ->> 'endpoint_id')::uuid
           end as about_endpoint_id
      from taken t
      join organizations o on o.id = t.org_id
  ),
  rendered as (
    insert into webhooks.events (id, org_id, event_type, payload, resource_type, resource_id, sequence,
                                 feed_position, created_at)
    select p.event_id, p.org_id, p.event_type,
           webhooks.render_event(p.event_id, p.event_type, p.org_id, p.created_at, p.data, p.resource_id, p.sequence),
           case when p.resource_id is not null then split_part(p.event_type, '.', 1) end,
           p.resource_id, p.sequence,
           nextval('webhooks.events_feed_position_seq'), p.created_at
      from prepared p
     order by p.txid, p.id
    returning id
  ),
  -- Per endpoint, the latest subscription version the row's writer saw: committed in its
  -- snapshot, or made earlier in its own transaction.
  fanned_out as (
    insert into webhooks.deliveries (org_id, event_id, endpoint_id, resource_id, sequence, status, completed_at,
                                     last_error)
    select p.org_id, p.event_id, s.id, p.resource_id, p.sequence,
           case when s.enabled then 'pending' else 'failed' end::webhooks.delivery_status,
           case when not s.enabled then now() end,
           case when not s.enabled then 'The endpoint was disabled: ' || s.disabled_reason end
      from prepared p
      join rendered r on r.id = p.event_id
      join org_endpoints s on s.org_id = p.org_id and s.id is distinct from p.about_endpoint_id
     cross join lateral (
       select v.enabled, v.event_types
         from webhooks.subscriptions v
        where v.endpoint_id = s.id
          and case when v.txid = p.txid then v.after_outbox_id < p.id
                   else pg_visible_in_snapshot(v.txid, p.snapshot) end
        order by v.version desc
        limit 1
     ) v
     where v.enabled
       and (cardinality(v.event_types) = 0 or p.event_type = any (v.event_types))
  )
  select (select count(*) from chosen),
         -- Everything this statement could see and did not take comes after its last row, or is
         -- held back; what it could not see belongs to transactions running when it looked.
         least(
           case when (select count(*) from candidates) < p_limit then pg_snapshot_xmin(pg_current_snapshot())
                else least(pg_snapshot_xmin(pg_current_snapshot()), (select max(c.txid) from candidates c)) end,
           (select min(h.txid) from held_back h where exists (select from in_order)),
           (select min(b.txid) from busy b)
         )
    into v_fanned_out, v_next_low;
  -- Only after taking rows: a fan-out that found nothing left no index entries behind, and
  -- writing the horizon would give the claim a transaction id and a WAL flush at every commit.
  if v_fanned_out > 0 and v_next_low > v_low then
    insert into webhooks.fan_out_horizon as h (singleton, low_txid) values (true, v_next_low)
    on conflict (singleton) do update set low_txid = excluded.low_txid;
  end if;
  return v_fanned_out;
end
$$;
comment on function webhooks.fan_out(integer, boolean) is
  'Renders committed outbox rows into events and their deliveries (one fan-out at a time); returns how many.';

-- Everything committed so far, in batches, waiting for a fan-out in progress.
create function webhooks.fan_out_committed()
returns integer
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_total integer := 0;
  v_batch integer;
begin
  loop
    v_batch := webhooks.fan_out(10000, true);
    v_total := v_total + v_batch;
    exit when v_batch < 10000;
  end loop;
  return v_total;
end
$$;

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

-- Where the last claim's round-robin walk stopped: the next one starts after that endpoint.
-- UNLOGGED: after a crash it is empty, which means "from the first endpoint".
create unlogged table webhooks.claim_cursor (
  singleton boolean primary key default true,
  endpoint_id uuid not null,
  constraint claim_cursor_singleton check (singleton)
);
comment on table webhooks.claim_cursor is
  'The endpoint the last claim took last; the next claim''s walk over endpoints with due work starts after it.';

-- The lowest endpoint id, below every one gen_random_uuid() makes: where a walk starts.
create function webhooks.nil_endpoint_id()
returns uuid
language sql immutable
set search_path = ''
as $$
  select '00000000-0000-0000-0000-000000000000'::uuid
$$;

-- Up to p_limit endpoints with due pending work and ids after p_after (through p_through when
-- given), in id order, each locked for the claim's transaction (webhooks.claim_due_deliveries),
-- skipping those another claim holds. A skip scan of the pending index: one probe per endpoint
-- with pending work, stopping as soon as p_limit are found.
create function webhooks.due_endpoints(p_after uuid, p_through uuid, p_limit integer)
returns uuid[]
language sql volatile security definer
set search_path = ''
as $$
  select array(
    select w.endpoint_id
      from (
        with recursive pending (endpoint_id) as (
          (select d.endpoint_id from webhooks.deliveries d
            where d.status = 'pending' and d.endpoint_id > p_after
            order by d.endpoint_id limit 1)
          union all
          select (
            select d.endpoint_id
              from webhooks.deliveries d
             where d.status = 'pending'
               and d.endpoint_id > p.endpoint_id
             order by d.endpoint_id
             limit 1
          )
            from pending p
           where p.endpoint_id is not null
             and (p_through is null or p.endpoint_id < p_through)
        )
        select p.endpoint_id
          from pending p
         where p.endpoint_id is not null
           and (p_through is null or p.endpoint_id <= p_through)
           and exists (
             select from webhooks.deliveries d
              where d.endpoint_id = p.endpoint_id
                and d.status = 'pending'
                and d.next_attempt_at <= now()
           )
        offset 0
      ) w
     where pg_try_advisory_xact_lock(hashtext('webhooks.claim'), hashtext(w.endpoint_id::text))
     limit p_limit
  )
$$;

-- Records the caller's outcomes (p_outcomes, as webhooks.record_attempts takes them: a dispatcher
-- acknowledges what it sent and asks for more in one call, so what it has finished no longer counts
-- against its endpoints' limits), fans out what has committed, then claims up to p_limit due
-- deliveries and leases them to one token for p_lease_seconds. Fair by construction:
--   1. it finds up to p_limit endpoints with due work (pending and due), walking the pending
--      index one endpoint at a time from where the previous claim stopped (round robin: with a
--      thousand endpoints, a claim of fifty looks at fifty, not at all of them), and those with an
--      expired lease, and locks each for the rest of the transaction, skipping those another
--      claim holds;
--   2. in a new statement (so that claims committed before those locks are visible), it counts
--      each endpoint's deliveries in flight and takes its oldest due ones up to
--      settings.endpoint_concurrency in flight, expired leases first, except those that must wait
--      for an earlier delivery of the same resource to the same endpoint (parked instead): per
--      resource and endpoint, deliveries go out in sequence order, one at a time, and a resource
--      whose delivery keeps failing holds back only its own later ones;
--   3. it interleaves endpoints (every endpoint's first, then every endpoint's second, …) up to
--      p_limit.
-- Each row also says when and for how long it was leased by the database's clock (lease_seconds,
-- claimed_at), so the dispatcher never compares its own clock with the lease, and whether loopback
-- destinations are allowed, so its SSRF check follows the current setting. p_background: the
-- drain was woken (by the scheduler or a hand-over), not asked for by an operator; such drains claim
-- nothing while settings.dispatch_paused.
create function webhooks.claim_due_deliveries(
  p_limit integer,
  p_lease_seconds integer default 30,
  p_outcomes jsonb default null,
  p_background boolean default false
)
returns table (
  delivery_id bigint,
  lease_token uuid,
  lease_seconds integer,
  claimed_at timestamptz,
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
  v_endpoint_concurrency integer;
  v_cursor uuid;
  v_endpoints uuid[];
  v_ids bigint[];
  v_parked_ids bigint[];
  v_parked_until timestamptz[];
begin
  if p_limit not between 1 and 5000 or p_lease_seconds not between 1 and 3600 then
    raise exception 'claim between 1 and 5000 deliveries for 1 to 3600 seconds' using errcode = '22023';
  end if;
  if jsonb_typeof(p_outcomes) = 'array' and jsonb_array_length(p_outcomes) > 0 then
    perform webhooks.record_attempts(p_outcomes);
  end if;
  -- While an operator has paused dispatch, only a drain asked for explicitly claims: one woken
  -- before the pause, or handed over to since, records what it carries and takes nothing.
  if p_background and (select s.dispatch_paused from webhooks.settings s) then
    return;
  end if;

  perform webhooks.fan_out(greatest(p_limit, 2000));
  select s.endpoint_concurrency into v_endpoint_concurrency from webhooks.settings s;

  -- Round robin: the walk starts after the endpoint the previous claim took last and stops at
  -- p_limit endpoints, wrapping around once; endpoints with an expired lease join it.
  v_cursor := coalesce((select c.endpoint_id from webhooks.claim_cursor c), webhooks.nil_endpoint_id());
  v_endpoints := webhooks.due_endpoints(v_cursor, null, p_limit);
  if cardinality(v_endpoints) < p_limit then
    v_endpoints := v_endpoints || webhooks.due_endpoints(webhooks.nil_endpoint_id(), v_cursor,
                                                         p_limit - cardinality(v_endpoints));
  end if;
  if cardinality(v_endpoints) > 0 then
    update webhooks.claim_cursor c
       set endpoint_id = v_endpoints[cardinality(v_endpoints)]
      from (select x.singleton from webhooks.claim_cursor x for update skip locked) free
     where c.singleton = free.singleton;
    if not found and not exists (select from webhooks.claim_cursor) then
      insert into webhooks.claim_cursor (singleton, endpoint_id)
      values (true, v_endpoints[cardinality(v_endpoints)])
      on conflict (singleton) do nothing;
    end if;
  end if;
  v_endpoints := v_endpoints || array(
    select w.endpoint_id
      from (
        select distinct d.endpoint_id
          from webhooks.deliveries d
         where d.status = 'sending'
           and d.lease_expires_at <= now()
           and d.endpoint_id <> all (v_endpoints)
        offset 0
      ) w
     where pg_try_advisory_xact_lock(hashtext('webhooks.claim'), hashtext(w.endpoint_id::text))
  );

  -- Each endpoint's oldest due deliveries up to its room; of those, one whose resource has an
  -- unfinished delivery with a lower sequence number to the same endpoint waits (parked below).
  with candidates as materialized (
    select c.id, c.turn, c.due_at, c.blocked_until
      from unnest(v_endpoints) as w (endpoint_id)
      join webhooks.endpoints e on e.id = w.endpoint_id and e.enabled
     cross join lateral (
       select greatest(0, v_endpoint_concurrency - count(*))::integer as room
         from webhooks.deliveries s
        where s.endpoint_id = w.endpoint_id
          and s.status = 'sending'
          and s.lease_expires_at > now()
     ) f
     cross join lateral (
       select x.id, x.due_at, row_number() over (order by x.expired desc, x.due_at) as turn,
              case when x.resource_id is not null and not x.expired then (
                select max(case when p.status = 'sending' then p.lease_expires_at
                                else greatest(p.next_attempt_at, now()) + make_interval(secs => p_lease_seconds) end)
                  from webhooks.deliveries p
                 where p.endpoint_id = w.endpoint_id
                   and p.resource_id = x.resource_id
                   and p.sequence < x.sequence
                   and p.status in ('pending', 'sending')
              ) end as blocked_until
         from (
           (select d.id, d.lease_expires_at as due_at, true as expired, d.resource_id, d.sequence
              from webhooks.deliveries d
             where d.endpoint_id = w.endpoint_id
               and d.status = 'sending'
               and d.lease_expires_at <= now()
             order by d.lease_expires_at
             limit f.room)
           union all
           (select d.id, d.next_attempt_at, false, d.resource_id, d.sequence
              from webhooks.deliveries d
             where d.endpoint_id = w.endpoint_id
               and d.status = 'pending'
               and d.next_attempt_at <= now()
             order by d.next_attempt_at
             limit f.room)
         ) x
        order by x.expired desc, x.due_at
        limit f.room
     ) c
  )
  select array(select c.id from candidates c where c.blocked_until is null order by c.turn, c.due_at limit p_limit),
         array(select c.id from candidates c where c.blocked_until is not null order by c.id),
         array(select c.blocked_until from candidates c where c.blocked_until is not null order by c.id)
    into v_ids, v_parked_ids, v_parked_until;

  -- Announce the drain even when nothing was due: it claims again within milliseconds. Only once
  -- the announcement has less than 1.5 s left: a claim that finds nothing then writes nothing, so
  -- a lingering drain's claims every few milliseconds commit without a WAL flush.
  update webhooks.dispatcher_heartbeat h
     set draining_until = clock_timestamp() + interval '2 seconds'
    from (select x.singleton from webhooks.dispatcher_heartbeat x
           where x.draining_until < clock_timestamp() + interval '1.5 seconds'
           for update skip locked) free
   where h.singleton = free.singleton;
  if not found and not exists (select from webhooks.dispatcher_heartbeat) then
    insert into webhooks.dispatcher_heartbeat (singleton, draining_until)
    values (true, clock_timestamp() + interval '2 seconds')
    on conflict (singleton) do nothing;
  end if;

  return query
  with claimed as (
    update webhooks.deliveries d
       set status = 'sending',
           parked = false,
           lease_token = v_token,
           lease_expires_at = now() + make_interval(secs => p_lease_seconds),
           first_attempt_at = coalesce(d.first_attempt_at, now())
      from (
        -- Rechecked on the row's latest version: a resend, a recording or the minute job may have
        -- changed it since the statement above read it. A row another transaction holds (an
        -- admin disabling its endpoint or resending it) is skipped, never waited for.
        select x.id
          from webhooks.deliveries x
         where x.id = any (v_ids)
           and ((x.status = 'pending' and x.next_attempt_at <= now())
                or (x.status = 'sending' and x.lease_expires_at <= now()))
           for update skip locked
      ) free
     where d.id = free.id
    returning d.id, d.event_id, d.endpoint_id, d.attempt_count
  )
  select c.id, v_token, p_lease_seconds, clock_timestamp(), c.event_id, c.endpoint_id, e.url, c.attempt_count,
         ev.payload::text,
         concat_ws(':', e.secret_id, case when e.previous_secret_expires_at > now() then e.previous_secret_id end),
         (select st.allow_loopback_endpoints from webhooks.settings st)
    from claimed c
    join webhooks.endpoints e on e.id = c.endpoint_id
    join webhooks.events ev on ev.id = c.event_id
   order by array_position(v_ids, c.id);

  -- A waiting delivery is parked until its predecessors could have finished (their lease, or their
  -- next attempt and a lease); finishing a delivery releases the next one at once
  -- (webhooks.finish_deliveries), so the parking time matters only if that release and this claim
  -- crossed. After the claim's own update, and skipping rows another transaction holds (disabling
  -- an endpoint fails its queued deliveries): a claim that locked parked rows first and then waited
  -- for its claimed ones deadlocked with such a transaction locking them the other way round.
  if cardinality(v_parked_ids) > 0 then
    with lockable as (
      select x.id
        from webhooks.deliveries x
       where x.id = any (v_parked_ids)
         and x.status = 'pending'
         and x.next_attempt_at <= now()
         for update skip locked
    )
    update webhooks.deliveries d
       set next_attempt_at = p.until,
           parked = true
      from unnest(v_parked_ids, v_parked_until) as p (id, until)
     where d.id = p.id
       and d.id in (select l.id from lockable l);
  end if;
end
$$;
comment on function webhooks.claim_due_deliveries(integer, integer, jsonb, boolean) is
  'Records the caller''s outcomes, fans out, then leases up to p_limit due deliveries fairly across endpoints '
  '(nothing for a background drain while dispatch is paused).';

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

-- What follows a delivery's end (succeeded, failed or exhausted), for a batch of them:
--   * the next delivery of the same resource to the same endpoint, parked by a claim while this
--     one was unfinished, is due at once (webhooks.claim_due_deliveries);
--   * an exhausted delivery publishes delivery.exhausted, which the fan-out gives to the
--     organization's other endpoints subscribed to it, and leaves an audit entry. Not for the
--     delivery of an operational event: two failing endpoints would otherwise tell each other
--     about each other's failures forever.
-- p_delivery_ids: deliveries that ended; p_exhausted_ids: those of them exhausted. Returns how many
-- delivery.exhausted events it published. Costs next to nothing when no delivery is parked and
-- none is exhausted, as for nearly every batch of successes.
create function webhooks.finish_deliveries(p_delivery_ids bigint[], p_exhausted_ids bigint[])
returns integer
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_exhausted integer;
begin
  if coalesce(cardinality(p_delivery_ids), 0) = 0 then
    return 0;
  end if;
  if exists (select from webhooks.deliveries d where d.parked) then
    update webhooks.deliveries s
       set next_attempt_at = now(),
           parked = false
      from (
        select distinct d.endpoint_id, d.resource_id
          from webhooks.deliveries d
         where d.id = any (p_delivery_ids)
           and d.resource_id is not null
      ) f
     where s.endpoint_id = f.endpoint_id
       and s.resource_id = f.resource_id
       and s.status = 'pending'
       and s.parked
       and not exists (
         select from webhooks.deliveries p
          where p.endpoint_id = s.endpoint_id
            and p.resource_id = s.resource_id
            and p.sequence < s.sequence
            and p.status in ('pending', 'sending')
       );
  end if;

  if coalesce(cardinality(p_exhausted_ids), 0) = 0 then
    return 0;
  end if;
  with exhausted as (
    select d.id, d.org_id, d.event_id, ev.event_type, d.endpoint_id, e.url, d.attempt_count, d.first_attempt_at,
           d.last_attempt_at, d.last_response_status, d.last_error
      from webhooks.deliveries d
      join webhooks.events ev on ev.id = d.event_id
      join webhooks.endpoints e on e.id = d.endpoint_id
     where d.id = any (p_exhausted_ids)
       and d.status = 'exhausted'
       and ev.event_type not in ('endpoint.disabled', 'delivery.exhausted')
  ),
  published as (
    insert into webhooks.outbox (org_id, event_type, data)
    select x.org_id, 'delivery.exhausted', jsonb_build_object('delivery', jsonb_build_object(
             'id', x.id,
             'event_id', x.event_id,
             'event_type', x.event_type,
             'endpoint_id', x.endpoint_id,
             'endpoint_url', x.url,
             'attempt_count', x.attempt_count,
             'first_attempt_at', webhooks.iso_time(x.first_attempt_at),
             'last_attempt_at', webhooks.iso_time(x.last_attempt_at),
             'last_response_status', x.last_response_status,
             'last_error', x.last_error
           ))
      from exhausted x
  ),
  audited as (
    select audit.record(x.org_id, 'delivery.exhausted', 'delivery', x.id::text,
                        jsonb_build_object('event_id', x.event_id, 'event_type', x.event_type,
                                           'endpoint_id', x.endpoint_id, 'attempt_count', x.attempt_count,
                                           'last_error', x.last_error),
                        'system')
      from exhausted x
  )
  select count(*) into v_exhausted from audited;
  return v_exhausted;
end
$$;
comment on function webhooks.finish_deliveries(bigint[], bigint[]) is
  'After deliveries end: releases the next delivery of each resource, publishes delivery.exhausted and audits it.';

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
  v_finished bigint[];
  v_exhausted bigint[];
  v_org_ids uuid[];
begin
  -- Organizations first, key-share locked: deleting an organization locks its row and then
  -- (cascade) its deliveries, so taking the deliveries first could deadlock with it, and a deadlock
  -- aborted the whole batch (other tenants' deliveries included). One being deleted right now (a
  -- tenant's open transaction) is skipped, not waited for: its outcomes are not recorded, and its
  -- deliveries go with it, or, if the deletion rolls back, are claimed again when their leases
  -- expire (at-least-once, same webhook-id).
  v_org_ids := array(
    select o.id
      from public.organizations o
     where o.id in (
             select d.org_id
               from webhooks.deliveries d
              where d.id in (select (r ->> 'delivery_id')::bigint from jsonb_array_elements(p_results) as r)
           )
       for key share of o skip locked
  );

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
      join webhooks.deliveries d on d.id = r.delivery_id and d.org_id = any (v_org_ids)
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
      join webhooks.deliveries d
        on d.id = r.delivery_id and d.status = 'sending' and d.lease_token = r.lease_token
       and d.org_id = any (v_org_ids)
      join webhooks.endpoints e on e.id = d.endpoint_id
  ),
  changed as (
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
                          when o.kind = 'released' then d.last_error
                          when o.kind = 'succeeded' then null
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
     where d.id = o.id
    returning d.id, d.status
  )
  select count(*), array_agg(c.id) filter (where c.status in ('succeeded', 'failed', 'exhausted')),
         array_agg(c.id) filter (where c.status = 'exhausted')
    into v_updated, v_finished, v_exhausted
    from changed c;

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
      join webhooks.deliveries d on d.id = r.delivery_id and d.org_id = any (v_org_ids)
     where r.sent
     group by d.endpoint_id
  ),
  -- Only the endpoints that change, and of those the ones no other transaction holds (an admin
  -- changing one in a transaction still open): a skipped change is made by a later batch's
  -- outcomes (the next 410, the next failure), never waited for.
  changes as (
    select e.id,
           pe.gone,
           pe.any_success,
           coalesce(e.failing_since, pe.first_failure) as failing_since
      from per_endpoint pe
      join webhooks.endpoints e on e.id = pe.endpoint_id
     where e.enabled
       and (pe.gone
            or (pe.any_success and e.failing_since is not null)
            or (not pe.any_success and e.failing_since is null)
            or (not pe.any_success
                and coalesce(e.failing_since, pe.first_failure) <= now() - v_settings.auto_disable_after))
       for no key update of e skip locked
  )
  update webhooks.endpoints e
     set failing_since = case when c.any_success and not c.gone then null else c.failing_since end,
         enabled = not (c.gone or (not c.any_success and c.failing_since <= now() - v_settings.auto_disable_after)),
         disabled_cause = case
                            when c.gone then 'gone'
                            when not c.any_success and c.failing_since <= now() - v_settings.auto_disable_after then 'failing'
                          end,
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
  perform webhooks.finish_deliveries(v_finished, v_exhausted);
  return v_updated;
end
$$;
comment on function webhooks.record_attempts(jsonb) is
  'Records a batch of attempt outcomes (lease holder only): attempts, retries, exhaustion, endpoint health.';

-- =============================================================================================
-- Functions: waking the dispatcher
-- =============================================================================================

-- A drain stops: no longer announced, and the time recorded (a wake-up asked for before it has
-- been taken up). An upsert, so that a first drain (or one after a crash emptied the unlogged
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
comment on function webhooks.request_dispatch(text) is
  'Wakes webhook-dispatch after the current transaction commits (pg_net); null when not configured.';

-- What the scheduler looks at: whether anything is waiting for a dispatcher (committed events not
-- fanned out, due deliveries, expired leases; nothing while an operator has paused dispatch), when the next retry or lease falls due, and whether
-- a drain is running or when the last one stopped. Index probes only.
create function webhooks.dispatch_due_state()
returns table (work_due boolean, next_due_at timestamptz, draining boolean, stopped_at timestamptz)
language plpgsql stable security definer
set search_path = ''
as $$
begin
  -- PL/pgSQL, not SQL: a session plans this query once and keeps the plan, where a SQL function
  -- with its own search_path is planned at every call (about 0.5 ms, at up to a thousand looks a
  -- second).
  -- min() over the partial indexes, never exists(): right after a backlog the statistics still
  -- count thousands of pending rows, and exists() would then scan the table for the first one.
  return query
  with next as (
    select (select min(d.next_attempt_at) from webhooks.deliveries d where d.status = 'pending') as pending_at,
           (select min(d.lease_expires_at) from webhooks.deliveries d where d.status = 'sending') as lease_ends_at
  )
  select not (select s.dispatch_paused from webhooks.settings s)
         and (exists (select from webhooks.outbox o
                       where o.txid >= coalesce((select h.low_txid from webhooks.fan_out_horizon h), '0'::xid8))
              or coalesce(n.pending_at <= now(), false)
              or coalesce(n.lease_ends_at <= now(), false)),
         least(n.pending_at, n.lease_ends_at),
         coalesce((select h.draining_until > clock_timestamp() from webhooks.dispatcher_heartbeat h), false),
         (select h.stopped_at from webhooks.dispatcher_heartbeat h)
    from next n;
end
$$;

-- The scheduler: wakes webhook-dispatch (pg_net) as soon as anything waits for it and no drain is
-- running, so a new event goes out milliseconds after its commit and a retry the moment it falls
-- due, although pg_cron starts jobs at most once a minute (1.4) or once a second (1.5+). pg_cron
-- starts a run (webhooks.scheduler_command()); it runs until one second into the next minute, and
-- the next run takes over (pg_cron starts a run queued while the previous one was still going as
-- soon as it ends), so one is always watching. The run is a loop of this step, committing after each (so every wake-up leaves at
-- once and no snapshot is held) and sleeping as long as the step says: until the next retry
-- falls due, but at most 1 ms while there was work in the last second, 10 ms in the next nine,
-- 100 ms until a minute has passed, 250 ms after that, and 50 ms while a drain runs (the drain
-- claims new work itself). One run watches at a time (a
-- session advisory lock); another waits for it to end. A wake-up that brought no drain within
-- 2 s is asked for again.
--
-- One look: wakes the dispatcher if work waits, no drain runs and no wake-up is on its way, and
-- says how long to sleep. p_state is what the previous look returned (null for the first):
-- {requested_at, active_at, sleep (seconds), woke}.
create function webhooks.dispatch_scheduler_look(p_state jsonb default null)
returns jsonb
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_now timestamptz := clock_timestamp();
  v_requested_at timestamptz := (p_state ->> 'requested_at')::timestamptz;
  -- A run's first look starts calm: a run starts every minute, and starting busy (every
  -- millisecond for a second, every 10 ms for nine) cost most of the idle database's CPU.
  v_active_at timestamptz := coalesce((p_state ->> 'active_at')::timestamptz, v_now - interval '1 hour');
  v_due record;
  v_woke boolean := false;
  v_sleep double precision;
begin
  select * into v_due from webhooks.dispatch_due_state();
  if v_due.work_due or v_due.draining then
    v_active_at := v_now;
  end if;
  if v_due.work_due and not v_due.draining
     and (v_requested_at is null or v_due.stopped_at > v_requested_at or v_now - v_requested_at > interval '2 seconds') then
    if webhooks.request_dispatch('scheduler') is not null then
      v_requested_at := v_now;
      v_woke := true;
    end if;
  end if;
  -- Idle, the look itself is what the database spends (about 0.3 ms with its commit and wake-up):
  -- every 10 ms that was 0.03 to 0.04 of a core for nothing, every 100 ms about 0.004 with the
  -- rest of the idle database, and every 250 ms less again (PostgreSQL's idle share in
  -- `npm run bench -- --only=idle`). The first event after a calm minute then waits up to 250 ms
  -- for its wake-up; under traffic the scheduler looks every millisecond, and a retry is looked
  -- for exactly when it falls due, whatever the interval.
  v_sleep := case
    when v_due.draining then 0.05
    when v_now - v_active_at < interval '1 second' then 0.001
    when v_now - v_active_at < interval '10 seconds' then 0.01
    when v_now - v_active_at < interval '1 minute' then 0.1
    else 0.25
  end;
  if v_due.next_due_at > v_now then
    v_sleep := least(v_sleep, extract(epoch from v_due.next_due_at)::double precision - extract(epoch from v_now));
  end if;
  return jsonb_build_object('requested_at', v_requested_at, 'active_at', v_active_at, 'sleep', v_sleep, 'woke', v_woke);
end
$$;
comment on function webhooks.dispatch_scheduler_look(jsonb) is
  'One look of the scheduler: wakes webhook-dispatch if work waits and no drain runs; says how long to sleep.';

-- A step of a run: the look, once this run holds the scheduler's lock, until the run's end
-- (p_state.until; by default one second into the next minute). Returns null when the run is over.
create function webhooks.dispatch_scheduler_step(p_state jsonb default null)
returns jsonb
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_until timestamptz := coalesce(
    (p_state ->> 'until')::timestamptz,
    date_trunc('minute', clock_timestamp()) + interval '61 seconds'
  );
  v_holds_lock boolean := coalesce((p_state ->> 'holds_lock')::boolean, false);
begin
  if clock_timestamp() >= v_until then
    if v_holds_lock then
      perform pg_advisory_unlock(hashtext('webhooks.scheduler'));
    end if;
    return null;
  end if;
  if not v_holds_lock and not pg_try_advisory_lock(hashtext('webhooks.scheduler')) then
    return jsonb_build_object('until', v_until, 'holds_lock', false, 'sleep', 0.01);
  end if;
  return webhooks.dispatch_scheduler_look(p_state)
      || jsonb_build_object('until', v_until, 'holds_lock', true);
end
$$;
comment on function webhooks.dispatch_scheduler_step(jsonb) is
  'A step of the scheduler''s run: the look, while this run holds the scheduler lock; null once the run is over.';

-- What pg_cron runs every minute: the scheduler's loop. A DO block, because committing between
-- steps needs a top-level statement (a procedure that commits can carry no search_path).
create function webhooks.scheduler_command(p_until timestamptz default null)
returns text
language sql immutable
set search_path = ''
as $body$
  select format($command$do $scheduler$
declare
  v_state jsonb := %s;
begin
  loop
    begin
      v_state := webhooks.dispatch_scheduler_step(v_state);
    exception when others then
      -- A failing look must not end the run (nothing would watch until the next minute).
      raise warning 'webhooks scheduler: %% (%%)', sqlerrm, sqlstate;
      v_state := coalesce(v_state, '{}'::jsonb) || '{"sleep": 0.1}'::jsonb;
    end;
    exit when v_state is null;
    commit;
    perform pg_catalog.pg_sleep((v_state ->> 'sleep')::double precision);
  end loop;
end
$scheduler$$command$,
    case when p_until is null then 'null' else quote_literal(jsonb_build_object('until', p_until)::text) || '::jsonb' end)
$body$;

-- =============================================================================================
-- Functions: housekeeping (pg_cron)
-- =============================================================================================

-- Every minute: give up on what can no longer be delivered, drop rotation secrets past their
-- overlap, and note how long pg_net's oldest queued request has waited. (Waking the dispatcher is
-- the scheduler's job: webhooks.dispatch_scheduler_step.) It never waits on a delivery another
-- transaction has locked: one being claimed or recorded right now is about to change anyway, and
-- two multi-row updates of the same deliveries, each locking in its own scan order, could deadlock
-- with a dispatcher recording a slow batch. It sees such a row again a minute later if it still
-- qualifies.
create function webhooks.run_every_minute()
returns void
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_settings webhooks.settings;
  v_exhausted bigint[];
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
  ),
  ended as (
    update webhooks.deliveries d
       set status = 'exhausted',
           completed_at = now(),
           lease_token = null,
           lease_expires_at = null,
           last_error = coalesce(d.last_error, 'No attempt completed within the delivery window.')
      from past_window p
     where d.id = p.id
    returning d.id
  )
  select array_agg(x.id) into v_exhausted from ended x;
  perform webhooks.finish_deliveries(v_exhausted, v_exhausted);

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

end
$$;
comment on function webhooks.run_every_minute() is
  'pg_cron, every minute: exhaustion, disabled endpoints, expired rotation secrets.';

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
  -- Subscription versions superseded by one itself older than the retention: no event still
  -- waiting to be fanned out was written before it.
  delete from webhooks.subscriptions v
   where (v.endpoint_id, v.version) in (
     select x.endpoint_id, x.version
       from webhooks.subscriptions x
      where x.created_at < now() - v_settings.retention
        and exists (select from webhooks.subscriptions n
                     where n.endpoint_id = x.endpoint_id
                       and n.version > x.version
                       and n.created_at < now() - v_settings.retention)
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
-- nothing is. Wake-ups leave the database only through pg_net, and only the scheduler asks for
-- them: without the Vault secrets none is sent; without a scheduler run none is asked for; with
-- pg_net's worker down, or a request still queued after
-- p_stalled_after, none leaves; with due deliveries older than p_undelivered_after although they
-- leave, webhook-dispatch is not taking them.
create function webhooks.wake_up_diagnosis(
  p_configured boolean,
  p_scheduler_running boolean,
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
           when not p_scheduler_running then
             'The scheduler is not running: nothing wakes webhook-dispatch, so no delivery starts.'
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
           when not p_scheduler_running then
             'Check pg_cron''s job webhooks-dispatch-scheduler: select * from cron.job_run_details where jobid = '
             || '(select jobid from cron.job where jobname = ''webhooks-dispatch-scheduler'') order by runid desc limit 5;'
           when p_worker_up is false or p_oldest_unsent_waiting >= p_stalled_after then
             'Restart pg_net''s worker: select net.worker_restart(); then check that net.http_request_queue empties.'
           when p_oldest_due_at <= now() - p_undelivered_after then
             'Look at webhook-dispatch''s logs and at its answers in net._http_response (a 401 means the '
             || 'webhook_dispatch_secret in Vault and the function disagree); deploy it if it is missing.'
         end
$$;
comment on function webhooks.wake_up_diagnosis(boolean, boolean, boolean, interval, timestamptz, interval, interval) is
  'What is wrong with the wake-up path (and the fix), from dispatch_health''s observations; nulls when nothing is.';

-- What an operator checks when nothing arrives: whether wake-ups can be sent, are asked for (the
-- scheduler) and leave the database (pg_net's worker, the age of its oldest queued request), what
-- waits (events not fanned out, due deliveries, expired leases), and what is wrong with the fix to
-- apply (webhooks.wake_up_diagnosis).
create function webhooks.dispatch_health()
returns table (
  wake_ups_configured boolean,
  scheduler_running boolean,
  pg_net_worker_up boolean,
  unsent_requests bigint,
  oldest_unsent_waiting interval,
  due_deliveries bigint,
  expired_leases bigint,
  oldest_due_at timestamptz,
  undispatched_events bigint,
  problem text,
  fix text
)
language plpgsql stable security definer
set search_path = ''
as $$
begin
  wake_ups_configured := (select count(*) = 2 from vault.secrets s where s.name in ('project_url', 'webhook_dispatch_secret'));
  -- A scheduler run holds its session advisory lock (webhooks.dispatch_scheduler_step). Between
  -- two runs (pg_cron starts the next once the previous has ended) nobody holds it for a moment,
  -- so a scheduler is only missing if nobody takes the lock within a second.
  for v_look in 1..5 loop
    scheduler_running := exists (
      select from pg_catalog.pg_locks l
       where l.locktype = 'advisory'
         and l.objid = pg_catalog.hashtext('webhooks.scheduler')::oid
         and l.objsubid = 1
         and l.granted
    );
    exit when scheduler_running or v_look = 5;
    perform pg_catalog.pg_sleep(0.25);
  end loop;
  select count(*) into undispatched_events from webhooks.outbox;
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
    from webhooks.wake_up_diagnosis(wake_ups_configured, scheduler_running, pg_net_worker_up, oldest_unsent_waiting,
                                    oldest_due_at) x;
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

-- pg_cron 1.5 and later take schedules in seconds: every second, a run queued behind the running
-- one starts the moment it ends, so after a restart a run starts within a second. pg_cron 1.4
-- starts one every minute.
select cron.schedule(
  'webhooks-dispatch-scheduler',
  case when (select (regexp_match(e.extversion, '^(\d+)\.(\d+)'))::integer[] >= array[1, 5]
               from pg_catalog.pg_extension e where e.extname = 'pg_cron')
       then '1 seconds' else '* * * * *' end,
  webhooks.scheduler_command()
);
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
revoke all on table webhooks.dispatcher_heartbeat from public, anon, authenticated, service_role;
alter table webhooks.claim_cursor enable row level security;
alter table webhooks.claim_cursor force row level security;
revoke all on table webhooks.claim_cursor from public, anon, authenticated, service_role;
alter table webhooks.fan_out_horizon enable row level security;
alter table webhooks.fan_out_horizon force row level security;
revoke all on table webhooks.fan_out_horizon from public, anon, authenticated, service_role;
alter table webhooks.pg_net_queue_watch enable row level security;
alter table webhooks.pg_net_queue_watch force row level security;
revoke all on table webhooks.pg_net_queue_watch from public, anon, authenticated, service_role;

revoke all on function
  webhooks.fan_out(integer, boolean),
  webhooks.fan_out_committed(),
  webhooks.claim_due_deliveries(integer, integer, jsonb, boolean),
  webhooks.nil_endpoint_id(),
  webhooks.due_endpoints(uuid, uuid, integer),
  webhooks.endpoint_signing_secrets(uuid[]),
  webhooks.retry_delay(integer),
  webhooks.record_attempts(jsonb),
  webhooks.stop_draining(),
  webhooks.request_dispatch(text),
  webhooks.dispatch_due_state(),
  webhooks.dispatch_scheduler_look(jsonb),
  webhooks.dispatch_scheduler_step(jsonb),
  webhooks.scheduler_command(timestamptz),
  webhooks.run_every_minute(),
  webhooks.purge_expired_chunk(integer),
  webhooks.watch_pg_net_queue(),
  webhooks.wake_up_diagnosis(boolean, boolean, boolean, interval, timestamptz, interval, interval),
  webhooks.dispatch_health(),
  webhooks.wake_up_problem()
  from public, anon, authenticated, service_role;
grant execute on function
  webhooks.claim_due_deliveries(integer, integer, jsonb, boolean),
  webhooks.endpoint_signing_secrets(uuid[]),
  webhooks.record_attempts(jsonb),
  webhooks.stop_draining(),
  webhooks.request_dispatch(text),
  webhooks.dispatch_health()
  to service_role;
grant execute on function webhooks.wake_up_problem() to authenticated, service_role;
