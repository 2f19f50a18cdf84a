-- =============================================================================================
-- Tenant data: clients, properties, jobs, estimates.
--
-- Every row carries org_id, and every link to another tenant row is a composite foreign key
-- (org_id, x_id) → (org_id, id), so a row can only point at rows of its own organization; the
-- parents expose unique (org_id, id) for that purpose, and the children index (org_id, x_id).
-- Access: people in the organization read and write everything; integrations need
-- `<area>:read` to select and `<area>:write` to insert, update and delete (tenancy migration).
-- =============================================================================================

-- =============================================================================================
-- Types
-- =============================================================================================

create type public.job_status as enum ('new', 'scheduled', 'in_progress', 'completed', 'cancelled');
create type public.estimate_status as enum ('draft', 'sent', 'accepted', 'declined');

-- =============================================================================================
-- Tables
-- =============================================================================================

create table public.clients (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references public.organizations (id) on delete cascade,
  name text not null,
  email text,
  phone text,
  notes text,
  event_sequence bigint not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint clients_org_id_id_key unique (org_id, id),
  constraint clients_name_present check (length(btrim(name)) between 1 and 200),
  constraint clients_email_format check (email ~ '^[^@\s]+@[^@\s]+$')
);
comment on table public.clients is 'A customer of the organization: a household or a business.';
comment on column public.clients.event_sequence is 'The sequence number of the latest webhook event about this row (assigned by the database).';

create table public.properties (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references public.organizations (id) on delete cascade,
  client_id uuid,
  address1 text not null,
  address2 text,
  city text,
  region text,
  postal_code text,
  country text not null default 'US',
  lat double precision,
  lng double precision,
  geocoded_at timestamptz,
  geocode_source text,
  event_sequence bigint not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint properties_org_id_id_key unique (org_id, id),
  constraint properties_client_fkey foreign key (org_id, client_id) references public.clients (org_id, id),
  constraint properties_address1_present check (length(btrim(address1)) between 1 and 200),
  constraint properties_country_iso check (country ~ '^[A-Z]{2}$'),
  constraint properties_lat_range check (lat between -90 and 90),
  constraint properties_lng_range check (lng between -180 and 180),
  constraint properties_coordinates_paired check ((lat is null) = (lng is null)),
  constraint properties_geocode_source_present check (length(btrim(geocode_source)) > 0)
);
comment on table public.properties is 'A service address, usually a client''s; lat/lng are WGS84 degrees, filled by geocoding.';
comment on column public.properties.event_sequence is 'The sequence number of the latest webhook event about this row (assigned by the database).';
comment on column public.properties.country is 'ISO 3166-1 alpha-2 code.';
comment on column public.properties.geocode_source is 'Where lat/lng came from, e.g. mapbox or manual.';

create table public.jobs (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references public.organizations (id) on delete cascade,
  -- The empty default only makes job_no optional for clients (and in the generated types);
  -- the insert trigger always assigns the number.
  job_no text not null default '',
  title text not null,
  description text,
  status public.job_status not null default 'new',
  property_id uuid,
  client_id uuid,
  assigned_to uuid,
  scheduled_at timestamptz,
  event_sequence bigint not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint jobs_org_id_id_key unique (org_id, id),
  constraint jobs_org_id_job_no_key unique (org_id, job_no),
  constraint jobs_property_fkey foreign key (org_id, property_id) references public.properties (org_id, id),
  constraint jobs_client_fkey foreign key (org_id, client_id) references public.clients (org_id, id),
  -- The assignee must be a member of the same organization; removing the member unassigns.
  constraint jobs_assignee_fkey foreign key (org_id, assigned_to)
    references public.organization_members (org_id, user_id) on delete set null (assigned_to),
  constraint jobs_job_no_format check (job_no ~ '^J-[1-9][0-9]*$'),
  constraint jobs_title_present check (length(btrim(title)) between 1 and 200)
);
comment on table public.jobs is 'A unit of field work at a property for a client.';
comment on column public.jobs.event_sequence is 'The sequence number of the latest webhook event about this row (assigned by the database).';
comment on column public.jobs.job_no is 'J-1, J-2, … per organization, assigned on insert (a supplied value is replaced); never changes.';
comment on column public.jobs.assigned_to is 'auth.users id of a member of the same organization.';

