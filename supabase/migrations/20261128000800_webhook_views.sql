-- =============================================================================================
-- Views for tenant admins (Supabase Studio, and the React client through PostgREST): the delivery
-- log and endpoint health (with the wake-up path's problem, if any); and for integrations, the
-- event feed (docs/sync.md): the events a caller may read, after a position, for as long as events
-- are retained. All are security_invoker, so the row-level security of the webhooks tables decides
-- what a caller sees: an organization's owners and admins see its rows; in the feed, members and
-- integrations also see the events about resources they may read (a jobs:read integration job
-- events only); nobody sees another organization's. Studio's own role (postgres) sees every
-- organization.
-- =============================================================================================

-- =============================================================================================
-- Views
-- =============================================================================================

create view public.webhook_delivery_log
with (security_invoker = true)
as
select d.id as delivery_id,
       d.org_id,
       d.event_id,
       ev.event_type,
       d.endpoint_id,
       e.url as endpoint_url,
       d.status,
       d.attempt_count,
       case when d.status = 'pending' then d.next_attempt_at end as next_attempt_at,
       d.first_attempt_at,
       d.last_attempt_at,
       d.last_response_status,
       d.last_error,
       d.created_at,
       d.completed_at
  from webhooks.deliveries d
  join webhooks.events ev on ev.id = d.event_id
  join webhooks.endpoints e on e.id = d.endpoint_id;
comment on view public.webhook_delivery_log is
  'Every webhook delivery of the caller''s organizations (owners and admins): status, attempts, last outcome.';

create view public.webhook_endpoint_health
with (security_invoker = true)
as
select e.id as endpoint_id,
       e.org_id,
       e.url,
       e.enabled,
       e.disabled_reason,
       e.failing_since,
       recent.attempts as attempts_24h,
       round(recent.succeeded::numeric / nullif(recent.attempts, 0), 4) as success_rate_24h,
       recent.p50_ms as latency_p50_ms_24h,
       recent.p95_ms as latency_p95_ms_24h,
       backlog.deliveries as backlog,
       backlog.oldest_created_at as backlog_oldest_at,
       last_failure.started_at as last_failure_at,
       last_failure.error as last_error,
       recent.last_attempt_at,
       wake_up.problem as wake_up_problem,
       wake_up.fix as wake_up_fix
  from webhooks.endpoints e
  -- The same for every row: whether deliveries are being started at all (webhooks.dispatch_health).
  cross join webhooks.wake_up_problem() wake_up
  cross join lateral (
    select count(*) as attempts,
           count(*) filter (where a.succeeded) as succeeded,
           percentile_cont(0.5) within group (order by a.duration_ms) as p50_ms,
           percentile_cont(0.95) within group (order by a.duration_ms) as p95_ms,
           max(a.started_at) as last_attempt_at
      from webhooks.attempts a
     where a.endpoint_id = e.id
       and a.started_at > now() - interval '24 hours'
  ) recent
  cross join lateral (
    select count(*) as deliveries, min(d.created_at) as oldest_created_at
      from webhooks.deliveries d
     where d.endpoint_id = e.id
       and d.status in ('pending', 'sending')
  ) backlog
  left join lateral (
    select a.started_at, coalesce(a.error, 'HTTP ' || a.response_status) as error
      from webhooks.attempts a
     where a.endpoint_id = e.id
       and not a.succeeded
     order by a.started_at desc
     limit 1
  ) last_failure on true;
comment on view public.webhook_endpoint_health is
  'Per endpoint of the caller''s organizations: 24 h success rate and latency percentiles, backlog, last failure, '
  'and why deliveries are not being started when they are not (wake_up_problem, with the operator''s wake_up_fix).';

-- The catch-up feed: GET /rest/v1/webhook_events?feed_position=gt.<last seen>&order=feed_position&limit=100.
-- feed_position increases in the order events become visible (webhooks.events_feed_position_seq),
-- so paging by it never skips an event that commits later; `sequence` tells a receiver where each
-- resource event stands. Test events (sent to one endpoint by an admin) are not in it.
create view public.webhook_events
with (security_invoker = true)
as
select e.feed_position,
       e.id,
       e.event_type,
       e.org_id,
       e.resource_type,
       e.resource_id,
       e.sequence,
       e.created_at,
       e.payload
  from webhooks.events e
 where e.feed_position is not null;
comment on view public.webhook_events is
  'The events the caller may read (owners/admins: all of their organization''s; others: those about resources their '
  'scopes let them read), by feed_position: page with feed_position=gt.<last seen>, detect gaps with sequence.';

-- =============================================================================================
-- Grants
-- =============================================================================================

revoke all on table public.webhook_delivery_log, public.webhook_endpoint_health, public.webhook_events
  from public, anon, authenticated, service_role;
grant select on table public.webhook_delivery_log, public.webhook_endpoint_health, public.webhook_events
  to authenticated, service_role;
