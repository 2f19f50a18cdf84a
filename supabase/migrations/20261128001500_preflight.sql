-- =============================================================================================
-- Preflight: what an operator runs against a project to see whether it is ready, and what to do
-- about each gap (`npm run preflight -- --db-url …`, or `select * from ops.preflight();` in psql).
--
-- It checks the extensions, the Vault secrets, the service-account signing key, the cron jobs,
-- and sends probes through pg_net: webhook-dispatch with the dispatch secret, mapbox-geocode with
-- the automatic-geocoding secret, and the project's JWKS. pg_net sends only after the calling
-- transaction commits, so a probe's answer shows on the next call: a check reads `pending` until
-- then (the command calls again until nothing is pending).
-- =============================================================================================

create schema ops;
comment on schema ops is 'Operator tooling (preflight). Not exposed by PostgREST; postgres only.';
revoke all on schema ops from public;

-- =============================================================================================
-- Tables
-- =============================================================================================

-- The last probe of each kind: its pg_net request, answered in net._http_response.
create table ops.preflight_probes (
  name text primary key,
  request_id bigint not null,
  sent_at timestamptz not null default now()
);
comment on table ops.preflight_probes is 'The last pg_net request preflight sent for each probe.';

-- =============================================================================================
-- Functions
-- =============================================================================================

-- A probe's answer: (status, detail) from its response, `pending` while none has arrived, and a
-- new request when there is no probe yet or its answer is older than p_max_age.
create function ops.preflight_probe(
  p_name text,
  p_method text,
  p_url text,
  p_headers jsonb,
  p_body jsonb default null,
  p_max_age interval default interval '2 minutes'
)
returns table (status_code integer, content text, error_msg text, pending boolean)
language plpgsql volatile
set search_path = ''
as $$
declare
  v_probe ops.preflight_probes;
  v_response record;
begin
  select * into v_probe from ops.preflight_probes p where p.name = p_name;
  -- pg_net's request ids start again after a crash (its tables and their sequences are unlogged):
  -- a probe sent before the server last started may name someone else's request now.
  if v_probe.request_id is not null and v_probe.sent_at > pg_postmaster_start_time() then
    select r.status_code, r.content, r.error_msg, r.created into v_response
      from net._http_response r where r.id = v_probe.request_id;
    if v_response.created is not null and v_response.created > now() - p_max_age then
      return query select v_response.status_code, v_response.content, v_response.error_msg, false;
      return;
    end if;
    if v_response.created is null and v_probe.sent_at > now() - p_max_age then
      return query select null::integer, null::text, null::text, true;
      return;
    end if;
  end if;
  insert into ops.preflight_probes as p (name, request_id, sent_at)
  values (
    p_name,
    case p_method
      when 'GET' then net.http_get(url := p_url, headers := p_headers, timeout_milliseconds := 10000)
      else net.http_post(url := p_url, body := p_body, headers := p_headers, timeout_milliseconds := 10000)
    end,
    now()
  )
  on conflict (name) do update set request_id = excluded.request_id, sent_at = excluded.sent_at;
  return query select null::integer, null::text, null::text, true;
end
$$;
comment on function ops.preflight_probe(text, text, text, jsonb, jsonb, interval) is
  'preflight''s pg_net probes: the last answer, pending, or a new request.';

-- Every check with what was found and what would fix it (ops.preflight shows the fix only where needed).
create function ops.preflight_checks()
returns table (area text, check_name text, status text, detail text, fix text)
language plpgsql volatile
set search_path = ''
as $$
declare
  v_secrets jsonb;
  v_project_url text;
  v_signing_key jsonb;
  v_probe record;
  v_missing text[];
  v_stuck bigint;
  v_function text;
  v_secret_name text;
  v_body jsonb;
  v_expected integer;
