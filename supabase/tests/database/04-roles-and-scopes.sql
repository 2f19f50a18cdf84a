-- Within one organization: what owners, admins and members may do, and how integrations are held
-- to their scopes (<area>:read to select, <area>:write to insert, update and delete).
begin;
select plan(42);

\ir _helpers.psql

-- Fixture: org A with a person in each role and four integrations; org B with one job.
insert into auth.users (id, email, aud, role)
select pg_temp.id(n), n || '@test.local', 'authenticated', 'authenticated'
  from unnest(array['a_owner', 'a_admin', 'a_member', 'a_jobs_reader', 'a_jobs_writer', 'a_cashier',
                    'a_billing_bot', 'b_owner']) as n;

insert into public.organizations (id, name, slug) values
  (pg_temp.id('org a'), 'Org A', 'test-org-a'),
  (pg_temp.id('org b'), 'Org B', 'test-org-b');

insert into public.organization_members (org_id, user_id, role, scopes) values
  (pg_temp.id('org a'), pg_temp.id('a_owner'), 'owner', '{}'),
  (pg_temp.id('org a'), pg_temp.id('a_admin'), 'admin', '{}'),
  (pg_temp.id('org a'), pg_temp.id('a_member'), 'member', '{}'),
  (pg_temp.id('org a'), pg_temp.id('a_jobs_reader'), 'integration', '{jobs:read}'),
  (pg_temp.id('org a'), pg_temp.id('a_jobs_writer'), 'integration', '{jobs:read,jobs:write}'),
  (pg_temp.id('org a'), pg_temp.id('a_cashier'), 'integration', '{payments:read,payments:write}'),
  (pg_temp.id('org a'), pg_temp.id('a_billing_bot'), 'integration', '{invoices:read,invoices:write}'),
  (pg_temp.id('org b'), pg_temp.id('b_owner'), 'owner', '{}');

insert into public.clients (id, org_id, name) values (pg_temp.id('a client'), pg_temp.id('org a'), 'Harper Family');
insert into public.properties (id, org_id, client_id, address1) values
  (pg_temp.id('a property'), pg_temp.id('org a'), pg_temp.id('a client'), '1402 Elm Street');
insert into public.jobs (id, org_id, title, client_id) values
  (pg_temp.id('a job 1'), pg_temp.id('org a'), 'Replace sink', pg_temp.id('a client')),
  (pg_temp.id('a job 2'), pg_temp.id('org a'), 'Unclog drain', pg_temp.id('a client'));
insert into public.estimates (org_id, client_id, total) values (pg_temp.id('org a'), pg_temp.id('a client'), 10);
insert into public.inspections (org_id, job_id) values (pg_temp.id('org a'), pg_temp.id('a job 1'));
insert into public.invoices (id, org_id, client_id, total, status) values
  (pg_temp.id('a draft 1'), pg_temp.id('org a'), pg_temp.id('a client'), 100, 'draft'),
  (pg_temp.id('a draft 2'), pg_temp.id('org a'), pg_temp.id('a client'), 100, 'draft'),
  (pg_temp.id('a draft 3'), pg_temp.id('org a'), pg_temp.id('a client'), 100, 'draft'),
  (pg_temp.id('a open'), pg_temp.id('org a'), pg_temp.id('a client'), 100, 'open');
insert into public.payments (org_id, invoice_id, amount, method) values
  (pg_temp.id('org a'), pg_temp.id('a open'), 10, 'cash');
insert into public.jobs (org_id, title) values (pg_temp.id('org b'), 'Org B job');

-- People: owner, admin and member work on all tenant data ----------------------------------
create function pg_temp.person_tests(p_user text, p_role text) returns setof text language plpgsql as $$
declare
  v_job uuid := gen_random_uuid();
begin
  perform pg_temp.act_as(p_user);
  return next lives_ok(format('insert into public.jobs (id, org_id, title) values (%L, %L, ''Inspect boiler'')',
                              v_job, pg_temp.id('org a')),
    format('%s creates a job', p_role));
  return next is(pg_temp.affected(format('update public.jobs set status = ''scheduled'' where id = %L', v_job)), 1::bigint,
    format('%s updates a job', p_role));
  return next is(pg_temp.affected(format('delete from public.jobs where id = %L', v_job)), 1::bigint,
    format('%s deletes a job', p_role));
  perform pg_temp.act_as_postgres();
end
$$;
select * from pg_temp.person_tests('a_owner', 'an owner');
select * from pg_temp.person_tests('a_admin', 'an admin');
select * from pg_temp.person_tests('a_member', 'a member');

select pg_temp.act_as('a_member');
select is(pg_temp.affected($$ delete from public.invoices where id = md5('a draft 1')::uuid $$), 0::bigint,
  'a member cannot delete an invoice');
select lives_ok($$ insert into public.payments (org_id, invoice_id, amount, method)
                   values (md5('org a')::uuid, md5('a open')::uuid, 5, 'check') $$,
  'a member records a payment');

