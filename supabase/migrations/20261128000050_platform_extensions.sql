-- =============================================================================================
-- Platform extensions: pg_cron (the migrations schedule jobs with it) and pg_net (the database
-- calls the functions with it). A new hosted project has neither enabled; `postgres` may create
-- both (supautils lists them as privileged extensions), so this migration does, before any other
-- migration uses them: pg_cron in pg_catalog, where it always lives, and pg_net in extensions.
--
-- Each is created only where the server offers it. The local stack (no pg_net package) provides
-- a stand-in with pg_net's SQL interface before migrations run; the other migrations never depend
-- on which one is there.
-- =============================================================================================

do $$
begin
  if exists (select from pg_catalog.pg_available_extensions where name = 'pg_cron') then
    create extension if not exists pg_cron with schema pg_catalog;
  end if;
  if exists (select from pg_catalog.pg_available_extensions where name = 'pg_net') then
    create extension if not exists pg_net with schema extensions;
  end if;
end
$$;
