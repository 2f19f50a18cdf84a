// mapbox-geocode: forward geocoding for signed-in members and for the platform's automatic
// geocoding of new properties (SPEC §5, docs/geocoding.md). The gateway checks the JWT
// (verify_jwt = true, which the caller check in handler.ts relies on); this file only wires.
import { withHttpConventions } from "../_shared/http.ts";
import { loadGeocodeConfig } from "./config.ts";
import { createGeocodeHandler } from "./handler.ts";
import { createMapboxGeocoder } from "./mapbox.ts";
import { createGeocodeStore } from "./store.ts";

const config = loadGeocodeConfig();

Deno.serve(withHttpConventions(
  "mapbox-geocode",
  createGeocodeHandler({
    store: createGeocodeStore(config.SUPABASE_DB_URL),
    geocoder: createMapboxGeocoder({ origin: config.MAPBOX_API_ORIGIN, timeoutMs: config.MAPBOX_TIMEOUT_MS }),
    serviceRoleKey: config.SUPABASE_SERVICE_ROLE_KEY,
    tokenSecretName: config.MAPBOX_TOKEN_SECRET_NAME,
  }),
));
