-- Local platform settings, applied after every migration push: what an operator stores once in
-- Vault on hosted Supabase (README, "Deploying to hosted Supabase"). Values arrive as psql
-- variables from scripts/lib/database.mjs; they go through set_config because psql does not
-- interpolate inside $$. An empty value removes the secret, as revoking the legacy JWT secret does.
select set_config('cjh.project_url', :'project_url', false),
       set_config('cjh.jwt_secret', :'jwt_secret', false),
       set_config('cjh.service_account_signing_key', :'service_account_signing_key', false);

do $$
declare
  v_name text;
  v_value text;
  v_id uuid;
begin
  for v_name, v_value in
    values ('project_url', current_setting('cjh.project_url')),
           -- The legacy HS256 secret, while the project has one: functions verify legacy sessions with it.
           ('jwt_secret', current_setting('cjh.jwt_secret')),
           -- The private key (JWK) of the project's imported signing key, for service account tokens.
           ('service_account_signing_key', current_setting('cjh.service_account_signing_key'))
  loop
    select id into v_id from vault.secrets where name = v_name;
    if v_value = '' then
      delete from vault.secrets where id = v_id;
    elsif v_id is null then
      perform vault.create_secret(v_value, v_name, 'Set by the local stack (scripts/lib/database.mjs)');
    elsif (select decrypted_secret from vault.decrypted_secrets where id = v_id) is distinct from v_value then
      perform vault.update_secret(v_id, v_value);
    end if;
  end loop;
  -- Nothing the database calls uses the service role key; a stack older than that may still hold it.
  delete from vault.secrets where name = 'service_role_key';
end
$$;

-- Local receivers listen on loopback; production keeps this off (the migration's default).
update webhooks.settings set allow_loopback_endpoints = true where not allow_loopback_endpoints;
