-- Geocoding in the database: the unexposed geocoding schema and its grants, the token bucket, the
-- cache with its TTL and purge, the Vault token lookup, the opt-in (owners and admins only), and
-- the trigger that queues one pg_net request per new property of an opted-in organization.
begin;
select plan(47);

\ir _helpers.psql

insert into auth.users (id, email, aud, role)
select pg_temp.id(n), n || '@test.local', 'authenticated', 'authenticated'
  from unnest(array['owner', 'admin', 'member', 'outsider']) as n;

insert into public.organizations (id, name, slug) values
  (pg_temp.id('org a'), 'Org A', 'geo-org-a'),
  (pg_temp.id('org b'), 'Org B', 'geo-org-b');

insert into public.organization_members (org_id, user_id, role) values
  (pg_temp.id('org a'), pg_temp.id('owner'), 'owner'),
  (pg_temp.id('org a'), pg_temp.id('admin'), 'admin'),
  (pg_temp.id('org a'), pg_temp.id('member'), 'member'),
  (pg_temp.id('org b'), pg_temp.id('outsider'), 'owner');

-- The schema: not reachable by any API role --------------------------------------------------------
select schema_privs_are('geocoding', r, array[]::text[], format('%s cannot use the geocoding schema', r))
  from unnest(array['anon', 'authenticated', 'service_role']) as r;

select is(
  (select array_agg(c.relname::text order by c.relname) from pg_class c
    where c.relnamespace = 'geocoding'::regnamespace and c.relkind = 'r'
      and (has_table_privilege('anon', c.oid, 'SELECT, INSERT, UPDATE, DELETE')
           or has_table_privilege('authenticated', c.oid, 'SELECT, INSERT, UPDATE, DELETE')
           or has_table_privilege('service_role', c.oid, 'SELECT, INSERT, UPDATE, DELETE'))),
  null,
  'no API role holds a privilege on a geocoding table');

select is(
  (select array_agg(p.oid::regprocedure::text) from pg_proc p
    where p.pronamespace = 'geocoding'::regnamespace
      and (has_function_privilege('public', p.oid, 'EXECUTE')
           or has_function_privilege('anon', p.oid, 'EXECUTE')
           or has_function_privilege('authenticated', p.oid, 'EXECUTE'))),
  null,
  'no geocoding function is executable by PUBLIC, anon or authenticated');

select is(
  (select array_agg(p.oid::regprocedure::text) from pg_proc p
    where p.pronamespace = 'geocoding'::regnamespace and not coalesce(p.proconfig @> array['search_path=""'], false)),
  null,
  'every geocoding function pins search_path to empty');

select ok(
  (select p.prosecdef and p.proconfig @> array['search_path=""']
          and has_function_privilege('authenticated', p.oid, 'EXECUTE')
          and not has_function_privilege('anon', p.oid, 'EXECUTE')
     from pg_proc p where p.oid = 'public.set_auto_geocoding(uuid, boolean)'::regprocedure),
  'set_auto_geocoding is security definer with an empty search_path, for authenticated only');

select ok(
  (select p.prosecdef and p.proconfig @> array['search_path=""']
     from pg_proc p where p.oid = 'app_private.tg_properties__request_geocoding()'::regprocedure),
  'the request trigger function is security definer with an empty search_path (it reads Vault)');

-- Settings -------------------------------------------------------------------------------------------
select results_eq(
  'select cache_ttl, rate_limit_burst, rate_limit_per_minute from geocoding.settings',
  $$values (interval '30 days', 60, 60::numeric)$$,
  'the defaults: results cached for 30 days, 60 requests at once, 60 per minute sustained');

select throws_ok(
  'insert into geocoding.settings (singleton) values (false)',
  '23514', null,
  'there is only ever one settings row');

-- Rate limit: a token bucket per organization -------------------------------------------------------
insert into geocoding.rate_limit_overrides (org_id, burst, per_minute) values (pg_temp.id('org a'), 3, 1);

