-- =============================================================================================
-- Integration service accounts: least-privilege credentials for an organization's integrators.
--
-- An account is a user of its own (an auth.users row with no email or password, so it can never
-- sign in through Auth) with the `integration` role and explicit scopes in
-- organization_members. Its credential is an API key (`cjh_sk_` + 43 base64url characters, 256
-- random bits), shown once and stored only as its SHA-256. The webhook-admin function exchanges a
-- key for a 15-minute JWT whose `sub` is the account, signed with a key the project trusts (Vault
-- `service_account_signing_key`, or the legacy `jwt_secret`). From then on the account is an ordinary `authenticated` caller and the existing
-- row-level security, which reads organization_members on every statement, holds it to its
-- scopes on every path: PostgREST, functions acting as the caller, Realtime.
--
-- Revoking deletes the membership, so tokens already issued stop working at once: every policy
-- helper finds no membership for their `sub`. The account row stays, marked revoked, for the
-- audit trail. The membership is otherwise fixed: an admin cannot widen a key's scopes or make it
-- an admin, a revoked account cannot be let back in, and a service account cannot create an
-- organization of its own; removing the membership directly (an admin through the API) revokes.
--
-- Why not PostgREST's db-pre-request reading the key from a header: GET requests run in read-only
-- transactions, so it could not record last_used_at, and switching a request's role from a
-- header is a larger attack surface than a short-lived token PostgREST already verifies.
-- =============================================================================================

-- =============================================================================================
-- Tables
-- =============================================================================================

create table authz.service_accounts (
  id uuid primary key references auth.users (id) on delete cascade,
  org_id uuid not null references public.organizations (id) on delete cascade,
  name text not null,
  scopes text[] not null,
  key_prefix text not null,
  key_hash bytea not null,
  created_by uuid references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  last_used_at timestamptz,
  revoked_at timestamptz,
  revoked_by uuid references auth.users (id) on delete set null,
  constraint service_accounts_key_hash_key unique (key_hash),
  constraint service_accounts_name_length check (length(btrim(name)) between 1 and 100),
  constraint service_accounts_scopes_present check (cardinality(scopes) >= 1),
  constraint service_accounts_key_hash_sha256 check (octet_length(key_hash) = 32),
  constraint service_accounts_revoked_by_only_if_revoked check (revoked_at is not null or revoked_by is null)
);
comment on table authz.service_accounts is
  'Integration service accounts: one auth user each, holding the integration role with explicit scopes.';
comment on column authz.service_accounts.scopes is 'The scopes granted at creation, kept for display after revocation.';
comment on column authz.service_accounts.key_prefix is 'The first characters of the API key, so admins can tell keys apart.';
comment on column authz.service_accounts.key_hash is 'SHA-256 of the API key; the key itself is never stored.';
comment on column authz.service_accounts.last_used_at is 'When the key was last exchanged for a token.';

-- =============================================================================================
-- Indexes
-- =============================================================================================

create index service_accounts_org_id_idx on authz.service_accounts (org_id);
create index service_accounts_created_by_idx on authz.service_accounts (created_by);
create index service_accounts_revoked_by_idx on authz.service_accounts (revoked_by);

-- =============================================================================================
-- Functions
-- =============================================================================================

-- The scope catalog in one place: the check constraint on organization_members lists the same
-- scopes, and a pgTAP test keeps the two equal (and equal to _shared/service-accounts.ts).
-- Security definer like every authz function (a schema-wide rule the tests check), although it
-- reads nothing.
create function authz.scope_catalog()
returns setof text
language sql immutable security definer
set search_path = ''
as $$
  select area || ':' || access
    from unnest(array['jobs', 'clients', 'properties', 'estimates', 'invoices', 'payments', 'inspections'])
           with ordinality as a (area, area_order)
   cross join unnest(array['read', 'write']) with ordinality as k (access, access_order)
   order by area_order, access_order
$$;
comment on function authz.scope_catalog() is 'Every scope an integration service account can hold, in display order.';

