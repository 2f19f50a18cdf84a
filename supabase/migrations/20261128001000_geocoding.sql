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
--     auto_queue            properties of opted-in organizations still waiting for coordinates
--
-- Properties inserted without coordinates into an opted-in organization are queued and geocoded
-- after commit, within the organization's rate limit: as many as its bucket holds tokens are
-- posted ({ property_id, org_id }) to the function through pg_net at once, the rest by the minute
-- job as tokens refill, so an import of any size converges. The requests carry the
-- `auto_geocoding_secret` from Vault (created here), which can do nothing but ask for a property
-- to be geocoded: the database never needs the service role key.
-- The function stores the result on the property (which leaves the queue) or, when Mapbox knows
-- no such address, records a permanent failure; a request that fails otherwise (429, an upstream
-- outage) is sent again after its lease, up to max_auto_attempts().
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

-- Automatic geocoding's work list: every property of an opted-in organization inserted without
-- coordinates, until it has them (the row goes) or has failed for good (status failed, with the
-- reason). next_attempt_at is also the lease of a request on its way.
create table geocoding.auto_queue (
  property_id uuid primary key references public.properties (id) on delete cascade,
  org_id uuid not null references public.organizations (id) on delete cascade,
  status text not null default 'pending',
  attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  last_error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint auto_queue_status check (status in ('pending', 'failed')),
  constraint auto_queue_failed_has_reason check (status = 'pending' or last_error is not null)
);
comment on table geocoding.auto_queue is
  'Properties of opted-in organizations waiting for automatic geocoding, or recorded as failed for good.';

-- =============================================================================================
-- Indexes
-- =============================================================================================

-- The purge job deletes by expiry; every other access is by primary key.
create index cache_expires_at_idx on geocoding.cache (expires_at);
create index auto_queue_due_idx on geocoding.auto_queue (next_attempt_at) where status = 'pending';
create index auto_queue_org_id_idx on geocoding.auto_queue (org_id);

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

-- Tokens an organization's bucket holds now, without spending any.
create function geocoding.available_tokens(p_org_id uuid)
returns double precision
language sql stable
set search_path = ''
as $$
  select coalesce(
           geocoding.refilled_tokens(b.tokens, b.refilled_at, limits.burst, limits.per_minute / 60.0),
           limits.burst)
    from (select coalesce(o.burst, s.rate_limit_burst)::double precision as burst,
                 coalesce(o.per_minute, s.rate_limit_per_minute)::double precision as per_minute
            from geocoding.settings s
            left join geocoding.rate_limit_overrides o on o.org_id = p_org_id) limits
    left join geocoding.rate_limit_buckets b on b.org_id = p_org_id
$$;
comment on function geocoding.available_tokens(uuid) is 'Geocoding requests the organization may make right now.';

-- Spends p_count tokens of the organization's bucket (automatic geocoding, which sends only as
-- many requests as the bucket holds).
create function geocoding.spend_tokens(p_org_id uuid, p_count integer)
returns void
language sql volatile
set search_path = ''
as $$
  insert into geocoding.rate_limit_buckets as b (org_id, tokens, refilled_at, last_allowed)
  values (p_org_id, geocoding.available_tokens(p_org_id) - p_count, now(), true)
  on conflict (org_id) do update
     set tokens = geocoding.available_tokens(p_org_id) - p_count,
         refilled_at = greatest(b.refilled_at, now()),
         last_allowed = true
$$;
comment on function geocoding.spend_tokens(uuid, integer) is
  'Spends tokens of an organization''s geocoding bucket for requests automatic geocoding sends.';

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

-- Automatic geocoding gives up on a property after this many requests that neither stored
-- coordinates nor found the address unknown (each one a lease apart: 2 minutes).
create function geocoding.max_auto_attempts()
returns integer
language sql immutable
set search_path = ''
as $$
  select 10
$$;

-- Posts the due queued properties to mapbox-geocode through pg_net (sent after commit), at most as
-- many per organization as its bucket holds tokens now, so requests do not outrun the rate limit
-- that would refuse them; each sent row is leased for 2 minutes, after which a request that did
-- not settle it is sent again. Called by the insert trigger and every minute by pg_cron. Without
-- the Vault secrets nothing is sent (the queue waits). Returns how many requests were queued.
create function geocoding.request_due_geocoding()
returns integer
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  v_project_url text;
  v_secret text;
  v_property_ids uuid[];
  v_org_ids uuid[];
  v_sent integer;
