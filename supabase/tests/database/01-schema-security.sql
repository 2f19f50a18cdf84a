-- The tenant schema's security posture: RLS enabled and forced on every table in public, the
-- expected policies (all `to authenticated`), exact table privileges per API role, helpers that
-- are security definer with an empty search_path, and nothing executable or visible for anon.
begin;
select plan(69);

-- Tables and RLS ---------------------------------------------------------------------------------
select tables_are('public', array[
  'organizations', 'organization_members', 'clients', 'properties', 'jobs', 'estimates',
  'invoices', 'payments', 'inspections'
], 'public holds exactly the tenant tables');

select ok(c.relrowsecurity and c.relforcerowsecurity, format('RLS is enabled and forced on public.%I', c.relname))
  from pg_class c
 where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
 order by c.relname;

-- A view escapes RLS unless it runs as its caller (security_invoker): then its tables' policies apply.
select is(
  (select array_agg(c.relname order by c.relname) from pg_class c
    where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p', 'v', 'm', 'f')
      and not (c.relrowsecurity and c.relforcerowsecurity)
      and not (c.relkind = 'v' and 'security_invoker=true' = any (coalesce(c.reloptions, '{}')))),
  null,
  'no relation in public (table, view, foreign table) escapes forced RLS');

select ok(c.relrowsecurity and c.relforcerowsecurity, format('RLS is enabled and forced on webhooks.%I', c.relname))
  from pg_class c
 where c.relnamespace = 'webhooks'::regnamespace and c.relkind in ('r', 'p')
 order by c.relname;

-- Policies -------------------------------------------------------------------------------------
select policies_are('public', 'organizations', array[
  'Organizations are visible to their members',
  'Organizations can be created by signed-in users',
  'Organizations can be updated by their owners'
]);
select policies_are('public', 'organization_members', array[
  'Members are visible to their organization''s people and to themselves',
  'Members can be added by owners, and by admins except as owners',
  'Members can be changed by owners, and by admins except owners',
  'Members can be removed by owners, by admins except owners, or leave'
]);
select policies_are('public', 'clients', array[
  'Clients are visible to members with clients:read',
  'Clients can be created by members with clients:write',
  'Clients can be updated by members with clients:write',
  'Clients can be deleted by members with clients:write'
]);
select policies_are('public', 'properties', array[
  'Properties are visible to members with properties:read',
  'Properties can be created by members with properties:write',
  'Properties can be updated by members with properties:write',
  'Properties can be deleted by members with properties:write'
]);
select policies_are('public', 'jobs', array[
  'Jobs are visible to members with jobs:read',
  'Jobs can be created by members with jobs:write',
  'Jobs can be updated by members with jobs:write',
  'Jobs can be deleted by members with jobs:write'
]);
select policies_are('public', 'estimates', array[
  'Estimates are visible to members with estimates:read',
  'Estimates can be created by members with estimates:write',
  'Estimates can be updated by members with estimates:write',
  'Estimates can be deleted by members with estimates:write'
]);
select policies_are('public', 'invoices', array[
  'Invoices are visible to members with invoices:read',
  'Invoices can be created by members with invoices:write',
  'Invoices can be updated by members with invoices:write',
  'Invoices can be deleted by owners and admins'
]);
select policies_are('public', 'payments', array[
  'Payments are visible to members with payments:read',
  'Payments can be recorded by members with payments:write'
]);
select policies_are('public', 'inspections', array[
  'Inspections are visible to members with inspections:read',
  'Inspections can be created by members with inspections:write',
  'Inspections can be updated by members with inspections:write',
  'Inspections can be deleted by members with inspections:write'
]);

select is(
  (select array_agg(p.tablename || ': ' || p.policyname) from pg_policies p
    where p.schemaname = 'public' and p.roles <> '{authenticated}'),
  null,
  'every policy in public applies to authenticated only');

select is(
  (select array_agg(p.tablename || ': ' || p.policyname) from pg_policies p
    where p.schemaname = 'public' and (p.permissive <> 'PERMISSIVE' or p.cmd = 'ALL')),
  null,
  'policies are permissive and name one command each');

-- Table privileges -----------------------------------------------------------------------------
select table_privs_are('public', t, 'anon', array[]::text[], format('anon has no privilege on public.%I', t))
  from unnest(array['organizations', 'organization_members', 'clients', 'properties', 'jobs', 'estimates',
                    'invoices', 'payments', 'inspections']) as t;

select table_privs_are('public', 'organizations', 'authenticated', array['SELECT', 'INSERT', 'UPDATE'],
  'authenticated may select, insert and update organizations (deleting a tenant is a platform operation)');
select table_privs_are('public', 'payments', 'authenticated', array['SELECT', 'INSERT'],
  'authenticated may only select and insert payments (an append-only ledger)');
