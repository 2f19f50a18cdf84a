-- Organizations and membership: who sees which organization and its members, who may create,
-- rename and manage them, that nobody below owner can make anyone an owner, that an organization
-- keeps an owner, and the scope catalog.
begin;
select plan(42);

\ir _helpers.psql

-- Fixture: org A (owner, admin, member, an integration), org B (owner, member), a user in no org.
insert into auth.users (id, email, aud, role)
select pg_temp.id(n), n || '@test.local', 'authenticated', 'authenticated'
  from unnest(array['a_owner', 'a_admin', 'a_member', 'a_jobs_reader', 'b_owner', 'b_member', 'nobody', 'newcomer']) as n;

insert into public.organizations (id, name, slug) values
  (pg_temp.id('org a'), 'Org A', 'test-org-a'),
  (pg_temp.id('org b'), 'Org B', 'test-org-b');

insert into public.organization_members (org_id, user_id, role, scopes) values
  (pg_temp.id('org a'), pg_temp.id('a_owner'), 'owner', '{}'),
  (pg_temp.id('org a'), pg_temp.id('a_admin'), 'admin', '{}'),
  (pg_temp.id('org a'), pg_temp.id('a_member'), 'member', '{}'),
  (pg_temp.id('org a'), pg_temp.id('a_jobs_reader'), 'integration', '{jobs:read}'),
  (pg_temp.id('org b'), pg_temp.id('b_owner'), 'owner', '{}'),
  (pg_temp.id('org b'), pg_temp.id('b_member'), 'member', '{}');

-- Seeing organizations -------------------------------------------------------------------------
select pg_temp.act_as('a_member');
select results_eq($$ select slug from public.organizations where slug like 'test-%' $$,
  array['test-org-a'], 'a member sees their organization and no other');

select pg_temp.act_as('a_jobs_reader');
select results_eq($$ select slug from public.organizations where slug like 'test-%' $$,
  array['test-org-a'], 'an integration sees its organization');

select pg_temp.act_as('nobody');
select is_empty($$ select * from public.organizations $$, 'a user in no organization sees no organization');

select pg_temp.act_as_anon();
select throws_ok($$ select * from public.organizations $$, '42501', 'permission denied for table organizations',
  'anon cannot read organizations');

-- Creating organizations ---------------------------------------------------------------------------
select pg_temp.act_as('nobody');
select is((public.create_organization('Nobody''s Drains', 'test-nobodys-drains')).slug, 'test-nobodys-drains',
  'a signed-in user creates an organization and gets it back');
select results_eq(
  $$ select role::text from public.organization_members
      where org_id = (select id from public.organizations where slug = 'test-nobodys-drains') $$,
  array['owner'], 'the creator is its only member, as owner');

select lives_ok($$ insert into public.organizations (name, slug) values ('Newco', 'test-newco') $$,
  'a plain insert (return=minimal) also creates an organization');
select results_eq($$ select slug from public.organizations order by slug $$,
  array['test-newco', 'test-nobodys-drains'], 'and its creator sees both of their organizations');

select pg_temp.act_as_postgres();
select is((select next_job_no || '/' || next_invoice_no from app_private.org_counters
            where org_id = (select id from public.organizations where slug = 'test-newco')),
  '1/1001', 'a new organization starts numbering at J-1 and INV-1001');

select pg_temp.act_as_anon();
select throws_ok($$ insert into public.organizations (name, slug) values ('Anon Inc', 'test-anon') $$,
  '42501', 'permission denied for table organizations', 'anon cannot create an organization');
select throws_ok($$ select public.create_organization('Anon Inc', 'test-anon') $$,
  '42501', 'permission denied for function create_organization', 'anon cannot call create_organization');

select pg_temp.act_as('a_member');
select throws_ok($$ insert into public.organizations (name, slug) values ('Bad', 'Not A Slug') $$,
  '23514', null, 'slugs are lowercase words joined by hyphens');

-- Changing organizations -------------------------------------------------------------------------
select pg_temp.act_as('a_owner');
select is(pg_temp.affected($$ update public.organizations set name = 'Org A Renamed' where id = md5('org a')::uuid $$),
  1::bigint, 'an owner renames their organization');
select throws_ok($$ update public.organizations set id = gen_random_uuid() where id = md5('org a')::uuid $$,
  '23514', 'id cannot be changed', 'an organization''s id cannot be changed');
select throws_ok($$ delete from public.organizations where id = md5('org a')::uuid $$,
  '42501', 'permission denied for table organizations', 'not even an owner deletes an organization through the API');

select pg_temp.act_as('a_admin');
select is(pg_temp.affected($$ update public.organizations set name = 'Admin was here' where id = md5('org a')::uuid $$),
  0::bigint, 'an admin cannot rename the organization');

select pg_temp.act_as('b_owner');
select is(pg_temp.affected($$ update public.organizations set name = 'Hijacked' where id = md5('org a')::uuid $$),
  0::bigint, 'another organization''s owner cannot rename it');

-- Seeing members -----------------------------------------------------------------------------------
select pg_temp.act_as('a_member');
select is((select count(*) from public.organization_members), 4::bigint, 'a member sees all four members of org A');

select pg_temp.act_as('a_jobs_reader');
select results_eq($$ select user_id from public.organization_members $$,
  array[pg_temp.id('a_jobs_reader')], 'an integration sees only its own membership');

select pg_temp.act_as('b_member');
select is((select count(*) from public.organization_members where org_id = pg_temp.id('org a')), 0::bigint,
  'a member of org B sees none of org A''s members');

select pg_temp.act_as('newcomer');
select is_empty($$ select * from public.organization_members $$, 'a user in no organization sees no members');

