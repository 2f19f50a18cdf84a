-- =============================================================================================
-- Geocoding: the state behind the mapbox-geocode edge function and the opt-in automatic
-- geocoding of new properties. Integrator documentation: docs/geocoding.md.
--
--   public.organizations.auto_geocode_properties
--                     the per-organization opt-in; members read it, owners and admins change it
--                     with rpc('set_auto_geocoding').
--   geocoding         a schema PostgREST does not expose and no API role may use. Only the edge
--                     function reaches it, over SUPABASE_DB_URL as postgres (the owner):
--     settings              one row: cache TTL and the default rate limit
--     rate_limit_overrides  per-organization limits that replace the default
--     rate_limit_buckets    one token bucket per organization, refilled continuously
--     cache                 results per organization and normalized query, until they expire
--
-- Properties inserted without coordinates into an opted-in organization are geocoded after
-- commit: a trigger posts { property_id, org_id } to the function through pg_net with the
-- `auto_geocoding_secret` from Vault (created here), and the function stores the result on the
-- property. That secret can do nothing but ask for a property to be geocoded: the database never
-- needs the service role key.
-- =============================================================================================

create schema geocoding;
comment on schema geocoding is 'Geocoding cache and rate limits for the mapbox-geocode function. Not exposed by PostgREST, not granted.';
revoke all on schema geocoding from public;

-- =============================================================================================
-- Tables
-- =============================================================================================

alter table public.organizations add column auto_geocode_properties boolean not null default false;
comment on column public.organizations.auto_geocode_properties is
  'Geocode properties inserted without coordinates automatically (mapbox-geocode). Owners and admins change it with set_auto_geocoding.';

-- Defaults sized for a field-service office: a property dialog geocodes once per save, and an
-- import of a few hundred addresses drains at the refill rate instead of exhausting the Mapbox
-- account (600 requests per minute on the default plan, shared by every tenant).
create table geocoding.settings (
  singleton boolean primary key default true,
  cache_ttl interval not null default interval '30 days',
  rate_limit_burst integer not null default 60,
  rate_limit_per_minute numeric not null default 60,
  updated_at timestamptz not null default now(),
  constraint settings_one_row check (singleton),
  constraint settings_cache_ttl_positive check (cache_ttl > interval '0'),
  constraint settings_rate_limit_burst_positive check (rate_limit_burst >= 1),
  constraint settings_rate_limit_per_minute_positive check (rate_limit_per_minute > 0)
);
comment on table geocoding.settings is 'The one row of geocoding settings: cache TTL and the default per-organization rate limit.';
comment on column geocoding.settings.rate_limit_burst is 'Requests an organization may make at once (the bucket''s capacity).';
comment on column geocoding.settings.rate_limit_per_minute is 'Requests per minute refilled into the bucket (the sustained rate).';

insert into geocoding.settings default values;

create table geocoding.rate_limit_overrides (
  org_id uuid primary key references public.organizations (id) on delete cascade,
  burst integer not null,
  per_minute numeric not null,
  created_at timestamptz not null default now(),
  constraint rate_limit_overrides_burst_positive check (burst >= 1),
  constraint rate_limit_overrides_per_minute_positive check (per_minute > 0)
);
comment on table geocoding.rate_limit_overrides is 'Per-organization rate limits that replace the default in geocoding.settings.';

-- A token bucket per organization. Tokens are refilled lazily, from the time since refilled_at,
-- whenever the organization asks for one; last_allowed records the outcome of that request so
-- the single upsert that decides it can also report it.
create table geocoding.rate_limit_buckets (
  org_id uuid primary key references public.organizations (id) on delete cascade,
  tokens double precision not null,
  refilled_at timestamptz not null,
  last_allowed boolean not null
);
comment on table geocoding.rate_limit_buckets is 'Token buckets behind the per-organization geocoding rate limit.';

-- Per organization, so one tenant cannot learn from a cache hit that another looked an address up.
create table geocoding.cache (
  org_id uuid not null references public.organizations (id) on delete cascade,
  query_key text not null,
  results jsonb not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  constraint cache_pkey primary key (org_id, query_key),
  constraint cache_results_array check (jsonb_typeof(results) = 'array' and jsonb_array_length(results) > 0)
);
comment on table geocoding.cache is 'Geocoding results per organization and normalized query (address and filters), kept until expires_at.';
comment on column geocoding.cache.query_key is 'The normalized query: lowercased, whitespace collapsed, with the filters (see the function''s query-key module).';