select results_eq(
  $$select allowed, retry_after_seconds from geocoding.take_rate_limit_token('$$ || pg_temp.id('org a') || $$')$$,
  $$values (true, 0)$$, 'the first request is allowed');
select results_eq(
  $$select allowed from geocoding.take_rate_limit_token('$$ || pg_temp.id('org a') || $$')
    union all select allowed from geocoding.take_rate_limit_token('$$ || pg_temp.id('org a') || $$')$$,
  $$values (true), (true)$$, 'the burst allows two more at once');
select results_eq(
  $$select allowed, retry_after_seconds from geocoding.take_rate_limit_token('$$ || pg_temp.id('org a') || $$')$$,
  $$values (false, 60)$$, 'the fourth is refused, with a minute to wait at one request per minute');
select is(
  (select tokens from geocoding.rate_limit_buckets where org_id = pg_temp.id('org a')),
  0::double precision,
  'a refused request does not drive the bucket below empty');

select results_eq(
  $$select allowed from geocoding.take_rate_limit_token('$$ || pg_temp.id('org b') || $$')$$,
  $$values (true)$$, 'another organization has its own bucket, with the default limit');
select is(
  (select tokens from geocoding.rate_limit_buckets where org_id = pg_temp.id('org b')),
  59::double precision,
  'the default bucket holds 60 and one was taken');

-- Time passes: the bucket refills at its rate, up to its burst.
update geocoding.rate_limit_buckets set refilled_at = now() - interval '90 seconds' where org_id = pg_temp.id('org a');
select results_eq(
  $$select allowed from geocoding.take_rate_limit_token('$$ || pg_temp.id('org a') || $$')$$,
  $$values (true)$$, 'after a minute and a half, one request per minute has refilled one token');
select is(
  (select round(tokens::numeric, 2) from geocoding.rate_limit_buckets where org_id = pg_temp.id('org a')),
  0.50,
  'and half of the next');
update geocoding.rate_limit_buckets set refilled_at = now() - interval '1 day' where org_id = pg_temp.id('org a');
select geocoding.take_rate_limit_token(pg_temp.id('org a'));
select is(
  (select tokens from geocoding.rate_limit_buckets where org_id = pg_temp.id('org a')),
  2::double precision,
  'a long pause refills no more than the burst');

-- Cache ----------------------------------------------------------------------------------------------
select geocoding.store_results(pg_temp.id('org a'), 'v1|1 main st|country=|proximity=|limit=1',
  '[{"lat": 30.1, "lng": -97.1, "formatted_address": "1 Main St", "relevance": 1}]');
select is(
  geocoding.cached_results(pg_temp.id('org a'), 'v1|1 main st|country=|proximity=|limit=1') -> 0 ->> 'lat',
  '30.1', 'stored results are found by organization and key');
select is(
  geocoding.cached_results(pg_temp.id('org b'), 'v1|1 main st|country=|proximity=|limit=1'),
  null, 'another organization does not see them');
select is(
  (select expires_at - created_at from geocoding.cache where org_id = pg_temp.id('org a')),
  interval '30 days', 'they expire after the configured TTL');

update geocoding.settings set cache_ttl = interval '1 hour';
select geocoding.store_results(pg_temp.id('org a'), 'v1|1 main st|country=|proximity=|limit=1',
  '[{"lat": 30.2, "lng": -97.2, "formatted_address": "1 Main St", "relevance": 1}]');
select results_eq(
  $$select count(*)::int, max(results -> 0 ->> 'lat'), max(expires_at - created_at) from geocoding.cache
     where org_id = '$$ || pg_temp.id('org a') || $$'$$,
  $$values (1, '30.2', interval '1 hour')$$,
  'storing the same key again replaces the entry, with the TTL now configured');

