-- What webhooks.record_attempts does not do for a successful attempt, and what must still hold
-- without it: an attempt
-- references only its delivery and still goes with its endpoint or organization, a success never
-- asks for a retry delay while a failure does, and an outcome sent without its null fields (as
-- webhook-dispatch sends successes) is recorded as if they were there.
begin;
select plan(10);

\ir _helpers.psql

insert into auth.users (id, email, aud, role)
select pg_temp.id(n), n || '@test.local', 'authenticated', 'authenticated'
  from unnest(array['a_member']) as n;
insert into public.organizations (id, name, slug) values (pg_temp.id('org a'), 'Org A', 'test-org-a');
insert into public.organization_members (org_id, user_id, role) values (pg_temp.id('org a'), pg_temp.id('a_member'), 'member');

-- Other sessions' work must not be claimed here: park it for the length of this transaction.
update webhooks.deliveries set status = 'pending', lease_token = null, lease_expires_at = null,
       next_attempt_at = 'infinity' where status in ('pending', 'sending');
delete from webhooks.dispatcher_heartbeat;

select endpoint_id as ep from webhooks.create_endpoint(pg_temp.id('org a'), 'https://hooks.example.com/a') \gset
select endpoint_id as ep2 from webhooks.create_endpoint(pg_temp.id('org a'), 'https://hooks.example.com/b') \gset
select pg_temp.act_as('a_member');
insert into public.jobs (org_id, title) select pg_temp.id('org a'), 'Job ' || n from generate_series(1, 2) n;
select pg_temp.act_as_postgres();
create temporary table claimed on commit drop as select * from webhooks.claim_due_deliveries(100, 60);

-- Foreign keys ------------------------------------------------------------------------------------
select col_is_fk('webhooks', 'attempts', 'delivery_id', 'an attempt references its delivery');
select col_isnt_fk('webhooks', 'attempts', 'org_id', 'but not the organization: the delivery carries it');
select col_isnt_fk('webhooks', 'attempts', 'endpoint_id', 'nor the endpoint: the delivery carries it');

-- Retry delays only for failures ------------------------------------------------------------------
create function pg_temp.outcome(p_delivery_id bigint, p_status integer) returns jsonb language sql as $$
  select jsonb_build_object('delivery_id', c.delivery_id, 'lease_token', c.lease_token, 'sent', true,
                            'retry_count', c.retry_count, 'started_at', now(), 'duration_ms', 3,
                            'response_status', p_status, 'payload_sha256', repeat('ab', 32))
    from claimed c where c.delivery_id = p_delivery_id
$$;
select min(delivery_id) as first, max(delivery_id) as last from claimed where endpoint_id = :'ep' \gset
select min(delivery_id) as other from claimed where endpoint_id = :'ep2' \gset
-- A retry_delay that cannot be called: only this transaction sees it.
create or replace function webhooks.retry_delay(p_failed_attempts integer)
returns interval language plpgsql volatile set search_path = '' as $$
begin
  raise exception 'retry_delay called' using errcode = 'P0001';
end
$$;
select lives_ok(format('select webhooks.record_attempts(jsonb_build_array(pg_temp.outcome(%s, 204)))', :first),
                'recording a success asks for no retry delay');
select throws_ok(format('select webhooks.record_attempts(jsonb_build_array(pg_temp.outcome(%s, 500)))', :last),
                 'P0001', 'retry_delay called', 'recording a failure still does');

-- Outcomes without their null fields ----------------------------------------------------------------
select is((select status from webhooks.deliveries where id = :first), 'succeeded'::webhooks.delivery_status,
          'an outcome without response_excerpt, error and retry_after_seconds succeeds its delivery');
select is((select (response_excerpt, error)::text from webhooks.attempts where delivery_id = :first), '(,)',
          'and its attempt has neither excerpt nor error');

-- Attempts still go with their endpoint and organization --------------------------------------------
select webhooks.record_attempts(jsonb_build_array(pg_temp.outcome(:other, 204)));
select is((select count(*) from webhooks.attempts where endpoint_id = :'ep2'), 1::bigint, 'the other endpoint has an attempt');
delete from webhooks.endpoints where id = :'ep2';
select is((select count(*) from webhooks.attempts where endpoint_id = :'ep2'), 0::bigint,
          'deleting an endpoint deletes its attempts, through its deliveries');
delete from public.organizations where id = pg_temp.id('org a');
select is((select count(*) from webhooks.attempts where org_id = pg_temp.id('org a')), 0::bigint,
          'deleting an organization deletes its attempts, through its events and deliveries');

select * from finish();
rollback;
