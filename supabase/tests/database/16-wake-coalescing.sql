-- Wake-ups between drains (webhooks.wake_dispatcher_after_commit): a transaction skips its wake-up
-- while another's is on its way (asked after the last drain stopped, under two seconds ago), and
-- asks for one itself in every other case.
begin;
select plan(12);

\ir _helpers.psql

insert into auth.users (id, email, aud, role) values (pg_temp.id('w_member'), 'w_member@test.local', 'authenticated', 'authenticated');
insert into public.organizations (id, name, slug) values (pg_temp.id('org w'), 'Org W', 'test-org-w');
insert into public.organization_members (org_id, user_id, role) values (pg_temp.id('org w'), pg_temp.id('w_member'), 'member');
select endpoint_id as ep from webhooks.create_endpoint(pg_temp.id('org w'), 'https://hooks.example.com/w') \gset

-- Other sessions' drains and wake-ups stay out of this transaction's view of both rows.
delete from webhooks.dispatcher_heartbeat;
update webhooks.wake_requests set requested_at = '-infinity';

create function pg_temp.insert_job_and_count_wake_ups(p_title text) returns bigint language plpgsql as $$
declare
  v_before bigint := (select coalesce(max(id), 0) from net.http_request_queue);
begin
  perform set_config('webhooks.dispatch_requested', '', true); -- as in a new transaction
  perform pg_temp.act_as('w_member');
  insert into public.jobs (org_id, title) values (pg_temp.id('org w'), p_title);
  perform pg_temp.act_as_postgres();
  return (select count(*) from net.http_request_queue
           where id > v_before and url like '%/functions/v1/webhook-dispatch');
end
$$;

-- No drain has ever stopped (a new project, or the unlogged heartbeat emptied by a crash) ---------
select is(pg_temp.insert_job_and_count_wake_ups('First'), 1::bigint,
  'before any drain has stopped, a transaction wakes the dispatcher');
select is(pg_temp.insert_job_and_count_wake_ups('Second'), 1::bigint,
  'and so does the next: nothing proves that the first wake-up will be taken up after it');

-- After a drain stopped -------------------------------------------------------------------------
select webhooks.stop_draining();
select ok((select stopped_at from webhooks.dispatcher_heartbeat) is not null, 'a stopping drain records when it stopped');
select ok((select draining_until from webhooks.dispatcher_heartbeat) < clock_timestamp(), 'and announces no drain');
select is(pg_temp.insert_job_and_count_wake_ups('Third'), 1::bigint,
  'the first transaction after it wakes the dispatcher');
select ok((select requested_at from webhooks.wake_requests) > (select stopped_at from webhooks.dispatcher_heartbeat),
  'and records when it asked');
select is(pg_temp.insert_job_and_count_wake_ups('Fourth'), 0::bigint,
  'the next skips its wake-up while that one is on its way');
select is(pg_temp.insert_job_and_count_wake_ups('Fifth'), 0::bigint, 'and so does the one after it');

select webhooks.stop_draining();
select is(pg_temp.insert_job_and_count_wake_ups('Sixth'), 1::bigint,
  'once a drain has stopped after the request, the next transaction wakes the dispatcher again');

update webhooks.wake_requests set requested_at = clock_timestamp() - webhooks.wake_request_ttl() - interval '1 millisecond';
select is(pg_temp.insert_job_and_count_wake_ups('Seventh'), 1::bigint,
  'a request older than the time-to-live no longer counts as on its way');

-- Nothing is lost -----------------------------------------------------------------------------------
select is((select count(*) from webhooks.deliveries where endpoint_id = :'ep' and status = 'pending'), 7::bigint,
  'every transaction created its delivery, whether it woke the dispatcher or not');
select is((select count(*) from webhooks.deliveries where endpoint_id = :'ep'
              and next_attempt_at <= now() and status = 'pending'), 7::bigint,
  'and each is due at once, for the drain the wake-up starts');

select * from finish();
rollback;
