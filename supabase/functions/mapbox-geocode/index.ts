// mapbox-geocode: forward geocoding for signed-in members (SPEC §5). The gateway checks the JWT
// (verify_jwt = true); the geocoding itself arrives with its own issue.
import { notImplemented, withHttpConventions } from "../_shared/http.ts";

Deno.serve(withHttpConventions("mapbox-geocode", () => notImplemented("Geocoding")));