create function authz.api_key_hash(p_api_key text)
returns bytea
language sql immutable security definer
set search_path = ''
as $$
  select extensions.digest(convert_to(p_api_key, 'utf8'), 'sha256')
$$;

-- Creates an account and returns its API key, which is shown only here.
create function authz.create_service_account(p_org_id uuid, p_name text, p_scopes text[])
returns table (account_id uuid, api_key text)
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_account_id uuid := gen_random_uuid();
  v_key text := 'cjh_sk_' || rtrim(translate(encode(extensions.gen_random_bytes(32), 'base64'), '+/', '-_'), '=');
  v_name text := btrim(coalesce(p_name, ''));
  v_scopes text[] := array(select distinct s from unnest(coalesce(p_scopes, '{}')) as s order by s);
  v_unknown text;
begin
  perform authz.require_org_admin(p_org_id, 'service accounts');
  if length(v_name) not between 1 and 100 then
    raise exception 'the name must be 1 to 100 characters' using errcode = '22023', column = 'name';
  end if;
  if cardinality(v_scopes) = 0 then
    raise exception 'a service account needs at least one scope' using errcode = '22023', column = 'scopes';
  end if;
  select s into v_unknown from unnest(v_scopes) as s where s not in (select authz.scope_catalog()) limit 1;
  if v_unknown is not null then
    raise exception 'unknown scope: %', v_unknown using errcode = '22023', column = 'scopes';
  end if;

  -- instance_id as Auth writes it for every user: the dashboard lists users by it.
  insert into auth.users (instance_id, id, aud, role, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
  values ('00000000-0000-0000-0000-000000000000', v_account_id, 'authenticated', 'authenticated',
          jsonb_build_object('provider', 'service_account', 'providers', jsonb_build_array('service_account'),
                             'org_id', p_org_id),
          jsonb_build_object('name', v_name), now(), now());
  insert into public.organization_members (org_id, user_id, role, scopes)
  values (p_org_id, v_account_id, 'integration', v_scopes);
  insert into authz.service_accounts (id, org_id, name, scopes, key_prefix, key_hash, created_by)
  values (v_account_id, p_org_id, v_name, v_scopes, left(v_key, 12), authz.api_key_hash(v_key), auth.uid());

  perform audit.record(p_org_id, 'service_account.created', 'service_account', v_account_id::text,
                       jsonb_build_object('name', v_name, 'scopes', v_scopes));
  return query select v_account_id, v_key;
end
$$;
comment on function authz.create_service_account(uuid, text, text[]) is
  'Creates an integration service account (owners/admins) and returns its API key once.';

-- Records a revocation once: revoked_at/by and the audit entry, attributed to the caller.
create function authz.mark_service_account_revoked(p_account_id uuid)
returns void
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_account authz.service_accounts;
begin
  update authz.service_accounts s
     set revoked_at = now(), revoked_by = auth.uid()
   where s.id = p_account_id
     and s.revoked_at is null
  returning s.* into v_account;
  if found then
    perform audit.record(v_account.org_id, 'service_account.revoked', 'service_account', p_account_id::text,
                         jsonb_build_object('name', v_account.name));
  end if;
end
$$;
comment on function authz.mark_service_account_revoked(uuid) is
  'Marks a service account revoked and audits it, once; a no-op for an account already revoked.';

-- Revoking is deleting the membership; the trigger below records it.
create function authz.revoke_service_account(p_account_id uuid)
returns void
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_account authz.service_accounts;
begin
  select s.* into v_account from authz.service_accounts s where s.id = p_account_id for update;
  if not found then
    raise exception 'service account not found' using errcode = 'P0002';
  end if;
  perform authz.require_org_admin(v_account.org_id, 'service accounts');
  delete from public.organization_members m where m.org_id = v_account.org_id and m.user_id = p_account_id;
  -- Also when the membership was already gone (the trigger has then recorded it).
  perform authz.mark_service_account_revoked(p_account_id);
end
$$;

comment on function authz.revoke_service_account(uuid) is
  'Revokes a service account (owners/admins): its key and every token issued to it stop working at once.';

-- The key exchange's database half: the account a valid key belongs to, with its current scopes,
-- and the time of use. Unknown, malformed and revoked keys all return nothing.
create function authz.authenticate_service_account(p_api_key text)
returns table (account_id uuid, org_id uuid, scopes text[])
language sql volatile security definer
set search_path = ''
as $$
  update authz.service_accounts s
     set last_used_at = now()
    from public.organization_members m
   where s.key_hash = authz.api_key_hash(p_api_key)
     and s.revoked_at is null
     and m.org_id = s.org_id
     and m.user_id = s.id
  returning s.id, s.org_id, m.scopes
$$;
comment on function authz.authenticate_service_account(text) is
  'The service account of an API key (and records its use); nothing for unknown or revoked keys. Platform only.';

-- The membership guards: see the header.
create function app_private.tg_organization_members__guard_service_accounts()
returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
  v_account authz.service_accounts;
begin
  select s.* into v_account from authz.service_accounts s where s.id = new.user_id;
  if not found then
    -- Not a service account, or one being created (its row is written after its membership).
    return new;
  end if;
  if tg_op = 'INSERT' then
    raise exception 'a service account''s membership is created only with the account' using errcode = '42501';
  end if;
  if new.role is distinct from old.role or new.scopes is distinct from old.scopes or new.org_id <> old.org_id then
    raise exception 'a service account''s role and scopes cannot be changed; create a new account'
      using errcode = '42501';
  end if;
  return new;
end
$$;

-- Cascades (the organization or the user deleted) run at a deeper trigger level and take the
-- account row with them; they need no revocation.
create function app_private.tg_organization_members__revoke_service_accounts()
returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  if old.role = 'integration' and pg_trigger_depth() = 1 then
    perform authz.mark_service_account_revoked(old.user_id);
  end if;
  return null;
end
$$;

create function app_private.tg_organizations__refuse_service_accounts()
returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  if exists (select from authz.service_accounts s where s.id = auth.uid()) then
    raise exception 'service accounts cannot create organizations' using errcode = '42501';
  end if;
  return new;
end
$$;

-- =============================================================================================
-- Triggers
-- =============================================================================================

create trigger _200_guard_service_accounts
  before insert or update on public.organization_members
  for each row execute function app_private.tg_organization_members__guard_service_accounts();

create trigger _800_revoke_service_accounts
  after delete on public.organization_members
  for each row execute function app_private.tg_organization_members__revoke_service_accounts();

create trigger _050_refuse_service_accounts
  before insert on public.organizations
  for each row execute function app_private.tg_organizations__refuse_service_accounts();

-- =============================================================================================
-- Row-level security
-- =============================================================================================

alter table authz.service_accounts enable row level security;
alter table authz.service_accounts force row level security;

create policy "Service accounts are visible to owners and admins"
  on authz.service_accounts for select to authenticated
  using (org_id = any (array(select authz.org_ids_with_role('owner', 'admin'))));

-- =============================================================================================
-- Grants
-- =============================================================================================

revoke all on table authz.service_accounts from public, anon, authenticated, service_role;
-- Never the key hash: nothing a tenant reads leads to a key.
grant select (id, org_id, name, scopes, key_prefix, created_by, created_at, last_used_at, revoked_at, revoked_by)
  on table authz.service_accounts to authenticated, service_role;

revoke all on function
  authz.scope_catalog(),
  authz.api_key_hash(text),
  authz.create_service_account(uuid, text, text[]),
  authz.revoke_service_account(uuid),
  authz.authenticate_service_account(text),
  authz.mark_service_account_revoked(uuid),
  app_private.tg_organization_members__guard_service_accounts(),
  app_private.tg_organization_members__revoke_service_accounts(),
  app_private.tg_organizations__refuse_service_accounts()
  from public, anon, authenticated, service_role;
grant usage on schema authz to service_role;
grant execute on function
  authz.scope_catalog(),
  authz.create_service_account(uuid, text, text[]),
  authz.revoke_service_account(uuid)
  to authenticated, service_role;
grant execute on function authz.authenticate_service_account(text) to service_role;
