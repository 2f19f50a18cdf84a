-- pg_net stand-in: the SQL interface of supabase/pg_net 0.20 (net.http_get / http_post /
-- http_delete, net.http_request_queue, net._http_response) for machines where the pg_net extension
-- is not installed. Applied by scripts/stack.mjs only when `pg_net` is unavailable.
--
-- As with the real extension, a request is only a row in net.http_request_queue until the calling
-- transaction commits; the worker (local/pg-net-worker.ts, started by the stack) then sends it and
-- records the outcome in net._http_response. A rollback leaves nothing to send. Both tables are
-- UNLOGGED, like the real ones: nothing may rely on them for durability.

create schema if not exists net;

do $$
begin
  if not exists (select from pg_type t join pg_namespace n on n.oid = t.typnamespace
                  where n.nspname = 'net' and t.typname = 'http_method') then
    create domain net.http_method as text
      check (value ilike 'get' or value ilike 'post' or value ilike 'delete');
  end if;
end
$$;

create unlogged table if not exists net.http_request_queue (
  id bigserial not null,
  method net.http_method not null,
  url text not null,
  headers jsonb,
  body bytea,
  timeout_milliseconds integer not null
);

create unlogged table if not exists net._http_response (
  id bigint,
  status_code integer,
  content_type text,
  headers jsonb,
  content text,
  timed_out boolean,
  error_msg text,
  created timestamptz not null default now()
);
create index if not exists _http_response_created_idx on net._http_response (created);

-- Percent-encodes a query-string component (RFC 3986 unreserved characters pass through).
create or replace function net._urlencode_string(string varchar) returns text
language sql immutable strict set search_path = ''
as $$
  select coalesce(string_agg(
           case when b between 48 and 57 or b between 65 and 90 or b between 97 and 122
                     or b in (45, 46, 95, 126)
                then chr(b)
                else '%' || upper(lpad(to_hex(b), 2, '0')) end,
           '' order by i), '')
    from (select get_byte(convert_to(string, 'utf8'), i) as b, i
            from generate_series(0, octet_length(convert_to(string, 'utf8')) - 1) as i) as bytes
$$;

create or replace function net._url_with_params(url text, params jsonb) returns text
language sql immutable set search_path = ''
as $$
  select case
           when params is null or params = '{}'::jsonb then url
           else url || case when strpos(url, '?') > 0 then '&' else '?' end
                    || (select string_agg(net._urlencode_string(key) || '=' || net._urlencode_string(value), '&')
                          from jsonb_each_text(params))
         end
$$;

-- Wakes the worker when a transaction that queued requests commits (NOTIFY is delivered on commit).
create or replace function net._notify_worker() returns trigger
language plpgsql set search_path = ''
as $$
begin
  perform pg_notify('pg_net_stand_in', '');
  return null;
end
$$;

drop trigger if exists _900_notify_worker on net.http_request_queue;
create trigger _900_notify_worker
  after insert on net.http_request_queue
  for each statement execute function net._notify_worker();

create or replace function net.http_get(
  url text,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{}'::jsonb,
  timeout_milliseconds integer default 5000
) returns bigint
language sql volatile set search_path = ''
as $$
  insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  values ('GET', net._url_with_params(url, params), headers, null, timeout_milliseconds)
  returning id
$$;

create or replace function net.http_post(
  url text,
  body jsonb default '{}'::jsonb,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{"Content-Type": "application/json"}'::jsonb,
  timeout_milliseconds integer default 5000
) returns bigint
language plpgsql volatile set search_path = ''
as $$
declare
  v_content_type text;
  v_id bigint;
begin
  -- As pg_net does: headers without a Content-Type get application/json added (null headers stay
  -- null), and any other Content-Type is refused; a null body is sent empty.
  select h.value into v_content_type
    from jsonb_each_text(coalesce(headers, '{}'::jsonb)) as h(name, value)
   where lower(h.name) = 'content-type'
   limit 1;
  if v_content_type is null then
    headers := headers || '{"Content-Type": "application/json"}'::jsonb;
  elsif v_content_type <> 'application/json' then
    raise exception 'Content-Type header must be "application/json"';
  end if;
  insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  values ('POST', net._url_with_params(url, params), headers, convert_to(body::text, 'utf8'), timeout_milliseconds)
  returning id into v_id;
  return v_id;
end
$$;

create or replace function net.http_delete(
  url text,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{}'::jsonb,
  timeout_milliseconds integer default 5000,
  body jsonb default null
) returns bigint
language sql volatile set search_path = ''
as $$
  insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  values ('DELETE', net._url_with_params(url, params), headers, convert_to(body::text, 'utf8'), timeout_milliseconds)
  returning id
$$;

-- pg_net 0.12+ grants its schema, tables and sequences to PUBLIC and leaves its functions
-- executable by PUBLIC and SECURITY INVOKER (Supabase's image adopted that in 2025); the same here.
grant usage on schema net to public;
grant all on all tables in schema net to public;
grant all on all sequences in schema net to public;
grant execute on all functions in schema net to public;
revoke execute on function net._notify_worker() from public;

-- pg_net's net.check_worker_is_up(): raises when the worker is not running. The real one looks for
-- its background worker in pg_stat_activity; the stand-in's worker is a client connection named
-- by its application_name (local/pg-net-worker.ts).
create or replace function net.check_worker_is_up() returns void
language plpgsql set search_path = ''
as $$
begin
  if not exists (select from pg_catalog.pg_stat_activity a where a.application_name = 'pg_net stand-in worker') then
    raise exception using
      message = 'the pg_net background worker is not up',
      detail = 'the pg_net background worker is down due to an internal error and cannot process requests',
      hint = 'make sure that you didn''t modify any of pg_net internal tables';
  end if;
end
$$;
grant execute on function net.check_worker_is_up() to public;