create table public.estimates (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references public.organizations (id) on delete cascade,
  estimate_no text,
  job_id uuid,
  client_id uuid not null,
  total numeric(12, 2) not null default 0,
  status public.estimate_status not null default 'draft',
  event_sequence bigint not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint estimates_org_id_id_key unique (org_id, id),
  constraint estimates_org_id_estimate_no_key unique (org_id, estimate_no),
  constraint estimates_job_fkey foreign key (org_id, job_id) references public.jobs (org_id, id),
  constraint estimates_client_fkey foreign key (org_id, client_id) references public.clients (org_id, id),
  constraint estimates_total_not_negative check (total >= 0),
  constraint estimates_estimate_no_present check (length(btrim(estimate_no)) > 0)
);
comment on table public.estimates is 'A priced proposal to a client, optionally for a job.';
comment on column public.estimates.event_sequence is 'The sequence number of the latest webhook event about this row (assigned by the database).';
comment on column public.estimates.estimate_no is 'Optional, free-form, unique per organization when set.';

-- =============================================================================================
-- Indexes
-- =============================================================================================

-- org_id alone is covered by each table's unique (org_id, id); composite foreign keys by these.
create index properties_org_id_client_id_idx on public.properties (org_id, client_id);
create index jobs_org_id_property_id_idx on public.jobs (org_id, property_id);
create index jobs_org_id_client_id_idx on public.jobs (org_id, client_id);
create index jobs_org_id_assigned_to_idx on public.jobs (org_id, assigned_to);
create index estimates_org_id_job_id_idx on public.estimates (org_id, job_id);
create index estimates_org_id_client_id_idx on public.estimates (org_id, client_id);

-- =============================================================================================
-- Functions
-- =============================================================================================

-- Allocates the organization's next job number. The update takes the counter row's lock, which
-- concurrent inserts into the same organization wait for until this transaction ends; a rolled
-- back insert rolls the counter back too. Security definer: tenants cannot touch the counters.
create function app_private.tg_jobs__assign_job_no()
returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
  v_job_no bigint;
begin
  update app_private.org_counters c
     set next_job_no = c.next_job_no + 1
   where c.org_id = new.org_id
  returning c.next_job_no - 1 into v_job_no;
  if v_job_no is null then
    raise exception 'organization not found' using errcode = '23503';
  end if;
  new.job_no := 'J-' || v_job_no;
  return new;
end
$$;

-- =============================================================================================
-- Triggers
-- =============================================================================================

create trigger _100_protect_immutable_columns
  before update on public.clients
  for each row execute function app_private.tg__protect_immutable_columns('id', 'org_id');
create trigger _900_set_updated_at
  before update on public.clients
  for each row execute function app_private.tg__set_updated_at();

create trigger _100_protect_immutable_columns
  before update on public.properties
  for each row execute function app_private.tg__protect_immutable_columns('id', 'org_id');
create trigger _900_set_updated_at
  before update on public.properties
  for each row execute function app_private.tg__set_updated_at();

create trigger _100_assign_job_no
  before insert on public.jobs
  for each row execute function app_private.tg_jobs__assign_job_no();
create trigger _100_protect_immutable_columns
  before update on public.jobs
  for each row execute function app_private.tg__protect_immutable_columns('id', 'org_id', 'job_no');
create trigger _900_set_updated_at
  before update on public.jobs
  for each row execute function app_private.tg__set_updated_at();

create trigger _100_protect_immutable_columns
  before update on public.estimates
  for each row execute function app_private.tg__protect_immutable_columns('id', 'org_id');
create trigger _900_set_updated_at
  before update on public.estimates
  for each row execute function app_private.tg__set_updated_at();

-- =============================================================================================
-- RLS policies
-- =============================================================================================

alter table public.clients enable row level security;
alter table public.clients force row level security;
alter table public.properties enable row level security;
alter table public.properties force row level security;
alter table public.jobs enable row level security;
alter table public.jobs force row level security;
alter table public.estimates enable row level security;
alter table public.estimates force row level security;

create policy "Clients are visible to members with clients:read"
  on public.clients for select to authenticated
  using (org_id = any (array(select authz.org_ids_with_scope('clients:read'))));