-- Managing members -------------------------------------------------------------------------------
select pg_temp.act_as('a_admin');
select lives_ok($$ insert into public.organization_members (org_id, user_id, role)
                   values (md5('org a')::uuid, md5('newcomer')::uuid, 'member') $$,
  'an admin adds a member');
select lives_ok($$ update public.organization_members set role = 'integration', scopes = '{jobs:read,invoices:read}'
                    where org_id = md5('org a')::uuid and user_id = md5('newcomer')::uuid $$,
  'an admin turns a member into an integration with scopes');
select throws_ok($$ insert into public.organization_members (org_id, user_id, role)
                    values (md5('org a')::uuid, md5('nobody')::uuid, 'owner') $$,
  '42501', 'new row violates row-level security policy for table "organization_members"',
  'an admin cannot add an owner');
select throws_ok($$ update public.organization_members set role = 'owner'
                    where org_id = md5('org a')::uuid and user_id = md5('a_admin')::uuid $$,
  '42501', 'new row violates row-level security policy for table "organization_members"',
  'an admin cannot promote themselves to owner');
select is(pg_temp.affected($$ update public.organization_members set role = 'member'
                               where org_id = md5('org a')::uuid and user_id = md5('a_owner')::uuid $$),
  0::bigint, 'an admin cannot demote an owner');
select is(pg_temp.affected($$ delete from public.organization_members
                               where org_id = md5('org a')::uuid and user_id = md5('a_owner')::uuid $$),
  0::bigint, 'an admin cannot remove an owner');

select pg_temp.act_as('a_member');
select throws_ok($$ insert into public.organization_members (org_id, user_id, role)
                    values (md5('org a')::uuid, md5('nobody')::uuid, 'member') $$,
  '42501', 'new row violates row-level security policy for table "organization_members"',
  'a member cannot add members');
select is(pg_temp.affected($$ update public.organization_members set role = 'owner'
                               where org_id = md5('org a')::uuid and user_id = md5('a_member')::uuid $$),
  0::bigint, 'a member cannot promote themselves');
select is(pg_temp.affected($$ delete from public.organization_members
                               where org_id = md5('org a')::uuid and user_id = md5('a_admin')::uuid $$),
  0::bigint, 'a member cannot remove another member');

select pg_temp.act_as('b_owner');
select throws_ok($$ insert into public.organization_members (org_id, user_id, role)
                    values (md5('org a')::uuid, md5('b_owner')::uuid, 'owner') $$,
  '42501', 'new row violates row-level security policy for table "organization_members"',
  'an owner of org B cannot join org A');

select pg_temp.act_as('a_owner');
select throws_ok($$ update public.organization_members set org_id = md5('org b')::uuid
                    where org_id = md5('org a')::uuid and user_id = md5('a_member')::uuid $$,
  '23514', 'org_id cannot be changed', 'a membership cannot move to another organization');
select throws_ok($$ delete from public.organization_members
                    where org_id = md5('org a')::uuid and user_id = md5('a_owner')::uuid $$,
  '23514', 'an organization must keep at least one owner', 'the last owner cannot leave');
select throws_ok($$ update public.organization_members set role = 'admin'
                    where org_id = md5('org a')::uuid and user_id = md5('a_owner')::uuid $$,
  '23514', 'an organization must keep at least one owner', 'the last owner cannot step down');
select lives_ok($$ update public.organization_members set role = 'owner'
                   where org_id = md5('org a')::uuid and user_id = md5('a_admin')::uuid $$,
  'an owner makes an admin a co-owner');
select is(pg_temp.affected($$ update public.organization_members set role = 'admin'
                               where org_id = md5('org a')::uuid and user_id = md5('a_owner')::uuid $$),
  1::bigint, 'with a co-owner, an owner may step down');

select pg_temp.act_as('a_member');
select is(pg_temp.affected($$ delete from public.organization_members
                               where org_id = md5('org a')::uuid and user_id = md5('a_member')::uuid $$),
  1::bigint, 'a member may leave an organization');

-- Scopes -------------------------------------------------------------------------------------------
select pg_temp.act_as_postgres();
select throws_ok($$ insert into public.organization_members (org_id, user_id, role, scopes)
                    values (md5('org b')::uuid, md5('nobody')::uuid, 'integration', '{jobs:read,jobs:delete}') $$,
  '23514', 'new row for relation "organization_members" violates check constraint "organization_members_scopes_known"',
  'scopes outside the catalog are rejected');
select throws_ok($$ insert into public.organization_members (org_id, user_id, role, scopes)
                    values (md5('org b')::uuid, md5('nobody')::uuid, 'member', '{jobs:read}') $$,
  '23514', 'new row for relation "organization_members" violates check constraint "organization_members_scopes_only_for_integrations"',
  'only integrations carry scopes');

-- Helpers answer for the caller ---------------------------------------------------------------------
select pg_temp.act_as('a_jobs_reader');
select ok(authz.is_org_member(pg_temp.id('org a')) and not authz.is_org_member(pg_temp.id('org b')),
  'is_org_member: true for the caller''s organization only');
select ok(authz.has_scope(pg_temp.id('org a'), 'jobs:read') and not authz.has_scope(pg_temp.id('org a'), 'invoices:read'),
  'has_scope: an integration has exactly its scopes');
select pg_temp.act_as('a_admin');
select ok(authz.has_scope(pg_temp.id('org a'), 'invoices:write') and authz.has_org_role(pg_temp.id('org a'), 'owner', 'admin')
          and not authz.has_org_role(pg_temp.id('org b'), 'owner', 'admin', 'member'),
  'has_scope / has_org_role: people hold every scope in their organization, nothing elsewhere');

select * from finish();
rollback;
