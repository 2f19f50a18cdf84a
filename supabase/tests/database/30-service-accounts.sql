-- Integration service accounts: who may create and revoke them, what is stored (never the key),
-- scopes enforced by row-level security for the account's own user, revocation effective at
-- once, the key check, and the audit trail.
begin;
select plan(49);

\ir _helpers.psql

select pg_temp.orgs_a_and_b();
select pg_temp.fill('org a', 'a_member');
select pg_temp.fill('org b', 'b_owner');

-- Acting as a service account, the way PostgREST runs a request with its token.
create function pg_temp.act_as_account(p_account uuid) returns void language plpgsql as $$
begin
  perform set_config('role', 'authenticated', true);
  perform set_config('request.jwt.claims', json_build_object('sub', p_account, 'role', 'authenticated')::text, true);
end
$$;

-- The catalog -------------------------------------------------------------------------------------
select is(array(select authz.scope_catalog()),
  array['jobs:read', 'jobs:write', 'clients:read', 'clients:write', 'properties:read', 'properties:write',
        'estimates:read', 'estimates:write', 'invoices:read', 'invoices:write', 'payments:read', 'payments:write',
        'inspections:read', 'inspections:write'],
  'the scope catalog lists read and write for every tenant area');
select is(array(select (regexp_matches(pg_get_constraintdef(c.oid), '''([a-z]+:[a-z]+)''', 'g'))[1]
                  from pg_constraint c where c.conname = 'organization_members_scopes_known'),
  array(select authz.scope_catalog()),
  'and is exactly what organization_members accepts');

-- Who may create ----------------------------------------------------------------------------------
select pg_temp.act_as('a_member');
select throws_ok(format($$select authz.create_service_account(%L, 'ERP', '{jobs:read}')$$, pg_temp.id('org a')), '42501',
  'only owners and admins of the organization can manage its service accounts', 'a member may not create an account');
select pg_temp.act_as('b_owner');
select throws_ok(format($$select authz.create_service_account(%L, 'ERP', '{jobs:read}')$$, pg_temp.id('org a')), '42501',
  null, 'nor may another organization''s owner');
select pg_temp.act_as_anon();
select throws_ok(format($$select authz.create_service_account(%L, 'ERP', '{jobs:read}')$$, pg_temp.id('org a')), '42501',
  null, 'nor anon');

select pg_temp.act_as('a_admin');
select throws_ok(format($$select authz.create_service_account(%L, 'ERP', '{jobs:read,jobs:delete}')$$, pg_temp.id('org a')),
  '22023', 'unknown scope: jobs:delete', 'an unknown scope is refused by name');
select throws_ok(format($$select authz.create_service_account(%L, 'ERP', '{}')$$, pg_temp.id('org a')),
  '22023', 'a service account needs at least one scope', 'so is no scope at all');
select throws_ok(format($$select authz.create_service_account(%L, '  ', '{jobs:read}')$$, pg_temp.id('org a')),
  '22023', 'the name must be 1 to 100 characters', 'and a blank name');

select a.account_id as reader, a.api_key as reader_key
  from authz.create_service_account(pg_temp.id('org a'), ' ERP sync ', '{jobs:read,jobs:read}') a \gset
select pg_temp.act_as('a_owner');
select a.account_id as writer, a.api_key as writer_key
  from authz.create_service_account(pg_temp.id('org a'), 'Dispatch tool', '{jobs:write,jobs:read}') a \gset
select pg_temp.act_as('b_owner');
select a.account_id as b_reader from authz.create_service_account(pg_temp.id('org b'), 'B reader', '{jobs:read}') a \gset

select ok(:'reader_key' ~ '^cjh_sk_[A-Za-z0-9_-]{43}$', 'the API key is cjh_sk_ and 256 random bits in base64url');
select pg_temp.act_as_postgres();
select results_eq(
  format('select name, scopes, key_prefix, created_by from authz.service_accounts where id = %L', :'reader'),
  format($$values ('ERP sync', '{jobs:read}'::text[], %L, %L::uuid)$$, left(:'reader_key', 12), pg_temp.id('a_admin')),
  'the account keeps its trimmed name, distinct scopes, the key''s prefix and its creator');
