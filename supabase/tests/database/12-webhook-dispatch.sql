-- Dispatch on the database side: claims lease due deliveries exactly once, outcomes are recorded
-- by the lease holder only, failures back off exponentially (Retry-After honoured within its cap),
-- 410 and sustained failure disable an endpoint, nothing is retried past 24 h, writers queue no
-- wake-up of their own (the scheduler sees their events), and the cron jobs that keep it all
-- moving are scheduled.
begin;
select plan(76);

\ir _helpers.psql

insert into auth.users (id, email, aud, role)
select pg_temp.id(n), n || '@test.local', 'authenticated', 'authenticated'
  from unnest(array['a_member']) as n;
insert into public.organizations (id, name, slug) values (pg_temp.id('org a'), 'Org A', 'test-org-a');
insert into public.organization_members (org_id, user_id, role) values (pg_temp.id('org a'), pg_temp.id('a_member'), 'member');

-- Other sessions' work must not be claimed here: park it for the length of this transaction.
create temporary table parked on commit drop as
  select id, status, next_attempt_at from webhooks.deliveries where status in ('pending', 'sending');
update webhooks.deliveries set status = 'pending', lease_token = null, lease_expires_at = null,
       next_attempt_at = 'infinity' where id in (select id from parked);
delete from webhooks.dispatcher_heartbeat; -- and no running drain of theirs

select endpoint_id as ep from webhooks.create_endpoint(pg_temp.id('org a'), 'https://hooks.example.com/a') \gset
select endpoint_id as ep2 from webhooks.create_endpoint(pg_temp.id('org a'), 'https://hooks.example.com/b', '', '{job.updated}') \gset

select isnt((select work_due from webhooks.dispatch_due_state()), null,
            'whether work waits is true or false, never null (nothing is leased here)');

-- Writers pay for their outbox rows only --------------------------------------------------------
select coalesce(max(id), 0) as queue_before from net.http_request_queue \gset
select pg_temp.act_as('a_member');
insert into public.jobs (org_id, title) values (pg_temp.id('org a'), 'One');
insert into public.jobs (org_id, title) values (pg_temp.id('org a'), 'Two');
insert into public.jobs (org_id, title) select pg_temp.id('org a'), 'Bulk ' || n from generate_series(1, 10) n;
select pg_temp.act_as_postgres();
select is((select count(*) from net.http_request_queue where id > :queue_before), 0::bigint,
          'three statements writing events queue no request: the scheduler wakes the dispatcher after commit');
select is((select count(*) from webhooks.outbox where org_id = pg_temp.id('org a')), 12::bigint,
          'they wrote one outbox row per event');
select is((select work_due from webhooks.dispatch_due_state()), true, 'which the scheduler sees as work waiting');
update webhooks.settings set dispatch_paused = true;
select is((select work_due from webhooks.dispatch_due_state()), false, 'unless an operator paused dispatch');
select is((select count(*) from webhooks.claim_due_deliveries(100, 60, null, true)), 0::bigint,
          'then a drain woken before the pause, or handed over to, claims nothing');
select is((select count(*) from webhooks.outbox where org_id = pg_temp.id('org a')), 12::bigint,
          'and fans nothing out');
update webhooks.settings set dispatch_paused = false;
select webhooks.dispatch_scheduler_look(null) as look \gset
select is((:'look'::jsonb ->> 'woke')::boolean, true, 'the scheduler wakes the dispatcher when work waits and no drain runs');
select is((:'look'::jsonb ->> 'sleep')::float8, 0.001::float8, 'and looks again a millisecond later');
select webhooks.dispatch_scheduler_look(:'look'::jsonb) as look \gset
select is((:'look'::jsonb ->> 'woke')::boolean, false, 'but does not ask again while its wake-up is on its way');
select is((select count(*) from net.http_request_queue where id > :queue_before), 1::bigint, 'one wake-up, through pg_net');
select is((select headers ->> 'Authorization' from net.http_request_queue where id > :queue_before),
          'Bearer ' || (select decrypted_secret from vault.decrypted_secrets where name = 'webhook_dispatch_secret'),
          'authorized with the dispatch secret from Vault');
select is((select url from net.http_request_queue where id > :queue_before),
          (select decrypted_secret from vault.decrypted_secrets where name = 'project_url') || '/functions/v1/webhook-dispatch',
          'at the project URL from Vault');
select is((select convert_from(body, 'utf8')::jsonb from net.http_request_queue where id > :queue_before),
          '{"reason": "scheduler", "wait": false}'::jsonb, 'asking for a background drain');
select pg_temp.fan_out();
select is((select count(*) from webhooks.deliveries where endpoint_id = :'ep' and status = 'pending'), 12::bigint,
          'fanned out, 12 deliveries are pending');
