-- =============================================================================================
-- Audit log: who changed an organization's integrations, and when. Endpoint changes (including
-- secret rotations and automatic disabling), resends and recoveries of deliveries, and the
-- creation and revocation of integration service accounts each leave one entry.
--
-- Entries are written only by security definer code (the functions and triggers that make the
-- changes, through `audit.record`), so they cannot be forged or edited by a tenant: nobody but
-- the owner (postgres) may insert, update or delete. An organization's owners and admins read
-- its entries; members, integrations and other organizations see none.
-- =============================================================================================

create schema audit;
comment on schema audit is 'Append-only audit log of integration changes. Not exposed by PostgREST.';
revoke all on schema audit from public;

-- =============================================================================================
-- Tables
-- =============================================================================================

create table audit.entries (
  id bigint generated always as identity primary key,
  org_id uuid not null references public.organizations (id) on delete cascade,
  occurred_at timestamptz not null default now(),
  actor_id uuid,
  actor_kind text not null,
  action text not null,
  target_type text not null,
  target_id text not null,
  details jsonb not null default '{}',
  constraint entries_actor_kind_known check (actor_kind in ('user', 'platform', 'system')),
  constraint entries_actor_id_iff_user check ((actor_kind = 'user') = (actor_id is not null)),
  constraint entries_action_format check (action ~ '^[a-z_]+\.[a-z_]+$'),
  constraint entries_details_object check (jsonb_typeof(details) = 'object')
);
comment on table audit.entries is 'One row per change to an organization''s integrations: actor, action, target, time.';
comment on column audit.entries.actor_id is 'The user (auth.users id) who made the change; null for the platform or the system.';
comment on column audit.entries.actor_kind is 'user: a signed-in person or service account; platform: the service role; system: the database itself (e.g. the dispatcher disabling a failing endpoint).';
comment on column audit.entries.action is '<target>.<verb>, e.g. endpoint.created, endpoint.secret_rotated, delivery.resent, service_account.revoked.';
-- No foreign key on actor_id: the log outlives the users it names.

-- =============================================================================================
-- Indexes
-- =============================================================================================

-- The admin API lists an organization's entries newest first with a keyset cursor on id.
create index entries_org_id_id_idx on audit.entries (org_id, id desc);

-- =============================================================================================
-- Functions
-- =============================================================================================

-- Appends an entry, attributing it to whoever the request says is acting: a user (JWT `sub`),
-- the platform (the service role key, or a direct connection without a JWT, as the dispatcher
-- and pg_cron use), or `p_actor_kind` when the caller knows better (triggers pass 'system' for
-- changes the database makes on its own).
create function audit.record(
  p_org_id uuid,
  p_action text,
  p_target_type text,
  p_target_id text,
  p_details jsonb default '{}',
  p_actor_kind text default null
)
returns void
language sql volatile security definer
set search_path = ''
as $$
  insert into audit.entries (org_id, actor_id, actor_kind, action, target_type, target_id, details)
  select p_org_id,
         case when v.kind = 'user' then auth.uid() end,
         v.kind,
         p_action, p_target_type, p_target_id, coalesce(p_details, '{}')
    from (select coalesce(p_actor_kind, case when auth.uid() is not null then 'user' else 'platform' end) as kind) v
$$;
comment on function audit.record(uuid, text, text, text, jsonb, text) is
  'Appends an audit entry attributed to the current request''s user, the platform, or the system.';

-- Entries are history: nobody edits them, not even the platform. Deletes are left to grants
-- (nobody but the owner has one) because deleting an organization must take its log with it
-- through the foreign key's cascade, and a delete trigger would block that too.
create function audit.tg_entries__refuse_changes()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  raise exception 'audit entries cannot be changed or deleted' using errcode = '42501';
end
$$;

create trigger _100_refuse_updates
  before update on audit.entries
  for each row execute function audit.tg_entries__refuse_changes();

-- =============================================================================================
-- Row-level security
-- =============================================================================================

alter table audit.entries enable row level security;
alter table audit.entries force row level security;

create policy "Audit entries are visible to owners and admins"
  on audit.entries for select to authenticated
  using (org_id = any (array(select authz.org_ids_with_role('owner', 'admin'))));

-- =============================================================================================
-- Grants
-- =============================================================================================

grant usage on schema audit to authenticated, service_role;
revoke all on all tables in schema audit from public, anon, authenticated, service_role;
revoke all on all functions in schema audit from public, anon, authenticated, service_role;
grant select on table audit.entries to authenticated, service_role;