create policy "Clients can be created by members with clients:write"
  on public.clients for insert to authenticated
  with check (org_id = any (array(select authz.org_ids_with_scope('clients:write'))));
create policy "Clients can be updated by members with clients:write"
  on public.clients for update to authenticated
  using (org_id = any (array(select authz.org_ids_with_scope('clients:write'))))
  with check (org_id = any (array(select authz.org_ids_with_scope('clients:write'))));
create policy "Clients can be deleted by members with clients:write"
  on public.clients for delete to authenticated
  using (org_id = any (array(select authz.org_ids_with_scope('clients:write'))));

create policy "Properties are visible to members with properties:read"
  on public.properties for select to authenticated
  using (org_id = any (array(select authz.org_ids_with_scope('properties:read'))));
create policy "Properties can be created by members with properties:write"
  on public.properties for insert to authenticated
  with check (org_id = any (array(select authz.org_ids_with_scope('properties:write'))));
create policy "Properties can be updated by members with properties:write"
  on public.properties for update to authenticated
  using (org_id = any (array(select authz.org_ids_with_scope('properties:write'))))
  with check (org_id = any (array(select authz.org_ids_with_scope('properties:write'))));
create policy "Properties can be deleted by members with properties:write"
  on public.properties for delete to authenticated
  using (org_id = any (array(select authz.org_ids_with_scope('properties:write'))));

create policy "Jobs are visible to members with jobs:read"
  on public.jobs for select to authenticated
  using (org_id = any (array(select authz.org_ids_with_scope('jobs:read'))));
create policy "Jobs can be created by members with jobs:write"
  on public.jobs for insert to authenticated
  with check (org_id = any (array(select authz.org_ids_with_scope('jobs:write'))));
create policy "Jobs can be updated by members with jobs:write"
  on public.jobs for update to authenticated
  using (org_id = any (array(select authz.org_ids_with_scope('jobs:write'))))
  with check (org_id = any (array(select authz.org_ids_with_scope('jobs:write'))));
create policy "Jobs can be deleted by members with jobs:write"
  on public.jobs for delete to authenticated
  using (org_id = any (array(select authz.org_ids_with_scope('jobs:write'))));

create policy "Estimates are visible to members with estimates:read"
  on public.estimates for select to authenticated
  using (org_id = any (array(select authz.org_ids_with_scope('estimates:read'))));
create policy "Estimates can be created by members with estimates:write"
  on public.estimates for insert to authenticated
  with check (org_id = any (array(select authz.org_ids_with_scope('estimates:write'))));
create policy "Estimates can be updated by members with estimates:write"
  on public.estimates for update to authenticated
  using (org_id = any (array(select authz.org_ids_with_scope('estimates:write'))))
  with check (org_id = any (array(select authz.org_ids_with_scope('estimates:write'))));
create policy "Estimates can be deleted by members with estimates:write"
  on public.estimates for delete to authenticated
  using (org_id = any (array(select authz.org_ids_with_scope('estimates:write'))));

-- =============================================================================================
-- Grants
-- =============================================================================================

revoke all on table public.clients, public.properties, public.jobs, public.estimates from public, anon, authenticated, service_role;
grant select, update, delete on table public.clients, public.properties, public.jobs, public.estimates
  to authenticated;
-- Every column but event_sequence, which the database assigns (an insert naming it is refused, an
-- update's value is replaced by webhooks.tg__advance_event_sequence).
grant insert (id, org_id, name, email, phone, notes, created_at, updated_at) on table public.clients to authenticated;
grant insert (id, org_id, client_id, address1, address2, city, region, postal_code, country, lat, lng, geocoded_at,
              geocode_source, created_at, updated_at)
  on table public.properties to authenticated;
grant insert (id, org_id, job_no, title, description, status, property_id, client_id, assigned_to, scheduled_at,
              created_at, updated_at)
  on table public.jobs to authenticated;
grant insert (id, org_id, estimate_no, job_id, client_id, total, status, created_at, updated_at)
  on table public.estimates to authenticated;
grant all on table public.clients, public.properties, public.jobs, public.estimates to service_role;

revoke all on function app_private.tg_jobs__assign_job_no() from public, anon, authenticated, service_role;