select is((select count(*) from webhooks.outbox where org_id = pg_temp.id('org a')), 0::bigint, 'and the outbox is empty');

-- Claims ------------------------------------------------------------------------------------------
create temporary table claim1 on commit drop as select * from webhooks.claim_due_deliveries(5, 60);
select is((select count(*) from claim1), 5::bigint, 'a claim takes up to its limit');
select is((select count(distinct lease_token) from claim1), 1::bigint, 'under one lease token');
select is((select distinct lease_seconds from claim1), 60, 'saying how long the lease lasts');
select ok((select bool_and(claimed_at between now() and clock_timestamp()) from claim1),
          'and the database''s time, so the dispatcher never compares its own clock with the lease');
select is((select bool_and(lease_expires_at = now() + interval '60 seconds') from webhooks.deliveries
            where id in (select delivery_id from claim1)), true, 'the lease runs from the claim, by the database''s clock');
select is((select count(*) from webhooks.deliveries where id in (select delivery_id from claim1) and status = 'sending'), 5::bigint,
          'and marks them sending');
select is((select payload::jsonb ->> 'event' from claim1 limit 1), 'job.created', 'returning the exact payload to send');
select is((select min(retry_count) from claim1), 0, 'and the retry count 0 for first attempts');
create temporary table claim2 on commit drop as select * from webhooks.claim_due_deliveries(100, 60);
select is((select count(*) from claim2), 7::bigint, 'a second claim gets only the rest');
select is((select count(*) from claim1 join claim2 using (delivery_id)), 0::bigint, 'never a delivery already leased');
select is((select count(*) from webhooks.claim_due_deliveries(100, 60)), 0::bigint, 'then nothing is due');
select throws_ok($$select webhooks.claim_due_deliveries(0, 60)$$, '22023', null, 'a claim of nothing is refused');
select cmp_ok((select draining_until from webhooks.dispatcher_heartbeat), '>', clock_timestamp(),
              'a claim announces a running drain, even one that found nothing');