select pg_temp.act_as('a_admin');
select is(pg_temp.affected($$ delete from public.invoices where id = md5('a draft 1')::uuid $$), 1::bigint,
  'an admin deletes an invoice');

select pg_temp.act_as('a_owner');
select is(pg_temp.affected($$ delete from public.invoices where id = md5('a draft 2')::uuid $$), 1::bigint,
  'an owner deletes an invoice');
select throws_ok($$ delete from public.payments where org_id = md5('org a')::uuid $$,
  '42501', 'permission denied for table payments', 'not even an owner deletes a payment');
select throws_ok($$ delete from public.invoices where id = md5('a open')::uuid $$,
  '23503', 'update or delete on table "invoices" violates foreign key constraint "payments_invoice_fkey" on table "payments"',
  'an invoice with payments cannot be deleted');

-- An integration with jobs:read -------------------------------------------------------------------
select pg_temp.act_as('a_jobs_reader');
select is((select count(*) from public.jobs), 2::bigint, 'jobs:read sees its organization''s jobs');
select throws_ok($$ insert into public.jobs (org_id, title) values (md5('org a')::uuid, 'Sneaky job') $$,
  '42501', 'new row violates row-level security policy for table "jobs"', 'jobs:read cannot create a job');
select is(pg_temp.affected($$ update public.jobs set title = 'Renamed' $$), 0::bigint, 'jobs:read cannot update a job');
select is(pg_temp.affected($$ delete from public.jobs $$), 0::bigint, 'jobs:read cannot delete a job');
select is(pg_temp.scalar(format('select count(*) from public.%I', t)), 0::bigint, format('jobs:read sees no %s', t))
  from unnest(array['clients', 'properties', 'estimates', 'invoices', 'payments', 'inspections']) as t;
select throws_ok($$ insert into public.clients (org_id, name) values (md5('org a')::uuid, 'Sneaky client') $$,
  '42501', 'new row violates row-level security policy for table "clients"', 'jobs:read cannot create a client');
select is((select count(*) from public.organization_members), 1::bigint, 'an integration sees only its own membership');

-- An integration with jobs:read and jobs:write --------------------------------------------------
select pg_temp.act_as('a_jobs_writer');
select lives_ok($$ insert into public.jobs (id, org_id, title) values (md5('bot job')::uuid, md5('org a')::uuid, 'From the ERP') $$,
  'jobs:write creates a job');
select is(pg_temp.affected($$ update public.jobs set status = 'scheduled' where id = md5('bot job')::uuid $$), 1::bigint,
  'jobs:write updates a job');
select is(pg_temp.affected($$ delete from public.jobs where id = md5('bot job')::uuid $$), 1::bigint,
  'jobs:write deletes a job');
select throws_ok($$ insert into public.jobs (org_id, title) values (md5('org b')::uuid, 'Other tenant') $$,
  '42501', 'new row violates row-level security policy for table "jobs"', 'jobs:write is no use in another organization');
select is((select count(*) from public.invoices), 0::bigint, 'jobs:write still sees no invoices');
select throws_ok($$ insert into public.inspections (org_id, job_id) values (md5('org a')::uuid, md5('a job 1')::uuid) $$,
  '42501', 'new row violates row-level security policy for table "inspections"', 'jobs:write cannot create an inspection');

-- An integration with payments:read and payments:write ------------------------------------------
select pg_temp.act_as('a_cashier');
select lives_ok($$ insert into public.payments (org_id, invoice_id, amount, method, reference)
                   values (md5('org a')::uuid, md5('a open')::uuid, 25, 'ach', 'trace 42') $$,
  'payments:write records a payment on an invoice it cannot read');
select is((select count(*) from public.invoices), 0::bigint, 'payments:write does not make invoices readable');
select is((select count(*) from public.payments), 3::bigint, 'payments:read sees the organization''s payments');
select pg_temp.act_as_postgres();
select is((select amount_paid from public.invoices where id = pg_temp.id('a open')), 40.00::numeric(12, 2),
  'the payment was applied to the invoice all the same');

-- An integration with invoices:read and invoices:write ------------------------------------------
select pg_temp.act_as('a_billing_bot');
select lives_ok($$ insert into public.invoices (org_id, client_id, total) values (md5('org a')::uuid, md5('a client')::uuid, 75) $$,
  'invoices:write creates an invoice');
select is(pg_temp.affected($$ update public.invoices set status = 'open' where id = md5('a draft 3')::uuid $$), 1::bigint,
  'invoices:write issues an invoice');
select is(pg_temp.affected($$ delete from public.invoices where status = 'draft' $$), 0::bigint,
  'invoices:write does not let an integration delete invoices');
select is((select count(*) from public.payments), 0::bigint, 'invoices:read does not make payments readable');

-- The platform ---------------------------------------------------------------------------------
set local role service_role;
select is((select count(*) from public.jobs where org_id in (pg_temp.id('org a'), pg_temp.id('org b'))), 3::bigint,
  'service_role sees every organization''s jobs');
reset role;

select * from finish();
rollback;