select is((select key_hash from authz.service_accounts where id = :'reader'),
  extensions.digest(:'reader_key', 'sha256'), 'the key is stored only as its SHA-256');
select ok(not exists (select from authz.service_accounts s, lateral (select s::text as row_text) r
                       where r.row_text like '%' || :'reader_key' || '%'), 'and never in clear');
select results_eq(format('select role::text, scopes from public.organization_members where user_id = %L', :'reader'),
  $$values ('integration', '{jobs:read}'::text[])$$, 'it is an integration member holding exactly its scopes');
select results_eq(format($$select raw_app_meta_data ->> 'provider', email, encrypted_password from auth.users where id = %L$$, :'reader'),
  $$values ('service_account', null::varchar, null::varchar)$$, 'its user has no email or password to sign in with');
select results_eq(format($$select instance_id, aud, role from auth.users where id = %L$$, :'reader'),
  $$values ('00000000-0000-0000-0000-000000000000'::uuid, 'authenticated'::varchar, 'authenticated'::varchar)$$,
  'its user has the instance id, audience and role Auth gives users, so the dashboard lists it');

-- Who sees the accounts -----------------------------------------------------------------------------
select pg_temp.act_as('a_owner');
select is((select count(*) from authz.service_accounts where org_id = pg_temp.id('org a')), 2::bigint, 'owners see their accounts');
select throws_ok('select key_hash from authz.service_accounts', '42501', null, 'but never the key hash');
select pg_temp.act_as('a_member');
select is((select count(*) from authz.service_accounts), 0::bigint, 'members see none');
select pg_temp.act_as('b_owner');
select is((select count(*) from authz.service_accounts where org_id = pg_temp.id('org a')), 0::bigint,
  'nor does another organization');
select pg_temp.act_as_account(:'reader');
select is((select count(*) from authz.service_accounts), 0::bigint, 'nor do the accounts themselves');

-- A jobs:read account, through row-level security ---------------------------------------------------
select pg_temp.act_as_account(:'reader');
select is((select count(*) from public.jobs where org_id = pg_temp.id('org a')), 1::bigint, 'a jobs:read account reads its jobs');
select is((select count(*) from public.jobs where org_id = pg_temp.id('org b')), 0::bigint, 'but not another organization''s');
select is((select count(*) from public.invoices), 0::bigint, 'nor any invoice');
select is((select count(*) from public.clients), 0::bigint, 'nor any client');
select throws_ok(format($$insert into public.jobs (org_id, title) values (%L, 'Injected')$$, pg_temp.id('org a')), '42501',
  'new row violates row-level security policy for table "jobs"', 'it cannot create a job');
select is(pg_temp.affected(format($$update public.jobs set title = 'Changed' where org_id = %L$$, pg_temp.id('org a'))), 0::bigint,
  'nor change one');
select is(pg_temp.affected(format('delete from public.jobs where org_id = %L', pg_temp.id('org a'))), 0::bigint, 'nor delete one');
select throws_ok(format($$select authz.create_service_account(%L, 'Escalate', '{invoices:read}')$$, pg_temp.id('org a')),
  '42501', null, 'nor create accounts');

select pg_temp.act_as_account(:'writer');
select lives_ok(format($$insert into public.jobs (org_id, title) values (%L, 'From the dispatch tool')$$, pg_temp.id('org a')),
  'a jobs:write account creates jobs');

-- The key check -------------------------------------------------------------------------------------
select pg_temp.act_as_postgres();
select results_eq(format('select account_id, org_id, scopes from authz.authenticate_service_account(%L)', :'reader_key'),
  format($$values (%L::uuid, %L::uuid, '{jobs:read}'::text[])$$, :'reader', pg_temp.id('org a')),
  'a valid key names its account, organization and scopes');
