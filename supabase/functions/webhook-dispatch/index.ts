// webhook-dispatch: delivers due webhook deliveries (SPEC §4). Only the platform may drive it, so
// the gateway lets requests through (verify_jwt = false) and the function checks the service key.
import { loadEdgeEnvironment } from "../_shared/environment.ts";
import { notImplemented, withHttpConventions } from "../_shared/http.ts";
import { requirePlatformCaller } from "../_shared/platform-auth.ts";

const environment = loadEdgeEnvironment();

Deno.serve(withHttpConventions("webhook-dispatch", (request) => {
  requirePlatformCaller(request, [environment.SUPABASE_SERVICE_ROLE_KEY]);
  return notImplemented("Webhook delivery");
}));
