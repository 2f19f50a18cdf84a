-- Per resource and endpoint, deliveries go out in sequence order: a claim does not take a delivery
-- while the same endpoint has an unfinished delivery of the same resource with a lower sequence; it
-- parks it (next_attempt_at moved to when the predecessor could have finished) and takes everything
-- else. The predecessor's end, recorded by record_attempts or by the minute job's exhaustion, makes
-- the parked delivery due at once. Another endpoint, and another resource, never wait for it.
begin;
select plan(30);

\ir _helpers.psql

insert into public.organizations (id, name, slug) values (pg_temp.id('org a'), 'Org A', 'test-org-a');

-- Other sessions' work must not be claimed here: park it for the length of this transaction.
create temporary table parked on commit drop as
  select id from webhooks.deliveries where status in ('pending', 'sending');
update webhooks.deliveries set status = 'pending', lease_token = null, lease_expires_at = null,
       next_attempt_at = 'infinity' where id in (select id from parked);

select endpoint_id as ep from webhooks.create_endpoint(pg_temp.id('org a'), 'https://hooks.example.com/all') \gset
select endpoint_id as updates from webhooks.create_endpoint(pg_temp.id('org a'), 'https://hooks.example.com/updates',
                                                            '', '{job.updated}') \gset

-- Job J: created, then updated (sequences 1 and 2); job K: created.
insert into public.jobs (id, org_id, title) values (pg_temp.id('job j'), pg_temp.id('org a'), 'J');
update public.jobs set title = 'J, renamed' where id = pg_temp.id('job j');
insert into public.jobs (id, org_id, title) values (pg_temp.id('job k'), pg_temp.id('org a'), 'K');
select pg_temp.fan_out();

create function pg_temp.delivery_of(p_endpoint uuid, p_job text, p_event text) returns webhooks.deliveries
language sql as $$
  select d.* from webhooks.deliveries d join webhooks.events e on e.id = d.event_id
   where d.endpoint_id = p_endpoint and d.resource_id = pg_temp.id(p_job) and e.event_type = p_event
$$;

select is(array[(pg_temp.delivery_of(:'ep', 'job j', 'job.created')).sequence,
                (pg_temp.delivery_of(:'ep', 'job j', 'job.updated')).sequence], array[1, 2]::bigint[],
          'J''s deliveries carry its resource''s sequence numbers');

create function pg_temp.result(p_claim text, p_delivery bigint, p_status integer) returns jsonb language plpgsql as $$
declare
  v_row record;
begin
  execute format('select * from %I where delivery_id = %s', p_claim, p_delivery) into v_row;
  return jsonb_build_object('delivery_id', v_row.delivery_id, 'lease_token', v_row.lease_token, 'sent', true,
    'retry_count', v_row.retry_count, 'started_at', now(), 'duration_ms', 5, 'response_status', p_status,
    'payload_sha256', repeat('ab', 32));
end
$$;

-- The first claim ----------------------------------------------------------------------------------
create temporary table claim1 on commit drop as select * from webhooks.claim_due_deliveries(100, 60);
select is((select count(*) from claim1 where delivery_id = (pg_temp.delivery_of(:'ep', 'job j', 'job.created')).id),
          1::bigint, 'a claim takes J''s first delivery');
select is((select count(*) from claim1 where delivery_id = (pg_temp.delivery_of(:'ep', 'job k', 'job.created')).id),
          1::bigint, 'and another job''s delivery to the same endpoint');
select is((select count(*) from claim1 where delivery_id = (pg_temp.delivery_of(:'updates', 'job j', 'job.updated')).id),
          1::bigint, 'and J''s update to an endpoint that has no earlier delivery of J');
select is((select count(*) from claim1 where delivery_id = (pg_temp.delivery_of(:'ep', 'job j', 'job.updated')).id),
          0::bigint, 'but not J''s update to the endpoint whose delivery of J''s creation is in flight');
select is((pg_temp.delivery_of(:'ep', 'job j', 'job.updated')).status, 'pending'::webhooks.delivery_status,
          'which stays pending');
select is((pg_temp.delivery_of(:'ep', 'job j', 'job.updated')).next_attempt_at,
          (pg_temp.delivery_of(:'ep', 'job j', 'job.created')).lease_expires_at,
          'parked until its predecessor''s lease ends');
select is((select count(*) from webhooks.claim_due_deliveries(100, 60)), 0::bigint, 'so the next claim finds nothing due');

