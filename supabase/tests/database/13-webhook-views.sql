-- What tenants see of their webhooks: owners and admins see their organization's endpoints,
-- events, deliveries and attempts (tables and the Studio views), members and other
-- organizations see none, anon cannot reach the schema. Endpoint health sums up the attempts.
-- Retention purges what is older than the configured age.
begin;
select plan(30);

\ir _helpers.psql

insert into auth.users (id, email, aud, role)
select pg_temp.id(n), n || '@test.local', 'authenticated', 'authenticated'
  from unnest(array['a_admin', 'a_member', 'b_owner']) as n;
insert into public.organizations (id, name, slug) values
  (pg_temp.id('org a'), 'Org A', 'test-org-a'),
  (pg_temp.id('org b'), 'Org B', 'test-org-b');
insert into public.organization_members (org_id, user_id, role) values
  (pg_temp.id('org a'), pg_temp.id('a_admin'), 'admin'),
  (pg_temp.id('org a'), pg_temp.id('a_member'), 'member'),
  (pg_temp.id('org b'), pg_temp.id('b_owner'), 'owner');

select endpoint_id as ep_a from webhooks.create_endpoint(pg_temp.id('org a'), 'https://hooks.example.com/a') \gset
select endpoint_id as ep_b from webhooks.create_endpoint(pg_temp.id('org b'), 'https://hooks.example.com/b') \gset
insert into public.jobs (org_id, title) values (pg_temp.id('org a'), 'A job'), (pg_temp.id('org b'), 'B job');
select pg_temp.fan_out();

-- Four attempts on A's delivery: 3 failures (100, 200, 300 ms) and a success (400 ms).
insert into webhooks.attempts (org_id, delivery_id, endpoint_id, retry_count, started_at, duration_ms, response_status, error, payload_sha256)
select d.org_id, d.id, d.endpoint_id, n - 1, now() - make_interval(mins => 10 - n), n * 100,
       case when n = 4 then 200 when n = 2 then null else 500 end,
       case when n = 2 then 'Connection refused' end, repeat('0', 64)
  from webhooks.deliveries d, generate_series(1, 4) n
 where d.endpoint_id = :'ep_a';
insert into webhooks.attempts (org_id, delivery_id, endpoint_id, retry_count, started_at, duration_ms, response_status, payload_sha256)
select d.org_id, d.id, d.endpoint_id, 0, now(), 50, 200, repeat('0', 64) from webhooks.deliveries d where d.endpoint_id = :'ep_b';

create function pg_temp.visible(p_relation text) returns bigint language plpgsql as $$
begin
  return pg_temp.scalar(format('select count(*) from %s', p_relation));
end
$$;

-- An admin of A ------------------------------------------------------------------------------------
select pg_temp.act_as('a_admin');
select is(pg_temp.visible('webhooks.endpoints'), 1::bigint, 'an admin sees their organization''s endpoint');
select is(pg_temp.visible('webhooks.events'), 1::bigint, 'its events');
select is(pg_temp.visible('webhooks.deliveries'), 1::bigint, 'its deliveries');
select is(pg_temp.visible('webhooks.attempts'), 4::bigint, 'its attempts');
select is(pg_temp.visible('public.webhook_delivery_log'), 1::bigint, 'and its delivery log');
select is((select endpoint_url from public.webhook_delivery_log), 'https://hooks.example.com/a', 'naming the endpoint');
select is((select event_type from public.webhook_delivery_log), 'job.created', 'and the event type');
select is(pg_temp.visible('public.webhook_endpoint_health'), 1::bigint, 'and one endpoint''s health');
select is((select attempts_24h from public.webhook_endpoint_health), 4::bigint, 'counting its attempts of the last 24 h');
select is((select success_rate_24h from public.webhook_endpoint_health), 0.25::numeric, 'its success rate');
select is((select latency_p50_ms_24h from public.webhook_endpoint_health), 250::float8, 'the median latency');
select is((select latency_p95_ms_24h from public.webhook_endpoint_health), 385::float8, 'the 95th percentile');
select is((select backlog from public.webhook_endpoint_health), 1::bigint, 'the backlog');
select is((select last_error from public.webhook_endpoint_health), 'HTTP 500', 'and the last failure');
select is(pg_temp.affected($$update webhooks.deliveries set status = 'succeeded'$$), null, 'tenants cannot change deliveries')
  from (select 1) x where false;