select isnt((select last_used_at from authz.service_accounts where id = :'reader'), null, 'and records its use');
select is((select count(*) from authz.authenticate_service_account('cjh_sk_' || repeat('A', 43))), 0::bigint,
  'an unknown key names nobody');
select is((select count(*) from authz.authenticate_service_account(upper(:'reader_key'))), 0::bigint,
  'keys are case-sensitive');
select ok(not has_function_privilege('authenticated', 'authz.authenticate_service_account(text)', 'execute'),
  'only the platform may check keys');

-- Revocation ----------------------------------------------------------------------------------------
select pg_temp.act_as('a_member');
select throws_ok(format('select authz.revoke_service_account(%L)', :'reader'), '42501', null, 'a member may not revoke');
select pg_temp.act_as('b_owner');
select throws_ok(format('select authz.revoke_service_account(%L)', :'reader'), '42501', null, 'nor another organization');
select throws_ok(format('select authz.revoke_service_account(%L)', gen_random_uuid()), 'P0002', 'service account not found',
  'an unknown account is not found');
select pg_temp.act_as('a_admin');
select lives_ok(format('select authz.revoke_service_account(%L)', :'reader'), 'an admin revokes the account');
select lives_ok(format('select authz.revoke_service_account(%L)', :'reader'), 'and revoking again is harmless');
select pg_temp.act_as_account(:'reader');
select is((select count(*) from public.jobs), 0::bigint, 'a revoked account reads nothing at once, whatever its token');
select pg_temp.act_as_postgres();
select is((select count(*) from authz.authenticate_service_account(:'reader_key')), 0::bigint, 'and its key names nobody');
select results_eq(format('select revoked_at is not null, revoked_by from authz.service_accounts where id = %L', :'reader'),
  format('values (true, %L::uuid)', pg_temp.id('a_admin')), 'the account stays listed, revoked, with who revoked it');

-- Guards: an account keeps the membership it was created with ---------------------------------------
select pg_temp.act_as_postgres();
select throws_ok(format($$update public.organization_members set scopes = '{jobs:read,invoices:read}' where user_id = %L$$, :'writer'),
  '42501', 'a service account''s role and scopes cannot be changed; create a new account',
  'nobody widens an account''s scopes, not even the tables'' owner');
select throws_ok(format($$update public.organization_members set role = 'admin', scopes = '{}' where user_id = %L$$, :'writer'),
  '42501', null, 'nor makes it an admin');
select throws_ok(format($$insert into public.organization_members (org_id, user_id, role, scopes) values (%L, %L, 'integration', '{jobs:read}')$$,
                        pg_temp.id('org a'), :'reader'),
  '42501', 'a service account''s membership is created only with the account', 'a revoked account cannot be let back in');
select pg_temp.act_as_account(:'writer');
select throws_ok($$select public.create_organization('Escape', 'escape-org')$$, '42501',
  'service accounts cannot create organizations', 'a service account cannot start an organization of its own');
select pg_temp.act_as('a_owner');
select is(pg_temp.affected(format('delete from public.organization_members where user_id = %L', :'writer')), 1::bigint,
  'an owner may remove an account''s membership directly');
select pg_temp.act_as_postgres();
select results_eq(
  format($$select s.revoked_at is not null, s.revoked_by, (select count(*) from audit.entries a
            where a.action = 'service_account.revoked' and a.target_id = s.id::text)
            from authz.service_accounts s where s.id = %L$$, :'writer'),
  format('values (true, %L::uuid, 1::bigint)', pg_temp.id('a_owner')),
  'which revokes the account, with one audit entry');

-- Audit -------------------------------------------------------------------------------------------
select results_eq(
  format($$select action, actor_id, details from audit.entries where target_id = %L order by id$$, :'reader'),
  format($$values ('service_account.created', %L::uuid, '{"name": "ERP sync", "scopes": ["jobs:read"]}'::jsonb),
                  ('service_account.revoked', %L::uuid, '{"name": "ERP sync"}'::jsonb)$$,
         pg_temp.id('a_admin'), pg_temp.id('a_admin')),
  'creation and one revocation are audited with their actor');

select * from finish();
rollback;