-- The predecessor fails: a retry is not an end (the other two succeed) -----------------------------
select webhooks.record_attempts(jsonb_build_array(
  pg_temp.result('claim1', (pg_temp.delivery_of(:'ep', 'job j', 'job.created')).id, 503),
  pg_temp.result('claim1', (pg_temp.delivery_of(:'ep', 'job k', 'job.created')).id, 200),
  pg_temp.result('claim1', (pg_temp.delivery_of(:'updates', 'job j', 'job.updated')).id, 200)));
select is((pg_temp.delivery_of(:'ep', 'job j', 'job.created')).status, 'pending'::webhooks.delivery_status,
          'J''s creation failed and waits for its retry');
select cmp_ok((pg_temp.delivery_of(:'ep', 'job j', 'job.updated')).next_attempt_at, '>', now(),
              'J''s update stays parked meanwhile');
-- Its parking ends before the retry (as when a claim and a release crossed): it is parked again.
update webhooks.deliveries set next_attempt_at = now() where id = (pg_temp.delivery_of(:'ep', 'job j', 'job.updated')).id;
select is((select count(*) from webhooks.claim_due_deliveries(100, 60)), 0::bigint,
          'due again while its predecessor awaits a retry, it is still not claimed');
select is((pg_temp.delivery_of(:'ep', 'job j', 'job.updated')).next_attempt_at,
          (pg_temp.delivery_of(:'ep', 'job j', 'job.created')).next_attempt_at + interval '60 seconds',
          'but parked until the retry could have finished (its due time and a lease)');

-- The predecessor succeeds: the parked delivery is due at once --------------------------------------
update webhooks.deliveries set next_attempt_at = now() where id = (pg_temp.delivery_of(:'ep', 'job j', 'job.created')).id;
create temporary table claim2 on commit drop as select * from webhooks.claim_due_deliveries(100, 60);
select is((select array_agg(delivery_id) from claim2), array[(pg_temp.delivery_of(:'ep', 'job j', 'job.created')).id],
          'the retry of J''s creation is claimed alone');
select webhooks.record_attempts(jsonb_build_array(
  pg_temp.result('claim2', (pg_temp.delivery_of(:'ep', 'job j', 'job.created')).id, 200)));
select is((pg_temp.delivery_of(:'ep', 'job j', 'job.updated')).next_attempt_at, now(),
          'recording its success makes J''s update due at once');
create temporary table claim3 on commit drop as select * from webhooks.claim_due_deliveries(100, 60);
select is((select array_agg(delivery_id) from claim3), array[(pg_temp.delivery_of(:'ep', 'job j', 'job.updated')).id],
          'and the next claim takes it');
select is((select retry_count from claim3), 0, 'as a first attempt: waiting was not an attempt');

-- An exhausted predecessor releases its successor too ------------------------------------------------
select webhooks.record_attempts(jsonb_build_array(
  pg_temp.result('claim3', (pg_temp.delivery_of(:'ep', 'job j', 'job.updated')).id, 200)));
update public.jobs set status = 'scheduled' where id = pg_temp.id('job k');
update public.jobs set title = 'K, renamed' where id = pg_temp.id('job k');
select pg_temp.fan_out();
create temporary table claim4 on commit drop as select * from webhooks.claim_due_deliveries(100, 60);
select is((select count(*) from claim4 where endpoint_id = :'ep'), 1::bigint,
          'of K''s two updates, only the first is claimed');
-- K's first update fails, then its delivery window ends: the minute job exhausts it.
select webhooks.record_attempts(jsonb_build_array(
  pg_temp.result('claim4', (select delivery_id from claim4 where endpoint_id = :'ep'), 500)));
select (select d.id from webhooks.deliveries d where d.endpoint_id = :'ep' and d.resource_id = pg_temp.id('job k')
           and d.sequence = 2) as k_first_update,
       (select d.id from webhooks.deliveries d where d.endpoint_id = :'ep' and d.resource_id = pg_temp.id('job k')
           and d.sequence = 3) as k_second_update \gset
update webhooks.deliveries set first_attempt_at = now() - interval '25 hours' where id = :k_first_update;
select cmp_ok((select next_attempt_at from webhooks.deliveries where id = :k_second_update), '>', now(),
              'K''s second update is parked behind the failing first');
select webhooks.run_every_minute();
select is((select status from webhooks.deliveries where id = :k_first_update), 'exhausted'::webhooks.delivery_status,
          'the first is exhausted when its window ends');
