-- Job and invoice numbers: J-1, J-2, … and INV-1001, INV-1002, … per organization, gapless,
-- never reused, never chosen by the client, allocated under the organization's counter row lock.
-- (True concurrency needs several connections; the Deno suite inserts in parallel. Here: order,
-- independence between organizations, no gaps after failures, and the lock that serializes them.)
begin;
select plan(19);

\ir _helpers.psql

-- Fixture: two fresh organizations with a member each.
insert into auth.users (id, email, aud, role)
select pg_temp.id(n), n || '@test.local', 'authenticated', 'authenticated'
  from unnest(array['a_member', 'b_member']) as n;

insert into public.organizations (id, name, slug) values
  (pg_temp.id('org a'), 'Org A', 'test-org-a'),
  (pg_temp.id('org b'), 'Org B', 'test-org-b');

insert into public.organization_members (org_id, user_id, role) values
  (pg_temp.id('org a'), pg_temp.id('a_member'), 'member'),
  (pg_temp.id('org b'), pg_temp.id('b_member'), 'member');

insert into public.clients (id, org_id, name) values
  (pg_temp.id('a client'), pg_temp.id('org a'), 'Client A'),
  (pg_temp.id('b client'), pg_temp.id('org b'), 'Client B');

create function pg_temp.job_nos(p_org text) returns setof text language sql as $$
  select job_no from public.jobs where org_id = pg_temp.id(p_org) order by substr(job_no, 3)::int
$$;

-- Jobs -------------------------------------------------------------------------------------------
select col_is_unique('public', 'jobs', array['org_id', 'job_no'], 'job_no is unique within an organization');

select pg_temp.act_as('a_member');
insert into public.jobs (org_id, title) values (pg_temp.id('org a'), 'First');
insert into public.jobs (org_id, title) values (pg_temp.id('org a'), 'Second');
insert into public.jobs (org_id, title) values (pg_temp.id('org a'), 'Third');
select results_eq($$ select * from pg_temp.job_nos('org a') $$, array['J-1', 'J-2', 'J-3'],
  'an organization''s jobs are numbered J-1, J-2, J-3 in insertion order');

select pg_temp.act_as('b_member');
insert into public.jobs (org_id, title) values (pg_temp.id('org b'), 'B first');
select results_eq($$ select * from pg_temp.job_nos('org b') $$, array['J-1'],
  'another organization''s numbering is independent and starts at J-1');

select pg_temp.act_as('a_member');
insert into public.jobs (org_id, title) values
  (pg_temp.id('org a'), 'Batch 1'), (pg_temp.id('org a'), 'Batch 2'), (pg_temp.id('org a'), 'Batch 3');
select results_eq($$ select job_no from public.jobs where title like 'Batch %' order by title $$,
  array['J-4', 'J-5', 'J-6'], 'a multi-row insert numbers its rows consecutively, in order');

insert into public.jobs (org_id, title, job_no) values (pg_temp.id('org a'), 'Chosen number', 'J-100');
select is((select job_no from public.jobs where title = 'Chosen number'), 'J-7',
  'a job_no sent by the client is replaced by the next number');

select throws_ok($$ insert into public.jobs (org_id, title) values (md5('org a')::uuid, '   ') $$,
  '23514', 'new row for relation "jobs" violates check constraint "jobs_title_present"',
  'an invalid job is rejected');
select pg_temp.act_as('b_member');
select throws_ok($$ insert into public.jobs (org_id, title) values (md5('org a')::uuid, 'Trespass') $$,
  '42501', 'new row violates row-level security policy for table "jobs"',
  'a member of another organization is refused');
select pg_temp.act_as('a_member');
insert into public.jobs (org_id, title) values (pg_temp.id('org a'), 'After the failures');
select is((select job_no from public.jobs where title = 'After the failures'), 'J-8',
  'failed inserts roll their number back: no gap');

delete from public.jobs where title = 'After the failures';
insert into public.jobs (org_id, title) values (pg_temp.id('org a'), 'After a delete');
select is((select job_no from public.jobs where title = 'After a delete'), 'J-9',
  'a deleted job''s number is never reused');

select pg_temp.act_as_postgres();
select is((select xmin::text from app_private.org_counters where org_id = pg_temp.id('org a')),
  (pg_current_xact_id()::text::bigint % 4294967296)::text,
  'allocating a number updated the organization''s counter row in this transaction (its row lock '
  'makes a concurrent insert in the same organization wait until commit)');

set local role service_role;
insert into public.jobs (org_id, title) values (pg_temp.id('org a'), 'From an edge function');
reset role;
select is((select job_no from public.jobs where title = 'From an edge function'), 'J-10',
  'the service role draws from the same counter');

-- Invoices -------------------------------------------------------------------------------------
select col_is_unique('public', 'invoices', array['org_id', 'invoice_no'], 'invoice_no is unique within an organization');

select pg_temp.act_as('a_member');
insert into public.invoices (org_id, client_id, total) values (pg_temp.id('org a'), pg_temp.id('a client'), 10);
insert into public.invoices (org_id, client_id, total, invoice_no)
values (pg_temp.id('org a'), pg_temp.id('a client'), 20, 'INV-1');
select results_eq($$ select invoice_no from public.invoices order by total $$, array['INV-1001', 'INV-1002'],
  'invoices are numbered INV-1001, INV-1002, …; a number sent by the client is replaced');

select throws_ok($$ insert into public.invoices (org_id, client_id, total) values (md5('org a')::uuid, null, 5) $$,
  '23502', 'null value in column "client_id" of relation "invoices" violates not-null constraint',
  'an invoice without a client is rejected');
insert into public.invoices (org_id, client_id, total) values (pg_temp.id('org a'), pg_temp.id('a client'), 30);
select is((select invoice_no from public.invoices where total = 30), 'INV-1003',
  'the rejected invoice left no gap');

select pg_temp.act_as('b_member');
insert into public.invoices (org_id, client_id, total) values (pg_temp.id('org b'), pg_temp.id('b client'), 10);
select results_eq($$ select invoice_no from public.invoices $$, array['INV-1001'],
  'another organization''s invoices start at INV-1001');

-- The counters are out of reach ------------------------------------------------------------------
select pg_temp.act_as('a_member');
select throws_ok($$ select * from app_private.org_counters $$, '42501', 'permission denied for schema app_private',
  'members cannot read the counters');
select throws_ok($$ update app_private.org_counters set next_job_no = 1 $$, '42501', 'permission denied for schema app_private',
  'members cannot reset the counters');
set local role service_role;
select throws_ok($$ select * from app_private.org_counters $$, '42501', 'permission denied for schema app_private',
  'nor can the service role: numbers are only drawn by inserting');
reset role;

select * from finish();
rollback;