begin
  update geocoding.auto_queue q
     set status = 'failed',
         last_error = format('No answer settled it in %s attempts.', q.attempts),
         updated_at = now()
   where q.status = 'pending'
     and q.next_attempt_at <= now()
     and q.attempts >= geocoding.max_auto_attempts();

  select max(s.decrypted_secret) filter (where s.name = 'project_url'),
         max(s.decrypted_secret) filter (where s.name = 'auto_geocoding_secret')
    into v_project_url, v_secret
    from vault.decrypted_secrets s
   where s.name in ('project_url', 'auto_geocoding_secret');
  if v_project_url is null or v_secret is null then
    raise warning 'automatic geocoding waits: the project_url and auto_geocoding_secret Vault secrets are not set';
    return 0;
  end if;

  with locked as (
    select q.property_id, q.org_id, q.next_attempt_at, q.created_at
      from geocoding.auto_queue q
     where q.status = 'pending'
       and q.next_attempt_at <= now()
       for update skip locked
  ),
  due as (
    select l.property_id, l.org_id,
           row_number() over (partition by l.org_id order by l.next_attempt_at, l.created_at) as place
      from locked l
  ),
  allowed as (
    select d.property_id, d.org_id
      from due d
      join (select x.org_id, floor(geocoding.available_tokens(x.org_id)) as tokens
              from (select distinct due.org_id from due) x) t on t.org_id = d.org_id
     where d.place <= t.tokens
  ),
  leased as (
    update geocoding.auto_queue q
       set attempts = q.attempts + 1,
           next_attempt_at = now() + interval '2 minutes',
           updated_at = now()
      from allowed a
     where q.property_id = a.property_id
    returning q.property_id, q.org_id
  )
  select array_agg(l.property_id), array_agg(l.org_id) into v_property_ids, v_org_ids from leased l;

  -- The tokens are spent here, when the requests are sent, not by the function when they arrive:
  -- otherwise the next call, before they arrived, would count the same tokens again.
  perform geocoding.spend_tokens(r.org_id, count(*)::integer)
     from unnest(v_org_ids) as r (org_id)
    group by r.org_id;
  perform net.http_post(
            url := rtrim(v_project_url, '/') || '/functions/v1/mapbox-geocode',
            body := jsonb_build_object('property_id', r.property_id, 'org_id', r.org_id),
            headers := jsonb_build_object(
              'Content-Type', 'application/json',
              'Authorization', 'Bearer ' || v_secret
            ),
            timeout_milliseconds := 15000
          )
     from unnest(v_property_ids, v_org_ids) as r (property_id, org_id);
  v_sent := coalesce(cardinality(v_property_ids), 0);
  return v_sent;
end
$$;
comment on function geocoding.request_due_geocoding() is
  'Sends queued automatic geocoding requests, within each organization''s rate limit (trigger and pg_cron).';

-- The function's record of an address Mapbox does not know: the property stays without
-- coordinates, and says why.
create function geocoding.record_auto_geocoding_failure(p_property_id uuid, p_reason text)
returns void
language sql volatile
set search_path = ''
as $$
  update geocoding.auto_queue q
     set status = 'failed', last_error = left(p_reason, 500), updated_at = now()
   where q.property_id = p_property_id
$$;
comment on function geocoding.record_auto_geocoding_failure(uuid, text) is
  'Records that automatic geocoding of a property failed for good (Mapbox knows no such address).';

-- New properties of opted-in organizations without coordinates join the queue, and as many as
-- the rate limit allows are requested at once. Statement level with a transition table: an
-- import of many properties looks the opt-in up once, not once per row.
create function app_private.tg_properties__request_geocoding()
returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  insert into geocoding.auto_queue (property_id, org_id)
  select p.id, p.org_id
    from new_properties p
    join public.organizations o on o.id = p.org_id
   where p.lat is null
     and o.auto_geocode_properties;
  if found then
    perform geocoding.request_due_geocoding();
  end if;
  return null;
end
$$;

-- A property that got coordinates (from the function or by hand) leaves the queue.
create function app_private.tg_properties__settle_geocoding()
returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  delete from geocoding.auto_queue q
   using new_properties p
   where q.property_id = p.id
     and p.lat is not null;
  return null;
end
$$;

-- =============================================================================================
-- Triggers
-- =============================================================================================

create trigger _800_request_geocoding
  after insert on public.properties
  referencing new table as new_properties
  for each statement execute function app_private.tg_properties__request_geocoding();
create trigger _800_settle_geocoding
  after update on public.properties
  referencing new table as new_properties
  for each statement execute function app_private.tg_properties__settle_geocoding();

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
select cron.schedule('geocoding-request-due', '* * * * *', 'select geocoding.request_due_geocoding()');

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
  geocoding.mapbox_access_token(text),
  geocoding.available_tokens(uuid),
  geocoding.spend_tokens(uuid, integer),
  geocoding.max_auto_attempts(),
  geocoding.request_due_geocoding(),
  geocoding.record_auto_geocoding_failure(uuid, text)
  from public, anon, authenticated, service_role;

revoke all on function public.set_auto_geocoding(uuid, boolean) from public, anon, authenticated, service_role;
grant execute on function public.set_auto_geocoding(uuid, boolean) to authenticated;

revoke all on function app_private.tg_properties__request_geocoding() from public, anon, authenticated, service_role;
revoke all on function app_private.tg_properties__settle_geocoding() from public, anon, authenticated, service_role;