update geocoding.cache set expires_at = now() - interval '1 second' where org_id = pg_temp.id('org a');
select is(
  geocoding.cached_results(pg_temp.id('org a'), 'v1|1 main st|country=|proximity=|limit=1'),
  null, 'an expired entry is a miss');
select is(geocoding.purge_expired_cache(), 1::bigint, 'the purge deletes expired entries');
select is((select count(*) from geocoding.cache where org_id = pg_temp.id('org a')), 0::bigint, 'and they are gone');

select throws_ok(
  $$select geocoding.store_results('$$ || pg_temp.id('org a') || $$', 'k', '[]')$$,
  '23514', null, 'an empty result list is never cached');

select is(
  (select schedule from cron.job where jobname = 'geocoding-purge-expired-cache'),
  '17 * * * *', 'pg_cron purges expired entries every hour');

-- The Mapbox token from Vault -------------------------------------------------------------------------
select vault.create_secret('pk.test-token', 'mapbox_pgtap_token');
select is(geocoding.mapbox_access_token('mapbox_pgtap_token'), 'pk.test-token', 'the token is read from Vault');
select is(geocoding.mapbox_access_token('mapbox_no_such_secret'), null, 'a missing secret is null');
select is(geocoding.mapbox_access_token('auto_geocoding_secret'), null, 'secrets not named mapbox_… are never returned');

-- The opt-in --------------------------------------------------------------------------------------------
select pg_temp.act_as('member');
select throws_ok(
  $$select public.set_auto_geocoding('$$ || pg_temp.id('org a') || $$', true)$$,
  '42501', 'only owners and admins can change automatic geocoding', 'a member cannot opt the organization in');
select pg_temp.act_as('outsider');
select throws_ok(
  $$select public.set_auto_geocoding('$$ || pg_temp.id('org a') || $$', true)$$,
  '42501', 'only owners and admins can change automatic geocoding', 'an owner of another organization cannot either');
select pg_temp.act_as('admin');
select is(public.set_auto_geocoding(pg_temp.id('org a'), true), true, 'an admin can opt in');
select pg_temp.act_as('member');
select is(
  (select auto_geocode_properties from public.organizations where id = pg_temp.id('org a')),
  true, 'members see the setting');
select pg_temp.act_as('owner');
select is(public.set_auto_geocoding(pg_temp.id('org a'), false), false, 'an owner can opt out');
select is(public.set_auto_geocoding(pg_temp.id('org a'), true), true, 'and in again');

-- The trigger: one request per new property without coordinates, in opted-in organizations --------------
select pg_temp.act_as_postgres();
create temp table queued_before on commit drop as select coalesce(max(id), 0) as id from net.http_request_queue;

select pg_temp.act_as('member');
insert into public.properties (id, org_id, address1) values
  (pg_temp.id('needs coordinates 1'), pg_temp.id('org a'), '1 Main St'),
  (pg_temp.id('needs coordinates 2'), pg_temp.id('org a'), '2 Main St');
insert into public.properties (id, org_id, address1, lat, lng) values
  (pg_temp.id('has coordinates'), pg_temp.id('org a'), '3 Main St', 30, -97);
select pg_temp.act_as('outsider');
insert into public.properties (id, org_id, address1) values (pg_temp.id('not opted in'), pg_temp.id('org b'), '4 Main St');

select pg_temp.act_as_postgres();
select results_eq(
  $$select convert_from(q.body, 'utf8')::jsonb ->> 'property_id'
      from net.http_request_queue q, queued_before b where q.id > b.id order by 1$$,
  array[pg_temp.id('needs coordinates 1')::text, pg_temp.id('needs coordinates 2')::text],
  'a member''s insert queues one request per property without coordinates, only in the opted-in organization');

