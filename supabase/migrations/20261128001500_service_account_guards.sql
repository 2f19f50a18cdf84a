-- =============================================================================================
-- Service accounts keep the scopes they were created with, and only them.
--
-- The membership of a service account is what row-level security reads, so it must not be
-- changed behind the account list's back: otherwise an admin could widen a key's scopes or make
-- it an admin (update), let a revoked account back in (insert), and a service account's token
-- could create an organization of its own and become its owner. Deleting the membership (through
-- the revoke function or directly, by an admin through the API) revokes the account, with one
-- audit entry either way.
-- =============================================================================================

-- =============================================================================================
-- Functions
-- =============================================================================================

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
create or replace function authz.revoke_service_account(p_account_id uuid)
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
-- Grants
-- =============================================================================================

revoke all on function
  authz.mark_service_account_revoked(uuid),
  app_private.tg_organization_members__guard_service_accounts(),
  app_private.tg_organization_members__revoke_service_accounts(),
  app_private.tg_organizations__refuse_service_accounts()
  from public, anon, authenticated;