-- A lingering drain claims every few milliseconds: one that finds nothing must not rewrite the
-- announcement (tests/fan_out_horizon_test.ts: nor the fan-out's horizon).
select ctid as heartbeat_ctid from webhooks.dispatcher_heartbeat \gset
select is((select count(*) from webhooks.claim_due_deliveries(100, 60)), 0::bigint, 'another claim finds nothing');
select is((select ctid from webhooks.dispatcher_heartbeat), :'heartbeat_ctid'::tid,
          'and leaves an announcement with more than 1.5 s to run as it is');
update webhooks.dispatcher_heartbeat set draining_until = clock_timestamp() + interval '1 second';
select is((select count(*) from webhooks.claim_due_deliveries(100, 60)), 0::bigint, 'a claim when it has less');
select cmp_ok((select draining_until from webhooks.dispatcher_heartbeat), '>', clock_timestamp() + interval '1.5 seconds',
              'renews the announcement');
select is((select draining from webhooks.dispatch_due_state()), true, 'which the scheduler sees');
select webhooks.dispatch_scheduler_look(:'look'::jsonb) as look \gset
select is((:'look'::jsonb ->> 'sleep')::float8, 0.05::float8, 'and lets it work, looking only every 50 ms');
select webhooks.stop_draining();
select is((select draining from webhooks.dispatch_due_state()), false, 'a drain that stops says so');
select cmp_ok((select stopped_at from webhooks.dispatch_due_state()), '<=', clock_timestamp(), 'and when');

-- Recording outcomes ----------------------------------------------------------------------------
create function pg_temp.result(p_claim text, p_n integer, p_status integer, p_error text default null,
                               p_retry_after integer default null, p_token uuid default null)
returns jsonb language plpgsql as $$
declare
  v_row record;
begin
  execute format('select * from %I order by delivery_id offset %s limit 1', p_claim, p_n - 1) into v_row;
  return jsonb_build_object('delivery_id', v_row.delivery_id, 'lease_token', coalesce(p_token, v_row.lease_token),
    'sent', true, 'retry_count', v_row.retry_count, 'started_at', now(), 'duration_ms', 42,
    'response_status', p_status, 'response_excerpt', case when p_status is not null then 'body' end,
    'error', p_error, 'payload_sha256', repeat('ab', 32), 'retry_after_seconds', p_retry_after);
end
$$;
create function pg_temp.delivery(p_claim text, p_n integer) returns webhooks.deliveries language plpgsql as $$
declare
  v_row webhooks.deliveries;
begin
  execute format('select d.* from webhooks.deliveries d where d.id = (select delivery_id from %I order by delivery_id offset %s limit 1)',
                 p_claim, p_n - 1) into v_row;
  return v_row;
end
$$;

select webhooks.record_attempts(jsonb_build_array(
  pg_temp.result('claim1', 1, 204),
  pg_temp.result('claim1', 2, 500),
  pg_temp.result('claim1', 3, null, 'Connection refused'),
  pg_temp.result('claim1', 4, 429, null, 120),
  pg_temp.result('claim1', 5, 503, null, 999999)
));
select is((pg_temp.delivery('claim1', 1)).status, 'succeeded'::webhooks.delivery_status, 'a 2xx succeeds the delivery');
select isnt((pg_temp.delivery('claim1', 1)).completed_at, null, 'and completes it');
select is((pg_temp.delivery('claim1', 2)).status, 'pending'::webhooks.delivery_status, 'a 500 schedules a retry');
select is((pg_temp.delivery('claim1', 2)).attempt_count, 1, 'counting the attempt');
select ok((pg_temp.delivery('claim1', 2)).next_attempt_at between now() + interval '4 seconds' and now() + interval '6 seconds',
          'the first retry comes after about 5 s (±20 %)');
select is((pg_temp.delivery('claim1', 2)).last_error, 'HTTP 500', 'the last error names the status');
select is((pg_temp.delivery('claim1', 3)).last_error, 'Connection refused', 'a transport error is kept');
select ok((pg_temp.delivery('claim1', 4)).next_attempt_at between now() + interval '119 seconds' and now() + interval '121 seconds',
          'a 429 with Retry-After: 120 is retried after 120 s');
select ok((pg_temp.delivery('claim1', 5)).next_attempt_at between now() + interval '59 minutes' and now() + interval '61 minutes',
          'a Retry-After beyond the cap is held to 1 h');
select is((select count(*) from webhooks.attempts where delivery_id in (select delivery_id from claim1)), 5::bigint,
          'every attempt is recorded');
select is((select response_excerpt from webhooks.attempts where delivery_id = (pg_temp.delivery('claim1', 2)).id), 'body',
          'with its response excerpt');
select is((select failing_since from webhooks.endpoints where id = :'ep'), null,
          'failures alongside a success in one batch do not start a failure streak');

-- The retry is claimed with the next X-Retry-Count, and a success ends the streak ---------------
select is((select next_due_at from webhooks.dispatch_due_state()),
          least((pg_temp.delivery('claim1', 2)).next_attempt_at, (pg_temp.delivery('claim1', 3)).next_attempt_at),
          'the scheduler knows when the next retry falls due');
update webhooks.deliveries set next_attempt_at = clock_timestamp() + interval '0.4 seconds'
 where id = (pg_temp.delivery('claim1', 2)).id;
update webhooks.deliveries set status = 'succeeded', completed_at = now(), lease_token = null, lease_expires_at = null
 where status = 'sending' and id in (select delivery_id from claim2);
select webhooks.dispatch_scheduler_look(jsonb_build_object('active_at', clock_timestamp() - interval '5 seconds')) as look \gset
select is((:'look'::jsonb ->> 'sleep')::float8, 0.01::float8, 'a scheduler idle for a few seconds looks every 10 ms');
select webhooks.dispatch_scheduler_look(jsonb_build_object('active_at', clock_timestamp() - interval '30 seconds')) as look \gset
select is((:'look'::jsonb ->> 'sleep')::float8, 0.1::float8, 'one idle for longer looks every 100 ms');
select webhooks.dispatch_scheduler_look(jsonb_build_object('active_at', now() - interval '1 minute')) as look \gset
select is((:'look'::jsonb ->> 'sleep')::float8, 0.25::float8, 'and one idle for a minute every 250 ms');
update webhooks.deliveries set next_attempt_at = clock_timestamp() + interval '5 milliseconds'
 where id = (pg_temp.delivery('claim1', 2)).id;
select webhooks.dispatch_scheduler_look(jsonb_build_object('active_at', now() - interval '1 minute')) as look \gset
select ok((:'look'::jsonb ->> 'sleep')::float8 <= 0.005, 'and wakes up when the next retry falls due, if that is sooner');
update webhooks.deliveries set status = 'sending', completed_at = null, lease_token = gen_random_uuid(),
       lease_expires_at = now() + interval '60 seconds'
 where id in (select delivery_id from claim2);
update webhooks.deliveries set next_attempt_at = now() where id = (pg_temp.delivery('claim1', 2)).id;
create temporary table claim3 on commit drop as select * from webhooks.claim_due_deliveries(100, 60);
select is((select retry_count from claim3), 1, 'the retry carries retry count 1');
select webhooks.record_attempts(jsonb_build_array(pg_temp.result('claim3', 1, 200)));
select is((pg_temp.delivery('claim3', 1)).status, 'succeeded'::webhooks.delivery_status, 'success after a failure stops retrying');
select is((pg_temp.delivery('claim3', 1)).attempt_count, 2, 'after two attempts');
select is((select failing_since from webhooks.endpoints where id = :'ep'), null, 'and ends the failure streak');

-- Only the lease holder records the outcome -----------------------------------------------------
select webhooks.record_attempts(jsonb_build_array(pg_temp.result('claim2', 1, 200, null, null, gen_random_uuid())));
select is((pg_temp.delivery('claim2', 1)).status, 'sending'::webhooks.delivery_status, 'an outcome under a lost lease changes nothing');
select is((select count(*) from webhooks.attempts where delivery_id = (pg_temp.delivery('claim2', 1)).id), 1::bigint,
          'though the attempt that happened is recorded');

-- Expired leases are claimed again ----------------------------------------------------------------
update webhooks.deliveries set lease_expires_at = now() - interval '1 second' where id in (select delivery_id from claim2);
create temporary table claim4 on commit drop as select * from webhooks.claim_due_deliveries(100, 60);
select is((select count(*) from claim4), 7::bigint, 'a crashed dispatcher''s deliveries are claimed again after the lease');
select is((select count(*) from claim4 c join claim2 p using (delivery_id) where c.lease_token <> p.lease_token), 7::bigint,
          'under a new lease');

-- Handing back, exhaustion, 410 -------------------------------------------------------------------
select webhooks.record_attempts(jsonb_build_array(pg_temp.result('claim4', 1, null) || '{"sent": false, "error": null}'));
select is((pg_temp.delivery('claim4', 1)).status, 'pending'::webhooks.delivery_status, 'a delivery handed back unsent is pending again');
select is((pg_temp.delivery('claim4', 1)).attempt_count, 0, 'without counting an attempt');
update webhooks.deliveries set first_attempt_at = now() - interval '23 hours 59 minutes 58 seconds' where id = (pg_temp.delivery('claim4', 2)).id;
select webhooks.record_attempts(jsonb_build_array(pg_temp.result('claim4', 2, 502)));
select is((pg_temp.delivery('claim4', 2)).status, 'exhausted'::webhooks.delivery_status,
          'a failure whose retry would fall 24 h after the first attempt exhausts the delivery');
select isnt((select failing_since from webhooks.endpoints where id = :'ep'), null, 'a batch of only failures starts the streak');
select webhooks.record_attempts(jsonb_build_array(pg_temp.result('claim4', 3, 410)));
select is((pg_temp.delivery('claim4', 3)).status, 'failed'::webhooks.delivery_status, '410 Gone fails the delivery');
select is((select enabled from webhooks.endpoints where id = :'ep'), false, 'and disables the endpoint');
select ok((select disabled_reason from webhooks.endpoints where id = :'ep') like 'The endpoint answered 410 Gone at %', 'with a reason');
select is((select count(*) from webhooks.deliveries where endpoint_id = :'ep' and status = 'pending'), 0::bigint,
          'its queued deliveries fail with it');

-- Automatic disabling after sustained failure -----------------------------------------------------
select pg_temp.act_as('a_member');
update public.jobs set status = 'scheduled' where title = 'One';
select pg_temp.act_as_postgres();
update webhooks.endpoints set failing_since = now() - interval '72 hours 1 minute' where id = :'ep2';
create temporary table claim5 on commit drop as select * from webhooks.claim_due_deliveries(100, 60);
select webhooks.record_attempts(jsonb_build_array(pg_temp.result('claim5', 1, 500)));
select is((select enabled from webhooks.endpoints where id = :'ep2'), false,
          'an endpoint failing for longer than the configured period is disabled');
select ok((select disabled_reason from webhooks.endpoints where id = :'ep2') like 'Every delivery attempt has failed since %',
          'saying since when');

-- Schedules -----------------------------------------------------------------------------------------
select is((select command from cron.job where jobname = 'webhooks-dispatch-scheduler'), webhooks.scheduler_command(),
          'the scheduler is started by pg_cron');
select is((select schedule from cron.job where jobname = 'webhooks-dispatch-scheduler'),
          case when (select (regexp_match(extversion, '^(\d+)\.(\d+)'))::integer[] >= array[1, 5] from pg_extension where extname = 'pg_cron')
               then '1 seconds' else '* * * * *' end,
          'every second where pg_cron takes seconds (1.5+), else every minute');
select is((select schedule from cron.job where jobname = 'webhooks-every-minute'), '* * * * *', 'the housekeeping runs every minute');
select is((select schedule from cron.job where jobname = 'webhooks-purge-expired'), '17 3 * * *', 'the purge runs daily');

select * from finish();
rollback;
