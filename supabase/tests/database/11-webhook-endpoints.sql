-- Webhook endpoints: only owners and admins register them; URLs must be https to a public
-- address (loopback only with the local setting); the signing secret is whsec_ + base64 of 32
-- bytes, kept in Vault and never readable by tenants; rotation keeps every replaced one signing
-- for its overlap.
begin;
select plan(64);

\ir _helpers.psql

insert into auth.users (id, email, aud, role)
select pg_temp.id(n), n || '@test.local', 'authenticated', 'authenticated'
  from unnest(array['a_owner', 'a_admin', 'a_member', 'b_admin']) as n;
insert into public.organizations (id, name, slug) values
  (pg_temp.id('org a'), 'Org A', 'test-org-a'),
  (pg_temp.id('org b'), 'Org B', 'test-org-b');
insert into public.organization_members (org_id, user_id, role) values
  (pg_temp.id('org a'), pg_temp.id('a_owner'), 'owner'),
  (pg_temp.id('org a'), pg_temp.id('a_admin'), 'admin'),
  (pg_temp.id('org a'), pg_temp.id('a_member'), 'member'),
  (pg_temp.id('org b'), pg_temp.id('b_admin'), 'admin');

-- URL checks (registration cannot resolve DNS; it judges the form and literal addresses) -----
update webhooks.settings set allow_loopback_endpoints = false;
select is(webhooks.endpoint_url_problem('https://hooks.example.com/cjh', false), null, 'https to a public host is accepted');
select is(webhooks.endpoint_url_problem('https://93.184.216.34:8443/x', false), null, 'so is a public address with a port');
select is(webhooks.endpoint_url_problem('http://hooks.example.com/cjh', false), 'the URL must use https', 'plain http is refused');
select is(webhooks.endpoint_url_problem('ftp://hooks.example.com/', false), 'the URL must use https', 'other schemes are refused');
select is(webhooks.endpoint_url_problem('hooks.example.com/cjh', false), 'the URL must be absolute, like https://example.com/webhooks', 'relative URLs are refused');
select is(webhooks.endpoint_url_problem('https://user:pw@hooks.example.com/', false), 'the URL must not contain credentials', 'credentials are refused');
select is(webhooks.endpoint_url_problem('https://127.0.0.1/', false), '127.0.0.1 is in a loopback range (127.0.0.0/8)', 'loopback is refused');
select is(webhooks.endpoint_url_problem('https://localhost:8443/', false), 'localhost is a loopback host', 'localhost is refused');
select is(webhooks.endpoint_url_problem('https://[::1]/', false), '::1 is in a loopback range (::1/128)', 'IPv6 loopback is refused');
select is(webhooks.endpoint_url_problem('https://10.1.2.3/', false), '10.1.2.3 is in a private range (10.0.0.0/8)', '10/8 is refused');
select is(webhooks.endpoint_url_problem('https://172.20.0.1/', false), '172.20.0.1 is in a private range (172.16.0.0/12)', '172.16/12 is refused');
select is(webhooks.endpoint_url_problem('https://192.168.1.1/', false), '192.168.1.1 is in a private range (192.168.0.0/16)', '192.168/16 is refused');
select is(webhooks.endpoint_url_problem('https://169.254.169.254/latest/meta-data', false), '169.254.169.254 is in a link-local range (169.254.0.0/16)', 'the metadata address is refused');
select is(webhooks.endpoint_url_problem('https://100.64.0.1/', false), '100.64.0.1 is in a carrier-grade NAT range (100.64.0.0/10)', 'CGNAT is refused');
select is(webhooks.endpoint_url_problem('https://0.0.0.0/', false), '0.0.0.0 is in a "this network" range (0.0.0.0/8)', '0.0.0.0 is refused');
select is(webhooks.endpoint_url_problem('https://[fd00:ec2::254]/', false), 'fd00:ec2::254 is in a private (unique local) range (fc00::/7)', 'the IPv6 metadata address is refused');
select is(webhooks.endpoint_url_problem('https://[fe80::1]/', false), 'fe80::1 is in a link-local range (fe80::/10)', 'IPv6 link-local is refused');
select is(webhooks.endpoint_url_problem('https://[::ffff:10.0.0.1]/', false), '10.0.0.1 is in a private range (10.0.0.0/8)', 'an IPv4-mapped address is judged as IPv4');
select is(webhooks.endpoint_url_problem('https://[64:ff9b::a9fe:a9fe]/', false), '169.254.169.254 is in a link-local range (169.254.0.0/16)', 'so is a NAT64 one');
select is(webhooks.endpoint_url_problem('https://[::ffff:0:7f00:1]/', false), '::ffff:0:7f00:1 is outside the global unicast range (2000::/3)',
          'IPv6 outside global unicast (here SIIT carrying 127.0.0.1) is refused');