select table_privs_are('public', 'organization_members', 'authenticated', array['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  'authenticated may select, insert, update and delete public.organization_members (RLS decides which rows)');
-- The tables that publish webhook events: every column but event_sequence, which the database assigns.
select table_privs_are('public', t, 'authenticated', array['SELECT', 'UPDATE', 'DELETE'],
  format('authenticated may select, update and delete public.%I (RLS decides which rows)', t))
  from unnest(array['clients', 'properties', 'jobs', 'estimates', 'invoices', 'inspections']) as t;
select ok(
  (select bool_and(has_column_privilege('authenticated', format('public.%I', c.table_name), c.column_name, 'INSERT')
                   = (c.column_name <> 'event_sequence'))
     from information_schema.columns c
    where c.table_schema = 'public'
      and c.table_name in ('clients', 'properties', 'jobs', 'estimates', 'invoices', 'inspections')),
  'authenticated may insert every column of the publishing tables except event_sequence');

select ok(
  (select bool_and(has_table_privilege('service_role', c.oid, 'SELECT, INSERT, UPDATE, DELETE'))
     from pg_class c where c.relnamespace = 'public'::regnamespace and c.relkind = 'r'),
  'service_role may read and write every table in public');

select is(
  (select array_agg(c.relname) from pg_class c
    where c.relnamespace = 'public'::regnamespace and c.relkind = 'r'
      and has_table_privilege('public', c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')),
  null,
  'PUBLIC holds no privilege on any table in public');

-- Private schemas ------------------------------------------------------------------------------
select schema_privs_are('authz', 'authenticated', array['USAGE'], 'authenticated may use the authz helpers');
select schema_privs_are('authz', 'anon', array[]::text[], 'anon cannot reach authz');
select schema_privs_are('app_private', 'authenticated', array[]::text[], 'authenticated cannot reach app_private');
select schema_privs_are('app_private', 'anon', array[]::text[], 'anon cannot reach app_private');
select table_privs_are('app_private', 'org_counters', 'authenticated', array[]::text[],
  'authenticated has no privilege on the document counters');

-- Functions ------------------------------------------------------------------------------------
select is(
  (select array_agg(p.oid::regprocedure::text) from pg_proc p
    where p.pronamespace = 'authz'::regnamespace
      and not (p.prosecdef and p.proconfig @> array['search_path=""'])),
  null,
  'every authz helper is security definer with an empty search_path');

select is(
  (select array_agg(p.oid::regprocedure::text) from pg_proc p
    where p.pronamespace in ('public'::regnamespace, 'authz'::regnamespace, 'app_private'::regnamespace)
      and not coalesce(p.proconfig @> array['search_path=""'], false)),
  null,
  'every function of the project pins search_path to empty');

select is(
  (select array_agg(p.oid::regprocedure::text) from pg_proc p
    where p.pronamespace in ('public'::regnamespace, 'authz'::regnamespace, 'app_private'::regnamespace)
      and (has_function_privilege('anon', p.oid, 'EXECUTE') or has_function_privilege('public', p.oid, 'EXECUTE'))),
  null,
  'anon and PUBLIC can execute no function of the project');

select is(
  (select array_agg(p.oid::regprocedure::text) from pg_proc p
    where p.pronamespace = 'app_private'::regnamespace
      and has_function_privilege('authenticated', p.oid, 'EXECUTE')),
  null,
  'authenticated cannot call trigger functions directly');

select is(
  (select array_agg(p.oid::regprocedure::text order by p.oid::regprocedure::text) from pg_proc p
    where p.pronamespace = 'authz'::regnamespace and has_function_privilege('authenticated', p.oid, 'EXECUTE')),
  array[
    'authz.create_service_account(uuid,text,text[])',
    'authz.has_org_role(uuid,org_role[])', 'authz.has_scope(uuid,text)', 'authz.is_org_member(uuid)',
    'authz.member_org_ids()', 'authz.org_ids_with_role(org_role[])', 'authz.org_ids_with_scope(text)',
    'authz.require_org_admin(uuid,text)', 'authz.revoke_service_account(uuid)', 'authz.scope_catalog()'
  ],
  'authenticated may execute exactly the authz helpers and the service account functions');

select ok(
  (select not p.prosecdef and has_function_privilege('authenticated', p.oid, 'EXECUTE')
     from pg_proc p where p.oid = 'public.create_organization(text, text)'::regprocedure),
  'create_organization runs as the caller and is callable by authenticated');

-- Triggers follow the naming convention -------------------------------------------------------
select is(
  (select array_agg(c.relname || '.' || t.tgname) from pg_trigger t join pg_class c on c.oid = t.tgrelid
    where c.relnamespace = 'public'::regnamespace and not t.tgisinternal and t.tgname !~ '^_[0-9]{3}_[a-z_]+$'),
  null,
  'every trigger in public is named _NNN_action');

select is(
  (select array_agg(p.proname::text) from pg_proc p
    where p.pronamespace = 'app_private'::regnamespace and p.prorettype = 'trigger'::regtype
      and p.proname !~ '^tg(_[a-z][a-z_]*)?__[a-z][a-z_]*$'),
  null,
  'every trigger function is named tg_<table>__<action> (tg__<action> when shared by tables)');

select * from finish();
rollback;
