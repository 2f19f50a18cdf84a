-- Local geocoding, applied after every migration push with the local platform settings: the token
-- of the Mapbox stand-in (local/mapbox-stand-in.ts) as the mapbox_access_token Vault secret that
-- mapbox-geocode reads. A token already stored there (a developer's real Mapbox token) is kept.
-- On hosted, an operator stores the real token once (docs/geocoding.md). The value arrives as a
-- psql variable from scripts/lib/database.mjs.
select set_config('cjh.mapbox_token', :'mapbox_token', false);

do $$
begin
  if not exists (select from vault.secrets where name = 'mapbox_access_token') then
    perform vault.create_secret(current_setting('cjh.mapbox_token'), 'mapbox_access_token',
                                'The local Mapbox stand-in''s token (scripts/lib/database.mjs)');
  end if;
end
$$;
