// mapbox-geocode: forward geocoding for signed-in members and for the platform's automatic
// geocoding of new properties (docs/geocoding.md). The function checks its callers itself
// (verify_jwt = false; _shared/caller.ts); the automatic-geocoding trigger presents the
// auto_geocoding_secret from Vault. This file only wires.
import { projectCallerIdentifier } from "../_shared/caller.ts";
import { databasePool } from "../_shared/database.ts";
import { databaseUrl } from "../_shared/environment.ts";
import { withHttpConventions } from "../_shared/http.ts";
import { loadGeocodeConfig } from "./config.ts";
import { createGeocodeHandler } from "./handler.ts";
import { createMapboxGeocoder } from "./mapbox.ts";
import { createGeocodeStore } from "./store.ts";

const config = loadGeocodeConfig();
// The store's pool: databasePool hands out one pool per URL.
const sql = databasePool(databaseUrl(config.edge), { applicationName: "mapbox-geocode" });

Deno.serve(withHttpConventions(
  "mapbox-geocode",
  createGeocodeHandler({
    store: createGeocodeStore(databaseUrl(config.edge)),
    geocoder: createMapboxGeocoder({ origin: config.MAPBOX_API_ORIGIN, timeoutMs: config.MAPBOX_TIMEOUT_MS }),
    identifyCaller: projectCallerIdentifier(config.edge, sql, { platformSecretName: "auto_geocoding_secret" }),
    tokenSecretName: config.MAPBOX_TOKEN_SECRET_NAME,
  }),
));
