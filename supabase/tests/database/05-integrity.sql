-- Data integrity that no role can get around: immutable keys and numbers, links that never cross
-- organizations, assignees that belong to the organization, timestamps, inspection submission,
-- coordinates, and tenant deletion.
begin;
select plan(40);

\ir _helpers.psql

-- Fixture: two organizations with a row in every tenant table.
insert into auth.users (id, email, aud, role)
select pg_temp.id(n), n || '@test.local', 'authenticated', 'authenticated'
  from unnest(array['a_owner', 'a_member', 'b_owner', 'nobody']) as n;

insert into public.organizations (id, name, slug) values
  (pg_temp.id('org a'), 'Org A', 'test-org-a'),
  (pg_temp.id('org b'), 'Org B', 'test-org-b');

insert into public.organization_members (org_id, user_id, role) values
  (pg_temp.id('org a'), pg_temp.id('a_owner'), 'owner'),
  (pg_temp.id('org a'), pg_temp.id('a_member'), 'member'),
  (pg_temp.id('org b'), pg_temp.id('b_owner'), 'owner');

select pg_temp.fill('org a', 'a_member');
select pg_temp.fill('org b', 'b_owner');

-- Immutable columns --------------------------------------------------------------------------------
select pg_temp.act_as('a_owner');
select throws_ok(format('update public.%I set org_id = %L where org_id = %L', t, pg_temp.id('org b'), pg_temp.id('org a')),
  '23514', 'org_id cannot be changed', format('%s: org_id cannot be changed', t))
  from unnest(array['clients', 'properties', 'jobs', 'estimates', 'invoices', 'inspections']) as t;
select throws_ok($$ update public.jobs set job_no = 'J-999' $$, '23514', 'job_no cannot be changed',
  'job_no cannot be changed');
select throws_ok($$ update public.invoices set invoice_no = 'INV-9999' $$, '23514', 'invoice_no cannot be changed',
  'invoice_no cannot be changed');
select throws_ok($$ update public.jobs set id = gen_random_uuid() $$, '23514', 'id cannot be changed',
  'a row''s id cannot be changed');

select pg_temp.act_as_postgres();
select throws_ok($$ update public.jobs set job_no = 'J-999' where org_id = md5('org a')::uuid $$,
  '23514', 'job_no cannot be changed', 'not even the platform changes a job_no');
select throws_ok($$ update public.payments set amount = 1 where org_id = md5('org a')::uuid $$,
  '23514', 'payments are immutable', 'not even the platform changes a payment');
select throws_ok($$ delete from public.payments where org_id = md5('org a')::uuid $$,
  '23514', 'payments are immutable', 'not even the platform deletes a single payment');

-- Timestamps ---------------------------------------------------------------------------------------
insert into public.clients (id, org_id, name, created_at, updated_at)
values (pg_temp.id('old client'), pg_temp.id('org a'), 'Old client', '2000-01-01', '2000-01-01');
update public.clients set name = name where id = pg_temp.id('old client');
select is((select updated_at from public.clients where id = pg_temp.id('old client')), '2000-01-01'::timestamptz,
  'a no-op update leaves updated_at alone');
update public.clients set created_at = '1999-01-01' where id = pg_temp.id('old client');
select is((select created_at from public.clients where id = pg_temp.id('old client')), '2000-01-01'::timestamptz,
  'created_at cannot be rewritten');
update public.clients set name = 'Renamed client', updated_at = '1999-01-01' where id = pg_temp.id('old client');
select is((select updated_at from public.clients where id = pg_temp.id('old client')), now(),
  'a real change sets updated_at to the time of the change, whatever the statement sent');

-- Cross-organization links -----------------------------------------------------------------------
select throws_ok(format('insert into public.jobs (org_id, title, property_id) values (%L, ''x'', %L)',
                        pg_temp.id('org a'), pg_temp.id('org b property')),
  '23503', 'insert or update on table "jobs" violates foreign key constraint "jobs_property_fkey"',
  'a job cannot be at another organization''s property');