select throws_ok($$update webhooks.deliveries set status = 'succeeded'$$, '42501', null, 'tenants cannot change deliveries');

-- A member of A, the owner of B, anon -------------------------------------------------------------
select pg_temp.act_as('a_member');
select is(pg_temp.visible('public.webhook_delivery_log') + pg_temp.visible('webhooks.attempts') + pg_temp.visible('webhooks.endpoints'),
          0::bigint, 'a member sees no webhook data');
select pg_temp.act_as('b_owner');
select is(pg_temp.visible('public.webhook_delivery_log'), 1::bigint, 'another organization''s owner sees only their own delivery');
select is((select endpoint_url from public.webhook_delivery_log), 'https://hooks.example.com/b', 'which is theirs');
select is(pg_temp.visible('webhooks.attempts'), 1::bigint, 'and only their own attempts');
select pg_temp.act_as_anon();
select throws_ok($$select * from public.webhook_delivery_log$$, '42501', null, 'anon cannot read the delivery log');
select throws_ok($$select * from webhooks.events$$, '42501', null, 'nor the webhooks schema');

-- Retention ------------------------------------------------------------------------------------------
select pg_temp.act_as_postgres();
update webhooks.events set created_at = now() - interval '31 days' where org_id = pg_temp.id('org a');
update webhooks.deliveries set status = 'succeeded', completed_at = now() where org_id = pg_temp.id('org a');
update webhooks.attempts set started_at = now() - interval '31 days' where org_id = pg_temp.id('org a') and retry_count < 2;
-- (The daily job commits after every chunk, so it cannot run inside this test's transaction;
-- tests/serial/purge_short_transactions_test.ts runs it. These are its chunks.)
insert into cron.job_run_details (jobid, runid, job_pid, database, username, command, status, return_message,
                                  start_time, end_time)
select 1, -g, 0, 'postgres', 'postgres', 'select 1', 'succeeded', 'SELECT 1',
       now() - make_interval(days => g), now() - make_interval(days => g)
  from generate_series(1, 10) as g;
delete from cron.job_run_details where runid >= 0 and end_time < now() - interval '7 days';
select is(webhooks.purge_expired_chunk(1), 1, 'a chunk deletes at most its limit: first the attempts older than 30 days');
select is(webhooks.purge_expired_chunk(1000), 1, 'the next chunk the rest of them');
select cmp_ok(webhooks.purge_expired_chunk(1000), '>', 0, 'then the old events');
select is((select count(*) from webhooks.events where org_id = pg_temp.id('org a')), 0::bigint, 'with their deliveries');
select is(webhooks.purge_expired_chunk(1000), 3,
          'then pg_cron''s run history older than 7 days (cron_history_retention), of every job');
select is((select count(*) from cron.job_run_details where runid < 0), 7::bigint, 'the last 7 days'' stays');
select is(webhooks.purge_expired_chunk(1000), 0, 'and then nothing is left to purge');
update webhooks.events set created_at = now() - interval '31 days' where org_id = pg_temp.id('org b');
update webhooks.settings set cron_history_retention = interval '2 days';
select is(webhooks.purge_expired_chunk(1000), 5, 'an old event whose delivery is still pending stays; the retention is a setting');
select is((select count(*) from webhooks.events where org_id = pg_temp.id('org b')), 1::bigint,
          'the pending one is still there');

select * from finish();
rollback;
