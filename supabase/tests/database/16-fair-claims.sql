-- Claims are fair across endpoints: each endpoint with due work gets its turn (every endpoint's
-- oldest, then every endpoint's second, …), no endpoint has more than settings.endpoint_concurrency
-- deliveries in flight whatever the backlog, a claim carrying the caller's outcomes records them
-- first, expired leases come back first, and what is not due, or belongs to a disabled endpoint,
-- is never claimed.
begin;
select plan(17);

\ir _helpers.psql

insert into public.organizations (id, name, slug) values
  (pg_temp.id('org a'), 'Org A', 'test-org-a'),
  (pg_temp.id('org b'), 'Org B', 'test-org-b');

-- Other sessions' work must not be claimed here: park it for the length of this transaction.
create temporary table parked on commit drop as
  select id from webhooks.deliveries where status in ('pending', 'sending');
update webhooks.deliveries set status = 'pending', lease_token = null, lease_expires_at = null,
       next_attempt_at = 'infinity' where id in (select id from parked);

select endpoint_id as slow from webhooks.create_endpoint(pg_temp.id('org a'), 'https://hooks.example.com/slow') \gset
select endpoint_id as quick from webhooks.create_endpoint(pg_temp.id('org b'), 'https://hooks.example.com/quick') \gset
update webhooks.settings set endpoint_concurrency = 3;

-- A's endpoint has a backlog of 20, older than B's 2 deliveries.
insert into public.jobs (org_id, title) select pg_temp.id('org a'), 'A ' || n from generate_series(1, 20) n;
select pg_temp.fan_out();
update webhooks.deliveries set next_attempt_at = now() - interval '1 minute' where endpoint_id = :'slow';
insert into public.jobs (org_id, title) select pg_temp.id('org b'), 'B ' || n from generate_series(1, 2) n;
select pg_temp.fan_out();

create function pg_temp.claimed(p_claim text, p_endpoint uuid) returns bigint language plpgsql as $$
begin
  return pg_temp.scalar(format('select count(*) from %I where endpoint_id = %L', p_claim, p_endpoint));
end
$$;

create temporary table first_claim on commit drop as select * from webhooks.claim_due_deliveries(4, 60);
select is(pg_temp.claimed('first_claim', :'slow'), 2::bigint, 'a claim of 4 takes only 2 of the older backlog');
select is(pg_temp.claimed('first_claim', :'quick'), 2::bigint, 'and 2 of the other endpoint''s newer deliveries');
select is((select array_agg(endpoint_id order by ordinality) from (select endpoint_id, row_number() over () as ordinality from first_claim) c),
          array[:'slow', :'quick', :'slow', :'quick']::uuid[], 'in turns, each endpoint''s oldest first');

create temporary table second_claim on commit drop as select * from webhooks.claim_due_deliveries(100, 60);
select is(pg_temp.claimed('second_claim', :'slow'), 1::bigint,
          'however large the claim, an endpoint gets only what brings it to its concurrency limit (3)');
select is(pg_temp.claimed('second_claim', :'quick'), 0::bigint, 'the other endpoint had nothing more due');
select is((select count(*) from webhooks.claim_due_deliveries(100, 60)), 0::bigint,
          'an endpoint at its limit gets nothing more, though 17 of its deliveries are due');

-- Finishing a request makes room for exactly one more.
select webhooks.record_attempts(jsonb_build_array(jsonb_build_object(
  'delivery_id', delivery_id, 'lease_token', lease_token, 'sent', true, 'retry_count', 0, 'started_at', now(),
  'duration_ms', 14000, 'response_status', 200, 'payload_sha256', repeat('0', 64))))
  from (select * from first_claim where endpoint_id = :'slow' limit 1) c;
select is((select count(*) from webhooks.claim_due_deliveries(100, 60) where endpoint_id = :'slow'), 1::bigint,
          'a finished request makes room for one more');

-- A claim may carry the caller's outcomes: recorded first, they make room in the same call.
create temporary table acknowledged on commit drop as
  select * from first_claim where endpoint_id = :'slow' offset 1 limit 1;
create temporary table acked_claim on commit drop as
  select * from webhooks.claim_due_deliveries(100, 60, (
    select jsonb_agg(jsonb_build_object(
             'delivery_id', delivery_id, 'lease_token', lease_token, 'sent', true, 'retry_count', 0,
             'started_at', now(), 'duration_ms', 3, 'response_status', 204, 'payload_sha256', repeat('0', 64)))
      from acknowledged));
select is((select status::text from webhooks.deliveries where id = (select delivery_id from acknowledged)), 'succeeded',
          'the outcomes a claim carries are recorded');
select is((select count(*) from acked_claim where endpoint_id = :'slow'), 1::bigint,
          'before it claims, so the finished request''s slot is claimed again at once');

-- Expired leases count as free and come back first.
update webhooks.deliveries set lease_expires_at = now() - interval '1 second'
 where id = (select delivery_id from second_claim where endpoint_id = :'slow');
create temporary table third_claim on commit drop as select * from webhooks.claim_due_deliveries(100, 60);
select is((select count(*) from third_claim), 1::bigint, 'an expired lease frees its slot');
select is((select delivery_id from third_claim), (select delivery_id from second_claim where endpoint_id = :'slow'),
          'and its delivery is claimed again before any new one');

-- What is not due, and a disabled endpoint's work, stay put.
update webhooks.settings set endpoint_concurrency = 100;
update webhooks.deliveries set next_attempt_at = now() + interval '1 hour'
 where endpoint_id = :'slow' and status = 'pending';
select is((select count(*) from webhooks.claim_due_deliveries(100, 60)), 0::bigint, 'retries that are not due are not claimed');
update webhooks.deliveries set next_attempt_at = now() where endpoint_id = :'slow' and status = 'pending';
update webhooks.endpoints set enabled = false where id = :'slow';
select is((select count(*) from webhooks.deliveries where endpoint_id = :'slow' and status = 'pending'), 0::bigint,
          'disabling an endpoint fails its queue');
update webhooks.deliveries set status = 'pending', completed_at = null where endpoint_id = :'slow' and status = 'failed';
select is((select count(*) from webhooks.claim_due_deliveries(100, 60)), 0::bigint,
          'and whatever of it is pending again is not claimed while it is disabled');

-- Round robin across claims: each claim's walk starts after the endpoint the previous one took
-- last, so claims of one delivery go to each endpoint with due work in turn, however much older
-- one endpoint's backlog is.
update webhooks.deliveries set next_attempt_at = 'infinity' where status = 'pending';
insert into public.organizations (id, name, slug) values (pg_temp.id('org c'), 'Org C', 'test-org-c');
select endpoint_id as rr1 from webhooks.create_endpoint(pg_temp.id('org c'), 'https://hooks.example.com/rr1') \gset
select endpoint_id as rr2 from webhooks.create_endpoint(pg_temp.id('org c'), 'https://hooks.example.com/rr2') \gset
select endpoint_id as rr3 from webhooks.create_endpoint(pg_temp.id('org c'), 'https://hooks.example.com/rr3') \gset
insert into public.jobs (org_id, title) select pg_temp.id('org c'), 'RR ' || n from generate_series(1, 2) n;
select pg_temp.fan_out();
-- The first endpoint in id order has the oldest backlog by far.
update webhooks.deliveries d set next_attempt_at = now() - case when d.endpoint_id = least(:'rr1'::uuid, :'rr2', :'rr3')
                                                                then interval '1 hour' else interval '1 second' end
 where d.endpoint_id in (:'rr1', :'rr2', :'rr3');
create temporary table round_robin (n integer, endpoint_id uuid) on commit drop;
insert into round_robin select 1, endpoint_id from webhooks.claim_due_deliveries(1, 60);
insert into round_robin select 2, endpoint_id from webhooks.claim_due_deliveries(1, 60);
insert into round_robin select 3, endpoint_id from webhooks.claim_due_deliveries(1, 60);
select is((select count(distinct endpoint_id) from round_robin where endpoint_id in (:'rr1', :'rr2', :'rr3')), 3::bigint,
          'three claims of one delivery go to three endpoints in turn, not three times to the oldest backlog');

-- The setting is bounded.
select throws_ok($$update webhooks.settings set endpoint_concurrency = 0$$, '23514', null,
                 'an endpoint''s concurrency is at least 1');
select is((select endpoint_concurrency from webhooks.settings), 100, 'and otherwise an operator''s choice');

select * from finish();
rollback;
