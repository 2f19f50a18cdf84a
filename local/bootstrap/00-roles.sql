-- Platform bootstrap, part 1: the roles Supabase's image creates.
-- Runs as the local superuser (supabase_admin), once per cluster; every statement is idempotent.
-- Hosted Supabase: these roles already exist; this file is never deployed.

do $$
begin
  if not exists (select from pg_roles where rolname = 'anon') then
    create role anon nologin inherit;
  end if;
  if not exists (select from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin inherit;
  end if;
  if not exists (select from pg_roles where rolname = 'service_role') then
    create role service_role nologin inherit bypassrls;
  end if;
  if not exists (select from pg_roles where rolname = 'authenticator') then
    create role authenticator login noinherit;
  end if;
  if not exists (select from pg_roles where rolname = 'supabase_auth_admin') then
    create role supabase_auth_admin nologin noinherit createrole;
  end if;
  -- On hosted, postgres is not a superuser: migrations that need one fail here as they would there.
  if not exists (select from pg_roles where rolname = 'postgres') then
    create role postgres login createrole createdb replication bypassrls;
  end if;
end
$$;

alter role postgres with nosuperuser login createrole createdb replication bypassrls password 'postgres';
alter role authenticator with login noinherit password 'postgres';

grant anon, authenticated, service_role to authenticator;
grant anon, authenticated, service_role to postgres with admin option;

-- PostgREST's per-role statement timeouts, as on hosted.
alter role anon set statement_timeout = '3s';
alter role authenticated set statement_timeout = '8s';
alter role authenticator set statement_timeout = '8s';
