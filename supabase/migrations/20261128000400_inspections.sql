-- =============================================================================================
-- Inspections: a checklist filled in on a job (answers as a JSON object), drafted and then
-- submitted once. Submission stamps submitted_at; a submitted inspection is a record of what was
-- found and can no longer be changed, only deleted (it also goes when its job is deleted).
-- Access: people in the organization, and integrations with inspections:read / inspections:write.
-- =============================================================================================

-- =============================================================================================
-- Types
-- =============================================================================================

create type public.inspection_status as enum ('draft', 'submitted');

-- =============================================================================================
-- Tables
-- =============================================================================================

create table public.inspections (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references public.organizations (id) on delete cascade,
  job_id uuid not null,
  status public.inspection_status not null default 'draft',
  submitted_at timestamptz,
  answers jsonb not null default '{}',
  event_sequence bigint not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint inspections_org_id_id_key unique (org_id, id),
  constraint inspections_job_fkey foreign key (org_id, job_id) references public.jobs (org_id, id) on delete cascade,
  constraint inspections_answers_object check (jsonb_typeof(answers) = 'object'),
  constraint inspections_submitted_at_iff_submitted check ((status = 'submitted') = (submitted_at is not null))
);
comment on table public.inspections is 'A checklist for a job: drafted, then submitted once.';
comment on column public.inspections.event_sequence is 'The sequence number of the latest webhook event about this row (assigned by the database).';
comment on column public.inspections.answers is 'Question key → answer, as a JSON object.';

-- =============================================================================================
-- Indexes
-- =============================================================================================

create index inspections_org_id_job_id_idx on public.inspections (org_id, job_id);

-- =============================================================================================
-- Functions
-- =============================================================================================

create function app_private.tg_inspections__track_submission()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if tg_op = 'UPDATE' and old.status = 'submitted' and new is distinct from old then
    raise exception 'a submitted inspection cannot be changed' using errcode = '23514';
  end if;
  if new.status = 'submitted' then
    -- The server's clock decides when it was submitted.
    if tg_op = 'INSERT' or old.status <> 'submitted' then
      new.submitted_at := now();
    end if;
  else
    new.submitted_at := null;
  end if;
  return new;
end
$$;

-- =============================================================================================
-- Triggers
-- =============================================================================================

create trigger _100_protect_immutable_columns
  before update on public.inspections
  for each row execute function app_private.tg__protect_immutable_columns('id', 'org_id');
create trigger _500_track_submission
  before insert or update on public.inspections
  for each row execute function app_private.tg_inspections__track_submission();
create trigger _900_set_updated_at
  before update on public.inspections
  for each row execute function app_private.tg__set_updated_at();

-- =============================================================================================
-- RLS policies
-- =============================================================================================

alter table public.inspections enable row level security;
alter table public.inspections force row level security;

create policy "Inspections are visible to members with inspections:read"
  on public.inspections for select to authenticated
  using (org_id = any (array(select authz.org_ids_with_scope('inspections:read'))));
create policy "Inspections can be created by members with inspections:write"
  on public.inspections for insert to authenticated
  with check (org_id = any (array(select authz.org_ids_with_scope('inspections:write'))));
create policy "Inspections can be updated by members with inspections:write"
  on public.inspections for update to authenticated
  using (org_id = any (array(select authz.org_ids_with_scope('inspections:write'))))
  with check (org_id = any (array(select authz.org_ids_with_scope('inspections:write'))));
create policy "Inspections can be deleted by members with inspections:write"
  on public.inspections for delete to authenticated
  using (org_id = any (array(select authz.org_ids_with_scope('inspections:write'))));

-- =============================================================================================
-- Grants
-- =============================================================================================

revoke all on table public.inspections from public, anon, authenticated, service_role;
grant select, update, delete on table public.inspections to authenticated;
-- Every column but event_sequence, which the database assigns.
grant insert (id, org_id, job_id, status, submitted_at, answers, created_at, updated_at)
  on table public.inspections to authenticated;
grant all on table public.inspections to service_role;

revoke all on function app_private.tg_inspections__track_submission() from public, anon, authenticated, service_role;