select throws_ok(format('insert into public.jobs (org_id, title, client_id) values (%L, ''x'', %L)',
                        pg_temp.id('org a'), pg_temp.id('org b client')),
  '23503', 'insert or update on table "jobs" violates foreign key constraint "jobs_client_fkey"',
  'a job cannot be for another organization''s client');
select throws_ok(format('update public.jobs set property_id = %L where id = %L',
                        pg_temp.id('org b property'), pg_temp.id('org a job')),
  '23503', 'insert or update on table "jobs" violates foreign key constraint "jobs_property_fkey"',
  'a job cannot be moved to another organization''s property');
select throws_ok(format('update public.jobs set assigned_to = %L where id = %L',
                        pg_temp.id('b_owner'), pg_temp.id('org a job')),
  '23503', 'insert or update on table "jobs" violates foreign key constraint "jobs_assignee_fkey"',
  'a job cannot be assigned to a member of another organization');
select throws_ok(format('update public.jobs set assigned_to = %L where id = %L',
                        pg_temp.id('nobody'), pg_temp.id('org a job')),
  '23503', 'insert or update on table "jobs" violates foreign key constraint "jobs_assignee_fkey"',
  'a job cannot be assigned to a user outside the organization');
select throws_ok(format('insert into public.properties (org_id, client_id, address1) values (%L, %L, ''x'')',
                        pg_temp.id('org a'), pg_temp.id('org b client')),
  '23503', 'insert or update on table "properties" violates foreign key constraint "properties_client_fkey"',
  'a property cannot belong to another organization''s client');
select throws_ok(format('insert into public.estimates (org_id, client_id, job_id) values (%L, %L, %L)',
                        pg_temp.id('org a'), pg_temp.id('org a client'), pg_temp.id('org b job')),
  '23503', 'insert or update on table "estimates" violates foreign key constraint "estimates_job_fkey"',
  'an estimate cannot be for another organization''s job');
select throws_ok(format('insert into public.invoices (org_id, client_id, total) values (%L, %L, 1)',
                        pg_temp.id('org a'), pg_temp.id('org b client')),
  '23503', 'insert or update on table "invoices" violates foreign key constraint "invoices_client_fkey"',
  'an invoice cannot bill another organization''s client');
select throws_ok(format('insert into public.invoices (org_id, client_id, estimate_id, total) values (%L, %L, %L, 1)',
                        pg_temp.id('org a'), pg_temp.id('org a client'), pg_temp.id('org b estimate')),
  '23503', 'insert or update on table "invoices" violates foreign key constraint "invoices_estimate_fkey"',
  'an invoice cannot be for another organization''s estimate');
select throws_ok(format('insert into public.payments (org_id, invoice_id, amount, method) values (%L, %L, 1, ''cash'')',
                        pg_temp.id('org a'), pg_temp.id('org b invoice')),
  '23503', 'insert or update on table "payments" violates foreign key constraint "payments_invoice_fkey"',
  'a payment cannot be for another organization''s invoice');
select throws_ok(format('insert into public.inspections (org_id, job_id) values (%L, %L)',
                        pg_temp.id('org a'), pg_temp.id('org b job')),
  '23503', 'insert or update on table "inspections" violates foreign key constraint "inspections_job_fkey"',
  'an inspection cannot be for another organization''s job');

select pg_temp.act_as('a_owner');
select throws_ok(format('insert into public.jobs (org_id, title, property_id) values (%L, ''x'', %L)',
                        pg_temp.id('org a'), pg_temp.id('org b property')),
  '23503', 'insert or update on table "jobs" violates foreign key constraint "jobs_property_fkey"',
  'a signed-in owner cannot link a job to another organization''s property either');
select pg_temp.act_as_postgres();

