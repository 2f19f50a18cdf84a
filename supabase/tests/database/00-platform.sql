-- The platform interfaces the migrations rely on, as Supabase's image provides them (and the local
-- bootstrap reproduces them): roles, the auth helpers, pg_cron and what postgres may do with it,
-- and Vault's API, grants and encryption at rest.
begin;
select plan(41);

-- Roles ----------------------------------------------------------------------------------------
select ok(not rolsuper and rolbypassrls and rolcreaterole, 'postgres is not a superuser but bypasses RLS, as on hosted')
  from pg_roles where rolname = 'postgres';
select ok(rolbypassrls and not rolcanlogin, 'service_role bypasses RLS and cannot log in')
  from pg_roles where rolname = 'service_role';
select ok(not rolbypassrls and not rolcanlogin, 'anon neither bypasses RLS nor logs in')
  from pg_roles where rolname = 'anon';
select ok(not rolbypassrls and not rolcanlogin, 'authenticated neither bypasses RLS nor logs in')
  from pg_roles where rolname = 'authenticated';
select ok(pg_has_role('authenticator', 'authenticated', 'member') and not rolinherit,
  'authenticator can switch to authenticated without inheriting its rights')
  from pg_roles where rolname = 'authenticator';

-- auth ----------------------------------------------------------------------------------------
select is(auth.jwt(), null, 'auth.jwt() is null when no claims are set');
select is(auth.uid(), null, 'auth.uid() is null when no claims are set');
select set_config('request.jwt.claims',
  '{"sub": "7c9e6679-7425-40de-944b-e07fc1f90ae7", "role": "authenticated", "email": "pat@example.com"}', true);
select is(auth.uid(), '7c9e6679-7425-40de-944b-e07fc1f90ae7'::uuid, 'auth.uid() reads sub from request.jwt.claims');
select is(auth.role(), 'authenticated', 'auth.role() reads role from request.jwt.claims');
select is(auth.email(), 'pat@example.com', 'auth.email() reads email from request.jwt.claims');
select is(auth.jwt() ->> 'sub', '7c9e6679-7425-40de-944b-e07fc1f90ae7', 'auth.jwt() returns the claims');
select set_config('request.jwt.claims', '', true);

-- pg_cron -------------------------------------------------------------------------------------
select has_function('cron', 'schedule', array['text', 'text', 'text'], 'cron.schedule(job_name, schedule, command) exists');
select isnt(cron.schedule('platform-test', '* * * * *', 'select 1'), null::bigint, 'postgres may schedule a job');
select is((select schedule from cron.job where jobname = 'platform-test'), '* * * * *', 'the job is in cron.job');
select ok(cron.unschedule('platform-test'), 'postgres may unschedule it');
select is((select extnamespace::regnamespace::text from pg_extension where extname = 'pg_cron'), 'pg_catalog',
  'pg_cron lives in pg_catalog, where the platform-extensions migration creates it');
select throws_ok($$ insert into cron.job (schedule, command) values ('* * * * *', 'select 1') $$, '42501', null,
  'postgres may not write cron.job itself: only cron.schedule and cron.unschedule, as on hosted');
select ok(not has_function_privilege('postgres', 'cron.alter_job(bigint, text, text, text, text, boolean)', 'execute'),
  'nor alter jobs');

-- pg_net: the signatures and tables the migrations call (real pg_net 0.20 or the stand-in) ------
select has_function('net', 'http_get', array['text', 'jsonb', 'jsonb', 'integer'], 'net.http_get(url, params, headers, timeout_milliseconds)');
select has_function('net', 'http_post', array['text', 'jsonb', 'jsonb', 'jsonb', 'integer'],
  'net.http_post(url, body, params, headers, timeout_milliseconds)');
select has_function('net', 'http_delete', array['text', 'jsonb', 'jsonb', 'integer', 'jsonb'],
  'net.http_delete(url, params, headers, timeout_milliseconds, body)');