-- =============================================================================================
-- Indexes
-- =============================================================================================

-- The purge job deletes by expiry; every other access is by primary key.
create index cache_expires_at_idx on geocoding.cache (expires_at);

-- =============================================================================================
-- Functions
-- =============================================================================================

-- Tokens in a bucket after refilling it for the time elapsed, capped at the burst.
create function geocoding.refilled_tokens(
  p_tokens double precision,
  p_refilled_at timestamptz,
  p_burst double precision,
  p_per_second double precision
)
returns double precision
language sql stable
set search_path = ''
as $$
  select least(p_burst, p_tokens + greatest(0, extract(epoch from now() - p_refilled_at)) * p_per_second)
$$;

-- Takes one token from the organization's bucket, or reports how long until one is available.
-- One upsert decides: its row lock serializes concurrent requests of the same organization (and
-- only those), so two requests can never spend the same token.
create function geocoding.take_rate_limit_token(p_org_id uuid)
returns table (allowed boolean, retry_after_seconds integer)
language plpgsql volatile
set search_path = ''
as $$
declare
  v_burst double precision;
  v_per_second double precision;
  v_allowed boolean;
  v_tokens double precision;
begin
  select coalesce(o.burst, s.rate_limit_burst), coalesce(o.per_minute, s.rate_limit_per_minute) / 60.0
    into strict v_burst, v_per_second
    from geocoding.settings s
    left join geocoding.rate_limit_overrides o on o.org_id = p_org_id;

  insert into geocoding.rate_limit_buckets as b (org_id, tokens, refilled_at, last_allowed)
  values (p_org_id, v_burst - 1, now(), true)
  on conflict (org_id) do update
     set tokens = geocoding.refilled_tokens(b.tokens, b.refilled_at, v_burst, v_per_second)
                  - case when geocoding.refilled_tokens(b.tokens, b.refilled_at, v_burst, v_per_second) >= 1
                         then 1 else 0 end,
         -- A transaction that started before the last refill must not move the clock back.
         refilled_at = greatest(b.refilled_at, now()),
         last_allowed = geocoding.refilled_tokens(b.tokens, b.refilled_at, v_burst, v_per_second) >= 1
  returning b.last_allowed, b.tokens into v_allowed, v_tokens;

  allowed := v_allowed;
  retry_after_seconds := case when v_allowed then 0
                              else greatest(1, ceil((1 - v_tokens) / v_per_second))::integer end;
  return next;
end
$$;
comment on function geocoding.take_rate_limit_token(uuid) is
  'Spends one geocoding request of the organization''s token bucket; when empty, says how many seconds until the next.';

create function geocoding.cached_results(p_org_id uuid, p_query_key text)
returns jsonb
language sql stable
set search_path = ''
as $$
  select c.results
    from geocoding.cache c
   where c.org_id = p_org_id
     and c.query_key = p_query_key
     and c.expires_at > now()
$$;
comment on function geocoding.cached_results(uuid, text) is 'The unexpired cached results for a query, or null.';

create function geocoding.store_results(p_org_id uuid, p_query_key text, p_results jsonb)
returns void
language sql volatile
set search_path = ''
as $$
  insert into geocoding.cache (org_id, query_key, results, expires_at)
  select p_org_id, p_query_key, p_results, now() + s.cache_ttl
    from geocoding.settings s
  on conflict (org_id, query_key) do update
     set results = excluded.results, created_at = excluded.created_at, expires_at = excluded.expires_at
$$;
comment on function geocoding.store_results(uuid, text, jsonb) is 'Caches results for a query for the configured TTL.';

create function geocoding.purge_expired_cache()
returns bigint
language sql volatile
set search_path = ''
as $$
  with purged as (
    delete from geocoding.cache c where c.expires_at <= now() returning 1
  )
  select count(*) from purged
$$;
comment on function geocoding.purge_expired_cache() is 'Deletes expired cache rows; run hourly by pg_cron.';

-- The Mapbox token. Only Vault secrets named mapbox_… can be read this way, so the function's
-- configurable secret name cannot be pointed at another secret.
create function geocoding.mapbox_access_token(p_secret_name text default 'mapbox_access_token')
returns text
language sql stable
set search_path = ''
as $$
  select s.decrypted_secret
    from vault.decrypted_secrets s
   where s.name = p_secret_name
     and p_secret_name like 'mapbox\_%'
   limit 1