select is((select next_attempt_at from webhooks.deliveries where id = :k_second_update), now(),
          'which makes the second due at once');
select is((select delivery_id from webhooks.claim_due_deliveries(100, 60)), :k_second_update::bigint,
          'and claimable');

-- Recovered deliveries that were attempted before wait for each other, and are released at once too
select endpoint_id as recovered from webhooks.create_endpoint(pg_temp.id('org a'), 'https://hooks.example.com/recovered',
                                                              '', '{job.created,job.updated}') \gset
insert into public.jobs (id, org_id, title) values (pg_temp.id('job m'), pg_temp.id('org a'), 'M');
update public.jobs set title = 'M, renamed' where id = pg_temp.id('job m');
select pg_temp.fan_out();
-- As a recovery leaves them: both attempted before, both due now.
update webhooks.deliveries set attempt_count = 3, next_attempt_at = now() where endpoint_id = :'recovered';
create temporary table claim5 on commit drop as select * from webhooks.claim_due_deliveries(100, 60);
select is((select count(*) from claim5 where endpoint_id = :'recovered'), 1::bigint,
          'of M''s two recovered deliveries, only the first is claimed');
select webhooks.record_attempts(jsonb_build_array(
  pg_temp.result('claim5', (select delivery_id from claim5 where endpoint_id = :'recovered'), 200)));
select is((select next_attempt_at from webhooks.deliveries where endpoint_id = :'recovered' and sequence = 2), now(),
          'its success makes the second due at once, though it had been attempted before');

-- Fan-out order: a resource's events are fanned out in sequence order ---------------------------------
-- Transaction ids are not commit order: a transaction that took its id first and then waited for
-- another's row lock commits after it, with the next sequence number. Outbox rows are written here
-- with such ids by hand (this transaction's id plus an offset), for jobs P and Q created above.
insert into public.jobs (id, org_id, title) values (pg_temp.id('job p'), pg_temp.id('org a'), 'P'),
                                                   (pg_temp.id('job q'), pg_temp.id('org a'), 'Q');
select pg_temp.fan_out();
select pg_current_xact_id()::text::bigint as x \gset
create function pg_temp.outbox_row(p_offset integer, p_job text, p_sequence bigint) returns void language sql as $$
  insert into webhooks.outbox (txid, org_id, event_type, data, resource_id, sequence)
  select (pg_current_xact_id()::text::bigint + p_offset)::text::xid8, j.org_id, 'job.updated',
         jsonb_build_object('old', to_jsonb(j), 'new', to_jsonb(j) || '{"title": "changed"}'), j.id, p_sequence
    from public.jobs j where j.id = pg_temp.id(p_job)
$$;
select pg_temp.outbox_row(5, 'job q', 2), pg_temp.outbox_row(10, 'job p', 3), pg_temp.outbox_row(20, 'job p', 2);
create function pg_temp.fanned_out(p_job text) returns bigint[] language sql as $$
  select coalesce(array_agg(e.sequence order by e.sequence), '{}') from webhooks.events e where e.resource_id = pg_temp.id(p_job)
$$;
select is(webhooks.fan_out(2, true), 1, 'a fan-out cut short after P''s third event takes only Q''s');
select is(pg_temp.fanned_out('job p'), array[1]::bigint[], 'P''s third event waits for its second, beyond the cut');
select is(pg_temp.fanned_out('job q'), array[1, 2]::bigint[], 'while Q''s goes');
select is(webhooks.fan_out(2, true), 2, 'the next fan-out takes both of P''s');
select is(pg_temp.fanned_out('job p'), array[1, 2, 3]::bigint[], 'so P''s events are fanned out together');
select pg_temp.outbox_row(30, 'job p', 5), pg_temp.outbox_row(40, 'job p', 4);
select is(webhooks.fan_out(1, true), 1, 'a batch that would be held back entirely is fanned out anyway');

-- Deleting an organization publishes no deleted events for its rows --------------------------------
insert into public.organizations (id, name, slug) values (pg_temp.id('org gone'), 'Gone', 'test-org-gone');
insert into public.clients (org_id, name) values (pg_temp.id('org gone'), 'Client of a tenant that leaves');
select pg_temp.fan_out();
delete from public.organizations where id = pg_temp.id('org gone');
select is((select count(*) from webhooks.outbox where org_id = pg_temp.id('org gone')), 0::bigint,
          'deleting an organization writes no client.deleted for its clients');

select * from finish();
rollback;
