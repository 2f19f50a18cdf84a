-- Hosted's former default for "Default privileges for new entities": everything `postgres` creates
-- in `public` is granted to the API roles. Projects may still have it on, so the migrations revoke
-- before they grant; the fresh-project check (tests/fresh_project_test.ts) applies this file to
-- prove the privileges come out exact either way. Runs as supabase_admin.
alter default privileges for role postgres in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges for role postgres in schema public grant all on sequences to anon, authenticated, service_role;
alter default privileges for role postgres in schema public grant all on functions to anon, authenticated, service_role;