select function_returns('net', 'http_post', array['text', 'jsonb', 'jsonb', 'jsonb', 'integer'], 'bigint',
  'net.http_post returns the request id');
select columns_are('net', 'http_request_queue', array['id', 'method', 'url', 'headers', 'body', 'timeout_milliseconds'],
  'net.http_request_queue has pg_net''s columns');
select columns_are('net', '_http_response',
  array['id', 'status_code', 'content_type', 'headers', 'content', 'timed_out', 'error_msg', 'created'],
  'net._http_response has pg_net''s columns');
select is((select relpersistence from pg_class where oid = 'net.http_request_queue'::regclass), 'u'::"char",
  'the request queue is UNLOGGED, as in pg_net: nothing may rely on it for durability');

-- Vault ---------------------------------------------------------------------------------------
select columns_are('vault', 'secrets',
  array['id', 'name', 'description', 'secret', 'key_id', 'nonce', 'created_at', 'updated_at'],
  'vault.secrets has Vault''s columns');
select is(array(select attname::text from pg_attribute
                 where attrelid = 'vault.decrypted_secrets'::regclass and attnum > 0 and not attisdropped order by attnum),
  array['id', 'name', 'description', 'secret', 'decrypted_secret', 'key_id', 'nonce', 'created_at', 'updated_at'],
  'vault.decrypted_secrets has Vault''s columns in Vault''s order');
select has_function('vault', 'update_secret', array['uuid', 'text', 'text', 'text', 'uuid'],
  'vault.update_secret(secret_id, new_secret, new_name, new_description, new_key_id)');
select isnt(vault.create_secret('s3cret-value-for-test', 'platform_test_secret', 'a test secret'), null::uuid,
  'vault.create_secret returns the new id');
select is((select decrypted_secret from vault.decrypted_secrets where name = 'platform_test_secret'),
  's3cret-value-for-test', 'vault.decrypted_secrets decrypts the secret');
select ok((select position(convert_to('s3cret-value-for-test', 'utf8') in decode(secret, 'base64')) = 0
                  and strpos(secret, 's3cret') = 0
             from vault.secrets where name = 'platform_test_secret'),
  'vault.secrets holds ciphertext only');
select isnt((select secret from vault.secrets where name = 'platform_test_secret'),
  (select secret from vault.secrets where id = vault.create_secret('s3cret-value-for-test')),
  'the same plaintext encrypts differently in another secret');
select lives_ok($$ select vault.update_secret((select id from vault.secrets where name = 'platform_test_secret'),
                                               'rotated-value') $$, 'vault.update_secret replaces the value');
select is((select decrypted_secret || '|' || description from vault.decrypted_secrets where name = 'platform_test_secret'),
  'rotated-value|a test secret', 'update_secret keeps what it was given as null');
select throws_ok($$ select vault.create_secret('x', 'platform_test_secret') $$, '23505', null,
  'secret names are unique');
select throws_ok($$ select vault.create_secret('x', 'platform_null_description', null) $$, '23502', null,
  'a null description is refused, as Vault refuses it');
select throws_ok($$ insert into vault.secrets (secret) values ('plaintext') $$, '42501', null,
  'postgres cannot write plaintext into vault.secrets directly');

set local role service_role;
select is((select decrypted_secret from vault.decrypted_secrets where name = 'platform_test_secret'),
  'rotated-value', 'service_role can read decrypted secrets');
reset role;

set local role authenticated;
select throws_ok($$ select * from vault.decrypted_secrets $$, '42501', 'permission denied for schema vault',
  'authenticated cannot read Vault');
select throws_ok($$ select vault.create_secret('x') $$, '42501', 'permission denied for schema vault',
  'authenticated cannot create secrets');
reset role;

set local role anon;
select throws_ok($$ select * from vault.secrets $$, '42501', 'permission denied for schema vault',
  'anon cannot read Vault');
reset role;

select * from finish();
rollback;
