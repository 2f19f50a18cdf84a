-- Webhook administration in the database: loading events and deliveries for admins only, enable
-- and disable with a reason, resending one delivery, idempotent recovery, the wake-up a requeue
-- asks for, and the audit trail (who did what, visible to the organization's admins only,
-- never edited).
begin;
select plan(44);

\ir _helpers.psql

select pg_temp.orgs_a_and_b();

-- Other sessions' work must not be touched here: park it for the length of this transaction.
create temporary table parked on commit drop as
  select id from webhooks.deliveries where status in ('pending', 'sending');
update webhooks.deliveries set status = 'pending', lease_token = null, lease_expires_at = null,
       next_attempt_at = 'infinity' where id in (select id from parked);
delete from webhooks.dispatcher_heartbeat;

select pg_temp.act_as('a_owner');
select endpoint_id as ep from webhooks.create_endpoint(pg_temp.id('org a'), 'https://hooks.example.com/a') \gset
insert into public.jobs (org_id, title) values (pg_temp.id('org a'), 'One');
select pg_temp.act_as_postgres();
select pg_temp.fan_out();
select d.id as delivery, d.event_id as event from webhooks.deliveries d where d.endpoint_id = :'ep' \gset

-- Loading for admins ------------------------------------------------------------------------------
select pg_temp.act_as('a_admin');
select is((webhooks.event_for_admin(:'event')).id, :'event', 'an admin loads an event of the organization');
select is((webhooks.delivery_for_admin(:delivery)).id, :delivery::bigint, 'and a delivery');
select pg_temp.act_as('a_member');
select throws_ok(format('select webhooks.event_for_admin(%L)', :'event'), '42501',
  'only owners and admins of the organization can manage its webhook endpoints', 'a member may not load an event');
select throws_ok(format('select webhooks.delivery_for_admin(%s)', :delivery), '42501', null, 'nor a delivery');
select pg_temp.act_as('b_owner');
select throws_ok(format('select webhooks.delivery_for_admin(%s)', :delivery), '42501', null,
  'nor may another organization''s owner');
select throws_ok($$select webhooks.event_for_admin('evt_00000000000000000000000000000000')$$, 'P0002',
  'webhook event not found', 'an unknown event is not found');
select throws_ok($$select webhooks.delivery_for_admin(0)$$, 'P0002', 'webhook delivery not found', 'nor an unknown delivery');

-- Resend ------------------------------------------------------------------------------------------
select pg_temp.act_as_postgres();
update webhooks.deliveries
   set status = 'exhausted', attempt_count = 9, first_attempt_at = now() - interval '25 hours',
       completed_at = now(), last_error = 'HTTP 500'
 where id = :delivery;
select coalesce(max(id), 0) as queue_before from net.http_request_queue \gset

