-- Local platform settings, applied after every migration push: what an operator stores once in
-- Vault on hosted Supabase (README, "Deploy"). Values arrive as psql variables from
-- scripts/lib/stack.mjs; they go through set_config because psql does not interpolate inside $$.
select set_config('cjh.project_url', :'project_url', false),
       set_config('cjh.service_role_key', :'service_role_key', false),
       set_config('cjh.jwt_secret', :'jwt_secret', false);

do $$
declare
  v_name text;
  v_value text;
  v_id uuid;
begin
  for v_name, v_value in
    values ('project_url', current_setting('cjh.project_url')),
           ('service_role_key', current_setting('cjh.service_role_key')),
           -- The project's JWT secret, with which webhook-admin signs service account tokens.
           ('jwt_secret', current_setting('cjh.jwt_secret'))
  loop
    select id into v_id from vault.secrets where name = v_name;
    if v_id is null then
      perform vault.create_secret(v_value, v_name, 'Set by the local stack (scripts/lib/stack.mjs)');
    elsif (select decrypted_secret from vault.decrypted_secrets where id = v_id) is distinct from v_value then
      perform vault.update_secret(v_id, v_value);
    end if;
  end loop;
end
$$;

-- Local receivers listen on loopback; production keeps this off (the migration's default).
update webhooks.settings set allow_loopback_endpoints = true where not allow_loopback_endpoints;