select results_eq(
  $$select q.method::text, q.url, q.headers ->> 'Authorization', convert_from(q.body, 'utf8')::jsonb
      from net.http_request_queue q, queued_before b
     where q.id > b.id and convert_from(q.body, 'utf8')::jsonb ->> 'property_id' = '$$ || pg_temp.id('needs coordinates 1') || $$'$$,
  $$select 'POST', (select decrypted_secret from vault.decrypted_secrets where name = 'project_url') || '/functions/v1/mapbox-geocode',
           'Bearer ' || (select decrypted_secret from vault.decrypted_secrets where name = 'auto_geocoding_secret'),
           jsonb_build_object('property_id', '$$ || pg_temp.id('needs coordinates 1') || $$'::uuid, 'org_id', '$$ || pg_temp.id('org a') || $$'::uuid)$$,
  'the request posts the property and its organization to mapbox-geocode with the automatic-geocoding secret from Vault');

-- The queue: every such property waits there until it has coordinates or has failed for good ---------
select results_eq(
  $$select property_id, status, attempts from geocoding.auto_queue
     where org_id in (pg_temp.id('org a'), pg_temp.id('org b')) order by property_id$$,
  $$values (least(pg_temp.id('needs coordinates 1'), pg_temp.id('needs coordinates 2')), 'pending', 1),
           (greatest(pg_temp.id('needs coordinates 1'), pg_temp.id('needs coordinates 2')), 'pending', 1)$$,
  'both wait in the queue, each requested once (leased for 2 minutes)');
update public.properties set lat = 30.1, lng = -97.1 where id = pg_temp.id('needs coordinates 1');
select is((select count(*) from geocoding.auto_queue where property_id = pg_temp.id('needs coordinates 1')), 0::bigint,
          'a property that gets coordinates leaves the queue');
select geocoding.record_auto_geocoding_failure(pg_temp.id('needs coordinates 2'), 'Mapbox found no location for the address.');
select is((select status || ': ' || last_error from geocoding.auto_queue where property_id = pg_temp.id('needs coordinates 2')),
          'failed: Mapbox found no location for the address.', 'an unknown address is recorded as a permanent failure');

-- Within the rate limit: as many requests at once as the bucket holds tokens ----------------------------
delete from geocoding.rate_limit_overrides where org_id = pg_temp.id('org a');
delete from geocoding.rate_limit_buckets where org_id = pg_temp.id('org a');
insert into geocoding.rate_limit_overrides (org_id, burst, per_minute) values (pg_temp.id('org a'), 3, 3);
truncate queued_before;
insert into queued_before select coalesce(max(id), 0) from net.http_request_queue;
select pg_temp.act_as('member');
insert into public.properties (org_id, address1) select pg_temp.id('org a'), g || ' Import Road' from generate_series(1, 10) g;
select pg_temp.act_as_postgres();
select is((select count(*) from net.http_request_queue q, queued_before b where q.id > b.id), 3::bigint,
          'an import of 10 with 3 tokens left sends 3 requests now');
select is((select count(*) from geocoding.auto_queue q join public.properties p on p.id = q.property_id
            where p.address1 like '% Import Road' and q.attempts = 0), 7::bigint, 'the other 7 wait');
select is(geocoding.request_due_geocoding(), 0, 'none more while the bucket has no token');
update geocoding.rate_limit_buckets set tokens = 0, refilled_at = now() - interval '1 minute' where org_id = pg_temp.id('org a');
select is(geocoding.request_due_geocoding(), 3, 'a minute later, the refilled tokens'' worth');
update geocoding.auto_queue set next_attempt_at = now() - interval '1 second', attempts = geocoding.max_auto_attempts()
 where property_id in (select id from public.properties where address1 = '1 Import Road');
select geocoding.request_due_geocoding();
select matches((select last_error from geocoding.auto_queue q join public.properties p on p.id = q.property_id
                 where p.address1 = '1 Import Road' and q.status = 'failed'), '^No answer settled it in 10 attempts',
               'a property no answer settles is given up after max_auto_attempts(), with the reason');

select * from finish();
rollback;