select pg_temp.act_as('a_member');
select throws_ok(format('select webhooks.resend_delivery(%s)', :delivery), '42501', null, 'a member may not resend');
select pg_temp.act_as('a_admin');
select lives_ok(format('select webhooks.resend_delivery(%s)', :delivery), 'an admin resends an exhausted delivery');
select pg_temp.act_as_postgres();
select results_eq(
  format('select status::text, attempt_count, first_attempt_at is null, completed_at is null, next_attempt_at <= now()
            from webhooks.deliveries where id = %s', :delivery),
  $$values ('pending', 9, true, true, true)$$,
  'it is pending now, keeps its attempt count, and starts a new delivery window');
select is((select work_due from webhooks.dispatch_due_state()), true,
  'and the scheduler sees it due, to wake the dispatcher after commit');
select is((select actor_id from audit.entries where action = 'delivery.resent' and target_id = :'delivery'),
  pg_temp.id('a_admin'), 'the resend is audited with its actor');

update webhooks.deliveries set status = 'sending', lease_token = gen_random_uuid(), lease_expires_at = now() + interval '1 minute'
 where id = :delivery;
select pg_temp.act_as('a_admin');
select throws_ok(format('select webhooks.resend_delivery(%s)', :delivery), '55000', 'the delivery is being sent right now',
  'a delivery being sent is not resent');
select pg_temp.act_as_postgres();
update webhooks.deliveries set status = 'succeeded', lease_token = null, lease_expires_at = null, completed_at = now()
 where id = :delivery;

-- Recovery ----------------------------------------------------------------------------------------
select pg_temp.act_as('a_owner');
insert into public.jobs (org_id, title) select pg_temp.id('org a'), 'Bulk ' || n from generate_series(1, 4) n;
select pg_temp.act_as_postgres();
select pg_temp.fan_out();
create temporary table bulk on commit drop as
  select id, row_number() over (order by id) as n from webhooks.deliveries where endpoint_id = :'ep' and id <> :delivery;
update webhooks.deliveries d
   set status = case b.n when 1 then 'failed' when 2 then 'exhausted' when 3 then 'failed' else 'pending' end::webhooks.delivery_status,
       completed_at = case when b.n < 4 then now() end,
       created_at = case b.n when 3 then now() - interval '2 days' else d.created_at end
  from bulk b where d.id = b.id;

select pg_temp.act_as('a_member');
select throws_ok(format('select webhooks.recover_deliveries(%L, now() - interval ''1 day'')', :'ep'), '42501', null,
  'a member may not recover');
select pg_temp.act_as('a_admin');
select throws_ok(format('select webhooks.recover_deliveries(%L, now(), now() - interval ''1 hour'')', :'ep'), '22023',
  'the time range is empty: since must come before until', 'an empty time range is refused');
select is(webhooks.recover_deliveries(:'ep', now() - interval '1 day'), 2,
  'recovery requeues the failed and exhausted deliveries created in the range');
select pg_temp.act_as_postgres();
select results_eq(
  'select b.n::int, d.status::text from bulk b join webhooks.deliveries d using (id) order by b.n',
  $$values (1, 'pending'), (2, 'pending'), (3, 'failed'), (4, 'pending')$$,
  'older failures and pending deliveries are left as they were');
select pg_temp.act_as('a_admin');
select is(webhooks.recover_deliveries(:'ep', now() - interval '1 day'), 0, 'a second recovery finds nothing to requeue');
select pg_temp.act_as_postgres();
select is((select count(*) from audit.entries where action = 'endpoint.deliveries_recovered' and target_id = :'ep'), 2::bigint,
  'both recoveries are audited');
select is((select details ->> 'recovered' from audit.entries where action = 'endpoint.deliveries_recovered' order by id limit 1),
  '2', 'with how many deliveries they requeued');

-- Enable / disable --------------------------------------------------------------------------------
select pg_temp.act_as('a_member');
select throws_ok(format('select webhooks.set_endpoint_enabled(%L, false)', :'ep'), '42501', null, 'a member may not disable');
select pg_temp.act_as('a_admin');
select lives_ok(format('select webhooks.set_endpoint_enabled(%L, false, %L)', :'ep', 'Migrating the ERP'),
  'an admin disables with a reason');
select pg_temp.act_as_postgres();
select results_eq(format('select enabled, disabled_reason from webhooks.endpoints where id = %L', :'ep'),
  $$values (false, 'Migrating the ERP')$$, 'the reason is kept');
select pg_temp.act_as('a_admin');
select throws_ok(format('select webhooks.resend_delivery(%s)', :delivery), '55000', 'the endpoint is disabled',
  'nothing is resent to a disabled endpoint');
select throws_ok(format('select webhooks.recover_deliveries(%L, now() - interval ''1 day'')', :'ep'), '55000',
  'the endpoint is disabled', 'nor recovered');
select lives_ok(format('select webhooks.set_endpoint_enabled(%L, false)', :'ep'), 'disabling twice is a no-op');
select lives_ok(format('select webhooks.set_endpoint_enabled(%L, true)', :'ep'), 'an admin enables it again');
select pg_temp.act_as_postgres();
select results_eq(format('select enabled, disabled_reason is null from webhooks.endpoints where id = %L', :'ep'),
  $$values (true, true)$$, 'which clears the reason');

-- Audit trail of endpoint changes -------------------------------------------------------------------
select pg_temp.act_as('a_admin');
update webhooks.endpoints set description = 'ERP', url = 'https://hooks.example.com/erp' where id = :'ep';
select webhooks.rotate_endpoint_secret(:'ep') is not null as rotated;
select pg_temp.act_as_postgres();
-- The dispatcher's own connection (no JWT) disabling a failing endpoint.
update webhooks.endpoints set enabled = false, disabled_reason = 'HTTP 410 Gone' where id = :'ep';

select results_eq(
  format($$select action, actor_kind, actor_id from audit.entries where target_id = %L order by id$$, :'ep'),
  format($$values ('endpoint.created', 'user', %L::uuid), ('endpoint.deliveries_recovered', 'user', %L::uuid),
                  ('endpoint.deliveries_recovered', 'user', %L::uuid), ('endpoint.disabled', 'user', %L::uuid),
                  ('endpoint.enabled', 'user', %L::uuid), ('endpoint.updated', 'user', %L::uuid),
                  ('endpoint.secret_rotated', 'user', %L::uuid), ('endpoint.disabled', 'system', null::uuid)$$,
         pg_temp.id('a_owner'), pg_temp.id('a_admin'), pg_temp.id('a_admin'), pg_temp.id('a_admin'),
         pg_temp.id('a_admin'), pg_temp.id('a_admin'), pg_temp.id('a_admin')),
  'every endpoint change is audited with its actor, the dispatcher''s as the system');
select is((select details from audit.entries where action = 'endpoint.updated' and target_id = :'ep'),
  jsonb_build_object('changes', jsonb_build_object(
    'url', jsonb_build_object('from', 'https://hooks.example.com/a', 'to', 'https://hooks.example.com/erp'),
    'description', jsonb_build_object('from', '', 'to', 'ERP'))),
  'an update records what changed from what to what');
select is((select details ->> 'reason' from audit.entries where action = 'endpoint.disabled' and actor_kind = 'system'),
  'HTTP 410 Gone', 'a disabling records its reason');
select ok(not exists (select from audit.entries where details::text like '%whsec_%'), 'no entry holds a secret');

-- Who reads the audit log -------------------------------------------------------------------------
select pg_temp.act_as('a_owner');
select cmp_ok((select count(*) from audit.entries where org_id = pg_temp.id('org a')), '>=', 8::bigint, 'the owner reads the log');
select pg_temp.act_as('a_admin');
select cmp_ok((select count(*) from audit.entries where org_id = pg_temp.id('org a')), '>=', 8::bigint, 'so does an admin');
select pg_temp.act_as('a_member');
select is((select count(*) from audit.entries), 0::bigint, 'a member reads nothing');
select pg_temp.act_as('b_owner');
select is((select count(*) from audit.entries where org_id = pg_temp.id('org a')), 0::bigint,
  'nor does another organization''s owner');
select pg_temp.act_as_anon();
select throws_ok('select count(*) from audit.entries', '42501', null, 'anon may not even ask');

-- Nobody writes it but the functions that make the changes ------------------------------------------
select pg_temp.act_as('a_owner');
select throws_ok(format($$insert into audit.entries (org_id, actor_kind, action, target_type, target_id)
                          values (%L, 'system', 'endpoint.deleted', 'endpoint', 'x')$$, pg_temp.id('org a')),
  '42501', null, 'an owner may not insert an entry');
select throws_ok(format('delete from audit.entries where org_id = %L', pg_temp.id('org a')), '42501', null,
  'nor delete one');
select throws_ok(format($$select audit.record(%L, 'endpoint.deleted', 'endpoint', 'x')$$, pg_temp.id('org a')),
  '42501', null, 'nor call audit.record');
select pg_temp.act_as_postgres();
select throws_ok('update audit.entries set action = ''endpoint.created''', '42501',
  'audit entries cannot be changed or deleted', 'not even the owner edits an entry');
select pg_temp.act_as('a_owner');
select throws_ok($$select webhooks.request_dispatch('x')$$, '42501', null,
  'tenants may not wake the dispatcher directly');

-- Deleting the organization takes its endpoints and its log with it ---------------------------------
select pg_temp.act_as_postgres();
select lives_ok(format('delete from public.organizations where id = %L', pg_temp.id('org a')),
  'an organization with audited endpoints can be deleted');
select is((select count(*) from audit.entries where org_id = pg_temp.id('org a')), 0::bigint, 'and its log goes with it');

select * from finish();
rollback;