begin
  -- Extensions -------------------------------------------------------------------------------
  return query select 'extensions', 'pg_cron',
    case when exists (select from pg_catalog.pg_extension e where e.extname = 'pg_cron') then 'ok' else 'fail' end,
    'schedules the dispatcher sweep, retention and cache purges',
    'supabase db push (the first migration enables pg_cron)';
  return query select 'extensions', 'pg_net',
    case when pg_catalog.to_regprocedure('net.http_post(text, jsonb, jsonb, jsonb, integer)') is not null
         then 'ok' else 'fail' end,
    'wakes webhook-dispatch after commit and asks mapbox-geocode for new properties',
    'supabase db push (the first migration enables pg_net)';
  return query select 'extensions', 'supabase_vault',
    case when pg_catalog.to_regprocedure('vault.create_secret(text, text, text, uuid)') is not null
         then 'ok' else 'fail' end,
    'holds endpoint secrets and the settings below',
    'enable the supabase_vault extension (every hosted project has it)';
  if pg_catalog.to_regprocedure('vault.create_secret(text, text, text, uuid)') is null
     or pg_catalog.to_regprocedure('net.http_post(text, jsonb, jsonb, jsonb, integer)') is null then
    return;
  end if;

  -- Vault secrets ----------------------------------------------------------------------------
  select coalesce(jsonb_object_agg(s.name, s.decrypted_secret), '{}'::jsonb) into v_secrets
    from vault.decrypted_secrets s
   where s.name in ('project_url', 'webhook_dispatch_secret', 'auto_geocoding_secret', 'mapbox_access_token',
                    'service_account_signing_key', 'jwt_secret', 'service_role_key');
  v_project_url := rtrim(v_secrets ->> 'project_url', '/');

  return query select 'vault', 'project_url',
    case when v_project_url ~ '^https?://[^/]+$' then 'ok' else 'fail' end,
    coalesce('set to ' || v_project_url, 'missing: no wake-up is sent, deliveries wait for the minute sweep'),
    $fix$select vault.create_secret('https://<project-ref>.supabase.co', 'project_url');$fix$;
  return query
    select 'vault', n,
           case when v_secrets ? n then 'ok' else 'fail' end,
           case when v_secrets ? n then 'set' else 'missing' end,
           format($fix$select vault.create_secret(encode(extensions.gen_random_bytes(32), 'hex'), %L);$fix$, n)
      from unnest(array['webhook_dispatch_secret', 'auto_geocoding_secret']) as n;
  return query select 'vault', 'mapbox_access_token',
    case when v_secrets ? 'mapbox_access_token' then 'ok' else 'fail' end,
    case when v_secrets ? 'mapbox_access_token' then 'set' else 'missing: mapbox-geocode answers 503' end,
    $fix$select vault.create_secret('<your Mapbox token>', 'mapbox_access_token');$fix$;
  if v_secrets ? 'service_role_key' then
    return query select 'vault', 'service_role_key', 'warn',
      'stored, but nothing uses it any more', $fix$delete from vault.secrets where name = 'service_role_key';$fix$;
  end if;

  -- Keys ---------------------------------------------------------------------------------------
  begin
    v_signing_key := (v_secrets ->> 'service_account_signing_key')::jsonb;
  exception when others then
    v_signing_key := '{}'::jsonb;
  end;
  if v_signing_key is not null and v_signing_key ? 'd' and v_signing_key ? 'kid'
     and coalesce(v_signing_key ->> 'alg', 'ES256') in ('ES256', 'RS256') then
    return query select 'keys', 'service_account_signing_key', 'ok',
      'service account tokens are signed with key ' || (v_signing_key ->> 'kid'), null::text;
  elsif v_secrets ? 'jwt_secret' then
    return query select 'keys', 'service_account_signing_key', 'warn',
      'service account tokens are signed with the legacy JWT secret, which stops working when it is revoked',
      'import a signing key and store its private JWK in Vault (docs/deploying.md, "Service accounts")';
  else
    return query select 'keys', 'service_account_signing_key', 'fail',
      case when v_signing_key is null then 'missing: the token route answers 503'
           else 'not a private ES256 or RS256 JWK with a kid' end,
      'import a signing key and store its private JWK in Vault (docs/deploying.md, "Service accounts")';
  end if;

  -- Cron jobs ----------------------------------------------------------------------------------
  select array_agg(j) into v_missing
    from unnest(array['webhooks-dispatch-scheduler', 'webhooks-every-minute', 'webhooks-purge-expired',
                      'geocoding-purge-expired-cache', 'geocoding-request-due']) as j
   where not exists (select from cron.job c where c.jobname = j and c.active);
  return query select 'cron', 'jobs',
    case when v_missing is null then 'ok' else 'fail' end,
    coalesce('missing or inactive: ' || array_to_string(v_missing, ', '), 'every job is scheduled and active'),
    'supabase db push (the migrations schedule them)';
  return query select 'cron', 'webhooks scheduler',
    case when (select h.scheduler_running from webhooks.dispatch_health() h) then 'ok' else 'fail' end,
    case when (select h.scheduler_running from webhooks.dispatch_health() h)
         then 'a run of webhooks-dispatch-scheduler is watching for work'
         else 'no run of webhooks-dispatch-scheduler is watching: nothing wakes webhook-dispatch' end,
    'select * from cron.job_run_details where jobid = (select jobid from cron.job where jobname = ''webhooks-dispatch-scheduler'') order by runid desc limit 5; (its errors say why)';

  -- pg_net: requests leaving, and what answers them -----------------------------------------------
  select count(*) into v_stuck
    from net.http_request_queue q
    left join ops.preflight_probes p on p.request_id = q.id
   where p.sent_at < now() - interval '30 seconds';
  return query select 'pg_net', 'requests leave',
    case when v_stuck = 0 then 'ok' else 'fail' end,
    case when v_stuck = 0 then 'no probe waits in net.http_request_queue'
         else v_stuck || ' probe(s) still queued after 30 s: pg_net''s worker is not sending' end,
    'select net.worker_restart(); (then run the preflight again)';
  if v_project_url is null then
    return;
  end if;

  -- Each function with the credential the database presents to it, and the answer that proves the
  -- credential was accepted: 202 for a dispatch wake-up, 400 for a geocoding request without a
  -- property (the body is refused only once the caller is recognised as the platform).
  for v_function, v_secret_name, v_body, v_expected in
    values ('webhook-dispatch', 'webhook_dispatch_secret', '{"reason": "preflight", "wait": false}'::jsonb, 202),
           ('mapbox-geocode', 'auto_geocoding_secret', '{}'::jsonb, 400)
  loop
    select * into v_probe from ops.preflight_probe(v_function, 'POST',
      v_project_url || '/functions/v1/' || v_function,
      jsonb_build_object('Content-Type', 'application/json',
                         'Authorization', 'Bearer ' || coalesce(v_secrets ->> v_secret_name, '')),
      v_body);
    return query select 'functions', v_function,
      case when v_probe.pending then 'pending' when v_probe.status_code = v_expected then 'ok' else 'fail' end,
      case when v_probe.pending then 'a probe is on its way; run the preflight again in a few seconds'
           when v_probe.status_code = v_expected then 'reached with ' || v_secret_name
           when v_probe.status_code is null then 'pg_net could not reach it: ' || coalesce(v_probe.error_msg, '')
           else 'answered ' || v_probe.status_code || ': ' || left(coalesce(v_probe.content, ''), 200) end,
      case when v_probe.pending or v_probe.status_code = v_expected then null
           when v_probe.status_code = 404 then 'supabase functions deploy'
           when v_probe.status_code = 401 then 'deploy the functions to this project (they read ' || v_secret_name
             || ' from its Vault)'
           else 'check project_url and the function''s logs' end;
  end loop;

  if v_signing_key ? 'kid' then
    select * into v_probe from ops.preflight_probe('jwks', 'GET',
      v_project_url || '/auth/v1/.well-known/jwks.json', '{}'::jsonb);
    return query select 'keys', 'signing key in the JWKS',
      case when v_probe.pending then 'pending'
           when v_probe.status_code = 200 and v_probe.content like '%' || (v_signing_key ->> 'kid') || '%' then 'ok'
           else 'fail' end,
      case when v_probe.pending then 'a probe is on its way; run the preflight again in a few seconds'
           when v_probe.status_code = 200 and v_probe.content like '%' || (v_signing_key ->> 'kid') || '%'
             then 'the project publishes key ' || (v_signing_key ->> 'kid') || ', so PostgREST accepts the tokens'
           else 'the project''s JWKS does not list key ' || (v_signing_key ->> 'kid') end,
      case when v_probe.pending or v_probe.status_code = 200 and v_probe.content like '%' || (v_signing_key ->> 'kid') || '%'
           then null
           else 'import the key as a standby signing key (docs/deploying.md, "Service accounts")' end;
  end if;
end
$$;
comment on function ops.preflight_checks() is 'Every preflight check, with the fix whatever its status.';

-- One row per check: `ok`, `warn` (works, but should change), `fail` (something will not work)
-- or `pending` (a probe's answer has not arrived; call again in a few seconds), with what was
-- found and, for anything but ok, what to do.
create function ops.preflight()
returns table (area text, check_name text, status text, detail text, fix text)
language sql volatile
set search_path = ''
as $$
  select c.area, c.check_name, c.status, c.detail, case when c.status = 'ok' then null else c.fix end
    from ops.preflight_checks() c
$$;
comment on function ops.preflight() is
  'Checks a project: extensions, Vault secrets, keys, cron jobs, pg_net probes of the functions; says what to do.';

-- =============================================================================================
-- Grants
-- =============================================================================================

-- The operator's alone: postgres owns all of it; no API role may use the schema.
revoke all on table ops.preflight_probes from public, anon, authenticated, service_role;
revoke all on function
  ops.preflight_probe(text, text, text, jsonb, jsonb, interval),
  ops.preflight_checks(),
  ops.preflight()
  from public, anon, authenticated, service_role;