$$;
comment on function geocoding.mapbox_access_token(text) is 'The Mapbox access token stored in Vault (mapbox_access_token by default), or null.';

-- The opt-in, for owners and admins. Security definer because admins may not update the
-- organization row itself (only owners may); the role check is the first thing it does.
create function public.set_auto_geocoding(p_org_id uuid, p_enabled boolean)
returns boolean
language plpgsql volatile security definer
set search_path = ''
as $$
begin
  if not authz.has_org_role(p_org_id, 'owner', 'admin') then
    raise exception 'only owners and admins can change automatic geocoding' using errcode = '42501';
  end if;
  update public.organizations o
     set auto_geocode_properties = p_enabled
   where o.id = p_org_id;
  return p_enabled;
end
$$;
comment on function public.set_auto_geocoding(uuid, boolean) is
  'Turns automatic geocoding of new properties on or off for an organization (owners and admins).';

-- Asks the mapbox-geocode function to geocode the new properties of opted-in organizations that
-- arrived without coordinates: one pg_net request per property, sent after commit, carrying the
-- auto_geocoding_secret from Vault. Without project_url (a project not yet configured) the insert
-- goes through and nothing is requested.
create function app_private.tg_properties__request_geocoding()
returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
  v_project_url text;
  v_secret text;
begin
  if not exists (
    select 1
      from new_properties p
      join public.organizations o on o.id = p.org_id
     where p.lat is null
       and o.auto_geocode_properties
  ) then
    return null;
  end if;

  select max(s.decrypted_secret) filter (where s.name = 'project_url'),
         max(s.decrypted_secret) filter (where s.name = 'auto_geocoding_secret')
    into v_project_url, v_secret
    from vault.decrypted_secrets s
   where s.name in ('project_url', 'auto_geocoding_secret');
  if v_project_url is null or v_secret is null then
    raise warning 'automatic geocoding skipped: the project_url and auto_geocoding_secret Vault secrets are not set';
    return null;
  end if;

  perform net.http_post(
    url := rtrim(v_project_url, '/') || '/functions/v1/mapbox-geocode',
    body := jsonb_build_object('property_id', p.id, 'org_id', p.org_id),
    headers := jsonb_build_object(
      'Content-Type', 'application/json',
      'Authorization', 'Bearer ' || v_secret
    ),
    timeout_milliseconds := 15000
  )
    from new_properties p
    join public.organizations o on o.id = p.org_id
   where p.lat is null
     and o.auto_geocode_properties;
  return null;
end
$$;

-- =============================================================================================
-- Triggers
-- =============================================================================================

-- Statement level with a transition table: an import of many properties looks the opt-in and the
-- secrets up once, not once per row.
create trigger _800_request_geocoding
  after insert on public.properties
  referencing new table as new_properties
  for each statement execute function app_private.tg_properties__request_geocoding();

-- =============================================================================================
-- The automatic-geocoding secret and the schedule
-- =============================================================================================

-- The credential the trigger presents to mapbox-geocode; the function reads it from Vault to
-- recognise the platform. Rotate it with vault.update_secret.
do $$
begin
  if not exists (select from vault.secrets s where s.name = 'auto_geocoding_secret') then
    perform vault.create_secret(
      encode(extensions.gen_random_bytes(32), 'hex'),
      'auto_geocoding_secret',
      'Bearer token with which the automatic-geocoding trigger calls the mapbox-geocode function'
    );
  end if;
end
$$;

select cron.schedule('geocoding-purge-expired-cache', '17 * * * *', 'select geocoding.purge_expired_cache()');

-- =============================================================================================
-- Grants
-- =============================================================================================

-- Nothing in geocoding is granted: the function connects as postgres, which owns it all.
revoke all on all tables in schema geocoding from public, anon, authenticated, service_role;
revoke all on function
  geocoding.refilled_tokens(double precision, timestamptz, double precision, double precision),
  geocoding.take_rate_limit_token(uuid),
  geocoding.cached_results(uuid, text),
  geocoding.store_results(uuid, text, jsonb),
  geocoding.purge_expired_cache(),
  geocoding.mapbox_access_token(text)
  from public, anon, authenticated, service_role;

revoke all on function public.set_auto_geocoding(uuid, boolean) from public, anon, authenticated, service_role;
grant execute on function public.set_auto_geocoding(uuid, boolean) to authenticated;

revoke all on function app_private.tg_properties__request_geocoding() from public, anon, authenticated, service_role;