select is(webhooks.endpoint_url_problem('https://[2606:4700::1111]/', false), null, 'a public IPv6 address is accepted');
select is(webhooks.endpoint_url_problem('https://2130706433/', false), 'numeric hosts must be written as four decimal octets', 'a decimal host is refused');
select is(webhooks.endpoint_url_problem('https://0x7f.1/', false), 'numeric hosts must be written as four decimal octets', 'a hex host is refused');
select is(webhooks.endpoint_url_problem('https://0177.0.0.1/', false), 'numeric hosts must be written as four decimal octets', 'an octal host is refused');
select is(webhooks.endpoint_url_problem('http://127.0.0.1:8080/hook', true), null, 'the local setting allows http to loopback');
select is(webhooks.endpoint_url_problem('http://localhost:8080/hook', true), null, 'and to localhost');
select is(webhooks.endpoint_url_problem('https://10.1.2.3/', true), '10.1.2.3 is in a private range (10.0.0.0/8)', 'but not to private ranges');

-- URLs a WHATWG parser (the sender's) would read as another host are refused, not interpreted.
select is(webhooks.endpoint_url_problem('https://169' || U&'\3002' || '254' || U&'\3002' || '169' || U&'\3002' || '254/', false),
          'the URL must be printable ASCII without spaces (percent-encode the path, write an internationalized host name in its xn-- form)',
          'ideographic full stops (read as dots: 169.254.169.254) are refused');
select is(webhooks.endpoint_url_problem('https://' || U&'\FF11\FF12\FF17' || '.0.0.1/', false),
          'the URL must be printable ASCII without spaces (percent-encode the path, write an internationalized host name in its xn-- form)',
          'full-width digits (read as 127.0.0.1) are refused');
select is(webhooks.endpoint_url_problem('https://10.0.0.1\.hooks.example.com/', false), 'the URL must not contain a backslash',
          'a backslash (read as a slash: host 10.0.0.1) is refused');
select is(webhooks.endpoint_url_problem(E'https://hooks.exa\tmple.com/', false),
          'the URL must be printable ASCII without spaces (percent-encode the path, write an internationalized host name in its xn-- form)',
          'a tab (dropped by the parser) is refused');
select is(webhooks.endpoint_url_problem('https://%31%32%37.0.0.1/', false), 'the URL has no valid host', 'a percent-encoded host is refused');
select is(webhooks.endpoint_url_problem('https://hooks.example.com:70000/', false), 'the URL has no valid host', 'a port above 65535 is refused');
select is(webhooks.endpoint_url_problem('https://[1:2]/', false), 'the URL has no valid host', 'an invalid IPv6 literal is refused');
select is(webhooks.endpoint_url_host('https://Hooks.Example.COM.:8443/x'), 'hooks.example.com', 'the host checked is lowercased, without its trailing dot');

-- Registration --------------------------------------------------------------------------------
select pg_temp.act_as('a_member');
select throws_ok($$select webhooks.create_endpoint(pg_temp.id('org a'), 'https://hooks.example.com/a')$$,
  '42501', 'only owners and admins of the organization can manage its webhook endpoints', 'a member cannot register an endpoint');
select pg_temp.act_as('b_admin');
select throws_ok($$select webhooks.create_endpoint(pg_temp.id('org a'), 'https://hooks.example.com/a')$$,
  '42501', 'only owners and admins of the organization can manage its webhook endpoints', 'nor can another organization''s admin');
select pg_temp.act_as('a_admin');
select throws_ok($$select webhooks.create_endpoint(pg_temp.id('org a'), 'http://127.0.0.1:9000/hook')$$,
  '22023', 'endpoint URL refused: 127.0.0.1 is in a loopback range (127.0.0.0/8)', 'a loopback URL is refused at registration');
select throws_ok($$select webhooks.create_endpoint(pg_temp.id('org a'), 'https://hooks.example.com/a', '', '{job.exploded}')$$,
  '22023', 'unknown event type: job.exploded', 'an unknown event type is refused');

select endpoint_id, signing_secret from webhooks.create_endpoint(pg_temp.id('org a'), 'https://hooks.example.com/a', 'ERP', '{job.updated,job.created,job.created}') \gset
select ok(:'signing_secret' ~ '^whsec_[A-Za-z0-9+/]+={0,2}$', 'an admin registers an endpoint and gets a whsec_ secret');
select cmp_ok(length(decode(substr(:'signing_secret', 7), 'base64')), '>=', 24, 'of at least 24 random bytes');
select is((select event_types from webhooks.endpoints where id = :'endpoint_id'), '{job.created,job.updated}'::text[],
          'subscriptions are stored sorted and without duplicates');
select is((select created_by from webhooks.endpoints where id = :'endpoint_id'), pg_temp.id('a_admin'), 'the creator is recorded');
select throws_ok($$select secret_id from webhooks.endpoints$$, '42501', 'permission denied for table endpoints',
                 'a tenant cannot read which Vault secret signs');
select throws_ok($$select * from vault.decrypted_secrets$$, '42501', null, 'nor read Vault');
select throws_ok($$update webhooks.endpoints set url = 'https://10.0.0.1/' where id = pg_temp.id('x') or true$$,
  '22023', 'endpoint URL refused: 10.0.0.1 is in a private range (10.0.0.0/8)', 'changing the URL is checked again');

select pg_temp.act_as_postgres();
select is((select decrypted_secret from vault.decrypted_secrets s join webhooks.endpoints e on e.secret_id = s.id
            where e.id = :'endpoint_id'), :'signing_secret', 'the secret is in Vault');
select is((select count(*) from webhooks.endpoints e where to_jsonb(e)::text like '%' || :'signing_secret' || '%'), 0::bigint,
          'and nowhere in the endpoint row');

-- Rotation ------------------------------------------------------------------------------------
select pg_temp.act_as('a_member');
select throws_ok(format('select webhooks.rotate_endpoint_secret(%L)', :'endpoint_id'), '42501', null, 'a member cannot rotate a secret');
select pg_temp.act_as('a_owner');
select webhooks.rotate_endpoint_secret(:'endpoint_id') as new_secret \gset
select pg_temp.act_as_postgres();
select isnt(:'new_secret'::text, :'signing_secret'::text, 'an owner rotates the secret and gets a new one');
select is((select secrets from webhooks.endpoint_signing_secrets(array[:'endpoint_id'::uuid])),
          array[:'new_secret', :'signing_secret'], 'during the overlap both sign, the new one first');
select cmp_ok((select previous_secret_expires_at from webhooks.endpoints where id = :'endpoint_id'), '>', now() + interval '23 hours 59 minutes',
              'the overlap lasts 24 hours');
update webhooks.endpoints set previous_secret_expires_at = now() - interval '1 second' where id = :'endpoint_id';
select is((select secrets from webhooks.endpoint_signing_secrets(array[:'endpoint_id'::uuid])), array[:'new_secret'],
          'after the overlap only the new secret signs');
select webhooks.run_every_minute();
select is((select count(*) from vault.decrypted_secrets where decrypted_secret = :'signing_secret'), 0::bigint,
          'and the minute job deletes the old one from Vault');

-- However many rotations happen within the overlap, every replaced secret keeps signing for its own.
select pg_temp.act_as('a_owner');
select webhooks.rotate_endpoint_secret(:'endpoint_id') as second_secret \gset
select webhooks.rotate_endpoint_secret(:'endpoint_id') as third_secret \gset
select webhooks.rotate_endpoint_secret(:'endpoint_id') as fourth_secret \gset
select pg_temp.act_as_postgres();
select is((select secrets from webhooks.endpoint_signing_secrets(array[:'endpoint_id'::uuid])),
          array[:'fourth_secret', :'third_secret', :'second_secret', :'new_secret'],
          'three rotations in a row: the current secret and the three it replaced all sign, newest first');
select secrets_version as version_before from webhooks.endpoint_signing_secrets(array[:'endpoint_id'::uuid]) \gset
update webhooks.replaced_secrets set replaced_at = replaced_at - interval '25 hours', signs_until = now() - interval '1 second'
 where secret_id = (select s.id from vault.decrypted_secrets s where s.decrypted_secret = :'new_secret');
select webhooks.run_every_minute();
select is((select secrets from webhooks.endpoint_signing_secrets(array[:'endpoint_id'::uuid])),
          array[:'fourth_secret', :'third_secret', :'second_secret'],
          'when the oldest one''s overlap ends, only it stops signing');
select isnt((select secrets_version from webhooks.endpoint_signing_secrets(array[:'endpoint_id'::uuid])), :'version_before',
            'and the version the dispatcher caches the list by changes');
select is((select count(*) from vault.decrypted_secrets where decrypted_secret = :'new_secret'), 0::bigint, 'it leaves Vault');
select pg_temp.act_as('a_owner');
select count(webhooks.rotate_endpoint_secret(:'endpoint_id')) as rotations from generate_series(1, 7) \gset
select throws_ok(format('select webhooks.rotate_endpoint_secret(%L)', :'endpoint_id'), '55000', null,
                 'a rotation beyond ten signing secrets is refused until the oldest one stops');
select pg_temp.act_as_postgres();
select is((select cardinality(secrets) from webhooks.endpoint_signing_secrets(array[:'endpoint_id'::uuid])), 10,
          'and the ten keep signing');

-- Deleting an endpoint deletes its secrets ----------------------------------------------------
select pg_temp.act_as('a_admin');
delete from webhooks.endpoints where id = :'endpoint_id';
select pg_temp.act_as_postgres();
select is((select count(*) from vault.decrypted_secrets where decrypted_secret in (:'fourth_secret', :'third_secret', :'second_secret')), 0::bigint,
          'deleting an endpoint deletes its secrets, the replaced ones too, from Vault');
select is((select count(*) from webhooks.replaced_secrets where endpoint_id = :'endpoint_id'), 0::bigint, 'and their rows');

-- Refusals name their field structurally -------------------------------------------------------
create function pg_temp.refused_column(p_sql text) returns text language plpgsql as $$
declare
  v_column text;
begin
  execute p_sql;
  return null;
exception when invalid_parameter_value then
  get stacked diagnostics v_column = column_name;
  return v_column;
end
$$;
select is(pg_temp.refused_column($$select webhooks.create_endpoint(pg_temp.id('org a'), 'https://10.0.0.1/')$$), 'url',
          'a refused URL says its field is url (COLUMN_NAME), whatever the message');
select is(pg_temp.refused_column($$select webhooks.create_endpoint(pg_temp.id('org a'), 'https://hooks.example.com/', '', '{no.such}')$$),
          'event_types', 'an unknown event type says event_types');

select * from finish();
rollback;