-- Membership changes follow through -----------------------------------------------------------
delete from public.organization_members where org_id = pg_temp.id('org a') and user_id = pg_temp.id('a_member');
select is((select assigned_to from public.jobs where id = pg_temp.id('org a job')), null::uuid,
  'removing a member unassigns their jobs');

-- Inspections --------------------------------------------------------------------------------------
select is((select submitted_at from public.inspections where id = pg_temp.id('org a inspection')), null::timestamptz,
  'a draft inspection has no submitted_at');
update public.inspections set status = 'submitted', answers = '{"valve": "ok"}', submitted_at = '2000-01-01'
 where id = pg_temp.id('org a inspection');
select is((select submitted_at from public.inspections where id = pg_temp.id('org a inspection')), now(),
  'submitting stamps submitted_at with the server''s time');
select throws_ok(format('update public.inspections set answers = ''{"valve": "leaking"}'' where id = %L',
                        pg_temp.id('org a inspection')),
  '23514', 'a submitted inspection cannot be changed', 'a submitted inspection cannot be changed');
select throws_ok(format('update public.inspections set status = ''draft'' where id = %L', pg_temp.id('org a inspection')),
  '23514', 'a submitted inspection cannot be changed', 'a submitted inspection cannot go back to draft');
select throws_ok(format('insert into public.inspections (org_id, job_id, answers) values (%L, %L, ''[1, 2]'')',
                        pg_temp.id('org a'), pg_temp.id('org a job')),
  '23514', 'new row for relation "inspections" violates check constraint "inspections_answers_object"',
  'inspection answers are a JSON object');

-- Properties ---------------------------------------------------------------------------------------
select throws_ok(format('update public.properties set lat = 91, lng = 0 where id = %L', pg_temp.id('org a property')),
  '23514', 'new row for relation "properties" violates check constraint "properties_lat_range"',
  'latitude stays within ±90');
select throws_ok(format('update public.properties set lat = 0, lng = 180.5 where id = %L', pg_temp.id('org a property')),
  '23514', 'new row for relation "properties" violates check constraint "properties_lng_range"',
  'longitude stays within ±180');
select throws_ok(format('update public.properties set lat = 30.26 where id = %L', pg_temp.id('org a property')),
  '23514', 'new row for relation "properties" violates check constraint "properties_coordinates_paired"',
  'lat and lng are set together');
select throws_ok(format('update public.properties set country = ''usa'' where id = %L', pg_temp.id('org a property')),
  '23514', 'new row for relation "properties" violates check constraint "properties_country_iso"',
  'country is an ISO 3166-1 alpha-2 code');
select lives_ok(format('update public.properties set lat = 30.262481, lng = -97.727936, geocoded_at = now(), geocode_source = ''mapbox'' where id = %L',
                       pg_temp.id('org a property')),
  'a geocoding result is stored on the property');

-- Deleting a tenant --------------------------------------------------------------------------------
delete from public.organizations where id = pg_temp.id('org b');
select is((select count(*) from public.clients where org_id = pg_temp.id('org b'))
        + (select count(*) from public.properties where org_id = pg_temp.id('org b'))
        + (select count(*) from public.jobs where org_id = pg_temp.id('org b'))
        + (select count(*) from public.estimates where org_id = pg_temp.id('org b'))
        + (select count(*) from public.invoices where org_id = pg_temp.id('org b'))
        + (select count(*) from public.payments where org_id = pg_temp.id('org b'))
        + (select count(*) from public.inspections where org_id = pg_temp.id('org b'))
        + (select count(*) from public.organization_members where org_id = pg_temp.id('org b'))
        + (select count(*) from app_private.org_counters where org_id = pg_temp.id('org b')),
  0::bigint, 'deleting an organization (a platform operation) removes all of its data, payments included');

delete from auth.users where id = pg_temp.id('a_owner');
select is((select count(*) from public.organization_members where user_id = pg_temp.id('a_owner')), 0::bigint,
  'deleting a user account removes their memberships, even as last owner');

select * from finish();
rollback;
