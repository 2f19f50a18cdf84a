-- Platform bootstrap, part 3: supautils' privileged extensions. On hosted, `postgres` is not a
-- superuser, yet `create extension pg_cron` / `pg_net` in a migration works: supautils runs the
-- statement as the superuser for the extensions it lists, then grants `postgres` what it may use.
-- supautils is not packaged for Debian, so an event trigger does the same here: before a CREATE
-- EXTENSION of a listed extension, it creates that extension as supabase_admin (in the schema the
-- statement names) and applies the same grants; the statement itself, written `if not exists` as
-- the migrations write it, then finds it there. Runs as supabase_admin; idempotent.

create or replace function extensions.create_privileged_extension() returns event_trigger
language plpgsql security definer set search_path = ''
as $$
declare
  -- The top-level statement: event triggers see no parse tree at ddl_command_start, so the
  -- extension names come from the text (a DO block may hold several CREATE EXTENSIONs).
  v_statement text := pg_catalog.current_query();
  v_match text[];
  v_name text;
  v_schema text;
begin
  if coalesce(pg_catalog.current_setting('cjh.creating_privileged_extension', true), '') = 'on' then
    return;
  end if;
  for v_match in
    select pg_catalog.regexp_matches(v_statement, 'create\s+extension\s+(?:if\s+not\s+exists\s+)?"?(\w+)"?([^;]*)', 'gi')
  loop
    v_name := pg_catalog.lower(v_match[1]);
    v_schema := (pg_catalog.regexp_match(v_match[2], 'schema\s+"?(\w+)"?', 'i'))[1];
    continue when v_name <> all (array['pg_cron', 'pg_net'])
      or exists (select from pg_catalog.pg_extension e where e.extname = v_name)
      or not exists (select from pg_catalog.pg_available_extensions a where a.name = v_name);
    perform pg_catalog.set_config('cjh.creating_privileged_extension', 'on', true);
    if v_schema is null then
      execute pg_catalog.format('create extension %I', v_name);
    else
      execute pg_catalog.format('create extension %I with schema %I', v_name, v_schema);
    end if;
    perform pg_catalog.set_config('cjh.creating_privileged_extension', 'off', true);
    -- What Supabase's image grants after creating them (its extensions.grant_pg_cron_access):
    -- everything in the cron schema to postgres with grant option, except that cron.job may only
    -- be read (jobs change through cron.schedule / cron.unschedule). pg_net grants its own schema.
    if v_name = 'pg_cron' then
      grant usage on schema cron to postgres with grant option;
      grant all privileges on all tables in schema cron to postgres with grant option;
      revoke all on table cron.job from postgres;
      grant select on table cron.job to postgres with grant option;
    end if;
  end loop;
end
$$;
revoke all on function extensions.create_privileged_extension() from public;

drop event trigger if exists create_privileged_extension;
create event trigger create_privileged_extension on ddl_command_start
  when tag in ('CREATE EXTENSION')
  execute function extensions.create_privileged_extension();
